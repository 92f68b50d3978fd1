"""The provider headline of a verdict: statutory breaches first, then the locations at the lowest
level, by name, the spread of levels and the escalations open."""

from __future__ import annotations

from carecheck.domainkit.statutory import SUBJECTS
from carecheck.verdict.levels import LEVEL_WORDS, LEVELS

#: Said wherever a level is: carecheck's levels are the provider's internal assurance.
DISCLAIMER = "This is the provider's internal assurance, not a CQC rating."


def statutory_sentence(breaches: list[dict], limit: int = 10) -> str:
    """"Statutory: 1 death not notified to CQC at Oak House (INC-0412, due 04/08/2026)." for the
    breaches counted, grouped by location and duty; "" without any."""
    groups: dict[tuple[str, str], list[dict]] = {}
    for breach in breaches:
        groups.setdefault((breach["service"], breach["subject"]), []).append(breach)
    parts = []
    for (service, subject), found in list(groups.items())[:limit]:
        one, several = SUBJECTS[subject]
        cited = "; ".join(
            f"{', '.join(b['records'])}, due {_uk(b['due'])}" + (f", made {_uk(b['made'])}" if b["made"] else "")
            for b in found[:5]) + (f"; and {len(found) - 5} more" if len(found) > 5 else "")
        parts.append(f"{len(found)} {one if len(found) == 1 else several} at {service} ({cited})")
    if len(groups) > limit:
        parts.append(f"and {len(groups) - limit} more")
    return f"Statutory: {'; '.join(parts)}." if parts else ""


def _uk(day: str) -> str:
    return f"{day[8:10]}/{day[5:7]}/{day[:4]}"


def headline(located: list[dict], levels: dict[str, int], bottom: str | None, at_bottom: list[str],
              escalations: list[dict], statutory: list[dict]) -> str:
    """The provider headline: statutory breaches first, then the locations at the lowest level, by
    name (the first ten)."""
    total = len(located)
    if bottom is None:
        lead = f"No location has a judged target ({total} in scope)."
    else:
        names = ", ".join(at_bottom[:10]) + (f" and {len(at_bottom) - 10} more" if len(at_bottom) > 10 else "")
        lead = (f"Lowest assurance: {LEVEL_WORDS[bottom]} at {len(at_bottom)} of {total} "
                f"location{'s' if total != 1 else ''}: {names}.")
    spread = ", ".join(f"{levels[level]} {LEVEL_WORDS[level]}" for level in reversed(LEVELS))
    opened = len([e for e in escalations if e["status"] == "open"])
    first = statutory_sentence(statutory)
    return (f"{first + ' ' if first else ''}{lead} Locations: {spread}. "
            f"{opened} escalation{'s' if opened != 1 else ''} open. {DISCLAIMER}")
