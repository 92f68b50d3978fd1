"""Reading free text for early warning signs, without ever repeating it.

Free text is read inside carecheck to count warning signs (vague language, missing timelines,
safeguarding indicators); only record ids and counts leave it.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

PHRASES_DIR = Path(__file__).parent.parent / "data" / "phrases"
DEFAULT_TIMELINE_PATTERN = r"\b([01]?\d|2[0-3])[:.][0-5]\d\b|\b(1[0-2]|0?[1-9])\s?(am|pm)\b|\b(midday|midnight|noon)\b"


def phrase_list(name: str) -> list[str]:
    """A shipped phrase list (``vague`` or ``safeguarding_indicators``)."""
    lines = (PHRASES_DIR / f"{name}.txt").read_text(encoding="utf-8").splitlines()
    return [line.strip().lower() for line in lines if line.strip() and not line.startswith("#")]


@lru_cache(maxsize=32)
def phrase_pattern(phrases: tuple[str, ...]) -> re.Pattern:
    words = "|".join(re.escape(phrase) for phrase in sorted(phrases, key=len, reverse=True))
    return re.compile(rf"\b(?:{words})\b", re.IGNORECASE) if words else re.compile(r"(?!x)x")


def contains_phrase(text: str | None, phrases: tuple[str, ...]) -> bool:
    return bool(text) and phrase_pattern(phrases).search(text) is not None


@lru_cache(maxsize=8)
def _compiled(pattern: str) -> re.Pattern:
    return re.compile(pattern, re.IGNORECASE)


def has_timeline(text: str | None, pattern: str = DEFAULT_TIMELINE_PATTERN) -> bool:
    """Whether a record says when things happened (a time of day)."""
    return bool(text) and _compiled(pattern).search(text) is not None


def word_count(text: str | None) -> int:
    return len(text.split()) if text else 0
