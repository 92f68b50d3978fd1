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
from typing import Any

from sqlite_utils import Database

from .. import plugin_manager
from ..dates import stored_day
from ..domain_api import PASS, PENDING, Context
from ..errors import CarecheckError, PluginError
from ..periods import period_of
from ..ruleset import ResolvedDomain
from ..status import series_status
from ..waivers import Waiver
from . import reads
from .scope import RunScope, signals_used
from .series import FAILURE_CAP, Cell, Frame, PeriodSeries, TargetCells, ratio

PROVIDER = "(provider)"


@dataclass(frozen=True)
class Scoring:
    """What the score sees of a target: the status and current-period result of the services
    without a waiver in force."""

    status: str
    met: bool


@dataclass
class TargetFigures:
    """One target's verdict entry and, unless a waiver for every service is in force, its scoring."""

    result: dict[str, Any]
    scoring: Scoring | None


@dataclass
class DataQualityFlags:
    """Flags raised while the figures are worked out, for the verdict's data_quality."""

    low_denominators: list[dict] = field(default_factory=list)
    stale_sources: list[dict] = field(default_factory=list)
    pending_units: int = 0


def waiver_ref(waiver: Waiver | None) -> dict | None:
    if waiver is None:
        return None
    return {"entry": waiver.index, "status": waiver.status, "applies": waiver.applies, "expires": waiver.expires_text,
            "justification": waiver.justification, "approved_by": waiver.approved_by}


class Tally:
    """Counts a run's outcomes on ``db`` (the run's connection, or a forked worker's) into ``sink``'s
    failures and the figures of each target."""

    def __init__(self, scope: RunScope, db: Database, sink):
        self.scope = scope
        self.db = db
        self.failures = sink
        self.quality = DataQualityFlags()
        self._newest: dict[str, dict[str, str]] = {}
        self._frames: dict[tuple, Frame] = {}

    # -- counting ------------------------------------------------------------------------------

    def context(self, resolved: ResolvedDomain, targets: dict, services: dict[str, str | None] | None = None) -> Context:
        """A domain's context, for every in-scope service or for ``services`` (a worker's share)."""
        scope = self.scope
        shifts = scope.model.shifts
        return Context(
            db=self.db, params=resolved.params, as_of=scope.as_of, period_kind=scope.model.period,
            periods=list(scope.periods), current=scope.current,
            services=scope.services if services is None else services, aliases=scope.aliases,
            working_days=scope.working_days, shift_hours=(shifts.day_starts, shifts.night_starts), targets=targets,
            signals=signals_used(resolved, targets) if scope.options.targets else None,
        )

    def figures(self, resolved: ResolvedDomain, targets: dict, services: dict | None = None
                ) -> tuple[dict[str, TargetCells], dict[str, dict]]:
        """A domain's cells and signals, for every service or a worker's share."""
        ctx = self.context(resolved, targets, services)
        try:
            cells = self._cells(ctx, resolved)
            signals = {service: dict(values) for service, values in resolved.domain.signal_values(ctx).items()}
        except CarecheckError:
            raise
        except Exception as error:
            if plugin_manager.is_builtin(resolved.plugin):
                raise
            raise PluginError(
                f"domain {resolved.domain.name!r} of plugin {resolved.plugin} failed ({type(error).__name__}: {error}); "
                f"fix it, or leave it out with CARECHECK_DISABLED_PLUGINS={resolved.plugin} and a ruleset without it"
            ) from error
        return cells, signals

    def _cells(self, ctx: Context, resolved: ResolvedDomain) -> dict[str, TargetCells]:
        cells = {target: TargetCells(ctx.services) for target in ctx.targets}
        periods = self.scope.periods
        first, last = periods[0].start, periods[-1].end
        kind = self.scope.model.period
        labels: dict[date, str] = {}
        domain = resolved.domain.name
        services = ctx.services
        failures = self.failures
        # The hottest loop of a run, one pass per record: the cell and shift counts are updated inline.
        for target, service, day, unit, status, shift in resolved.domain.outcomes(ctx):
            target_cells = cells.get(target)
            if target_cells is None or service not in services:
                continue
            label = labels.get(day)
            if label is None:
                if not first <= day <= last:
                    continue
                label = labels[day] = period_of(day, kind).label
            cell = target_cells.by_service[service][label]
            if status == PENDING:
                cell.pending += 1
                continue
            cell.denominator += 1
            if status == PASS:
                cell.numerator += 1
            else:
                cell.failures_total += 1
                if cell.failures is None:
                    cell.failures = [unit]
                elif len(cell.failures) < FAILURE_CAP:
                    cell.failures.append(unit)
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
        return cells

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
                failures[i] = cell.failures if len(cell.failures) <= cap else cell.failures[:cap]
            period_shifts = shifts_by_period.get(period.label) if shifts_by_period else None
            if period_shifts:  # the provider's figures by shift: does improvement hold day and night?
                shifts[i] = {
                    shift: {"numerator": num, "denominator": den, "value": ratio(num, den)}
                    for shift, (num, den) in sorted(period_shifts.items())
                }
        return PeriodSeries(self._frame(spec), counts, failures or None, shifts or None)

    def _stale(self, spec, service: str | None) -> list[str]:
        if spec.kind == "cadence":
            return []  # a missing check is a failure, not missing evidence
        scope = self.scope
        stale = []
        for kind in spec.sources:
            if kind not in self._newest:
                newest: dict[str, str] = {}
                for raw, value in reads.newest_by_service(self.db, kind).items():
                    name = scope.aliases.get(raw, raw)
                    if name in scope.services and value and value > newest.get(name, ""):
                        newest[name] = value
                newest[PROVIDER] = max(newest.values(), default="")
                self._newest[kind] = newest
            latest = self._newest[kind].get(service or PROVIDER)
            if not latest or stored_day(latest) < scope.stale_cutoff:
                stale.append(kind)
        return stale

    def _status(self, entries: PeriodSeries, spec, stale: list[str]) -> dict:
        model = self.scope.model
        complete = [e for e in entries if not e["partial"]]
        baseline_rule = model.baseline if isinstance(model.baseline, str) else model.baseline.model_dump()
        result = series_status(
            complete, direction=spec.direction, sustained=model.sustained, baseline_rule=baseline_rule,
            stale=bool(stale),
        )
        return {"status": result.status, "baseline": result.baseline, "current": result.current,
                "trend": result.trend, "reason": result.reason}

    def _current_met(self, entries: PeriodSeries) -> bool:
        entry = entries.entry_for(self.scope.current_label)
        return bool(entry and entry.met)

    def target(self, resolved: ResolvedDomain, spec, target_cells: TargetCells) -> TargetFigures:
        """A target's verdict entry: its pooled series and status, and each service's."""
        scope = self.scope
        domain = resolved.domain.name
        services = []
        pooled: dict[str, Cell] = defaultdict(Cell)
        scored: dict[str, Cell] = defaultdict(Cell)  # pooled over services without a waiver in force
        waived_services = any(w.target == spec.id and w.service and w.applies for w in scope.waivers)
        any_exempt = False
        for service in scope.services:
            by_period = target_cells.by_service[service]
            waiver = scope.waiver_for(spec.id, service)
            exempt = bool(waiver and waiver.applies)
            any_exempt = any_exempt or exempt
            for label, cell in by_period.items():
                # A missed check is a date or week, the same for every service: say whose it was.
                pooled[label].merge(cell, service if spec.kind == "cadence" else None)
                if waived_services and not exempt:
                    scored[label].merge(cell)
            entries = self.series(by_period, spec)
            stale = self._stale(spec, service)
            status = self._status(entries, spec, stale)
            services.append({"service": service, **status, "stale_sources": stale, "periods": entries,
                             "waiver": waiver_ref(waiver)})
            if spec.kind == "rate":
                self._flag_low_denominator(domain, spec.id, service, entries)
        entries = self.series(pooled, spec, target_cells.shifts)
        stale = self._stale(spec, None)
        status = self._status(entries, spec, stale)
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
        # What the score sees: nothing while a waiver for every service is in force; otherwise the
        # figures of the services without a waiver in force.
        if waiver is not None and waiver.applies:
            scoring = None
        elif not any_exempt:
            scoring = Scoring(status["status"], self._current_met(entries))
        else:
            scored_entries = self.series(scored, spec)
            scoring = Scoring(self._status(scored_entries, spec, stale)["status"], self._current_met(scored_entries))
        result = {
            "id": spec.id, "title": spec.title, "kind": spec.kind, "threshold": spec.threshold,
            "direction": spec.direction, "description": spec.description, "cadence": spec.cadence,
            **status, "stale_sources": stale, "periods": entries, "services": services,
            "waiver": waiver_ref(waiver),
        }
        return TargetFigures(result, scoring)

    def _flag_low_denominator(self, domain: str, target: str, service: str | None, entries: PeriodSeries) -> None:
        current = entries.entry_for(self.scope.current_label)
        if current and 0 < current["denominator"] < self.scope.model.min_denominator:
            self.quality.low_denominators.append({
                "domain": domain, "target": target, "service": service or PROVIDER,
                "period": current["period"], "denominator": current["denominator"],
            })
