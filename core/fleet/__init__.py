"""A fleet: the same check over many providers' stores, as Dask tasks (``carecheck fleet run``).

Each store is one task running the same in-process code as ``carecheck run``. The ruleset travels
to the workers as data: the chain of files already read (:func:`carecheck.ruleset.read_chain`),
resolved again on the worker, so workers need no copies of the files. A task never raises for a
bad store: it returns the error as data, so one corrupt store is one failed row and the others go
on. A worker lost mid-task is retried by Dask (``retries``); a retried task replaces the run it
stored before, because the run's id is made from the fleet run's id and the store.

Results go to a fleet database (SQLite through sqlite-utils): one row per provider, location,
domain and target, the failures, and the fleet run's audit.
"""

from __future__ import annotations

import csv
import os
import time
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

from carecheck.errors import InputError
from carecheck.fleet.view import overview, summary_rows  # noqa: F401 (the fleet's view, re-exported)


@dataclass
class StoreJob:
    store: str
    provider: str
    #: the provider's waivers file, read on the client (``loaded``) and sent to the worker as data
    waivers: str | None = None
    loaded: list = field(default_factory=list)


def load_job_waivers(jobs: list[StoreJob], as_of: date) -> None:
    """Read each provider's waivers file on the client: a malformed one stops the fleet before it
    starts, and workers need no copies of the files."""
    from carecheck.ruleset.waivers import load_waivers

    for job in jobs:
        if job.waivers:
            job.loaded = load_waivers(Path(job.waivers), as_of)


@dataclass
class StoreResult:
    """What one store's task returns: its rows for the fleet database, or its error."""

    store: str
    provider: str
    seconds: float
    run_id: str | None = None
    error: str | None = None
    verdict_lowest: str | None = None
    pack: str | None = None
    rows: list[dict] = field(default_factory=list)
    locations: list[dict] = field(default_factory=list)
    #: The day of the store's newest evidence when it ends before the fleet's current period
    #: (the store was judged as of then), else None.
    data_end: str | None = None
    #: The day of the store's newest record of any kind the ruleset reads.
    newest_evidence: str | None = None


def jobs_from(pattern: str | None, listing: Path | None) -> list[StoreJob]:
    """The stores a fleet run checks: a glob, or a CSV with columns store, provider, waivers."""
    if (pattern is None) == (listing is None):
        raise InputError("give either --stores PATTERN or --stores-from FILE")
    if pattern is not None:
        import glob

        paths = sorted(glob.glob(pattern, recursive=True))
        if not paths:
            raise InputError(f"--stores {pattern!r}: no store matches")
        stems = [Path(p).stem for p in paths]
        # Two stores of the same name in different folders are two providers: named by their paths.
        return [StoreJob(os.path.abspath(p), stem if stems.count(stem) == 1 else str(Path(p).with_suffix("")))
                for p, stem in zip(paths, stems)]
    from carecheck.adapters.sniff import text_encoding

    encoding = text_encoding(Path(listing), "a CSV list of stores")  # as every CSV: UTF-8, else Windows-1252
    try:
        with open(listing, newline="", encoding="utf-8-sig" if encoding == "utf-8" else encoding) as handle:
            reader = csv.DictReader(handle)
            if not reader.fieldnames or "store" not in reader.fieldnames:
                raise InputError(f"{listing}: a CSV with a store column (and optional provider, waivers)")
            unknown = set(reader.fieldnames) - {"store", "provider", "waivers"}
            if unknown:
                raise InputError(f"{listing}: unknown column {sorted(unknown)[0]!r} (columns: store, provider, waivers)")
            jobs = []
            for number, row in enumerate(reader, 2):
                store = (row.get("store") or "").strip()
                if not store:
                    raise InputError(f"{listing}: row {number}: no store")
                path = Path(os.path.abspath(Path(listing).parent / store))
                waivers = (row.get("waivers") or "").strip() or None
                if waivers and not Path(waivers).is_absolute():
                    waivers = str((Path(listing).parent / waivers).resolve())
                jobs.append(StoreJob(str(path), (row.get("provider") or "").strip() or path.stem, waivers))
    except OSError as error:
        raise InputError(f"{listing}: cannot be read ({error.strerror})") from None
    except (UnicodeDecodeError, csv.Error) as error:
        raise InputError(f"{listing}: not a readable CSV ({error})") from None
    providers = [job.provider for job in jobs]
    repeated = sorted({p for p in providers if providers.count(p) > 1})
    if repeated:
        raise InputError(f"{listing}: provider {repeated[0]!r} is named twice")
    return jobs


def plan_jobs(jobs: list[StoreJob], fleet_db: Path) -> tuple[list[StoreJob], list[str]]:
    """The jobs to run, with notes: the fleet database itself (and any file carrying the fleet
    application id) is skipped, and a store listed twice (the same file) is checked once."""
    from carecheck.store.trust import FLEET

    kept: list[StoreJob] = []
    notes: list[str] = []
    for job in jobs:
        if (fleet_db.exists() and _same_file(job.store, fleet_db)) or _identity(job.store) == FLEET:
            notes.append(f"Note: {job.store}: a fleet database, not a provider's store; skipped")
            continue
        twin = next((other for other in kept if _same_file(other.store, job.store)), None)
        if twin is not None:
            notes.append(f"Warning: {job.store} ({job.provider}) is the same file as {twin.store} ({twin.provider}); "
                         "checked once")
            continue
        kept.append(job)
    return kept, notes


def _identity(path: str) -> str | None:
    from carecheck.store.trust import identify

    try:
        return identify(path)
    except InputError:
        return None


def _same_file(a: str | Path, b: str | Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def pack_names(jobs: list[StoreJob], folder: Path) -> dict[str, str]:
    """One pack file per provider, chosen before any task runs: a name two providers would share
    ("Oak House" and "Oak-House") gets a suffix from the store's path, so every link in the
    overview opens its own provider's pack."""
    import hashlib

    names: dict[str, str] = {}
    taken: set[str] = set()
    stems = [_file_name(job.provider) for job in jobs]
    for job, stem in zip(jobs, stems):
        name = stem
        if stems.count(stem) > 1 or name.lower() in taken:
            name = f"{stem}-{hashlib.blake2b(job.store.encode(), digest_size=4).hexdigest()}"
        while name.lower() in taken:
            name += "-1"
        taken.add(name.lower())
        names[job.store] = str(folder / f"{name}.html")
    return names


#: A local cluster's workers, and the nannies that watch them, keep only the watching a fleet needs.
#: Dask's defaults sample each worker's stack every 10 ms (its profiler), measure its memory every
#: 100 ms and its host every 500 ms, and check its event loop every 20 ms; with every core busy
#: checking stores, that came to about a tenth of the fleet's processor time (benchmarks/fleet.py).
#: Memory is still watched (each second), so a worker over its limit is still restarted.
QUIET_WORKERS = {
    "distributed.worker.profile.enabled": False,
    "distributed.worker.memory.monitor-interval": "1s",
    "distributed.admin.system-monitor.interval": "2s",
    "distributed.admin.tick.interval": "200ms",
}


def warm_worker() -> bool:
    """On a worker, before its first task: carecheck's modules and plugins loaded. Says whether
    the worker runs Dask's profiler, so the client can say what that costs."""
    import dask

    from carecheck import plugin_manager
    from carecheck.run import evaluate  # noqa: F401 (imported for the worker's later tasks)

    plugin_manager.registry()
    return bool(dask.config.get("distributed.worker.profile.enabled", default=False))


def fleet_run_id() -> str:
    return uuid.uuid4().hex


def store_run_id(fleet_id: str, job: StoreJob) -> str:
    """The same for a retried task: it replaces its own run."""
    return uuid.uuid5(uuid.UUID(fleet_id), job.store).hex


def check_store(job: StoreJob, chain: list, label: str, as_of: date, targets: list[str], read_only: bool,
                fleet_id: str, packs: str | None = None, read_alongside: bool = False,
                follow_symlinks: bool = False) -> StoreResult:
    """One store's check, on a worker: the same code as ``carecheck run``. Never raises for the
    store's own faults: the error is the result. Reads are done in turn (``read_alongside``), as
    the fleet's other workers have the other cores."""
    from carecheck.errors import CarecheckError

    started = time.perf_counter()
    try:
        return _check_store(job, chain, label, as_of, targets, read_only, fleet_id, started, packs, read_alongside,
                            follow_symlinks)
    except CarecheckError as error:
        return StoreResult(job.store, job.provider, time.perf_counter() - started, error=str(error))
    except Exception as error:  # a store that breaks the check is one failed row, not a failed fleet
        return StoreResult(job.store, job.provider, time.perf_counter() - started,
                           error=f"{type(error).__name__}: {error}".splitlines()[0])


#: Rulesets a worker has resolved, by file and content: resolving one costs about a tenth of a
#: small store's check, and a worker checks many stores against the same one.
_RESOLVED: dict[tuple[str, str], object] = {}


def resolved_ruleset(chain: list, label: str):
    """The ruleset of ``chain``, resolved once per worker process. A run only reads its ruleset."""
    import hashlib

    from carecheck.ruleset import check_chain

    key = (label, hashlib.blake2b(b"".join(raw for _file, raw, _data in chain), digest_size=16).hexdigest())
    if key not in _RESOLVED:
        ruleset, problems = check_chain(chain, label)
        if problems:
            raise InputError("; ".join(problems))
        _RESOLVED.clear()  # one fleet run, one ruleset: keep no older ones
        _RESOLVED[key] = ruleset
    return _RESOLVED[key]


def _check_store(job, chain, label, as_of, targets, read_only, fleet_id, started, packs, read_alongside,
                 follow_symlinks) -> StoreResult:
    from carecheck.store.runs import save_run, target_history
    from carecheck.run import RunOptions, evaluate
    from carecheck.store import open_read_only, open_store

    ruleset = resolved_ruleset(chain, label)
    if os.path.islink(job.store) and not follow_symlinks:
        raise InputError(f"{job.store}: is a symbolic link; carecheck fleet run checks only the stores themselves "
                         "(give --follow-symlinks to follow links)")
    if not Path(job.store).exists():
        raise InputError(f"{job.store}: no evidence store here")
    waivers = list(job.loaded)
    db = open_read_only(job.store, immutable=True) if read_only else open_store(job.store, create=False)
    try:
        result = evaluate(db, ruleset, RunOptions(as_of=as_of, targets=list(targets), waivers=waivers,
                                                  read_alongside=read_alongside))
        verdict = result.verdict
        verdict["history"] = target_history(db, verdict["ruleset"]["name"],
                                            values_hash=verdict["ruleset"].get("values_hash"))
        run_id = store_run_id(fleet_id, job)
        verdict["audit"]["run_id"] = run_id
        verdict["audit"]["fleet_run_id"] = fleet_id
        if not read_only:
            _forget_run(db, run_id)  # a retried task replaces the run it stored before
            save_run(db, result)
        else:
            result.failures.close()
    finally:
        db.close()
    pack = None
    if packs:
        # Written by the worker: with a remote cluster, the folder must be one the workers share.
        from carecheck import plugin_manager

        from carecheck.reporters.outputs import output_file

        pack = packs  # the file the client chose for this provider
        with output_file(pack, [job.store], "pack") as handle:
            handle.write(plugin_manager.registry().reporters["html"].item.render(verdict))
    rows, locations = summary_rows(job.provider, verdict)
    return StoreResult(job.store, job.provider, time.perf_counter() - started, run_id=run_id,
                       verdict_lowest=verdict["verdict"]["lowest"]["level"], pack=pack, rows=rows, locations=locations,
                       data_end=verdict.get("data_end"), newest_evidence=_newest_evidence(verdict))


def _newest_evidence(verdict: dict) -> str | None:
    """The day of a verdict's newest record of any kind it read (by as-of: never later)."""
    judged = verdict.get("effective_as_of") or verdict["as_of"]
    days = [str(value)[:10] for value in (verdict["audit"].get("source_freshness") or {}).values() if value]
    days = [day for day in days if day <= judged]
    return max(days) if days else None


def _file_name(provider: str) -> str:
    import re

    return re.sub(r"[^A-Za-z0-9_.-]+", "-", provider).strip("-") or "provider"


def _forget_run(db, run_id: str) -> None:
    with db.atomic():
        for table in ("target_results", "runs"):
            db.execute(f"DELETE FROM {table} WHERE run_id = ?", [run_id])


# -- the fleet database ---------------------------------------------------------------------------

def fleet_migrations():
    from sqlite_utils import Migrations

    migrations = Migrations("carecheck-fleet")

    @migrations()
    def m001_fleet(db) -> None:
        db["fleet_runs"].create({
            "fleet_run_id": str, "started_at": str, "finished_at": str, "carecheck_version": str, "ruleset": str,
            "ruleset_hash": str, "as_of": str, "scheduler": str, "workers": int, "stores": int, "failed": int,
            "wall_s": float, "tasks_s": float, "cluster_start_s": float,
        }, pk="fleet_run_id")
        db["fleet_results"].create({
            "fleet_run_id": str, "provider": str, "location": str, "domain": str, "target": str, "level": str,
            "status": str, "current": float, "baseline": float, "open_escalations": int,
        })
        db["fleet_results"].create_index(["fleet_run_id", "provider"])
        db["fleet_stores"].create({
            "fleet_run_id": str, "provider": str, "store": str, "run_id": str, "lowest_level": str, "seconds": float,
            "error": str,
        })
        db["fleet_stores"].create_index(["fleet_run_id"])

    return migrations


def check_fleet_db(path: Path) -> None:
    """The fleet database must be a new file or a fleet database (it carries the fleet application
    id, or, made before the id existed, the fleet's tables): never a store or another file."""
    from carecheck.store.trust import FLEET, NEW, OTHER_SQLITE, identify, untrusted

    import sqlite3

    kind = identify(path)
    if kind == NEW:
        return
    if kind in (FLEET, OTHER_SQLITE):
        conn = untrusted(sqlite3.connect(f"{Path(path).resolve().as_uri()}?mode=ro", uri=True))
        try:
            objects = conn.execute("SELECT type, name FROM sqlite_schema").fetchall()
        except sqlite3.Error:
            objects = []
        finally:
            conn.close()
        foreign = next((f"{t} {n!r}" for t, n in objects if t in ("trigger", "view")), None)
        if foreign:
            raise InputError(f"{path}: the fleet database holds a {foreign}, which carecheck does not make; "
                             "carecheck will not write to it")
        if kind == FLEET or {"fleet_runs", "fleet_results", "fleet_stores"} <= {n for t, n in objects if t == "table"}:
            return
    what = {"store": "an evidence store", "older store": "an evidence store", "empty": "an empty file"}.get(
        kind, "a file that is not a fleet database")
    raise InputError(f"{path}: --fleet-db is {what}; give a new file or an earlier fleet database")


def save_fleet(path: Path, audit: dict, results: list[StoreResult]) -> None:
    """The fleet run's audit, every store's rows and every failure, in one transaction. A new
    fleet database is readable by its owner only and carries the fleet application id."""
    import sqlite3

    from sqlite_utils import Database

    from carecheck.store.trust import FLEET_APPLICATION_ID, untrusted

    check_fleet_db(path)
    try:
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY | os.O_NOFOLLOW, 0o600))
    except FileExistsError:
        pass
    except OSError as error:
        raise InputError(f"{path}: cannot write the fleet database ({error.strerror})") from None
    db = Database(untrusted(sqlite3.connect(path)), execute_plugins=False)
    try:
        db.execute(f"PRAGMA application_id = {FLEET_APPLICATION_ID}")
        fleet_migrations().apply(db)
        fleet_id = audit["fleet_run_id"]
        with db.atomic():
            db["fleet_runs"].insert(audit)
            db["fleet_results"].insert_all(({"fleet_run_id": fleet_id, **row} for r in results for row in r.rows))
            db["fleet_stores"].insert_all(
                {"fleet_run_id": fleet_id, "provider": r.provider, "store": r.store, "run_id": r.run_id,
                 "lowest_level": r.verdict_lowest, "seconds": round(r.seconds, 3), "error": r.error}
                for r in results)
    finally:
        db.close()


def now() -> str:
    return datetime.now().astimezone().isoformat(timespec="seconds")


