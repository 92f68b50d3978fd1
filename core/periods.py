"""Review periods: calendar months (the default), ISO weeks or calendar quarters.

A period is complete when ``as_of`` is on or after its last day. The period that contains
``as_of`` is partial: it is shown but never counts toward a status.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

PeriodKind = Literal["week", "month", "quarter"]


@dataclass(frozen=True, order=True)
class Period:
    start: date
    end: date
    label: str

    def contains(self, day: date) -> bool:
        return self.start <= day <= self.end


def _month_end(year: int, month: int) -> date:
    following = date(year + (month == 12), month % 12 + 1, 1)
    return following - timedelta(days=1)


def period_of(day: date, kind: PeriodKind) -> Period:
    if kind == "month":
        return Period(date(day.year, day.month, 1), _month_end(day.year, day.month), f"{day.year}-{day.month:02d}")
    if kind == "quarter":
        quarter = (day.month - 1) // 3 + 1
        first_month = 3 * quarter - 2
        return Period(date(day.year, first_month, 1), _month_end(day.year, first_month + 2), f"{day.year}-Q{quarter}")
    if kind == "week":
        monday = day - timedelta(days=day.weekday())
        year, week, _ = monday.isocalendar()
        return Period(monday, monday + timedelta(days=6), f"{year}-W{week:02d}")
    raise ValueError(f"unknown period kind {kind!r}")


def periods_between(first: date, last: date, kind: PeriodKind) -> list[Period]:
    """Every period from the one containing ``first`` to the one containing ``last``."""
    periods = []
    current = period_of(first, kind)
    while current.start <= last:
        periods.append(current)
        current = period_of(current.end + timedelta(days=1), kind)
    return periods


def parse_period(label: str, kind: PeriodKind) -> Period:
    """A period from its label (``2026-04``, ``2026-Q2`` or ``2026-W14``)."""
    try:
        if kind == "month":
            year, month = label.split("-")
            return period_of(date(int(year), int(month), 1), kind)
        if kind == "quarter":
            year, quarter = label.split("-Q")
            return period_of(date(int(year), 3 * int(quarter) - 2, 1), kind)
        year, week = label.split("-W")
        return period_of(date.fromisocalendar(int(year), int(week), 1), kind)
    except ValueError:
        raise ValueError(f"{label!r} is not a {kind} (expected e.g. {period_of(date(2026, 4, 1), kind).label})") from None
