"""Incident learning's early warnings of repeats: the same person again, and clusters of one
cause judged against the location's own usual rate.

A home where every second fall shares the cause "environment" is not repeating itself: cause
categories alone never make a repeat. A repeat is another incident for the same person within
``repeat_window_days``, or for the same person with the same cause within
``repeat_cause_window_days``. A cluster is a period's count of one cause at a location that its own
rate makes improbable: at least ``cluster_min_count``, and P(X >= count) below
``cluster_probability`` for X Poisson at the cause's mean count a period over the
``cluster_baseline_periods`` complete periods before the current window (with fewer than three
such periods, the count alone at twice ``cluster_min_count``).
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from datetime import timedelta
from typing import Any, Iterator

from carecheck.domain_api import Context, poisson_at_least, stored_day

#: Baseline periods needed to judge a cluster against the location's own rate.
MIN_BASELINE_PERIODS = 3


def repeats_and_clusters(ctx: Context, params: Any) -> Iterator[tuple[str, str, set[str]]]:
    """(location, signal, record ids) for ``repeated_incidents`` and ``incident_clusters`` in the
    current period."""
    current = ctx.current
    window_first = ctx.window[0] if ctx.window else current
    complete = [p for p in ctx.periods if p.end <= ctx.as_of]
    before = [p for p in complete if p.end < window_first.start][-params.cluster_baseline_periods:]
    lookback = max(params.repeat_window_days, params.repeat_cause_window_days)
    start = min([current.start - timedelta(days=lookback)] + [p.start for p in before])
    starts = [p.start for p in before]
    history: dict[tuple[str, str], list[tuple]] = defaultdict(list)
    repeated: dict[str, set[str]] = defaultdict(set)
    # (location, cause) -> incidents in the baseline periods, and this period's ids
    usual: dict[tuple[str, str], int] = defaultdict(int)
    now: dict[tuple[str, str], set[str]] = defaultdict(set)
    for record_id, raw_service, occurred_at, person, cause in ctx.rows(
        "SELECT id, service, occurred_at, person_id, cause FROM incident WHERE occurred_at >= ? AND occurred_at < ? "
        "ORDER BY occurred_at, id",
        [start.isoformat(), (current.end + timedelta(days=1)).isoformat()],
    ):
        service = ctx.service(raw_service)
        if service is None:
            continue
        occurred = stored_day(occurred_at)
        cause = cause.strip().lower() if cause else None
        in_current = current.contains(occurred)
        if cause:
            if in_current:
                now[(service, cause)].add(record_id)
            elif before and before[0].start <= occurred <= before[-1].end:
                index = bisect.bisect_right(starts, occurred) - 1
                if index >= 0 and occurred <= before[index].end:
                    usual[(service, cause)] += 1
        if not person:
            continue
        earlier = history[(service, person)]
        recent = sum(1 for day, _ in earlier if (occurred - day).days <= params.repeat_window_days)
        same = sum(1 for day, was in earlier
                   if cause and was == cause and (occurred - day).days <= params.repeat_cause_window_days)
        if in_current and max(recent, same) + 1 >= params.repeat_count:
            repeated[service].add(record_id)
        earlier.append((occurred, cause))
    for service, ids in repeated.items():
        yield service, "repeated_incidents", ids
    for (service, cause), ids in now.items():
        if _cluster(len(ids), usual.get((service, cause), 0), len(before), params):
            yield service, "incident_clusters", ids


def _cluster(count: int, baseline_total: int, baseline_periods: int, params: Any) -> bool:
    if count < params.cluster_min_count:
        return False
    if baseline_periods < MIN_BASELINE_PERIODS:
        return count >= 2 * params.cluster_min_count
    return poisson_at_least(count, baseline_total / baseline_periods) < params.cluster_probability
