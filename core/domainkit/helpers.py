"""Helpers the built-in domains share and a provider's own domain may use (part of the domain
authors' API: import them from :mod:`carecheck.domain_api`)."""

from __future__ import annotations

import math
from collections import defaultdict
from datetime import date
from typing import TYPE_CHECKING

from carecheck.domainkit.evidence import EvidenceSource

if TYPE_CHECKING:
    from carecheck.domain_api import Context


def feedback_sources(people: tuple[str, str] | None = None, staff: tuple[str, str] | None = None,
                     partners: tuple[str, str] | None = None) -> tuple[EvidenceSource, ...]:
    """Feedback counts as people's experience, staff feedback or partner feedback by who gave it.

    Each of ``people``, ``staff`` and ``partners`` may give that source a corroboration rule, as
    (``supports``, ``against``): a condition over the feedback's fields, and what feedback that
    does not meet it says.
    """
    def source(category, where, label, rule):
        supports, against = rule if rule else (None, None)
        return EvidenceSource("feedback", category, where, label, supports=supports, against=against)

    return (
        source("people_experience", "source IN ('person', 'family')", "feedback from people and families", people),
        source("staff_feedback", "source = 'staff'", "staff feedback", staff),
        source("partner_feedback", "source = 'partner'", "partner feedback", partners),
    )


class MeasureValue(float):
    """An outcome measure's value that also says what it counts: ``numerator`` of ``denominator``
    (2 repeats among 18 incidents), so a rise can be told from the noise of small numbers."""

    numerator: int
    denominator: int

    def __new__(cls, value: float, numerator: int, denominator: int):
        made = super().__new__(cls, value)
        made.numerator, made.denominator = numerator, denominator
        return made

    def __reduce__(self):
        return (MeasureValue, (float(self), self.numerator, self.denominator))


def repeat_share(events: list[tuple[str, tuple, date]], window_start: date, days: int,
                 windows: dict[str, int] | None = None) -> MeasureValue | None:
    """The share of events on or after ``window_start`` that repeat an earlier event sharing any of
    their keys within ``days`` days (or, for a key of kind ``k``, ``windows[k]`` days); ``events``
    are (id, keys, day), oldest first, each key ``(kind, value)`` (an empty value is ignored). None
    without events in the window."""
    last_seen: dict = {}
    counted = repeats = 0
    windows = windows or {}
    for _record_id, keys, day in events:
        keys = [key for key in keys if key[1]]
        if day >= window_start:
            counted += 1
            repeats += any(key in last_seen and (day - last_seen[key]).days <= windows.get(key[0], days)
                           for key in keys)
        for key in keys:
            last_seen[key] = day
    return MeasureValue(round(repeats / counted, 6), repeats, counted) if counted else None


def poisson_at_least(count: int, rate: float) -> float:
    """P(X >= count) for X Poisson with mean ``rate``: how surprising a period's count is at a
    location's own usual rate."""
    if count <= 0:
        return 1.0
    term = total = math.exp(-rate)
    for k in range(1, count):
        term *= rate / k
        total += term
    return max(0.0, 1.0 - total)


def activity_days(ctx: "Context", activity: str) -> dict[str, list[date]]:
    """Days each in-scope service recorded ``activity`` (governance activities not marked
    ``not_completed``), for a cadence target (:meth:`Context.cadence`). The domain must read
    ``governance_activity``."""
    done: dict[str, list[date]] = defaultdict(list)
    day = ctx.day
    # One row per service: a daily check is a hundred thousand rows a year at 300 homes, and
    # resolving the service once per home rather than once per row halves the time.
    for raw_service, days in ctx.rows(
        "SELECT service, group_concat(substr(performed_at, 1, 10)) FROM governance_activity "
        "WHERE activity = ? AND coalesce(outcome, '') != 'not_completed' AND performed_at IS NOT NULL "
        "GROUP BY service",
        [activity],
    ):
        service = ctx.service(raw_service)
        if service is not None and days:
            done[service].extend(map(day, days.split(",")))
    return done
