"""A run: a ruleset evaluated over the evidence store, ending in the verdict.

One job per module, in the order a run uses them:

- :mod:`.scope`: what the run covers (services and aliases, periods, waivers, working days),
  worked out once;
- :mod:`.tally`: each domain's outcomes counted into period series per service and pooled, with
  statuses and the stale and low-denominator flags (:mod:`.series` holds the series themselves);
- :mod:`.evidence`: triangulation across CQC's evidence categories;
- :mod:`.parallel`: reads alongside on a thread, and the ``--workers`` forked processes;
- :mod:`.location_status`: a target's judgement at one location (no records, stale, no events,
  carried, or its value);
- :mod:`.judge`: escalations and assurance levels through the rule engine;
- :mod:`.assemble`: the verdict;
- :mod:`.reads`: every SQL statement the run issues outside the domains' own.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlite_utils import Database

from carecheck.run import rule_engine
from carecheck.errors import InputError
from carecheck.ruleset import Ruleset
from carecheck.run import assemble, reads
from carecheck.run.judge import Judge
from carecheck.run.parallel import Alongside, domain_work, forks
from carecheck.run.location_status import Presence
from carecheck.run.reads import FailureSink
from carecheck.run.scope import RunOptions, RunScope, build_scope
from carecheck.run.series import FAILURE_CAP, PeriodEntry, PeriodSeries, TargetCells
from carecheck.run.tally import Tally
from carecheck.store import registry_of

__all__ = ["FAILURE_CAP", "FailureSink", "PeriodEntry", "PeriodSeries", "RunOptions", "RunResult", "RunScope",
           "evaluate"]


@dataclass
class RunResult:
    """A run's verdict (plain data, with its period figures as :class:`PeriodSeries`), and every
    failure behind its figures (more than the verdict shows), for the store's ``run_failures``."""

    verdict: dict
    failures: FailureSink
    #: The ruleset's resolved values, kept once per values hash with the stored run.
    ruleset_values: dict | None = None


def evaluate(db: Database, ruleset: Ruleset, options: RunOptions) -> RunResult:
    """Evaluate ``ruleset`` over the store ``db`` as on ``options.as_of``."""
    scope = build_scope(db, ruleset, options)
    engine = rule_engine.get_engine(options.engine)
    jobs = _jobs(ruleset, options)
    alongside = Alongside(db, threaded=options.read_alongside and not forks(scope))  # never fork with a thread running
    try:
        # The kinds targets count, read now: a target no location has records for is not counted.
        kinds = registry_of(db).kinds
        counted = {kind for _, targets in jobs for spec in targets.values() for kind in spec.sources if kind in kinds}
        first = scope.periods[0].start
        # Staleness is judged against each location's own usual count, read period by period
        # only where a kind has gone quiet.
        presence = Presence(scope, reads.presence(db, counted, first, scope.as_of),
                            lambda kind, raws: reads.counts_by_period(db, kind, raws, scope.periods, scope.as_of))
        # The data-quality reads need nothing from the figures: they go first, to be read alongside.
        quality = alongside.submit(reads.quality_reads, scope.kinds_used(), scope.periods[0].start, scope.as_of)
        missing = {target: presence.missing(spec.sources) for _, targets in jobs for target, spec in targets.items()}
        tally = Tally(scope, db, FailureSink(db), frozenset(t for t, kinds in missing.items() if kinds))
        tally.quality.unattributed = presence.unattributed()
        tally.quality.provider_only = presence.provider_only(
            {kind for _, targets in jobs for spec in targets.values() if spec.scope == "provider" for kind in spec.sources})
        judge = Judge(scope, engine)
        domains, figures, evidence, domain_figures = [], {}, {}, {}
        for (resolved, targets), work in zip(jobs, domain_work(tally, jobs, alongside)):
            name = resolved.domain.name
            cells = work.figures.cells
            figures[name] = [tally.target(resolved, spec, cells.get(target) or TargetCells(()), missing[target],
                                          presence) for target, spec in targets.items()]
            work.figures.cells = cells = {}  # the series hold the counts now: one domain's cells alive at once
            for target in targets:
                for kind in missing[target]:
                    judge.add_gap(kind, name, target)
            # A measure getting worse is no evidence of good outcomes: it never counts toward triangulation.
            work.evidence.credit_outcomes(scope, {
                service: {name: value for name, value in values.items()
                          if name not in {t["measure"] for t in work.figures.worsening(service)}}
                for service, values in work.figures.measures.items()})
            judge.add_domain(resolved, targets, figures[name], work.figures, work.evidence)
            domain_figures[name] = work.figures
            evidence[name] = work.evidence.by_location
            domains.append(assemble.domain_entry(scope, resolved, figures[name], work))
        judgement = judge.decide()
        verdict = assemble.verdict(db, scope, engine, domains, figures, evidence, domain_figures, judgement,
                                   tally.quality, quality.result())
    finally:
        alongside.close()
    return RunResult(verdict, tally.failures, ruleset.values)


def _jobs(ruleset: Ruleset, options: RunOptions) -> list[tuple]:
    """Each domain with the targets the run computes (all, or those chosen with ``--target``)."""
    wanted = set(options.targets)
    known = {t for resolved in ruleset.domains for t in resolved.targets}
    unknown = sorted(wanted - known)
    if unknown:
        raise InputError(f"unknown target {unknown[0]!r} (targets: {', '.join(sorted(known))})")
    jobs = []
    for resolved in ruleset.domains:
        targets = {t: spec for t, spec in resolved.targets.items() if not wanted or t in wanted}
        if targets:
            jobs.append((resolved, targets))
    if not jobs:
        raise InputError("no target to evaluate: check --target and the ruleset's domains")
    return jobs
