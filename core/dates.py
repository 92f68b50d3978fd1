"""Reading dates the way UK exports write them, and counting working days in England.

Dates are day-first: ``03/04/2026`` is 3 April 2026, never 4 March. Times without an offset
are wall-clock times in Europe/London; every datetime carecheck keeps is timezone-aware.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone
from functools import lru_cache
from pathlib import Path
from typing import Callable, Iterable
from zoneinfo import ZoneInfo

LONDON = ZoneInfo("Europe/London")

_DAY_FIRST = re.compile(
    r"^\s*(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{2}|\d{4})"
    r"(?:[ T]+(\d{1,2}):(\d{2})(?::(\d{2}))?)?\s*$"
)
_ISO_DATE = re.compile(r"^\s*(\d{4})-(\d{2})-(\d{2})\s*$")


class DateParseError(ValueError):
    """A value that is not a date carecheck can read. The message quotes it: dates are not free text."""


def _year(text: str) -> int:
    year = int(text)
    # Two-digit years in care exports are this century.
    return 2000 + year if len(text) == 2 else year


def parse_datetime(value, fmt: str | None = None) -> datetime:
    """Read a timestamp: a ``datetime``, an ISO 8601 string or a day-first UK string.

    With ``fmt`` (a ``strptime`` format from a mapping file) only that format is accepted.
    Naive results are placed in Europe/London.
    """
    if isinstance(value, datetime):
        result = value
    elif isinstance(value, date):
        result = datetime(value.year, value.month, value.day)
    elif isinstance(value, str):
        text = value.strip()
        if not text:
            raise DateParseError("empty date")
        try:
            if fmt:
                result = datetime.strptime(text, fmt)
            else:
                match = _DAY_FIRST.match(text)
                if match:
                    day, month, year, hour, minute, second = match.groups()
                    result = datetime(
                        _year(year), int(month), int(day),
                        int(hour or 0), int(minute or 0), int(second or 0),
                    )
                else:
                    result = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            expected = f" (expected {fmt})" if fmt else " (expected DD/MM/YYYY [HH:MM] or ISO 8601)"
            raise DateParseError(f"unreadable date {text[:40]!r}{expected}") from None
    else:
        raise DateParseError(f"unreadable date of type {type(value).__name__}")
    if result.tzinfo is None:
        # An autumn wall time that happens twice is its first occurrence (fold 0); one that never
        # happens, in the hour the clocks go forward, cannot be a real event time.
        local = result.replace(tzinfo=LONDON)
        if local.astimezone(timezone.utc).astimezone(LONDON).replace(tzinfo=None) != result:
            raise DateParseError(f"{result:%d/%m/%Y %H:%M} does not exist in Europe/London: the clocks went forward "
                                 "that hour")
        result = local
    return result.astimezone(LONDON)


_TIME_DIRECTIVES = ("%H", "%I", "%M", "%S", "%X", "%c", "%p", "%f")


def parse_timestamp(value, fmt: str | None = None) -> datetime | date:
    """A timestamp, or a calendar date when the value gives no time of day.

    A date alone is never read as midnight: it would place every such record in the night shift.
    """
    if isinstance(value, datetime):
        return parse_datetime(value)
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        text = value.strip()
        if fmt:
            if not any(directive in fmt for directive in _TIME_DIRECTIVES):
                return parse_date(text, fmt)
        elif _ISO_DATE.match(text):
            return parse_date(text)
        else:
            match = _DAY_FIRST.match(text)
            if match and match.group(4) is None:
                return parse_date(text)
    return parse_datetime(value, fmt)


def parse_date(value, fmt: str | None = None) -> date:
    """Read a calendar date (day-first or ISO); a timestamp gives its Europe/London date."""
    if isinstance(value, datetime):
        return (value if value.tzinfo is None else value.astimezone(LONDON)).date()
    if isinstance(value, date):
        return value
    if isinstance(value, str) and not fmt:
        match = _ISO_DATE.match(value)
        if match:
            try:
                return date(int(match[1]), int(match[2]), int(match[3]))
            except ValueError:
                raise DateParseError(f"unreadable date {value.strip()[:40]!r}") from None
    return parse_datetime(value, fmt).date()


@lru_cache(maxsize=64)
def bank_holidays(year: int) -> frozenset[date]:
    """England and Wales bank holidays of ``year``, from the ``holidays`` package (substitute days included)."""
    import holidays

    return frozenset(holidays.country_holidays("GB", subdiv="ENG", years=year).keys())


class WorkingDays:
    """Working days in England and Wales: weekdays that are not bank holidays or local closures.

    Counting starts from the day after the event and is inclusive, so the fifth working day
    after Thursday 2 April 2026 is Monday 13 April 2026 (Good Friday and Easter Monday skipped).
    """

    def __init__(self, closures: Iterable[date] = (), holidays_for: Callable[[int], frozenset[date]] | None = None):
        self.closures = frozenset(closures)
        #: Bank holidays by year: the holidays package, or a cache of it (see carecheck.store).
        self.holidays_for = holidays_for or bank_holidays
        self._added: dict[tuple[date, int], date] = {}

    @classmethod
    def from_file(cls, path: Path, holidays_for: Callable[[int], frozenset[date]] | None = None) -> "WorkingDays":
        """Load extra closure days, one ISO or day-first date per line; ``#`` starts a comment."""
        from carecheck.errors import InputError

        closures = []
        try:
            text = Path(path).read_text(encoding="utf-8")
        except FileNotFoundError:
            raise InputError(f"{path}: no such closures file") from None
        except UnicodeDecodeError:
            raise InputError(f"{path}: the closures file is not UTF-8 text") from None
        except OSError as error:
            raise InputError(f"{path}: the closures file cannot be read ({error.strerror})") from None
        for number, line in enumerate(text.splitlines(), 1):
            text = line.split("#", 1)[0].strip()
            if not text:
                continue
            try:
                closures.append(parse_date(text))
            except DateParseError as error:
                raise InputError(f"{path}: line {number}: {error}") from None
        return cls(closures, holidays_for)

    def is_working_day(self, day: date) -> bool:
        return day.weekday() < 5 and day not in self.holidays_for(day.year) and day not in self.closures

    def add(self, start: date, days: int) -> date:
        """The ``days``-th working day after ``start`` (``days`` = 0 gives ``start`` itself)."""
        key = (start, days)
        found = self._added.get(key)
        if found is None:
            found = self._added[key] = self._add(start, days)
        return found

    def _add(self, start: date, days: int) -> date:
        current = start
        remaining = days
        while remaining > 0:
            current += timedelta(days=1)
            if self.is_working_day(current):
                remaining -= 1
        return current


def stored_day(value: str | None) -> date | None:
    """The Europe/London calendar date of a date or timestamp as the store keeps it (ISO, local offset)."""
    return date.fromisoformat(value[:10]) if value else None


def day_first_value(value):
    """For a pydantic ``before`` validator: a date a user wrote, the UK way (01/04/2026) or ISO, as a
    date; a bad one is a ValueError saying why; anything else passes unchanged."""
    if isinstance(value, str):
        try:
            return parse_date(value)
        except DateParseError as error:
            raise ValueError(str(error)) from None
    return value
