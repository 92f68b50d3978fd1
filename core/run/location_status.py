"""A target's judgement at one location, in this order of precedence (docs/verdict.md):

1. ``no_records``: no location in scope has a record of a kind the target needs: not evidenced;
2. ``stale`` (rate targets): a kind the target counts, which the location usually records
   (about three or more a period), has none in the current period or the one before: its
   export looks stopped, so the target is not evidenced there;
3. ``no_evidence`` (cadence targets): the location holds no record of any kind the run reads in
   the current period: its checks are not evidenced rather than missed (a missed check in such a
   period, current or earlier, is never counted);
4. ``no_events`` (rate targets): the current period has no value. Carried from the latest period
   of the window that had one; with none, not judged (a small home with no incidents all year is
   not a failure, and an export that stopped is never read as compliance);
5. otherwise the current period's value decides.

Absence of evidence is never scored as failure, and never as compliance.
"""

from __future__ import annotations

import math
from typing import Callable
from dataclasses import dataclass, field

from carecheck.dates import stored_day
from carecheck.verdict.levels import INSUFFICIENT, series_status, worst
from carecheck.run.scope import RunScope
from carecheck.run.series import PeriodSeries, met_threshold

NO_RECORDS = "no_records"
STALE = "stale"
NO_EVENTS = "no_events"
NO_EVIDENCE = "no_evidence"
CARRIED = "carried"


@dataclass(frozen=True)
class StaleKind:
    """A kind a location usually records that has stopped: none in the current period or the one
    before, where about ``rate`` a period came before."""

    kind: str
    newest: str | None
    rate: float


class Presence:
    """Each counted kind's newest record and count per location in the evaluated periods, and,
    for a location whose newest record of a kind is older than the previous period, how many it
    recorded in each period (for staleness by rate: read only where it could be stale)."""

    def __init__(self, scope: RunScope, known: dict[str, dict[str, tuple[str, int]]],
                 counts_of: Callable[[str, list[str]], dict[str, tuple[list[int], str]]] | None = None):
        self.scope = scope
        self._raw = {kind: {service: newest for service, (newest, _) in values.items()} for kind, values in known.items()}
        #: kind -> raw service name -> its records in the evaluated periods
        self.totals = {kind: {service: count for service, (_, count) in values.items()} for kind, values in known.items()}
        self._counts_of = counts_of
        self._counts_raw: dict[str, dict[str, tuple[list[int], str]]] = {}
        self._by_location: dict[str, dict[str, str]] = {}
        self._counts: dict[str, dict[str, list[int]]] = {}
        self._stale: dict[tuple[str, str], StaleKind | None] = {}
        periods = scope.periods
        self._current = periods.index(scope.current) if scope.current is not None else None

    def _kind(self, kind: str) -> dict[str, str]:
        if kind not in self._by_location:
            newest: dict[str, str] = {}
            for raw, value in self._raw.get(kind, {}).items():
                location = self.scope.aliases.get(raw, raw)
                known = location in self.scope.services or (location is not None and location == self.scope.provider)
                if known and value and value > newest.get(location, ""):
                    newest[location] = value
            self._by_location[kind] = newest
        return self._by_location[kind]

    def newest(self, kind: str, location: str | None = None) -> str | None:
        """The newest record of ``kind`` at ``location`` (at any location in scope, or the provider's
        own row, when None)."""
        by_location = self._kind(kind)
        if location is None:
            return max(by_location.values(), default=None)
        return by_location.get(location)

    def unattributed(self) -> list[dict]:
        """Records of the kinds targets count that name a location the service register does not
        know: judged at no location. Without a register every name is a location."""
        if not self.scope.registered:
            return []
        found = []
        for kind in sorted(self.totals):
            for value, count in sorted(self.totals[kind].items(), key=lambda item: (item[0] is None, item[0] or "")):
                if value not in self.scope.aliases and count:
                    found.append({"kind": kind, "value": value, "records": count})
        return found

    def provider_only(self, provider_kinds: set[str]) -> list[dict]:
        """Records at the provider's own row of the kinds only location-level targets count (an
        incident logged against head office): recorded for the provider, judged at no location."""
        provider = self.scope.provider
        if provider is None:
            return []
        found = []
        for kind in sorted(self.totals):
            if kind in provider_kinds:
                continue
            count = sum(n for raw, n in self.totals[kind].items() if raw is not None
                        and self.scope.aliases.get(raw) == provider)
            if count:
                found.append({"kind": kind, "records": count})
        return found

    def missing(self, kinds) -> list[str]:
        """The kinds of ``kinds`` with no record at any location in scope (or the provider's row)."""
        return [kind for kind in kinds if not self._kind(kind)]

    def counts(self, kind: str, location: str) -> list[int] | None:
        """How many records of ``kind`` ``location`` holds in each period (its aliases summed), read
        at once for every location of the kind whose newest record is older than the previous
        period (the others cannot be stale)."""
        if kind not in self._counts:
            if self._counts_of is not None and self._current:
                since = self.scope.periods[self._current - 1].start.isoformat()
                quiet = [raw for raw, newest in self._raw.get(kind, {}).items() if (newest or "") < since]
                self._counts_raw[kind] = self._counts_of(kind, quiet) if quiet else {}
            merged: dict[str, list[int]] = {}
            for raw, (counts, _) in self._counts_raw.get(kind, {}).items():
                name = self.scope.aliases.get(raw, raw)
                if name not in self.scope.services:
                    continue
                into = merged.get(name)
                if into is None:
                    merged[name] = list(counts)
                else:
                    for index, count in enumerate(counts):
                        into[index] += count
            self._counts[kind] = merged
        return self._counts[kind].get(location)

    def stale_by_rate(self, kind: str, location: str) -> StaleKind | None:
        """``kind`` at ``location`` when its export looks stopped (docs/verdict.md, "Stale"): the
        location usually records about λ a period, taken over up to ``stale_rate_periods`` complete
        periods ending with the last before the current one that holds a record (from its first);
        the current period and the one before are both empty though e^-λ is below
        ``stale_probability``; and nothing of it is dated after the current period either."""
        key = (kind, location)
        if key not in self._stale:
            self._stale[key] = self._judge_stale(kind, location)
        return self._stale[key]

    def _judge_stale(self, kind: str, location: str) -> StaleKind | None:
        current = self._current
        if current is None or current < 1:
            return None
        newest = self.newest(kind, location)
        if newest and newest >= self.scope.periods[current - 1].start.isoformat():
            return None  # a record in the current period or the one before: not stale
        counts = self.counts(kind, location)
        if not counts:
            return None
        if counts[current] or counts[current - 1] or any(counts[current + 1:]):
            return None
        held = [index for index in range(current) if counts[index]]
        if not held:
            return None
        model = self.scope.model
        last = held[-1]
        first = max(held[0], last - model.stale_rate_periods + 1)
        span = counts[first:last + 1]
        if len(span) < model.stale_min_periods:
            return None
        rate = sum(span) / len(span)
        if math.exp(-rate) >= model.stale_probability:
            return None  # a kind this location records rarely: an empty period is no surprise
        return StaleKind(kind, self.newest(kind, location), rate)


@dataclass
class LocationTarget:
    """One target at one location: its verdict entry's status fields, and what its location's level
    and commissioner summary see of it."""

    service: str
    status: str
    reason: str
    reason_code: str | None
    baseline: float | None
    current: float | None
    trend: str | None
    carried_from: str | None
    #: The current (or carried) period met the target: None without a value.
    met: bool | None
    #: Counted in the location's level (False: not judged, or waived).
    judged: bool
    #: False for no_records and stale: counts as short in the level, like a target not met.
    evidenced: bool
    #: The baseline met the threshold (for "maintained" against "improved").
    baseline_met: bool | None
    waived: bool = False
    #: Said in the location's warnings: a target not judged for want of events.
    warning: str | None = None
    #: The kinds whose export looks stopped here (status stale).
    stale: list[StaleKind] = field(default_factory=list)

    @property
    def short(self) -> bool:
        return self.judged and (not self.evidenced or not self.met)

    def fields(self) -> dict:
        """The verdict's status fields of a location's target entry."""
        return {"status": self.status, "baseline": self.baseline, "current": self.current, "trend": self.trend,
                "reason": self.reason, "reason_code": self.reason_code, "judged": self.judged,
                "carried": self.carried_from is not None, "carried_from": self.carried_from}


def judge_location(scope: RunScope, spec, service: str, entries: PeriodSeries, missing: list[str],
                   presence: Presence, waived: bool, silent: bool = False) -> LocationTarget:
    """Target ``spec`` at location ``service``, from its series ``entries``."""
    model = scope.model
    complete = [e for e in entries if not e["partial"]]
    raw = series_status(complete, direction=spec.direction, sustained=model.sustained,
                        baseline_rule=_baseline_rule(model), stale=False, threshold=spec.threshold)
    baseline_met = met_threshold(raw.baseline, spec.threshold, spec.direction)

    def make(status, reason, code, *, met=None, judged=True, evidenced=True, carried_from=None, current=None,
             trend=None) -> LocationTarget:
        return LocationTarget(service, status, reason, code, raw.baseline, current, trend, carried_from, met,
                              judged and not waived, evidenced, baseline_met, waived)

    if missing:
        return make(INSUFFICIENT, f"no {_kinds_text(missing)} records at any location in the evaluated periods",
                    NO_RECORDS, evidenced=False)
    if spec.kind == "rate" and spec.scope != "provider":  # a provider-level figure is not one location's export
        stale = [found for kind in spec.sources if (found := presence.stale_by_rate(kind, service)) is not None]
        if stale:
            result = make(INSUFFICIENT, "; ".join(stale_reason(found, service, model.period) for found in stale),
                          STALE, evidenced=False)
            result.stale = stale
            return result
    if silent:
        return make(INSUFFICIENT, f"no record of any kind at {service} in {scope.current_label}: its checks are not "
                                  "evidenced (a gap in the evidence, not a missed check)", NO_EVIDENCE, evidenced=False)
    current = entries.entry_for(scope.current_label)
    if current is None or current["value"] is None:
        if spec.kind == "rate":
            carried = _carried(scope, complete)
            if carried is not None:
                index, entry = carried
                status = series_status(complete[: index + 1], direction=spec.direction, sustained=model.sustained,
                                       baseline_rule=_baseline_rule(model), stale=False, threshold=spec.threshold)
                reason = (f"no events in the current period; carried from {entry['period']}: {status.reason}"
                          + _small(entry, model.min_denominator))
                return make(status.status, reason, CARRIED, met=entry["met"], carried_from=entry["period"],
                            trend=status.trend)
        result = make(INSUFFICIENT, "no events in the current period or the window before it", NO_EVENTS,
                      judged=False)
        if spec.exceptions:  # none is the good case: nothing to warn of
            return result
        newest = max((presence.newest(kind, service) or "" for kind in spec.sources), default="")
        since = f"since {stored_day(newest).isoformat()}" if newest else "in the evaluated periods"
        result.warning = f"no {_kinds_text(list(spec.sources))} records at {service} {since}"
        return result
    return make(raw.status, raw.reason + _small(current, model.min_denominator), None, met=current["met"],
                current=raw.current, trend=raw.trend)


def stale_reason(found: StaleKind, service: str, period: str) -> str:
    """"no incident records at Oak House since 14/05/2026; it logged about 6 a month before"."""
    since = f"since {stored_day(found.newest):%d/%m/%Y}" if found.newest else "in the evaluated periods"
    usual = round(found.rate)
    return f"no {found.kind.replace('_', ' ')} records at {service} {since}; it logged about {usual} a {period} before"


def _carried(scope: RunScope, complete: list) -> tuple[int, dict] | None:
    """The latest period of the window before the current one that had a value."""
    window = {p.label for p in scope.window}
    for index in range(len(complete) - 2, -1, -1):
        entry = complete[index]
        if entry["period"] not in window:
            return None
        if entry["value"] is not None:
            return index, entry
    return None


def _small(entry, min_denominator: int) -> str:
    """Small numbers stay visible: "(1 of 1)" on a figure with fewer units than min_denominator."""
    denominator = entry["denominator"]
    return f" ({entry['numerator']} of {denominator})" if 0 < denominator < min_denominator else ""


def _baseline_rule(model):
    return model.baseline if isinstance(model.baseline, str) else model.baseline.model_dump()


def _kinds_text(kinds: list[str]) -> str:
    return " or ".join(kind.replace("_", " ") for kind in kinds)


def rollup_status(locations: list[LocationTarget]) -> tuple[str, dict[str, int]]:
    """A target's provider status, the worst status over the locations that judge it (or waive it:
    a waiver hides nothing), and how many locations are at each status ("waived" and
    "not_judged" for those that do not judge it)."""
    counts: dict[str, int] = {}
    shown = []
    for location in locations:
        key = "waived" if location.waived else location.status if location.judged else "not_judged"
        counts[key] = counts.get(key, 0) + 1
        if location.judged or location.waived:  # a waived figure is still shown as it is, never judged
            shown.append(location.status)
    return worst(shown), dict(sorted(counts.items()))

