"""A run: a ruleset evaluated over the evidence store, ending in the verdict.

1. Services in scope come from the service register (with every alias), or from the records.
2. Review periods run from the first record (or the ruleset's ``start``) to ``as_of``; the last
   complete period is the current one, and the period holding ``as_of`` is partial.
3. Each domain plugin computes, in bulk, one outcome per record or expected check, and its
   early-warning signals; the core sums outcomes into per-period figures per service and pooled.
4. Statuses, triangulation and data quality are worked out in Python.
5. Escalation rules and scoring rules run in the rule engine over one fact per domain and
   service, one per domain, and one for the run.
6. The verdict is a plain dict matching :mod:`carecheck.verdict`'s schema.
"""

from __future__ import annotations

import hashlib
from array import array
import json
import platform
import sqlite3
import uuid
from collections import defaultdict
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from collections.abc import Mapping, Sequence
from typing import Any, Iterator

from sqlite_utils import Database

from . import __version__, expressions, plugin_manager, rule_engine
from .dates import LONDON, WorkingDays, stored_day
from .domain_api import FAIL, PASS, PENDING, Context, Outcome
from .errors import CarecheckError, InputError, PluginError
from .framework import load_framework
from .periods import Period, period_of, periods_between
from .records import KINDS
from .references import dangling_references
from .ruleset import ResolvedDomain, Ruleset
from .store import cached_bank_holidays
from .waivers import Waiver
from .status import (
    DOMAIN_FACT_NAMES, DOMAIN_SCORE_RULES, RUN_FACT_NAMES, RUN_SCORE_RULES, SCORE_LABELS, SEVERITY, ScoreRule,
    series_status, worst,
)

SCHEMA_VERSION = "1.0"
DISCLAIMER = "This is the provider's internal assurance, not a CQC rating."
FAILURE_CAP = 25


@dataclass
class RunOptions:
    as_of: date
    services: list[str] = field(default_factory=list)
    targets: list[str] = field(default_factory=list)
    engine: str = "auto"
    failure_cap: int = FAILURE_CAP
    waivers: list[Waiver] = field(default_factory=list)
    #: Processes for the domains' store-reading work (1: all in this process).
    workers: int = 1
    #: Called with (domains done, domains) as the work goes on.
    progress: Any = None
    #: Add the free text of failing records (``record_text``): only when the user asks.
    include_text: bool = False


class _Cell:
    """One target's figures for one service (or all) and one period; failures kept up to the cap.

    A run holds tens of thousands at once, so they are slotted, and their lists are made only when
    a failure or a shift first needs one.
    """

    __slots__ = ("numerator", "denominator", "pending", "failures", "failures_total")

    def __init__(self) -> None:
        self.numerator = self.denominator = self.pending = self.failures_total = 0
        self.failures: list[str] | None = None

    def merge(self, other: "_Cell", label: str | None = None) -> None:
        """Add another cell's figures; ``label`` names the service its failures came from."""
        self.numerator += other.numerator
        self.denominator += other.denominator
        self.pending += other.pending
        self.failures_total += other.failures_total
        if other.failures:
            if self.failures is None:
                self.failures = []
            taken = other.failures[: max(0, FAILURE_CAP - len(self.failures))]
            if label:
                taken = [f"{label}: {unit}" for unit in taken]
            self.failures.extend(taken)


class _TargetCells:
    """A target's cells by service and period, and its pooled figures by shift (kept once, not per service)."""

    __slots__ = ("by_service", "shifts")

    def __init__(self, services) -> None:
        self.by_service: dict[str, dict[str, _Cell]] = {service: defaultdict(_Cell) for service in services}
        self.shifts: dict[str, dict[str, list[int]]] = {}  # period -> shift -> [passed, counted]


class FailureSink:
    """Every failure behind the figures, for the store's run_failures table, kept on disk as it comes
    (a temporary table), so memory does not grow with the number of failing records."""

    BATCH = 2_000

    def __init__(self, db: Database):
        self.db = db
        self.pending: list[tuple] = []
        # Failures are written once and read once, in order: a small cache for the temporary
        # database keeps their pages out of the run's memory.
        db.conn.execute("PRAGMA temp.cache_size = -256")
        with db.atomic():  # explicit transactions: sqlite3 would otherwise leave one open behind a DELETE
            db.conn.execute("CREATE TEMP TABLE IF NOT EXISTS carecheck_failures "
                            "(domain TEXT, target TEXT, service TEXT, period TEXT, unit TEXT)")
            db.conn.execute("DELETE FROM temp.carecheck_failures")

    def add(self, failure: tuple) -> None:
        self.pending.append(failure)
        if len(self.pending) >= self.BATCH:
            self.flush()

    def extend(self, failures: list[tuple]) -> None:
        for failure in failures:
            self.add(failure)

    def flush(self) -> None:
        if self.pending:
            with self.db.atomic():
                self.db.conn.executemany("INSERT INTO temp.carecheck_failures VALUES (?, ?, ?, ?, ?)", self.pending)
            self.pending = []

    def rows(self):
        self.flush()
        return self.db.conn.execute("SELECT domain, target, service, period, unit FROM temp.carecheck_failures")


class PeriodEntry(Mapping):
    """One period's figures in the verdict: a read-only mapping with the keys of the JSON object.

    Made when a :class:`PeriodSeries` is read; JSON output writes the series without them.
    """

    __slots__ = ("period", "partial", "numerator", "denominator", "value", "met", "pending", "failures",
                 "failures_total", "shifts")
    _KEYS = __slots__[:-1]

    def __init__(self, period, partial, numerator, denominator, value, met, pending, failures, failures_total,
                 shifts=None):
        self.period, self.partial, self.numerator, self.denominator = period, partial, numerator, denominator
        self.value, self.met, self.pending, self.failures = value, met, pending, failures
        self.failures_total, self.shifts = failures_total, shifts

    def __getitem__(self, key: str) -> Any:
        if key in self._KEYS or (key == "shifts" and self.shifts is not None):
            return getattr(self, key)
        raise KeyError(key)

    def __iter__(self) -> Iterator[str]:
        yield from self._KEYS
        if self.shifts is not None:
            yield "shifts"

    def __len__(self) -> int:
        return len(self._KEYS) + (self.shifts is not None)

    def as_json(self) -> dict[str, Any]:
        """The JSON object (faster than ``dict(entry)``, which looks each key up in turn)."""
        out = {"period": self.period, "partial": self.partial, "numerator": self.numerator,
               "denominator": self.denominator, "value": self.value, "met": self.met, "pending": self.pending,
               "failures": self.failures, "failures_total": self.failures_total}
        if self.shifts is not None:
            out["shifts"] = self.shifts
        return out


class _Frame:
    """What every series of one target shares: the periods, the partial one, and the threshold."""

    __slots__ = ("labels", "index", "partial", "threshold", "direction")

    def __init__(self, labels: tuple[str, ...], partial: int, threshold: float, direction: str):
        self.labels, self.partial, self.threshold, self.direction = labels, partial, threshold, direction
        self.index = {label: position for position, label in enumerate(labels)}


class PeriodSeries(Sequence):
    """A target's figures period by period, for one service or pooled: the verdict's ``periods`` list,
    read-only, whose items are :class:`PeriodEntry` mappings.

    A verdict holds one per target and service (4,000 for 300 services, with 50,000 figures), so the
    counts sit in one integer array and an entry is made only when it is read. JSON output, the
    store and the engine's facts read the array directly.
    """

    __slots__ = ("_frame", "_counts", "_failures", "_shifts")

    def __init__(self, frame: _Frame, counts: array, failures: dict[int, list[str]] | None,
                 shifts: dict[int, dict] | None):
        self._frame, self._counts, self._failures, self._shifts = frame, counts, failures, shifts

    def __len__(self) -> int:
        return len(self._frame.labels)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return [self._entry(i) for i in range(*index.indices(len(self)))]
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError("period index out of range")
        return self._entry(index)

    def _values(self, i: int) -> tuple:
        """Period ``i``'s values, in the order of :attr:`PeriodEntry._KEYS`, then its shifts."""
        frame = self._frame
        numerator, denominator, pending, failures_total = self._counts[4 * i: 4 * i + 4]
        value = _ratio(numerator, denominator)
        return (frame.labels[i], i == frame.partial, numerator, denominator, value,
                _met(value, frame.threshold, frame.direction), pending,
                self._failures.get(i, ()) if self._failures else (), failures_total,
                self._shifts.get(i) if self._shifts else None)

    def _entry(self, i: int) -> PeriodEntry:
        return PeriodEntry(*self._values(i))

    def __iter__(self) -> Iterator[PeriodEntry]:
        for i in range(len(self._frame.labels)):
            yield self._entry(i)

    def entry_for(self, label: str | None) -> PeriodEntry | None:
        """The entry of a period by its label, or None."""
        i = self._frame.index.get(label) if label else None
        return None if i is None else self._entry(i)

    def pending_total(self) -> int:
        return sum(self._counts[2::4])

    def result_rows(self) -> Iterator[tuple]:
        """(period, partial, numerator, denominator, value, met) for each period, as the store keeps them."""
        for i in range(len(self._frame.labels)):
            yield self._values(i)[:6]

    def as_json(self) -> list[dict[str, Any]]:
        keys = PeriodEntry._KEYS
        out = []
        for i in range(len(self._frame.labels)):
            values = self._values(i)
            entry = dict(zip(keys, values))
            if values[-1] is not None:
                entry["shifts"] = values[-1]
            out.append(entry)
        return out


def _met(value: float | None, threshold: float, direction: str) -> bool | None:
    if value is None:
        return None
    return value >= threshold - 1e-12 if direction == "at_least" else value <= threshold + 1e-12


def _ratio(numerator: int, denominator: int) -> float | None:
    return round(numerator / denominator, 6) if denominator else None


# ---------------------------------------------------------------------------------------------


def _services(db: Database, ruleset: Ruleset, requested: list[str]) -> tuple[dict[str, str | None], dict[str, str]]:
    """In-scope services (canonical name -> type) and every alias -> canonical name."""
    aliases: dict[str, str] = {}
    types: dict[str, str | None] = {}
    for service_id, name, service_type, alias_json in db.execute(
        "SELECT id, service, service_type, aliases FROM service ORDER BY service"
    ).fetchall():
        types[name] = service_type
        for alias in [service_id, name] + (json.loads(alias_json) if alias_json else []):
            aliases[alias] = name
    if not types:
        kinds = {kind for resolved in ruleset.domains for kind in resolved.domain.reads if kind in KINDS}
        for kind in sorted(kinds):
            for (name,) in db.execute(f"SELECT DISTINCT service FROM [{kind}]").fetchall():
                types.setdefault(name, None)
                aliases[name] = name
    wanted = requested or ruleset.model.services
    if wanted:
        chosen: dict[str, str | None] = {}
        for name in wanted:
            canonical = aliases.get(name)
            if canonical is None:
                known = ", ".join(sorted(types)) or "none"
                raise InputError(f"unknown service {name!r} (services in the store: {known})")
            chosen[canonical] = types[canonical]
        types = chosen
    return dict(sorted(types.items())), aliases


def _first_day(db: Database, ruleset: Ruleset, as_of: date) -> date:
    if ruleset.model.start:
        return ruleset.model.start
    earliest = None
    kinds = {kind for resolved in ruleset.domains for kind in resolved.domain.reads if kind in KINDS and kind != "service"}
    for kind in kinds:
        field_name = KINDS[kind].event_field
        (value,) = db.execute(f"SELECT MIN([{field_name}]) FROM [{kind}]").fetchone()  # the index answers
        if value and (earliest is None or value[:10] < earliest):
            earliest = value[:10]
    first = date.fromisoformat(earliest) if earliest else as_of
    return min(first, as_of)


def _newest_by_service(db: Database, kind: str, where: str | None = None) -> dict[str, str]:
    field_name = KINDS[kind].event_field
    sql = f"SELECT service, MAX([{field_name}]) FROM [{kind}]" + (f" WHERE {where}" if where else "") + " GROUP BY service"
    return {service: newest for service, newest in db.execute(sql).fetchall()}


def _rule_runs(resolved: ResolvedDomain, escalation, targets: dict, chosen: bool) -> bool:
    """Whether a rule is evaluated: every target it names is computed, and, when the user chose
    targets (``--target``), it names at least one of them (signals alone belong to the whole domain)."""
    signals = {s.name for s in resolved.domain.signals}
    named = {name.split(".")[0] for name in escalation.names if name not in signals}
    return named <= set(targets) and (bool(named) or not chosen)


def _signals_used(resolved: ResolvedDomain, targets: dict) -> frozenset[str]:
    """The signals used by the rules of a run with chosen targets."""
    signals = {s.name for s in resolved.domain.signals}
    return frozenset(name for escalation in resolved.escalations
                     if _rule_runs(resolved, escalation, targets, True)
                     for name in escalation.names if name in signals)


def _waiver_ref(waiver: Waiver | None) -> dict | None:
    if waiver is None:
        return None
    return {"entry": waiver.index, "status": waiver.status, "applies": waiver.applies, "expires": waiver.expires_text,
            "justification": waiver.justification, "approved_by": waiver.approved_by}


def _period_met(entries: PeriodSeries, current: Period | None) -> bool:
    entry = entries.entry_for(current.label if current else None)
    return bool(entry and entry.met)


class _Run:
    def __init__(self, db: Database, ruleset: Ruleset, options: RunOptions):
        self.db = db
        self.ruleset = ruleset
        self.model = ruleset.model
        self.options = options
        self.as_of = options.as_of
        self.framework = load_framework(self.model.framework)
        closures = Path(self.model.closures_file) if self.model.closures_file else None
        if closures is not None and not closures.is_absolute():
            closures = Path(ruleset.source).parent / closures
        holidays_for = cached_bank_holidays(db)
        self.working_days = (WorkingDays.from_file(closures, holidays_for) if closures
                             else WorkingDays(holidays_for=holidays_for))
        self.services, self.aliases = _services(db, ruleset, options.services)
        self.waivers = self._resolve_waivers(options.waivers, ruleset)
        first = _first_day(db, ruleset, self.as_of)
        for year in range(first.year, self.as_of.year + 2):
            holidays_for(year)  # now, on this connection: a forked worker must never touch it
        self.periods = periods_between(first, self.as_of, self.model.period)
        self.complete = [p for p in self.periods if p.end <= self.as_of]
        self.partial = next((p for p in self.periods if p.end > self.as_of), None)
        self.current = self.complete[-1] if self.complete else None
        as_of_index = len(self.periods) - 1
        cutoff_index = max(0, as_of_index - self.model.stale_after_periods)
        self.stale_cutoff = self.periods[cutoff_index].start
        self.data_quality: dict[str, Any] = {"low_denominators": [], "stale_sources": [], "pending_units": 0}
        self.newest_cache: dict[str, dict[str, str]] = {}
        self._frames: dict[tuple, _Frame] = {}
        self.failures = FailureSink(db)

    def _resolve_waivers(self, waivers: list[Waiver], ruleset: Ruleset) -> list[Waiver]:
        known = {t for resolved in ruleset.domains for t in resolved.targets}
        resolved_waivers = []
        for waiver in waivers:
            if waiver.target not in known:
                raise InputError(f"{waiver.label()}: unknown target {waiver.target!r} (targets: {', '.join(sorted(known))})")
            if waiver.service is not None:
                canonical = self.aliases.get(waiver.service)
                if canonical is None:
                    raise InputError(f"{waiver.label()}: unknown service {waiver.service!r}")
                waiver.service = canonical
            resolved_waivers.append(waiver)
        return resolved_waivers

    # -- figures -------------------------------------------------------------------------------

    def _context(self, resolved: ResolvedDomain, targets: dict, services: dict[str, str | None] | None = None) -> Context:
        """A domain's context, for every in-scope service or for ``services`` (a worker's share)."""
        shifts = self.model.shifts
        return Context(
            db=self.db, params=resolved.params, as_of=self.as_of, period_kind=self.model.period,
            periods=self.periods, current=self.current, services=self.services if services is None else services,
            aliases=self.aliases,
            working_days=self.working_days, shift_hours=(shifts.day_starts, shifts.night_starts), targets=targets,
            signals=_signals_used(resolved, targets) if self.options.targets else None,
        )

    def _cells(self, ctx: Context, resolved: ResolvedDomain) -> dict[str, _TargetCells]:
        cells = {target: _TargetCells(ctx.services) for target in ctx.targets}
        first, last = self.periods[0].start, self.periods[-1].end
        kind = self.model.period
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

    def _frame(self, spec) -> _Frame:
        frames = self._frames
        key = (spec.threshold, spec.direction)
        if key not in frames:
            partial = self.periods.index(self.partial) if self.partial is not None else -1
            frames[key] = _Frame(tuple(p.label for p in self.periods), partial, spec.threshold, spec.direction)
        return frames[key]

    def _entries(self, by_period: dict[str, _Cell], spec, shifts_by_period: dict | None = None) -> PeriodSeries:
        cap = self.options.failure_cap
        counts = array("q")
        failures: dict[int, list[str]] = {}
        shifts: dict[int, dict] = {}
        empty = _Cell()
        for i, period in enumerate(self.periods):
            cell = by_period.get(period.label, empty)
            counts.extend((cell.numerator, cell.denominator, cell.pending, cell.failures_total))
            if cell.failures:
                failures[i] = cell.failures if len(cell.failures) <= cap else cell.failures[:cap]
            period_shifts = shifts_by_period.get(period.label) if shifts_by_period else None
            if period_shifts:  # the provider's figures by shift: does improvement hold day and night?
                shifts[i] = {
                    shift: {"numerator": num, "denominator": den, "value": _ratio(num, den)}
                    for shift, (num, den) in sorted(period_shifts.items())
                }
        return PeriodSeries(self._frame(spec), counts, failures or None, shifts or None)

    def _stale(self, spec, service: str | None) -> list[str]:
        if spec.kind == "cadence":
            return []  # a missing check is a failure, not missing evidence
        stale = []
        for kind in spec.sources:
            if kind not in self.newest_cache:
                newest: dict[str, str] = {}
                for raw, value in _newest_by_service(self.db, kind).items():
                    name = self.aliases.get(raw, raw)
                    if name in self.services and value and value > newest.get(name, ""):
                        newest[name] = value
                newest["(provider)"] = max(newest.values(), default="")
                self.newest_cache[kind] = newest
            latest = self.newest_cache[kind].get(service or "(provider)")
            if not latest or stored_day(latest) < self.stale_cutoff:
                stale.append(kind)
        return stale

    def _status(self, entries: list[dict], spec, stale: list[str]) -> dict:
        complete = [e for e in entries if not e["partial"]]
        baseline_rule = self.model.baseline if isinstance(self.model.baseline, str) else self.model.baseline.model_dump()
        result = series_status(
            complete, direction=spec.direction, sustained=self.model.sustained, baseline_rule=baseline_rule,
            stale=bool(stale),
        )
        return {"status": result.status, "baseline": result.baseline, "current": result.current,
                "trend": result.trend, "reason": result.reason}

    def waiver_for(self, target: str, service: str | None) -> Waiver | None:
        """The waiver that covers a target (for one service, or pooled), applying ones first."""
        candidates = [w for w in self.waivers if w.target == target and (w.service is None or w.service == service)]
        candidates.sort(key=lambda w: (not w.applies, w.service is None))
        return candidates[0] if candidates else None

    def target_result(self, resolved: ResolvedDomain, spec, target_cells: _TargetCells) -> dict:
        domain = resolved.domain.name
        services = []
        pooled: dict[str, _Cell] = defaultdict(_Cell)
        scored: dict[str, _Cell] = defaultdict(_Cell)  # pooled over services without a waiver in force
        waived_services = any(w.target == spec.id and w.service and w.applies for w in self.waivers)
        any_exempt = False
        for service in self.services:
            by_period = target_cells.by_service[service]
            waiver = self.waiver_for(spec.id, service)
            exempt = bool(waiver and waiver.applies)
            any_exempt = any_exempt or exempt
            for label, cell in by_period.items():
                # A missed check is a date or week, the same for every service: say whose it was.
                pooled[label].merge(cell, service if spec.kind == "cadence" else None)
                if waived_services and not exempt:
                    scored[label].merge(cell)
            entries = self._entries(by_period, spec)
            stale = self._stale(spec, service)
            status = self._status(entries, spec, stale)
            services.append({"service": service, **status, "stale_sources": stale, "periods": entries,
                             "waiver": _waiver_ref(waiver)})
            if spec.kind == "rate":
                self._flag_low_denominator(domain, spec.id, service, entries)
        entries = self._entries(pooled, spec, target_cells.shifts)
        stale = self._stale(spec, None)
        status = self._status(entries, spec, stale)
        if spec.kind == "rate":
            self._flag_low_denominator(domain, spec.id, None, entries)
        for kind in stale:
            item = {"domain": domain, "target": spec.id, "source": kind}
            if item not in self.data_quality["stale_sources"]:
                self.data_quality["stale_sources"].append(item)
        self.data_quality["pending_units"] += entries.pending_total()
        waiver = self.waiver_for(spec.id, None) if any(w.service is None for w in self.waivers) else None
        if waiver is not None and waiver.service is not None:
            waiver = None
        # What the score sees: nothing while a waiver for every service is in force; otherwise the
        # figures of the services without a waiver in force.
        if waiver is not None and waiver.applies:
            scoring = None
        elif not any_exempt:
            scoring = {"status": status["status"], "met": _period_met(entries, self.current)}
        else:
            scored_entries = self._entries(scored, spec)
            scoring = {"status": self._status(scored_entries, spec, stale)["status"],
                       "met": _period_met(scored_entries, self.current)}
        return {
            "id": spec.id, "title": spec.title, "kind": spec.kind, "threshold": spec.threshold,
            "direction": spec.direction, "description": spec.description, "cadence": spec.cadence,
            **status, "stale_sources": stale, "periods": entries, "services": services,
            "waiver": _waiver_ref(waiver), "_scoring": scoring,
        }

    def _flag_low_denominator(self, domain: str, target: str, service: str | None, entries: PeriodSeries) -> None:
        current = entries.entry_for(self.current.label if self.current else None)
        if current and 0 < current["denominator"] < self.model.min_denominator:
            self.data_quality["low_denominators"].append({
                "domain": domain, "target": target, "service": service or "(provider)",
                "period": current["period"], "denominator": current["denominator"],
            })

    # -- evidence ------------------------------------------------------------------------------

    def _source_figures(self, db: Database, kind: str, sources: list) -> list[list[tuple[str, int, str | None]]]:
        """(service, records, newest) per service for each of a kind's evidence sources, in one scan."""
        field_name = KINDS[kind].event_field
        columns = []
        for source in sources:
            test = source.where or "1"
            columns += [f"SUM(CASE WHEN ({test}) THEN 1 ELSE 0 END)", f"MAX(CASE WHEN ({test}) THEN [{field_name}] END)"]
        # Stored dates and times are ISO text; the range covers most rows, so "+" keeps the planner
        # on a scan in service order (for GROUP BY) rather than the event-date index. The answer is
        # one JSON row: a row at a time would take the GIL back for each service.
        names = ", ".join(f"c{i}" for i in range(2 * len(sources)))
        inner = (f"SELECT service, {', '.join(f'{column} AS c{i}' for i, column in enumerate(columns))} "
                 f"FROM [{kind}] WHERE +[{field_name}] >= ? AND +[{field_name}] < ? GROUP BY service")
        params = [self.periods[0].start.isoformat(), (self.as_of + timedelta(days=1)).isoformat()]
        try:
            (packed,) = db.execute(f"SELECT json_group_array(json_array(service, {names})) FROM ({inner})",
                                   params).fetchone()
            rows = json.loads(packed)
        except sqlite3.OperationalError as error:
            if "json" not in str(error):
                raise
            rows = db.execute(inner, params).fetchall()  # an SQLite built without its JSON functions
        return [[(row[0], row[1 + 2 * i], row[2 + 2 * i]) for row in rows] for i in range(len(sources))]

    def triangulation(self, db: Database, resolved: ResolvedDomain) -> tuple[list[str], list[dict]]:
        """Categories with evidence, and each source's record count and freshness, read through ``db``
        (the run's connection, or one of its own alongside)."""
        by_kind: dict[str, list] = defaultdict(list)
        for source in resolved.domain.evidence:
            if source.kind in KINDS:
                by_kind[source.kind].append(source)
        figures = {}
        for kind, kind_sources in by_kind.items():
            for source, rows in zip(kind_sources, self._source_figures(db, kind, kind_sources)):
                figures[id(source)] = rows
        sources = []
        categories: set[str] = set()
        for source in resolved.domain.evidence:
            if source.kind not in KINDS:
                continue
            count, newest = 0, None
            for raw, n, latest in figures[id(source)]:
                service = self.aliases.get(raw, raw)
                if not n or service not in self.services:
                    continue
                if source.category not in self.framework.categories_for(self.services[service]):
                    continue
                count += n
                newest = max(newest, latest) if newest else latest
            if count:
                categories.add(source.category)
            sources.append({
                "category": source.category, "source": source.label or source.kind, "kind": source.kind,
                "records": count, "newest": newest[:10] if newest else None,
                "stale": newest is None or stored_day(newest) < self.stale_cutoff,
            })
        ordered = [c for c in self.framework.evidence_categories if c in categories]
        return ordered, sources

    # -- facts for the engine ------------------------------------------------------------------

    def service_facts(self, resolved: ResolvedDomain, signals: dict[str, dict[str, Any]],
                      targets: list[dict]) -> Iterator[tuple[str, dict]]:
        """Each service's engine fact for a domain: its signals and its current-period target figures."""
        label = self.current.label if self.current else None
        # The fact keys, and each target's rows by service, once per domain rather than per service.
        keyed = [
            (tuple(expressions.fact_key(f"{target['id']}.{part}")
                   for part in ("value", "numerator", "denominator", "has_value", "met", "status")),
             {row["service"]: row for row in target["services"]})
            for target in targets
        ]
        for service in self.services:
            service_signals = signals.get(service, {})
            fact: dict[str, Any] = {"id": f"svc|{resolved.domain.name}|{service}", "kind": "service_facts",
                                    "domain": resolved.domain.name}
            for signal in resolved.domain.signals:
                value = service_signals.get(signal.name, 0)
                fact[signal.name] = bool(value) if signal.type == "bool" else value
            for (value_key, numerator_key, denominator_key, has_value_key, met_key, status_key), rows in keyed:
                row = rows[service]
                current = row["periods"].entry_for(label)
                value = current["value"] if current else None
                fact[value_key] = value if value is not None else 0
                fact[numerator_key] = current["numerator"] if current else 0
                fact[denominator_key] = current["denominator"] if current else 0
                fact[has_value_key] = value is not None
                fact[met_key] = bool(current and current["met"])
                fact[status_key] = row["status"]
            yield service, fact


class _ListSink(list):
    def add(self, failure: tuple) -> None:
        self.append(failure)


def _figures(run: "_Run", resolved: ResolvedDomain, targets: dict, services: dict | None = None) -> tuple:
    """A domain's cells and signals, for every service or a worker's share.

    The domain's own code runs here: a third-party domain that raises is named in a one-line error
    rather than reported as a bug in carecheck.
    """
    ctx = run._context(resolved, targets, services)
    try:
        cells = run._cells(ctx, resolved)
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


def _one_domain(run: "_Run", resolved: ResolvedDomain, targets: dict, triangulated: Future) -> tuple:
    """The heavy, store-reading part of a domain: its cells and signals, with its triangulation
    (read alongside)."""
    cells, signals = _figures(run, resolved, targets)
    categories, sources = triangulated.result()
    return cells, signals, categories, sources


def _store_path(db: Database) -> str:
    """The store's file ("" for a store in memory)."""
    return next(row[2] for row in db.execute("PRAGMA database_list").fetchall() if row[1] == "main")


def _read_only(path: str, check_same_thread: bool = True) -> Database:
    return Database(sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=check_same_thread))


class _Apart:
    """Store reads that need nothing else from the run (evidence figures, reference checks, open
    actions), done in a thread on a read-only connection of their own while the run computes.

    Most of their time is SQLite's, which runs outside the GIL, so on a machine with a spare core
    they cost the run next to nothing. Each ``submit(fn, *args)`` calls ``fn(db, *args)``; a store
    in memory, or a run that forks workers (never fork with a thread running), reads in turn on
    the run's own connection instead.
    """

    def __init__(self, db: Database, threaded: bool):
        self.db = db
        self.path = _store_path(db) if threaded else ""
        self.pool = ThreadPoolExecutor(1, thread_name_prefix="carecheck-reads") if self.path else None
        self._own: Database | None = None  # used only on the pool's thread

    def submit(self, fn, *args) -> Future:
        if self.pool is not None:
            return self.pool.submit(self._call, fn, *args)
        future: Future = Future()
        try:
            future.set_result(fn(self.db, *args))
        except BaseException as error:
            future.set_exception(error)
        return future

    def _call(self, fn, *args):
        if self._own is None:
            # Closed by close() on the run's thread, once the pool's thread is gone.
            self._own = _read_only(self.path, check_same_thread=False)
            # Its reads are single scans: a small page cache keeps the run's memory where it was.
            self._own.execute("PRAGMA cache_size = -256")
        return fn(self._own, *args)

    def close(self) -> None:
        """Stop the thread and close its connection: a connection left open would keep the store's
        write-ahead log from being folded back into the file when the run's connection closes."""
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)
            self.pool = None
        if self._own is not None:
            self._own.close()
            self._own = None


def _parallel(run: "_Run", workers: int) -> bool:
    """Whether the services are shared among forked worker processes."""
    import multiprocessing

    return workers > 1 and len(run.services) > 1 and "fork" in multiprocessing.get_all_start_methods()


def _domain_work(run: "_Run", jobs: list, workers: int, apart: _Apart) -> Iterator[tuple]:
    """Each domain's heavy part, one domain at a time (so only one domain's cells are alive at once),
    or with the services shared among ``workers`` processes."""
    if not _parallel(run, workers):
        triangulated = [apart.submit(run.triangulation, resolved) for resolved, _ in jobs]
        for done, ((resolved, targets), future) in enumerate(zip(jobs, triangulated), 1):
            yield _one_domain(run, resolved, targets, future)
            if run.options.progress:
                run.options.progress(done, len(jobs))
        return
    yield from _parallel_domain_work(run, jobs, workers, apart)


_FORKED: dict[str, Any] = {}


def _only_share(db: Database, raw_names: list[str]) -> None:
    """Make the domains' queries on this connection read one share of the services' records.

    SQLite looks a table name up in the temporary schema first, so a temporary view named after
    each record kind, holding only the share's rows, stands in for the table in every query a
    domain writes (reached by the service index), and each worker reads its share, not the store.
    """
    db.execute("CREATE TEMP TABLE carecheck_share (raw TEXT PRIMARY KEY)")
    db.conn.executemany("INSERT OR IGNORE INTO temp.carecheck_share VALUES (?)", [(name,) for name in raw_names])
    for kind in KINDS:
        if kind != "service":  # the register stays whole: services are matched by their aliases
            db.execute(f"CREATE TEMP VIEW [{kind}] AS SELECT * FROM main.[{kind}] "
                       "WHERE service IN (SELECT raw FROM temp.carecheck_share)")


def _forked_services(index: int) -> tuple[list[tuple], list[tuple]]:
    """Runs in a forked worker: every domain's cells and signals for one share of the services, on
    a connection of its own (never the parent's)."""
    run, jobs, shares = _FORKED["run"], _FORKED["jobs"], _FORKED["shares"]
    run.db = _read_only(_FORKED["path"])
    _only_share(run.db, [raw for raw, name in run.aliases.items() if name in shares[index]])
    run.failures = _ListSink()
    done = [_figures(run, resolved, targets, shares[index]) for resolved, targets in jobs]
    return done, list(run.failures)


def _parallel_domain_work(run: "_Run", jobs: list, workers: int, apart: _Apart) -> list[tuple]:
    """The services dealt round-robin among forked workers (so each gets a mix of large and small);
    each computes every domain for its share while this process reads the evidence figures. Cells
    are per service, so a domain's are the union of the shares', with the pooled shift counts added."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    names = list(run.services)
    count = min(workers, len(names))
    shares = [{name: run.services[name] for name in names[k::count]} for k in range(count)]
    _FORKED.update(run=run, jobs=jobs, shares=shares, path=_store_path(run.db))
    try:
        with ProcessPoolExecutor(max_workers=count, mp_context=multiprocessing.get_context("fork")) as pool:
            pending = [pool.submit(_forked_services, k) for k in range(count)]
            evidence = [apart.submit(run.triangulation, resolved).result() for resolved, _ in jobs]
            results = [future.result() for future in pending]
    finally:
        _FORKED.clear()
    for _, failures in results:
        run.failures.extend(failures)
    merged = []
    for index, (resolved, targets) in enumerate(jobs):
        cells = {target: _TargetCells(()) for target in targets}
        signals: dict[str, dict] = {}
        for done, _ in results:
            share_cells, share_signals = done[index]
            signals.update(share_signals)
            for target, target_cells in share_cells.items():
                cells[target].by_service.update(target_cells.by_service)
                for label, by_shift in target_cells.shifts.items():
                    into = cells[target].shifts.setdefault(label, {})
                    for shift, (passed, counted) in by_shift.items():
                        counts = into.setdefault(shift, [0, 0])
                        counts[0] += passed
                        counts[1] += counted
        merged.append((cells, signals, *evidence[index]))
        if run.options.progress:
            run.options.progress(index + 1, len(jobs))
    return merged


def _score_rules(rules: tuple[ScoreRule, ...], names: dict, fact_kind: str) -> list[rule_engine.Rule]:
    return [
        rule_engine.Rule(rule.name, fact_kind, expressions.to_durable(expressions.parse(rule.when, names)))
        for rule in rules
    ]


def _apply_scores(rules: tuple[ScoreRule, ...], fired: set[str]) -> tuple[int, str, str | None]:
    by_name = {rule.name: rule for rule in rules}
    base = [by_name[name] for name in fired if by_name[name].role == "base"]
    caps = [by_name[name] for name in fired if by_name[name].role == "cap"]
    if len(base) != 1:
        raise rule_engine.EngineError(f"scoring rules gave {len(base)} base scores ({sorted(r.name for r in base)})")
    score, rule = base[0].score, base[0].name
    limiter = None
    for cap in sorted(caps, key=lambda r: r.score):
        if cap.score < score:
            score, limiter = cap.score, cap.name
    return score, rule, limiter


def evaluate(db: Database, ruleset: Ruleset, options: RunOptions) -> dict:
    run = _Run(db, ruleset, options)
    engine = rule_engine.get_engine(options.engine)
    wanted_targets = set(options.targets)
    known_targets = {t for resolved in ruleset.domains for t in resolved.targets}
    unknown = sorted(wanted_targets - known_targets)
    if unknown:
        raise InputError(f"unknown target {unknown[0]!r} (targets: {', '.join(sorted(known_targets))})")

    jobs = []
    for resolved in ruleset.domains:
        targets = {t: spec for t, spec in resolved.targets.items() if not wanted_targets or t in wanted_targets}
        if targets:
            jobs.append((resolved, targets))
    if not jobs:
        raise InputError("no target to evaluate: check --target and the ruleset's domains")
    apart = _Apart(db, threaded=not _parallel(run, options.workers))  # never fork with a thread running
    try:
        return _evaluate(run, engine, jobs, apart)
    finally:
        apart.close()


def _evaluate(run: _Run, engine, jobs: list, apart: _Apart) -> dict:
    ruleset, options = run.ruleset, run.options
    # The data-quality reads need nothing from the figures: they go first, to be read alongside.
    quality = apart.submit(_quality_reads, run, _kinds_used(run))
    domains_out: list[dict] = []
    rules: list[rule_engine.Rule] = []
    rule_specs: dict[str, tuple[ResolvedDomain, Any]] = {}
    batches: dict[str, list[dict]] = defaultdict(list)
    skipped_rules: list[str] = []
    for (resolved, targets), (cells, signals, categories, sources) in zip(
            jobs, _domain_work(run, jobs, options.workers, apart)):
        target_results = [run.target_result(resolved, spec, cells[t]) for t, spec in targets.items()]
        del cells  # the figures are in target_results now
        for service, fact in run.service_facts(resolved, signals, target_results):
            batches[service].append(fact)
        for escalation in resolved.escalations:
            name = f"{resolved.domain.name}/{escalation.spec.id}"
            if not _rule_runs(resolved, escalation, targets, bool(options.targets)):
                skipped_rules.append(name)
                continue
            rules.append(rule_engine.Rule(name, "service_facts", expressions.to_durable(escalation.expression),
                                          (("domain", resolved.domain.name),)))
            rule_specs[name] = (resolved, escalation)
        statuses = [t["status"] for t in target_results]
        scored = [t["_scoring"] for t in target_results if t["_scoring"] is not None]
        scored_statuses = [t["status"] for t in scored]
        not_met = sum(1 for t in scored if not t["met"])
        warnings = []
        if len(categories) <= 1:
            warnings.append(f"evidence from {len(categories)} category: assurance capped at 2")
        for source in sources:
            if source["records"] and source["stale"]:
                warnings.append(f"stale source: {source['source']} (newest {source['newest']})")
        domains_out.append({
            "domain": resolved.domain.name,
            "title": resolved.domain.title,
            "plugin": resolved.plugin,
            "baseline_issue": resolved.domain.baseline_issue,
            "status": worst(statuses),
            "evidence_categories": categories,
            "triangulated": len(categories) >= 3,
            "triangulation": sources,
            "framework": {
                "key_questions": list(resolved.domain.key_questions),
                "quality_statements": [
                    {"id": qs, "title": run.framework.quality_statements[qs].title}
                    for qs in resolved.domain.quality_statements if qs in run.framework.quality_statements
                ],
                "regulations": [
                    {"id": reg, "title": run.framework.regulations[reg]}
                    for reg in resolved.domain.regulations if reg in run.framework.regulations
                ],
            },
            "warnings": warnings,
            "waived_targets": len(target_results) - len(scored),
            "targets": target_results,
            "_verdict_fact": {
                "id": f"domain|{resolved.domain.name}", "kind": "domain_verdict",
                "targets": len(scored), "not_met": not_met,
                "deteriorating": scored_statuses.count("deteriorating"),
                "not_recovered": len(scored_statuses) - scored_statuses.count("recovered"),
                "categories": len(categories),
                "share_not_met": round(not_met / len(scored), 6) if scored else 0.0,
            },
        })

    rules += _score_rules(DOMAIN_SCORE_RULES, DOMAIN_FACT_NAMES, "domain_verdict")
    definitions = rule_engine.compile_rules(rules)
    fact_batches = [batches[s] for s in run.services] + [[d["_verdict_fact"] for d in domains_out]]
    matches = engine.evaluate(definitions, fact_batches)

    fired_by_domain: dict[str, set[str]] = defaultdict(set)
    escalations = []
    for match in matches:
        if match.fact_id.startswith("domain|"):
            fired_by_domain[match.fact_id.split("|", 1)[1]].add(match.rule)
        else:
            _, domain_name, service = match.fact_id.split("|", 2)
            escalations.append(_escalation(run, rule_specs[match.rule], service, batches))
    for domain in domains_out:
        domain["score"], domain["score_rule"], domain["score_limiter"] = _apply_scores(
            DOMAIN_SCORE_RULES, fired_by_domain[domain["domain"]]
        )
        domain["score_label"] = SCORE_LABELS[domain["score"]]
        del domain["_verdict_fact"]
        for target in domain["targets"]:
            del target["_scoring"]

    total = sum(d["score"] for d in domains_out)
    percentage = round(100 * total / (4 * len(domains_out)))
    lowest = min(d["score"] for d in domains_out)
    run_rules = _score_rules(RUN_SCORE_RULES, RUN_FACT_NAMES, "run_verdict")
    run_matches = engine.evaluate(
        rule_engine.compile_rules(run_rules),
        [[{"id": "run", "kind": "run_verdict", "percentage": percentage, "lowest_domain_score": lowest}]],
    )
    score, score_rule, limiter = _apply_scores(RUN_SCORE_RULES, {m.rule for m in run_matches})
    escalations.sort(key=lambda e: (e["due"], e["domain"], e["service"], e["rule"]))
    return _assemble(run, ruleset, engine, domains_out, escalations, score, score_rule, limiter, percentage,
                     skipped_rules, quality.result())


def _escalation(run: _Run, spec_pair, service: str, batches) -> dict:
    resolved, escalation = spec_pair
    spec = escalation.spec
    period = run.current.label if run.current else "-"
    rule = f"{resolved.domain.name}/{spec.id}"
    digest = hashlib.blake2b(f"{rule}|{service}|{period}".encode(), digest_size=5).hexdigest().upper()
    fact = next(f for f in batches[service] if f["domain"] == resolved.domain.name)
    facts = {name: fact[expressions.fact_key(name)] for name in escalation.names}
    return {
        "id": f"ESC-{digest}",
        "rule": spec.id,
        "title": spec.title,
        "domain": resolved.domain.name,
        "service": service,
        "period": period,
        "trigger": spec.when,
        "facts": facts,
        "action": spec.action,
        "owner_role": spec.owner,
        "detected": run.as_of.isoformat(),
        "due": run.working_days.add(run.as_of, spec.due_working_days).isoformat(),
        "status": "open",
        "answered_by": None,
    }


def _close_answered(db: Database, escalations: list[dict]) -> None:
    """An escalation stays open until an improvement action that cites it is closed."""
    if not escalations:
        return
    marks = ", ".join("?" for _ in escalations)
    rows = db.execute(
        f"SELECT escalation_id, id, status FROM improvement_action WHERE escalation_id IN ({marks})",
        [e["id"] for e in escalations],
    ).fetchall()
    by_escalation = defaultdict(list)
    for escalation_id, action_id, status in rows:
        by_escalation[escalation_id].append((action_id, status))
    for escalation in escalations:
        actions = by_escalation.get(escalation["id"], [])
        if actions:
            escalation["answered_by"] = sorted(a for a, _ in actions)
            if any(status in ("completed", "closed") for _, status in actions):
                escalation["status"] = "closed"


def _open_actions(run: _Run, rows: list[tuple]) -> list[dict]:
    actions = []
    for action_id, raw, source_kind, source_id, owner, owner_role, due, status in rows:
        service = run.aliases.get(raw, raw)
        if service not in run.services:
            continue
        overdue = bool(due) and date.fromisoformat(due) < run.as_of
        actions.append({"id": action_id, "service": service, "source": f"{source_kind or 'other'} {source_id or ''}".strip(),
                        "owner": owner, "owner_role": owner_role, "due": due, "status": "overdue" if overdue else status})
    return actions


def _summary_line(domain: dict, target: dict) -> dict:
    return {
        "domain": domain["domain"], "target": target["id"], "title": target["title"],
        "baseline": target["baseline"], "current": target["current"], "threshold": target["threshold"],
        "status": target["status"], "reason": target["reason"],
    }


def _record_text(run: _Run, domains: list[dict]) -> dict[str, str]:
    """Free text of the records behind current-period failures, for a user who asked for it."""
    wanted: dict[str, set[str]] = defaultdict(set)
    for domain in domains:
        resolved = next(r for r in run.ruleset.domains if r.domain.name == domain["domain"])
        for target in domain["targets"]:
            spec = resolved.targets[target["id"]]
            if spec.kind != "rate" or not spec.sources:
                continue
            for entry in target["periods"]:
                if run.current and entry["period"] == run.current.label:
                    wanted[spec.sources[0]].update(entry["failures"])
    texts: dict[str, str] = {}
    for kind, ids in wanted.items():
        fields = sorted(KINDS[kind].free_text_fields())
        if not fields or not ids:
            continue
        columns = ", ".join(f"[{f}]" for f in fields)
        marks = ", ".join("?" for _ in ids)
        for row in run.db.execute(f"SELECT id, {columns} FROM [{kind}] WHERE id IN ({marks})", sorted(ids)).fetchall():
            parts = [f"{name}: {value}" for name, value in zip(fields, row[1:]) if value]
            if parts:
                texts[row[0]] = " | ".join(parts)[:500]
    return texts


def _kinds_used(run: _Run) -> set[str]:
    """The kinds whose data quality a run reports: those its targets count (every kind its domains
    read, in a full run)."""
    if run.options.targets:
        return {kind for r in run.ruleset.domains for t, spec in r.targets.items() if t in run.options.targets
                for kind in spec.sources}
    return {kind for r in run.ruleset.domains for kind in r.domain.reads}


@dataclass
class _Quality:
    findings: list
    rejected: int
    freshness: dict[str, str]
    open_actions: list[tuple]


def _quality_reads(db: Database, run: _Run, used: set[str]) -> _Quality:
    """Dangling references, rejected rows, each kind's newest record and the open actions."""
    findings = dangling_references(db, used)
    (rejected,) = db.execute("SELECT COUNT(*) FROM rejected_rows").fetchone()
    freshness = {}
    for kind, model in KINDS.items():
        (newest,) = db.execute(f"SELECT MAX([{model.event_field}]) FROM [{kind}]").fetchone()  # indexed
        if newest and kind != "service":
            freshness[kind] = newest  # the newest record time (or date) of the kind
    actions = db.execute(
        """SELECT id, service, source_kind, source_id, owner, owner_role, due_date, status FROM improvement_action
           WHERE status NOT IN ('completed', 'closed', 'cancelled') ORDER BY due_date IS NULL, due_date, id"""
    ).fetchall()
    return _Quality(findings, rejected, freshness, actions)


def _assemble(run: _Run, ruleset: Ruleset, engine, domains, escalations, score, score_rule, limiter, percentage,
              skipped_rules, quality: _Quality) -> dict:
    _close_answered(run.db, escalations)
    improved, under_review = [], []
    for domain in domains:
        for target in domain["targets"]:
            line = _summary_line(domain, target)
            (improved if target["status"] in ("recovered", "improving") else under_review).append(line)
    open_actions = _open_actions(run, quality.open_actions)
    findings, rejected, freshness = quality.findings, quality.rejected, quality.freshness
    infos = {info.name: info.version for info in plugin_manager.plugin_infos()}
    plugins = sorted(infos)
    engine_note = None
    if engine.name == "reference" and not rule_engine.durable_available():
        engine_note = f"durable-rules is not available here ({rule_engine.DURABLE_IMPORT_ERROR}); the reference evaluator ran the rules"
    statuses = [d["status"] for d in domains]
    waived = sum(d["waived_targets"] for d in domains)
    warnings = [w.message() for w in run.waivers if w.status in ("malformed", "expired", "expiring_soon")]
    summary = (
        f"Internal assurance score {score} of 4 ({SCORE_LABELS[score]}), {percentage}%, over {len(domains)} "
        f"domain{'s' if len(domains) != 1 else ''}: "
        + ", ".join(f"{d['title']} {d['status'].replace('_', ' ')}" for d in domains)
        + f". {len([e for e in escalations if e['status'] == 'open'])} escalations open."
        + (f" {waived} target{'s' if waived != 1 else ''} waived." if waived else "")
        + f" {DISCLAIMER}"
    )
    return {
        "schema_version": SCHEMA_VERSION,
        "ruleset": {"name": ruleset.model.name, "source": ruleset.source, "hash": ruleset.content_hash,
                    "version": ruleset.model.version, "framework": ruleset.model.framework},
        "as_of": run.as_of.isoformat(),
        "audit": {
            "run_id": uuid.uuid4().hex,
            "generated_at": datetime.now(LONDON).isoformat(timespec="seconds"),
            "carecheck_version": __version__,
            "python": platform.python_version(),
            "engine": engine.name,
            "engine_note": engine_note,
            "ruleset_hash": ruleset.content_hash,
            "plugins": [{"name": name, "version": infos.get(name, "unknown")} for name in plugins],
            "source_freshness": freshness,
            "skipped_rules": skipped_rules,
        },
        "periods": {
            "kind": run.model.period,
            "evaluated": [p.label for p in run.periods],
            "current": run.current.label if run.current else None,
            "partial": run.partial.label if run.partial else None,
            "sustained": run.model.sustained,
        },
        "services": [{"service": name, "service_type": kind} for name, kind in run.services.items()],
        "verdict": {
            "score": score, "score_label": SCORE_LABELS[score], "percentage": percentage,
            "score_rule": score_rule, "score_limiter": limiter, "status": worst(statuses),
            "summary": summary, "disclaimer": DISCLAIMER,
        },
        "domains": domains,
        "escalations": escalations,
        "commissioner_summary": {
            "improved": improved,
            "under_review": under_review,
            "extra_controls": {
                "escalations": [
                    {k: e[k] for k in ("id", "domain", "service", "action", "owner_role", "due", "status")}
                    for e in escalations
                ],
                "open_actions": open_actions[: run.options.failure_cap],
                "open_actions_total": len(open_actions),
            },
        },
        "waivers": [w.as_dict() for w in run.waivers],
        "warnings": warnings,
        "record_text": _record_text(run, domains) if run.options.include_text else None,
        "history": {},
        "data_quality": {
            "rows_rejected": rejected,
            "dangling_references": len(findings),
            "dangling_examples": [
                f"{f.kind} {f.record_id}: {f.field} -> {f.target_kind} {f.target_id}" for f in findings[:10]
            ],
            "low_denominators": run.data_quality["low_denominators"],
            "stale_sources": run.data_quality["stale_sources"],
            "pending_units": run.data_quality["pending_units"],
            "min_denominator": run.model.min_denominator,
        },
        "_failures": run.failures,
    }
