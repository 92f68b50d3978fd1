"""The slots of a cadence target (a check expected every day, week, month or quarter) and whether
each was met: what :meth:`carecheck.domain_api.Context.cadence` yields as outcomes."""

from __future__ import annotations

import bisect
from datetime import date, timedelta
from functools import lru_cache
from typing import Iterator

from carecheck.periods import period_of

PASS, FAIL, PENDING = "pass", "fail", "pending"


def cadence_slots(first: date, last: date, as_of: date, every: str, done: list[date], minimum: int = 1,
                  lookback_days: int | None = None) -> Iterator[tuple[date, str, str]]:
    """Each slot from ``first`` to ``last``: (its last day, its label, pass, fail or pending), from
    the days the check was ``done``."""
    days = sorted(done)
    counts: dict[date, int] = {}
    for day in days:
        slot_end = _slot(day, every)[1]
        counts[slot_end] = counts.get(slot_end, 0) + 1
    slot_start, slot_end, label = _slot(first, every)
    while slot_start <= last:
        if slot_start >= first:
            if slot_end > as_of:
                status = PENDING
            elif lookback_days is not None:
                window_start = slot_end - timedelta(days=lookback_days - 1)
                within = bisect.bisect_right(days, slot_end) - bisect.bisect_left(days, window_start)
                status = PASS if within >= minimum else FAIL
            else:
                status = PASS if counts.get(slot_end, 0) >= minimum else FAIL
            yield slot_end, label, status
        slot_start, slot_end, label = _slot(slot_end + timedelta(days=1), every)


@lru_cache(maxsize=8192)
def _slot(day: date, every: str) -> tuple[date, date, str]:
    # Cached: every service shares the same slots, and their labels are kept as failure ids.
    if every == "day":
        return day, day, day.isoformat()
    period = period_of(day, every)  # type: ignore[arg-type]
    return period.start, period.end, period.label
