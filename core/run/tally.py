"""Outcomes into figures: each domain's outcomes counted into cells, the cells into period series per
service and pooled, and each series into a status, with the stale and low-denominator flags.

The domain's own code runs here (:meth:`Tally.figures`): a third-party domain that raises is named
in a one-line error rather than reported as a bug in carecheck.
"""

from __future__ import annotations

from array import array
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

from sqlite_utils import Database

from carecheck import plugin_manager
from carecheck.domain_api import PASS, PENDING, PROVIDER_KEY, SLOTS, Context
from carecheck.plugin.declared_reads import declared_reads, release
from carecheck.periods import period_of
from carecheck.ruleset import ResolvedDomain
from carecheck.verdict.levels import series_status
from carecheck.run.location_status import NO_RECORDS, LocationTarget, Presence, judge_location, rollup_status
from carecheck.run.scope import RunScope, signals_used
from carecheck.run import reads
from carecheck.run.outcomes import trends as outcome_trends
from carecheck.run.time_limit import time_limit
from carecheck.run.series import Cell, Frame, PeriodSeries, TargetCells, ratio

if TYPE_CHECKING:  # waivers are read only when a run has them
    from carecheck.ruleset.waivers import Waiver

PROVIDER = PROVIDER_KEY


@dataclass
class TargetFigures:
    """One target's verdict entry, and its judgement at each location."""

    result: dict[str, Any]
    locations: list[LocationTarget]
    #: A waiver for every location is in force.
    waived: bool


def _rollup_reason(status: str, locations: list[LocationTarget]) -> str:
    """Which locations set a target's provider status, by name (the first ten)."""
    shown = [location for location in locations if location.judged or location.waived]
    if not shown:
        return "no location judges this target in the current period"
    at_worst = [location.service for location in shown if location.status == status]
    names = ", ".join(at_worst[:10]) + (f" and {len(at_worst) - 10} more" if len(at_worst) > 10 else "")
    waived = " (waived)" if all(location.waived for location in shown) else ""
    return f"{len(at_worst)} of {len(shown)} locations {status.replace('_', ' ')}{waived}: {names}"


@dataclass
class DataQualityFlags:
    """Flags raised while the figures are worked out, for the verdict's data_quality."""

    low_denominators: list[dict] = field(default_factory=list)
    stale_sources: list[dict] = field(default_factory=list)
    pending_units: int = 0
    #: records of a counted kind naming a location the register does not know, by kind and value
    unattributed: list[dict] = field(default_factory=list)
    #: Records at the provider's own row that only location-level targets count: judged nowhere.
    provider_only: list[dict] = field(default_factory=list)


@dataclass
class DomainFigures:
    """What a domain's own code gave, counted: its cells, its signals (counts), the record ids
    behind them, and its outcome measures, each by service."""

    cells: dict[str, TargetCells]
    signals: dict[str, dict[str, Any]]
    signal_ids: dict[str, dict[str, list[str]]]
    measures: dict[str, dict[str, float]]
    #: The domain's statutory findings (Breach and Undetermined), at every service.
    duties: list = field(default_factory=list)
    #: (service or None, kind, field or None): evidence its checks needed and could not have.
    gaps: set = field(default_factory=set)
    #: service -> signal -> the words its sentence adds ({since}, say), for signals given as a dict.
    signal_details: dict[str, dict[str, dict[str, str]]] = field(default_factory=dict)
    #: (target, service, reason) -> the ids of records a target left out of its denominator.
    left_out: dict[tuple[str, str, str], list[str]] = field(default_factory=dict)
    #: service -> its outcome measures' trends against their first full window (run/outcomes.py)
    trends: dict[str, list[dict]] = field(default_factory=dict)

    def worsening(self, service: str) -> list[dict]:
        return [trend for trend in self.trends.get(service, ()) if trend["worsening"]]


def _signal_counts(raw: dict[str, dict[str, Any]]) -> tuple[dict, dict, dict]:
    """A domain's signal values as counts, the ids of those it gave as collections of ids, and the
    sentence's words of those it gave as a dict (``{"records": ids, "since": "2026-06-02"}``)."""
    counts: dict[str, dict[str, Any]] = {}
    ids: dict[str, dict[str, list[str]]] = {}
    details: dict[str, dict[str, dict[str, str]]] = {}
    for service, values in raw.items():
        service_counts = counts[service] = {}
        for name, value in values.items():
            if isinstance(value, dict):
                words = {key: str(word) for key, word in value.items() if key != "records"}
                if words:
                    details.setdefault(service, {})[name] = words
                value = value.get("records", ())
            if isinstance(value, (set, frozenset, list, tuple)):
                found = sorted({str(v) for v in value})
                ids.setdefault(service, {})[name] = found
                value = len(found)
            service_counts[name] = value
    return counts, ids, details


def waiver_ref(waiver: Waiver | None) -> dict | None:
    if waiver is None:
        return None
    return {"entry": waiver.index, "status": waiver.status, "applies": waiver.applies, "expires": waiver.expires_text,
            "justification": waiver.justification, "approved_by": waiver.approved_by}


class Tally:
    """Counts a run's outcomes on ``db`` (the run's connection, or a forked worker's) into ``sink``'s
    failures and the figures of each target."""

    def __init__(self, scope: RunScope, db: Database, sink, uncounted: frozenset[str] = frozenset()):
        self.scope = scope
        #: Targets not counted at all: no location has a record of a kind they need.
        self.uncounted = uncounted
        self.db = db
        self.failures = sink
        self.quality = DataQualityFlags()
        self._frames: dict[tuple, Frame] = {}
        #: (location, period) -> whether the location holds no record of any kind the run reads then
        self._silent: dict[tuple[str, str], bool] = {}
        self._names: dict[str, list[str]] | None = None
        self._periods: dict[str, Any] = {}
        self._kinds: list[str] = []

    def silent(self, service: str, label: str) -> bool:
        """Whether ``service`` holds no record of any kind the run reads in period ``label``: a
        period with no evidence at all is a gap, and its missed checks are not evidenced, not failed."""
        key = (service, label)
        if key not in self._silent:
            scope = self.scope
            if self._names is None:  # worked out once: a run asks for thousands of location periods
                self._names = defaultdict(list)
                for raw, name in scope.aliases.items():
                    self._names[name].append(raw)
                self._periods = {p.label: p for p in scope.periods}
                self._kinds = sorted(kind for kind in scope.kinds_used()
                                     if kind in scope.registry.kinds and kind != "service")
            period = self._periods[label]
            self._silent[key] = not reads.holds_any(self.db, self._kinds, self._names.get(service) or [service],
                                                    period.start, min(period.end, scope.as_of))
        return self._silent[key]

    # -- counting ------------------------------------------------------------------------------

    def context(self, resolved: ResolvedDomain, targets: dict, services: dict[str, str | None] | None = None) -> Context:
        """A domain's context, for every in-scope service or for ``services`` (a worker's share)."""
        scope = self.scope
        shifts = scope.model.shifts
        return Context(
            _db=self.db, params=resolved.params, as_of=scope.as_of, period_kind=scope.model.period,
            periods=list(scope.periods), current=scope.current,
            services=scope.services if services is None else services, aliases=scope.aliases,
            working_days=scope.working_days, shift_hours=(shifts.day_starts, shifts.night_starts), targets=targets,
            signals=signals_used(resolved, targets) if scope.options.targets else None, window=scope.window,
            supplied_fields=scope.supplied, provider=scope.provider,
            # carecheck's own domains pass a cadence's outcomes on as they come: counted in bulk.
            _slots_at_once=plugin_manager.is_builtin(resolved.plugin),
        )

    def figures(self, resolved: ResolvedDomain, targets: dict, services: dict | None = None,
                cells_only: bool = False) -> DomainFigures:
        """A domain's cells, signals and outcome measures, for every service or a worker's share
        (``cells_only``: the targets' cells alone)."""
        ctx = self.context(resolved, targets, services)
        limit = self.scope.ruleset.model.domain_time_limit_s
        domain = resolved.domain
        try:
            # The time limit inside the plugin's guard: SQLite's interrupt is the limit, not a fault.
            with plugin_manager.plugin_code(resolved.plugin, f"domain {domain.name!r}", " and a ruleset without it"), \
                    time_limit(self.db.conn, limit, f"domain {domain.name!r}"), \
                    declared_reads(self.db.conn, domain.name, resolved.plugin, domain.reads):
                cells = self._cells(ctx, resolved)
                if cells_only:
                    return DomainFigures(cells, {}, {}, {})
                # Signals are a location's: any the domain gives the provider's own row are not.
                signals, ids, details = _signal_counts({service: values for service, values in
                                                        domain.signal_values(ctx).items() if service in ctx.services})
                measures = {service: {name: value for name, value in values.items() if value is not None}
                            for service, values in domain.measure_values(ctx).items() if service in ctx.services}
                trends = outcome_trends(ctx, domain, measures, self.scope.registry) if measures else {}
                duties = [duty for duty in domain.duties(ctx) if duty.service in ctx.services]
        finally:
            release(self.db.conn)
        left_out = {key: ids_ for key, ids_ in ctx._left_out.items() if key[1] in ctx.services}
        return DomainFigures(cells, signals, ids, measures, duties, set(ctx._gaps), details, left_out, trends)

    def _cells(self, ctx: Context, resolved: ResolvedDomain) -> dict[str, TargetCells]:
        cells = {target: TargetCells(ctx.services) for target in ctx.targets if target not in self.uncounted}
        periods = self.scope.periods
        first, last = periods[0].start, periods[-1].end
        kind = self.scope.model.period
        labels: dict[date, str] = {}
        domain = resolved.domain.name
        services = ctx.services
        failures = self.failures
        # A provider-level target's outcomes, at the provider's row or any location, count once.
        provider_level = {target for target in cells if ctx.provider_level(target)}
        for target in provider_level:
            cells[target].provider = defaultdict(Cell)
        # The hottest loop of a run, one pass per record: the cell and shift counts are updated inline.
        for target, service, day, unit, status, shift in resolved.domain.outcomes(ctx):
            target_cells = cells.get(target)
            if target_cells is None:
                continue
            if service not in services:
                if target not in provider_level or (service != PROVIDER_KEY and service != ctx.provider):
                    continue
            if status == SLOTS:
                self._count_slots(target_cells, service, unit, target in provider_level, labels, domain, target)
                continue
            label = labels.get(day)
            if label is None:
                if not first <= day <= last:
                    continue
                label = labels[day] = period_of(day, kind).label
            if target in provider_level:
                _count_provider(target_cells.provider[label], status, unit)
                continue
            cell = target_cells.by_service[service][label]
            if status == PENDING:
                cell.pending += 1
                continue
            cell.denominator += 1
            if status == PASS:
                cell.numerator += 1
            else:
                cell.fail(unit)
                failures.add((domain, target, service, label, unit))
            if shift:
                by_shift = target_cells.shifts.get(label)
                if by_shift is None:
                    by_shift = target_cells.shifts[label] = {}
                counts = by_shift.get(shift)
                if counts is None:
                    counts = by_shift[shift] = [0, 0]
                counts[0] += status == PASS
                counts[1] += 1
        for target in provider_level:
            # Judged once, the same result at every location (each keeps its own failure rows, so
            # history and diff read a location's failures as for any target).
            target_cells = cells[target]
            for service in services:
                by_period = target_cells.by_service[service]
                for label, cell in target_cells.provider.items():
                    by_period[label] = cell.copy()
                    for unit in cell.failures or ():
                        failures.add((domain, target, service, label, unit))
        return cells

    def _count_slots(self, target_cells: TargetCells, service: str, slots: tuple, provider_level: bool,
                     labels: dict[date, str], domain: str, target: str) -> None:
        """A service's cadence slots, each (last day, label, pass, fail or pending), into its cells."""
        periods = self.scope.periods
        first, last, kind = periods[0].start, periods[-1].end, self.scope.model.period
        by_period = target_cells.provider if provider_level else target_cells.by_service[service]
        failures = self.failures
        for day, unit, status in slots:
            label = labels.get(day)
            if label is None:
                if not first <= day <= last:
                    continue
                label = labels[day] = period_of(day, kind).label
            cell = by_period[label]
            if provider_level:
                _count_provider(cell, status, unit)
                continue
            if status == PENDING:
                cell.pending += 1
                continue
            cell.denominator += 1
            if status == PASS:
                cell.numerator += 1
                continue
            cell.fail(unit)
            failures.add((domain, target, service, label, unit))

    # -- series and statuses -------------------------------------------------------------------

    def _frame(self, spec) -> Frame:
        frames = self._frames
        key = (spec.threshold, spec.direction)
        if key not in frames:
            periods = self.scope.periods
            partial = periods.index(self.scope.partial) if self.scope.partial is not None else -1
            frames[key] = Frame(tuple(p.label for p in periods), partial, spec.threshold, spec.direction)
        return frames[key]

    def series(self, by_period: dict[str, Cell], spec, shifts_by_period: dict | None = None) -> PeriodSeries:
        cap = self.scope.options.failure_cap
        counts = array("q")
        failures: dict[int, list[str]] = {}
        shifts: dict[int, dict] = {}
        empty = Cell()
        for i, period in enumerate(self.scope.periods):
            cell = by_period.get(period.label, empty)
            counts.extend((cell.numerator, cell.denominator, cell.pending, cell.failures_total))
            if cell.failures:
                cell.failures.sort()  # in place: the cell is not read again, and a copy would double them
                failures[i] = cell.failures if len(cell.failures) <= cap else cell.failures[:cap]
            period_shifts = shifts_by_period.get(period.label) if shifts_by_period else None
            if period_shifts:  # the provider's figures by shift: does improvement hold day and night?
                shifts[i] = {
                    shift: {"numerator": num, "denominator": den, "value": ratio(num, den)}
                    for shift, (num, den) in sorted(period_shifts.items())
                }
        return PeriodSeries(self._frame(spec), counts, failures or None, shifts or None)

    @staticmethod
    def _stale_sources(locations: list[LocationTarget]) -> list[str]:
        """The kinds whose export looks stopped at one of ``locations``: shown beside the figures."""
        kinds = {found.kind for location in locations for found in location.stale}
        return sorted(kinds)

    def target(self, resolved: ResolvedDomain, spec, target_cells: TargetCells, missing: list[str],
               presence: Presence) -> TargetFigures:
        """A target's verdict entry: each location's judgement, the roll-up over locations, and the
        pooled figures kept as context."""
        scope = self.scope
        domain = resolved.domain.name
        model = scope.model
        services = []
        locations = []
        pooled: dict[str, Cell] = defaultdict(Cell)
        for service in scope.services:
            by_period = target_cells.by_service.get(service) or {}
            waiver = scope.waiver_for(spec.id, service)
            silent = set()
            if spec.kind == "cadence":
                for label, cell in list(by_period.items()):
                    if cell.failures_total and self.silent(service, label):
                        by_period[label] = Cell()  # missed checks in a period with no evidence: not counted
                        silent.add(label)
            if target_cells.provider is None:
                for label, cell in by_period.items():
                    # A missed check is a date or week, the same for every service: say whose it was.
                    pooled[label].merge(cell, service if spec.kind == "cadence" else None)
            entries = self.series(by_period, spec)
            location = judge_location(scope, spec, service, entries, missing, presence,
                                      bool(waiver and waiver.applies), scope.current_label in silent)
            locations.append(location)
            services.append({"service": service, **location.fields(),
                             "stale_sources": self._stale_sources([location]), "periods": entries,
                             "waiver": waiver_ref(waiver)})
            if spec.kind == "rate":
                self._flag_low_denominator(domain, spec.id, service, entries)
        if target_cells.provider is not None:  # judged once: the provider's figures are the pooled ones
            for label, cell in target_cells.provider.items():
                pooled[label].merge(cell)
        entries = self.series(pooled, spec, target_cells.shifts)
        stale = self._stale_sources(locations)
        complete = [e for e in entries if not e["partial"]]
        baseline_rule = model.baseline if isinstance(model.baseline, str) else model.baseline.model_dump()
        pooled_status = series_status(complete, direction=spec.direction, sustained=model.sustained,
                                      baseline_rule=baseline_rule,
                                      # pooled, a source is stale only where it stopped everywhere
                                      stale=bool(locations) and all(location.stale for location in locations))
        status, counts = rollup_status(locations)
        if missing:
            reason, code = locations[0].reason if locations else "no records", NO_RECORDS
        else:
            reason, code = _rollup_reason(status, locations), None
        if spec.kind == "rate":
            self._flag_low_denominator(domain, spec.id, None, entries)
        for kind in stale:
            item = {"domain": domain, "target": spec.id, "source": kind}
            if item not in self.quality.stale_sources:
                self.quality.stale_sources.append(item)
        self.quality.pending_units += entries.pending_total()
        waiver = scope.waiver_for(spec.id, None) if any(w.service is None for w in scope.waivers) else None
        if waiver is not None and waiver.service is not None:
            waiver = None
        result = {
            "id": spec.id, "title": spec.title, "kind": spec.kind, "threshold": spec.threshold,
            "direction": spec.direction, "description": spec.description, "cadence": spec.cadence,
            "status": status, "pooled_status": pooled_status.status, "location_statuses": counts,
            "baseline": pooled_status.baseline, "current": pooled_status.current, "trend": pooled_status.trend,
            "reason": reason, "reason_code": code, "stale_sources": stale, "periods": entries, "services": services,
            "waiver": waiver_ref(waiver), "scope": spec.scope,
        }
        return TargetFigures(result, locations, bool(waiver and waiver.applies))

    def _flag_low_denominator(self, domain: str, target: str, service: str | None, entries: PeriodSeries) -> None:
        current = entries.entry_for(self.scope.current_label)
        if current and 0 < current["denominator"] < self.scope.model.min_denominator:
            self.quality.low_denominators.append({
                "domain": domain, "target": target, "service": service or PROVIDER,
                "period": current["period"], "denominator": current["denominator"],
            })


def _count_provider(cell: Cell, status: str, unit: str) -> None:
    """One outcome of a provider-level target into its provider cell (every failure kept in order,
    so each location's copy lists the same smallest ids)."""
    if status == PENDING:
        cell.pending += 1
        return
    cell.denominator += 1
    if status == PASS:
        cell.numerator += 1
        return
    cell.fail(unit)
