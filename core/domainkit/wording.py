"""A domain's titles, descriptions and actions as templates over its parameters: "Incidents
reviewed within {review_within_working_days} working days" says "three working days" under a
ruleset that sets the parameter to 3, everywhere the title is shown.

A placeholder is a parameter's name in braces; any other braces (a sentence's ``{n}`` or
``{period}``) are left for the sentence to fill. In titles, cadences and actions a whole number
from zero to ten is written in words; elsewhere, and for other values, in figures.
"""

from __future__ import annotations

import re
from typing import Any

NUMBER_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten")
_PLACEHOLDER = re.compile(r"\{([a-z][a-z0-9_]*)\}")


def _value(value: Any, words: bool) -> str | None:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if words and isinstance(value, int) and 0 <= value <= 10:
        return NUMBER_WORDS[value]
    return str(value)


def fill(text: str | None, params: Any, words: bool = False) -> str | None:
    """``text`` with each ``{parameter}`` of ``params`` (a pydantic model or a dict) filled in."""
    if not text or "{" not in text or params is None:
        return text
    values = params if isinstance(params, dict) else params.model_dump()

    def one(match: re.Match) -> str:
        name = match.group(1)
        if name not in values:
            return match.group(0)
        shown = _value(values[name], words)
        return match.group(0) if shown is None else shown

    return _PLACEHOLDER.sub(one, text)
