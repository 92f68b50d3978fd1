"""Doing a run's work at once: reads alongside on a thread, and ``--workers`` forked processes.

- :class:`Alongside` runs store reads that need nothing from the figures (evidence figures,
  reference checks, open actions) on a thread with a read-only connection of its own.
- :func:`domain_work` gives each domain's cells, signals and triangulation, one domain at a time,
  or with the services dealt among forked workers, each reading only its share of the records.
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Iterator

from sqlite_utils import Database

from carecheck.store import registry_of
from carecheck.ruleset import ResolvedDomain
from carecheck.run import reads
from carecheck.run.evidence import Triangulation, triangulation
from carecheck.run.scope import RunScope
from carecheck.run.series import TargetCells
from carecheck.run.tally import DomainFigures, Tally


@dataclass
class DomainWork:
    """A domain's heavy, store-reading part: its figures (cells, signals, measures), and its
    triangulation."""

    figures: DomainFigures
    evidence: Triangulation


class Alongside:
    """Store reads that need nothing else from the run, done in a thread on a read-only connection
    of their own while the run computes.

    Most of their time is SQLite's, which runs outside the GIL, so on a machine with a spare core
    they cost the run next to nothing. Each ``submit(fn, *args)`` calls ``fn(db, *args)``; a store
    in memory, or a run that forks workers (never fork with a thread running), reads in turn on
    the run's own connection instead.
    """

    def __init__(self, db: Database, threaded: bool):
        self.db = db
        # An immutable store (a fleet's read-only stores) gets no second connection: one opened
        # read-only the usual way would make the -wal and -shm files beside it.
        threaded = threaded and not getattr(db, "immutable", False)
        self.path = reads.store_path(db) if threaded else ""
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
            self._own = reads.read_only(self.path, registry_of(self.db), check_same_thread=False)
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


def forks(scope: RunScope) -> bool:
    """Whether the services are shared among forked worker processes."""
    import multiprocessing  # only here: a run without workers does not pay for it

    return (scope.options.workers > 1 and len(scope.services) > 1
            and "fork" in multiprocessing.get_all_start_methods())


Job = tuple[ResolvedDomain, dict]


def domain_work(tally: Tally, jobs: list[Job], alongside: Alongside) -> Iterator[DomainWork]:
    """Each domain's heavy part, one domain at a time (so only one domain's cells are alive at
    once), or with the services shared among forked workers."""
    scope = tally.scope
    progress = scope.options.progress
    if forks(scope):
        yield from _forked_domain_work(tally, jobs, alongside)
        return
    triangulated = [alongside.submit(triangulation, scope, resolved) for resolved, _ in jobs]
    for done, ((resolved, targets), future) in enumerate(zip(jobs, triangulated), 1):
        yield DomainWork(tally.figures(resolved, targets), future.result())
        if progress:
            progress(done, len(jobs))


# What a forked worker inherits from its parent: set just before the fork, cleared after.
_FORKED: dict[str, Any] = {}


def _worker(index: int) -> tuple[list[tuple], list[tuple]]:
    """Runs in a forked worker: every domain's cells and signals for one share of the services, on
    a connection of its own (never the parent's)."""
    scope, jobs, shares = _FORKED["scope"], _FORKED["jobs"], _FORKED["shares"]
    db = reads.read_only(_FORKED["path"], scope.registry)
    reads.only_share(db, [raw for raw, name in scope.aliases.items() if name in shares[index]])
    tally = Tally(scope, db, reads.ListSink(), _FORKED["uncounted"])
    # A provider-level target needs every location's records: the parent counts it.
    done = [tally.figures(resolved, {t: spec for t, spec in targets.items() if spec.scope != "provider"},
                          shares[index]) for resolved, targets in jobs]
    return done, list(tally.failures)


def _forked_domain_work(tally: Tally, jobs: list[Job], alongside: Alongside) -> list[DomainWork]:
    """The services dealt round-robin among forked workers (so each gets a mix of large and small);
    each computes every domain for its share while this process reads the evidence figures. Cells
    are per service, so a domain's are the union of the shares', with the pooled shift counts added."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    scope = tally.scope
    names = list(scope.services)
    count = min(scope.options.workers, len(names))
    shares = [{name: scope.services[name] for name in names[k::count]} for k in range(count)]
    _FORKED.update(scope=scope, jobs=jobs, shares=shares, path=reads.store_path(tally.db), uncounted=tally.uncounted)
    try:
        with ProcessPoolExecutor(max_workers=count, mp_context=multiprocessing.get_context("fork")) as pool:
            pending = [pool.submit(_worker, k) for k in range(count)]
            evidence = [alongside.submit(triangulation, scope, resolved).result() for resolved, _ in jobs]
            results = [future.result() for future in pending]
    finally:
        _FORKED.clear()
    for _, failures in results:
        tally.failures.extend(failures)
    merged = []
    for index, (resolved, targets) in enumerate(jobs):
        cells = {target: TargetCells(()) for target in targets}
        joined = DomainFigures(cells, {}, {}, {})
        for done, _ in results:
            share = done[index]
            joined.signals.update(share.signals)
            joined.signal_ids.update(share.signal_ids)
            joined.signal_details.update(share.signal_details)
            joined.left_out.update(share.left_out)
            joined.measures.update(share.measures)
            joined.trends.update(share.trends)
            joined.duties.extend(share.duties)
            joined.gaps.update(share.gaps)
            for target, target_cells in share.cells.items():
                cells.setdefault(target, TargetCells(())).by_service.update(target_cells.by_service)
                for label, by_shift in target_cells.shifts.items():
                    into = cells[target].shifts.setdefault(label, {})
                    for shift, (passed, counted) in by_shift.items():
                        counts = into.setdefault(shift, [0, 0])
                        counts[0] += passed
                        counts[1] += counted
        provider_level = {t: spec for t, spec in targets.items() if spec.scope == "provider"}
        if provider_level:
            for target, target_cells in tally.figures(resolved, provider_level, cells_only=True).cells.items():
                cells[target] = target_cells
        merged.append(DomainWork(joined, evidence[index]))
        if scope.options.progress:
            scope.options.progress(index + 1, len(jobs))
    return merged
