"""Outcome trends: whether results for people are getting worse at a location.

Each outcome measure with a kind and a look-back (docs/verdict.md, "Outcome trends") is compared
with its own value over the location's first full window: the first window of ``sustained``
complete periods whose look-back starts on or after the location's earliest record of the kind (a
repeat within 30 days cannot be counted before there are 30 days of records). A measure that is
itself a change (an audit score's rise or fall) is compared with zero.

A measure is worsening when it moved the wrong way by more than its tolerance and, for a share,
the current window holds at least two more events than the baseline share predicts at the
current count (one more repeat among five incidents is noise, not a trend).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import replace
from datetime import date, timedelta

from carecheck.domain_api import Context, Domain, MeasureValue
from carecheck.run import reads

#: Events beyond the baseline's prediction a share needs to be worsening.
MIN_EXCESS = 2


def trends(ctx: Context, domain: Domain, current: dict[str, dict[str, float]], registry) -> dict[str, list[dict]]:
    """Each location's outcome trends: ``{location: [trend, ...]}``, one per measure it can judge."""
    out: dict[str, list[dict]] = defaultdict(list)
    window = ctx.window
    if not window:
        return {}
    complete = [p for p in ctx.periods if p.end <= ctx.as_of]
    for measure in domain.measures:
        if measure.change:
            for service, values in current.items():
                value = values.get(measure.name)
                if value is not None:
                    out[service].append(_trend(measure, None, 0.0, value))
            continue
        if not measure.kind or not measure.lookback_param:
            continue
        lookback = timedelta(days=getattr(ctx.params, measure.lookback_param))
        if measure.kind not in registry.kinds:
            continue
        earliest = reads.earliest_by_service(ctx, measure.kind, registry.kinds[measure.kind].event_field)
        by_window: dict[tuple, list[str]] = defaultdict(list)
        for service, values in current.items():
            if values.get(measure.name) is None or service not in earliest:
                continue
            first = _first_window(complete, len(window), lookback, earliest[service], window[0].start)
            if first is not None:
                by_window[first].append(service)
        for first, services in by_window.items():
            baseline_values = domain.measure_values(replace(ctx, window=first))
            for service in services:
                baseline = baseline_values.get(service, {}).get(measure.name)
                if baseline is not None:
                    out[service].append(_trend(measure, first, baseline, current[service][measure.name]))
    return dict(out)


def _first_window(complete: list, size: int, lookback: timedelta, earliest: date, current_start: date
                  ) -> tuple | None:
    """The first window of ``size`` complete periods whose look-back starts on or after ``earliest``,
    if it starts before the current window."""
    for index in range(len(complete) - size + 1):
        start = complete[index].start
        if start >= current_start:
            return None
        if start - lookback >= earliest:
            return tuple(complete[index:index + size])
    return None


def _trend(measure, first: tuple | None, baseline: float, value: float) -> dict:
    change = round(value - baseline, 6)
    worse = change > measure.tolerance if measure.direction == "at_most" else change < -measure.tolerance
    excess = None
    if worse and isinstance(value, MeasureValue) and first is not None:
        # How many more events than the baseline share predicts at the current count.
        predicted = baseline * value.denominator
        excess = round(value.numerator - predicted if measure.direction == "at_most" else predicted - value.numerator,
                       2)
        worse = excess >= MIN_EXCESS
    return {
        "measure": measure.name, "title": measure.title,
        "baseline": baseline if first is not None else None,
        "baseline_window": [first[0].label, first[-1].label] if first is not None else None,
        "current": float(value), "change": change,
        "numerator": getattr(value, "numerator", None), "denominator": getattr(value, "denominator", None),
        "excess": excess, "worsening": worse,
    }


def trend_sentence(trend: dict) -> str:
    """"Repeat incidents rose from 0.78 (2026-03 to 2026-05) to 0.94 (17 of 18, 3.2 more than the
    earlier rate predicts)"."""
    if trend["baseline_window"] is None:
        return f"{trend['title']} changed by {trend['change']:g} over the window"
    went = "rose" if trend["change"] > 0 else "fell"
    first, last = trend["baseline_window"]
    counted = (f" ({trend['numerator']} of {trend['denominator']}, {trend['excess']:g} more than the earlier rate "
               "predicts)" if trend["denominator"] else "")
    return f"{trend['title']} {went} from {trend['baseline']:g} ({first} to {last}) to {trend['current']:g}{counted}"
