"""The provider headline of a verdict: statutory breaches first, then the locations at the lowest
level, by name, the spread of levels and the escalations open."""

from __future__ import annotations

from carecheck.verdict.statutory import statutory_sentence
from carecheck.verdict.levels import LEVEL_WORDS, LEVELS

#: Said wherever a level is: carecheck's levels are the provider's internal assurance.
DISCLAIMER = "This is the provider's internal assurance, not a CQC rating."


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
