"""A target's judgement at one location, in this order of precedence (docs/verdict.md):

1. ``no_records``: no location in scope has a record of a kind the target needs: not evidenced;
2. ``stale`` (rate targets): the location has no record of any kind its domain reads since the
   stale cutoff: not evidenced;
3. ``no_events`` (rate targets): the current period has no value. Carried from the latest period
   of the window that had one; with none, not judged (a small home with no incidents all year is
   not a failure, and an export that stopped is never read as compliance);
4. otherwise the current period's value decides.

Absence of evidence is never scored as failure, and never as compliance.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from carecheck.dates import stored_day
from carecheck.verdict.levels import INSUFFICIENT, series_status, worst
from carecheck.run.scope import RunScope
from carecheck.run.series import PeriodSeries, met_threshold

NO_RECORDS = "no_records"
STALE = "stale"
NO_EVENTS = "no_events"
CARRIED = "carried"


class Presence:
    """Each kind's newest record per location in the evaluated periods.

    The kinds targets count are read before the domains run (a target with no records anywhere is
    not counted at all); the rest of the kinds the domains read are read by ``later`` only if a
    location's staleness needs them (most locations have recent records of a counted kind).
    """

    def __init__(self, scope: RunScope, known: dict[str, dict[str, str]],
                 later: Callable[[], dict[str, dict[str, str]]] | None = None):
        self.scope = scope
        self._raw = dict(known)
        self._later = later
        self._by_location: dict[str, dict[str, str]] = {}

    def _kind(self, kind: str) -> dict[str, str]:
        if kind not in self._by_location:
            if kind not in self._raw and self._later is not None:
                self._raw.update(self._later())
                self._later = None
            newest: dict[str, str] = {}
            for raw, value in self._raw.get(kind, {}).items():
                location = self.scope.aliases.get(raw, raw)
                if location in self.scope.services and value and value > newest.get(location, ""):
                    newest[location] = value
            self._by_location[kind] = newest
        return self._by_location[kind]

    def newest(self, kind: str, location: str | None = None) -> str | None:
        """The newest record of ``kind`` at ``location`` (at any location in scope when None)."""
        by_location = self._kind(kind)
        if location is None:
            return max(by_location.values(), default=None)
        return by_location.get(location)

    def recent(self, kinds, location: str, since) -> bool:
        """Whether ``location`` has a record of any of ``kinds`` on or after the day ``since``: the
        kinds already read are tried first, so the rest are waited for only when needed."""
        for kind in sorted(kinds, key=lambda k: k not in self._raw):
            newest = self.newest(kind, location)
            if newest and stored_day(newest) >= since:
                return True
        return False

    def missing(self, kinds) -> list[str]:
        """The kinds of ``kinds`` with no record at any location in scope."""
        return [kind for kind in kinds if not self._kind(kind)]


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

    @property
    def short(self) -> bool:
        return self.judged and (not self.evidenced or not self.met)

    def fields(self) -> dict:
        """The verdict's status fields of a location's target entry."""
        return {"status": self.status, "baseline": self.baseline, "current": self.current, "trend": self.trend,
                "reason": self.reason, "reason_code": self.reason_code, "judged": self.judged,
                "carried": self.carried_from is not None, "carried_from": self.carried_from}


def judge_location(scope: RunScope, spec, domain_kinds, service: str, entries: PeriodSeries, missing: list[str],
                   presence: Presence, waived: bool) -> LocationTarget:
    """Target ``spec`` at location ``service``, from its series ``entries``."""
    model = scope.model
    complete = [e for e in entries if not e["partial"]]
    raw = series_status(complete, direction=spec.direction, sustained=model.sustained,
                        baseline_rule=_baseline_rule(model), stale=False)
    baseline_met = met_threshold(raw.baseline, spec.threshold, spec.direction)

    def make(status, reason, code, *, met=None, judged=True, evidenced=True, carried_from=None, current=None,
             trend=None) -> LocationTarget:
        return LocationTarget(service, status, reason, code, raw.baseline, current, trend, carried_from, met,
                              judged and not waived, evidenced, baseline_met, waived)

    if missing:
        return make(INSUFFICIENT, f"no {_kinds_text(missing)} records at any location in the evaluated periods",
                    NO_RECORDS, evidenced=False)
    if spec.kind == "rate":
        if not presence.recent(domain_kinds, service, scope.stale_cutoff):
            since = f"since {scope.stale_cutoff.isoformat()}"
            return make(INSUFFICIENT, f"no records of this domain's kinds at this location {since}", STALE,
                        evidenced=False)
    current = entries.entry_for(scope.current_label)
    if current is None or current["value"] is None:
        if spec.kind == "rate":
            carried = _carried(scope, complete)
            if carried is not None:
                index, entry = carried
                status = series_status(complete[: index + 1], direction=spec.direction, sustained=model.sustained,
                                       baseline_rule=_baseline_rule(model), stale=False)
                reason = (f"no events in the current period; carried from {entry['period']}: {status.reason}"
                          + _small(entry, model.min_denominator))
                return make(status.status, reason, CARRIED, met=entry["met"], carried_from=entry["period"],
                            trend=status.trend)
        result = make(INSUFFICIENT, "no events in the current period or the window before it", NO_EVENTS,
                      judged=False)
        newest = max((presence.newest(kind, service) or "" for kind in spec.sources), default="")
        since = f"since {stored_day(newest).isoformat()}" if newest else "in the evaluated periods"
        result.warning = f"no {_kinds_text(list(spec.sources))} records at {service} {since}"
        return result
    return make(raw.status, raw.reason + _small(current, model.min_denominator), None, met=current["met"],
                current=raw.current, trend=raw.trend)


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
    return " or ".join(kinds)


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

