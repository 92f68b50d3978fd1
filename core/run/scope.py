"""What a run covers, worked out once before anything is counted: the services and their aliases,
the review periods, the stale cutoff, the working-day calendar, the waivers and the framework.

1. Services in scope come from the service register (with every alias), or, with no register,
   from the records; ``--service`` or the ruleset's ``services`` narrows them.
2. Review periods run from the first record (or the ruleset's ``start``) to ``as_of``; the last
   complete period is the current one, and the period holding ``as_of`` is partial.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlite_utils import Database

from carecheck.dates import WorkingDays
from carecheck.errors import InputError
from carecheck.domainkit.framework import Framework, load_framework
from carecheck.periods import Period, period_of, periods_between
from carecheck.ruleset import ResolvedDomain, Ruleset
from carecheck.store import cached_bank_holidays, registry_of
from carecheck.run import reads
from carecheck.run.series import FAILURE_CAP
from carecheck.plugin.registry import Registry

if TYPE_CHECKING:  # waivers are read only when a run has them
    from carecheck.ruleset.waivers import Waiver


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
    #: Read the evidence figures on a second thread while the figures are worked out. On a machine
    #: with a spare core that is nearly free; a fleet's workers keep every core busy with stores,
    #: where the thread's own connection and handovers only add work (about a tenth of a store's).
    read_alongside: bool = True
    #: Called with (domains done, domains) as the work goes on.
    progress: Any = None
    #: Add the free text of failing records (``record_text``): only when the user asks.
    include_text: bool = False


@dataclass(frozen=True)
class RunScope:
    """Everything a run's parts share, fixed before the first record is read."""

    ruleset: Ruleset
    options: RunOptions
    framework: Framework
    working_days: WorkingDays
    #: In-scope services, canonical name -> service type (None when the register has none).
    services: dict[str, str | None]
    #: Every name a record may give a service (register id, name, aliases) -> canonical name.
    aliases: dict[str, str]
    waivers: tuple[Waiver, ...]
    periods: tuple[Period, ...]
    current: Period | None
    partial: Period | None
    #: A source whose newest record is older than this day is stale.
    stale_cutoff: date
    #: The last ``sustained`` complete periods: a location's target is carried within them, and
    #: its evidence categories are counted over them.
    window: tuple[Period, ...]
    #: Whether the store has a service register (without one, locations are the records' names).
    registered: bool
    #: The record kinds this run knows (the registry the store was opened with).
    registry: Registry
    #: kind -> import id -> the fields its source supplied (:meth:`Context.supplied`).
    supplied: dict = field(default_factory=dict)
    #: The date the run was asked for, when the evidence ends before its current period (the run is
    #: then judged as of the end of the newest period holding a record: ``as_of``).
    requested_as_of: date | None = None
    #: The newest evidence's day, when the run was moved back to it.
    data_end: date | None = None
    #: The provider's own row in the register (type ``provider``), by its canonical name: never a
    #: location; its records count toward provider-level targets (docs/verdict.md, "Provider level").
    provider: str | None = None

    @property
    def as_of(self) -> date:
        return self.options.as_of

    @property
    def model(self):
        return self.ruleset.model

    @property
    def current_label(self) -> str | None:
        return self.current.label if self.current else None

    def waiver_for(self, target: str, service: str | None) -> Waiver | None:
        """The waiver that covers a target (for one service, or pooled), applying ones first."""
        candidates = [w for w in self.waivers if w.target == target and (w.service is None or w.service == service)]
        candidates.sort(key=lambda w: (not w.applies, w.service is None))
        return candidates[0] if candidates else None

    def kinds_used(self) -> set[str]:
        """The kinds whose data quality a run reports: those its targets count (every kind its
        domains read, in a full run)."""
        if self.options.targets:
            return {kind for r in self.ruleset.domains for t, spec in r.targets.items() if t in self.options.targets
                    for kind in spec.sources}
        return {kind for r in self.ruleset.domains for kind in r.domain.reads}

    @property
    def window_start(self) -> date:
        return self.window[0].start if self.window else self.periods[0].start

    @property
    def window_end(self) -> date:
        """The window's last day (``as_of`` before any period is complete)."""
        return self.window[-1].end if self.window else self.as_of

    def resolved(self, domain: str) -> ResolvedDomain:
        return next(r for r in self.ruleset.domains if r.domain.name == domain)


#: The years a run may be judged as at: a date outside them is a typing mistake, and judging it
#: would mean counting periods (and bank holidays) by the thousand.
FIRST_YEAR, LAST_YEAR = 2000, 2100


def _check_span(first: date, as_of: date, kind: str, limit: int, source) -> None:
    count = len(periods_between(first, as_of, kind))
    if count > limit:
        raise InputError(
            f"a run from {first:%d/%m/%Y} to {as_of:%d/%m/%Y} spans {count} {kind}s, more than max_periods "
            f"({limit}) in {source}: check the as-of date and the ruleset's start, or raise max_periods"
        )


def build_scope(db: Database, ruleset: Ruleset, options: RunOptions) -> RunScope:
    model = ruleset.model
    as_of = options.as_of
    if not FIRST_YEAR <= as_of.year <= LAST_YEAR:
        raise InputError(f"as-of date {as_of:%d/%m/%Y} is outside {FIRST_YEAR} to {LAST_YEAR}: check the date")
    if not reads.holds_records(db):
        raise InputError("no records imported: the store holds no evidence yet (carecheck import adds some)")
    closures = Path(model.closures_file) if model.closures_file else None
    if closures is not None and not closures.is_absolute():
        closures = Path(ruleset.source).parent / closures
    holidays_for = cached_bank_holidays(db)
    working_days = WorkingDays.from_file(closures, holidays_for) if closures else WorkingDays(holidays_for=holidays_for)
    services, aliases, registered, provider = _services(db, ruleset, options.services)
    waivers = _resolve_waivers(options.waivers, ruleset, aliases)
    first = _first_day(db, ruleset, as_of)
    # A date past the span allowed is a typing mistake, whatever the evidence holds.
    _check_span(first, as_of, model.period, model.max_periods, ruleset.source)
    requested, data_end = None, _end_of_data(db, ruleset, first, as_of)
    if data_end is not None:
        # No evidence in the current period anywhere: judging it would read silence as failure
        # (every cadence missed, every source stale). Judge as of the end of the newest evidence.
        requested, as_of = as_of, period_of(data_end, model.period).end
        options = replace(options, as_of=as_of)
    for year in range(first.year, as_of.year + 2):
        holidays_for(year)  # now, on this connection: a forked worker must never touch it
    periods = tuple(periods_between(first, as_of, model.period))
    complete = [p for p in periods if p.end <= as_of]
    cutoff_index = max(0, len(periods) - 1 - model.stale_after_periods)
    return RunScope(
        ruleset=ruleset, options=options, framework=load_framework(model.framework), working_days=working_days,
        services=services, aliases=aliases, waivers=tuple(waivers), periods=periods,
        current=complete[-1] if complete else None, partial=next((p for p in periods if p.end > as_of), None),
        stale_cutoff=periods[cutoff_index].start, window=tuple(complete[-model.sustained:]), registered=registered, provider=provider,
        registry=registry_of(db), supplied=reads.supplied_fields(db, {k for r in ruleset.domains for k in r.domain.reads}),
        requested_as_of=requested, data_end=data_end,
    )


def _services(db: Database, ruleset: Ruleset, requested: list[str]
              ) -> tuple[dict[str, str | None], dict[str, str], bool, str | None]:
    """In-scope locations (canonical name -> type), every alias -> canonical name, whether they
    come from a register, and the provider's own row (never a location)."""
    aliases: dict[str, str] = {}
    types: dict[str, str | None] = {}
    providers: list[str] = []
    for service_id, name, service_type, alias_json in db.execute(
        "SELECT id, service, service_type, aliases FROM service ORDER BY service"
    ).fetchall():
        for alias in [service_id, name] + (json.loads(alias_json) if alias_json else []):
            aliases[alias] = name
        if service_type == "provider":
            providers.append(name)
        else:
            types[name] = service_type
    if len(providers) > 1:
        raise InputError(f"the service register has {len(providers)} provider rows ({', '.join(providers)}): "
                         "a store holds one provider's evidence, so give only one row the type provider")
    provider = providers[0] if providers else None
    registered = bool(types) or provider is not None
    if not types:
        kinds = {kind for resolved in ruleset.domains for kind in resolved.domain.reads if kind in registry_of(db).kinds}
        for kind in sorted(kinds):
            for (name,) in db.execute(f"SELECT DISTINCT service FROM [{kind}]").fetchall():
                types.setdefault(name, None)
                aliases[name] = name
    wanted = requested or ruleset.model.services
    if wanted:
        chosen: dict[str, str | None] = {}
        for name in wanted:
            canonical = aliases.get(name)
            if canonical is not None and canonical == provider:
                raise InputError(f"{name!r} is the provider's own row, not a location: its records are judged with "
                                 f"every location (locations: {', '.join(sorted(types)) or 'none'})")
            if canonical is None:
                known = ", ".join(sorted(types)) or "none"
                raise InputError(f"unknown service {name!r} (services in the store: {known})")
            chosen[canonical] = types[canonical]
        types = chosen
    return dict(sorted(types.items())), aliases, registered, provider


def _resolve_waivers(waivers: list[Waiver], ruleset: Ruleset, aliases: dict[str, str]) -> list[Waiver]:
    known = {t for resolved in ruleset.domains for t in resolved.targets}
    resolved_waivers = []
    for waiver in waivers:
        if waiver.target not in known:
            raise InputError(f"{waiver.label()}: unknown target {waiver.target!r} (targets: {', '.join(sorted(known))})")
        if waiver.service is not None:
            canonical = aliases.get(waiver.service)
            if canonical is None:
                raise InputError(f"{waiver.label()}: unknown service {waiver.service!r}")
            waiver.service = canonical
        resolved_waivers.append(waiver)
    return resolved_waivers


def _end_of_data(db: Database, ruleset: Ruleset, first: date, as_of: date) -> date | None:
    """The day of the newest record of any kind the ruleset reads, when it falls before the run's
    current period (the last complete one at ``as_of``); None for an ordinary run."""
    complete = [p for p in periods_between(first, as_of, ruleset.model.period) if p.end <= as_of]
    if not complete:
        return None
    newest = None
    registry = registry_of(db)
    kinds = {kind for resolved in ruleset.domains for kind in resolved.domain.reads if kind in registry.kinds
             and kind != "service"}
    for kind in sorted(kinds):
        field_name = registry.kinds[kind].event_field
        # The event index answers; a record dated after as_of had not been made then.
        (value,) = db.execute(f"SELECT MAX([{field_name}]) FROM [{kind}] WHERE [{field_name}] < ?",
                              [(as_of + timedelta(days=1)).isoformat()]).fetchone()
        if value and (newest is None or value[:10] > newest):
            newest = value[:10]
    if newest is None:
        return None
    day = date.fromisoformat(newest)
    return day if day < complete[-1].start else None


def _first_day(db: Database, ruleset: Ruleset, as_of: date) -> date:
    if ruleset.model.start:
        return ruleset.model.start
    earliest = None
    kinds = {kind for resolved in ruleset.domains for kind in resolved.domain.reads if kind in registry_of(db).kinds and kind != "service"}
    for kind in kinds:
        field_name = registry_of(db).kinds[kind].event_field
        # The index answers; an implausible date before 2000 never stretches the periods back.
        (value,) = db.execute(f"SELECT MIN([{field_name}]) FROM [{kind}] WHERE [{field_name}] >= '2000-01-01'"
                              ).fetchone()
        if value and (earliest is None or value[:10] < earliest):
            earliest = value[:10]
    first = date.fromisoformat(earliest) if earliest else as_of
    return min(first, as_of)


def rule_runs(resolved: ResolvedDomain, escalation, targets: dict, chosen: bool) -> bool:
    """Whether an escalation rule is evaluated: every target it names is computed, and, when the
    user chose targets (``--target``), it names at least one of them (signals alone belong to the
    whole domain)."""
    signals = {s.name for s in resolved.domain.signals}
    named = {name.split(".")[0] for name in escalation.names if name not in signals}
    return named <= set(targets) and (bool(named) or not chosen)


def signals_used(resolved: ResolvedDomain, targets: dict) -> frozenset[str]:
    """The signals used by the rules of a run with chosen targets."""
    signals = {s.name for s in resolved.domain.signals}
    return frozenset(name for escalation in resolved.escalations
                     if rule_runs(resolved, escalation, targets, True)
                     for name in escalation.names if name in signals)
