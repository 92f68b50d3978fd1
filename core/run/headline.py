"""The provider headline of a verdict: statutory breaches first, then the locations at the lowest
level, by name, the spread of levels and the escalations open."""

from __future__ import annotations

from datetime import date

from carecheck.verdict.statutory import statutory_sentence
from carecheck.verdict.levels import LEVEL_WORDS, LEVELS

#: Said wherever a level is: carecheck's levels are the provider's internal assurance.
DISCLAIMER = "This is the provider's internal assurance, not a CQC rating."


def end_of_data_sentence(data_end: date | None) -> str:
    """Said at the top when a run's evidence ends before its current period."""
    if data_end is None:
        return ""
    return f"The newest evidence is dated {data_end:%d/%m/%Y}; judged as of then."


def unattributed_sentence(unattributed: list[dict]) -> str:
    """Said at the top when records a target counts name no known location: "3 incident records
    name a location not in the service register ('Oak Hse'): judged at no location."."""
    if not unattributed:
        return ""
    by_kind: dict[str, list[dict]] = {}
    for item in unattributed:
        by_kind.setdefault(item["kind"], []).append(item)
    parts = []
    for kind, items in by_kind.items():
        count = sum(item["records"] for item in items)
        values = ", ".join(repr(item["value"]) if item["value"] is not None else "none" for item in items[:5])
        more = f" and {len(items) - 5} more" if len(items) > 5 else ""
        parts.append(f"{count} {kind} record{'s' if count != 1 else ''} ({values}{more})")
    total = sum(item["records"] for item in unattributed)
    return (f"{'; '.join(parts)} name{'s' if total == 1 else ''} no location in the service register: judged at "
            "no location (add the names as aliases).")


def provider_only_sentence(provider_only: list[dict], provider: str | None) -> str:
    """Said at the top when records at the provider's own row are of kinds only location-level
    targets count: "2 incident records at Head Office: recorded for the provider, judged at no
    location."."""
    if not provider_only:
        return ""
    parts = [f"{item['records']} {item['kind']} record{'s' if item['records'] != 1 else ''}" for item in provider_only]
    return (f"{'; '.join(parts)} at {provider or 'the provider'}: recorded for the provider, judged at no location "
            "(record them at the location they concern).")


def headline(located: list[dict], levels: dict[str, int], bottom: str | None, at_bottom: list[str],
              escalations: list[dict], statutory: list[dict], data_end: date | None = None,
              unattributed: list[dict] | None = None, provider_only: list[dict] | None = None,
              provider: str | None = None) -> str:
    """The provider headline, in one order: statutory breaches first, then the end of the data,
    then records judged at no location, then the locations at the lowest level, by name (the
    first ten)."""
    total = len(located)
    if bottom is None:
        lead = f"No location has a judged target ({total} in scope)."
    else:
        names = ", ".join(at_bottom[:10]) + (f" and {len(at_bottom) - 10} more" if len(at_bottom) > 10 else "")
        lead = (f"Lowest assurance: {LEVEL_WORDS[bottom]} at {len(at_bottom)} of {total} "
                f"location{'s' if total != 1 else ''}: {names}.")
    spread = ", ".join(f"{levels[level]} {LEVEL_WORDS[level]}" for level in reversed(LEVELS))
    opened = len([e for e in escalations if e["status"] == "open"])
    first = " ".join(part for part in (statutory_sentence(statutory), end_of_data_sentence(data_end),
                                       unattributed_sentence(unattributed or []),
                                       provider_only_sentence(provider_only or [], provider)) if part)
    return (f"{first + ' ' if first else ''}{lead} Locations: {spread}. "
            f"{opened} escalation{'s' if opened != 1 else ''} open. {DISCLAIMER}")
