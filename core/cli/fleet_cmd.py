"""``carecheck fleet run``: one check over many providers' stores, on Dask."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import click

from carecheck.cli.options import UKDate
from carecheck.reporters.fleet_overview import FORMATS
from carecheck.verdict.levels import LEVELS, rank


@click.group(name="fleet")
def fleet() -> None:
    """Check many providers' stores at once, on a Dask cluster (pip install 'carecheck[fleet]').

    \b
    Example:
        carecheck fleet run --stores 'stores/*.db' --as-of 31/08/2026
        carecheck fleet run --stores-from providers.csv --scheduler tcp://10.0.0.5:8786
    """


@fleet.command(name="run")
@click.argument("ruleset", required=False)
@click.option("--stores", "pattern", metavar="PATTERN", help="A glob of provider stores ('stores/*.db').")
@click.option("--stores-from", "listing", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="A CSV of stores: columns store, and optional provider and waivers.")
@click.option("--as-of", required=True, type=UKDate(), help="The date to check as of (31/08/2026).")
@click.option("--target", "targets", multiple=True, help="Only this target; repeatable.")
@click.option("--fleet-db", type=click.Path(dir_okay=False, path_type=Path), default=Path("fleet.db"),
              show_default=True, help="Where the fleet's results go.")
@click.option("--scheduler", metavar="ADDRESS", help="An existing Dask scheduler (tcp://host:8786).")
@click.option("--local-workers", type=click.IntRange(1, 512), default=None,
              help="Worker processes of the local cluster started when no --scheduler is given (default: cores).")
@click.option("--retries", type=click.IntRange(0, 10), default=2, show_default=True,
              help="Times a store's task is tried again when its worker is lost.")
@click.option("--read-only-stores", is_flag=True,
              help="Open stores immutable and write nothing to them (network filesystems): results go only to "
                   "the fleet database.")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="table",
              show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Write the report here.")
@click.option("--fail-under", type=click.Choice(LEVELS),
              help="Exit 1 when any location is below this level.")
@click.option("--follow-symlinks", is_flag=True,
              help="Check a store that is a symbolic link (by default a link is a failed row: a planted link could "
                   "point anywhere the fleet's account can reach).")
@click.option("--packs", type=click.Path(file_okay=False, path_type=Path),
              help="Write each provider's evidence pack (HTML) here, linked from the HTML overview; with a remote "
                   "cluster, a folder the workers share.")
def fleet_run(ruleset, pattern, listing, as_of, targets, fleet_db, scheduler, local_workers, retries,
              read_only_stores, fmt, output, fail_under, follow_symlinks, packs) -> int:
    """Run the check on every store as a Dask task, and write the fleet's results.

    Exit code 2 if any store failed, else 1 if --fail-under fails for any location, else 0.

    \b
    Example:
        carecheck fleet run --stores 'stores/*.db' --as-of 31/08/2026 --format html -o fleet.html
    """
    from carecheck import __version__, fleet as fleet_mod
    from carecheck.errors import InputError
    from carecheck.ruleset import check_chain, locate, read_chain
    from carecheck.cli.exits import EXIT_CHECKS_FAILED, EXIT_INPUT_ERROR, EXIT_OK

    try:
        import dask.distributed  # noqa: F401 (only to say how to install it)
    except ImportError:
        raise InputError("carecheck fleet needs Dask: pip install 'carecheck[fleet]'") from None
    from carecheck.reporters.outputs import output_file

    jobs, stores, pack_files = _plan(pattern, listing, as_of, fleet_db, output, packs)
    path = locate(ruleset)
    chain = read_chain(path)
    resolved, problems = check_chain(chain, str(path))  # refused here, once, not on every worker
    if problems:
        raise InputError("; ".join(problems))
    fleet_id = fleet_mod.fleet_run_id()
    started_at = fleet_mod.now()
    cluster_started = time.perf_counter()
    client, cluster = _connect(scheduler, local_workers)
    cluster_start_s = time.perf_counter() - cluster_started
    wall_started = time.perf_counter()
    results, workers_seen = _run_tasks(client, cluster, jobs, (chain, str(path), as_of, list(targets),
                                                                read_only_stores, fleet_id), pack_files,
                                       follow_symlinks, retries)
    wall_s = time.perf_counter() - wall_started
    results.sort(key=lambda r: r.provider)
    audit = {
        "fleet_run_id": fleet_id, "started_at": started_at, "finished_at": fleet_mod.now(),
        "carecheck_version": __version__, "ruleset": resolved.model.name, "ruleset_hash": resolved.content_hash,
        "as_of": as_of.isoformat(), "scheduler": scheduler or f"local cluster of {workers_seen} processes",
        "workers": workers_seen, "stores": len(results), "failed": sum(1 for r in results if r.error),
        "wall_s": round(wall_s, 3), "tasks_s": round(sum(r.seconds for r in results), 3),
        "cluster_start_s": round(cluster_start_s, 3),
    }
    fleet_mod.save_fleet(fleet_db, audit, results)
    view = fleet_mod.overview(audit, results)
    from carecheck.reporters.fleet_overview import render_overview

    text = render_overview(view, fmt, output.parent if output else Path.cwd())
    if output:
        with output_file(output, stores, "overview") as handle:
            handle.write(text)
    else:
        click.echo(text, nl=False)
    rate = len(results) / wall_s if wall_s else 0
    click.echo(f"{len(results)} stores in {wall_s:.1f} s ({rate:.1f} stores/s), {audit['failed']} failed; "
               f"results in {fleet_db}", err=True)
    if audit["failed"]:
        return EXIT_INPUT_ERROR
    if fail_under:
        below = [loc for loc in view["locations"] if loc["level"] and rank(loc["level"]) < rank(fail_under)]
        if below:
            return EXIT_CHECKS_FAILED
    return EXIT_OK


def _plan(pattern, listing, as_of, fleet_db: Path, output: Path | None, packs: Path | None):
    """The stores to check, every path the run will write checked before any store is scheduled,
    and each provider's pack file."""
    from carecheck import fleet as fleet_mod
    from carecheck.errors import InputError
    from carecheck.reporters.outputs import check_folder, check_output

    jobs = fleet_mod.jobs_from(pattern, listing)
    fleet_mod.check_fleet_db(fleet_db)
    jobs, notes = fleet_mod.plan_jobs(jobs, fleet_db)
    for note in notes:
        click.echo(note, err=True)
    if not jobs:
        raise InputError("no provider's store to check")
    stores = [job.store for job in jobs] + [fleet_db]
    if output:
        check_output(output, stores, "overview")
    fleet_mod.load_job_waivers(jobs, as_of)
    pack_files: dict[str, str] = {}
    if packs:
        folder = check_folder(packs)
        pack_files = fleet_mod.pack_names(jobs, folder)
        for pack in pack_files.values():
            check_output(pack, stores, "pack")
    return jobs, stores, pack_files


def _connect(scheduler: str | None, local_workers: int | None):
    """A client of the named scheduler, or of a local cluster started for this run (and the cluster),
    with carecheck loaded on every worker."""
    import dask
    from dask.distributed import Client, LocalCluster

    from carecheck import fleet as fleet_mod

    cluster = None
    if scheduler:
        client = Client(scheduler, timeout="30s")
    else:
        workers = local_workers or os.cpu_count() or 1
        # Set while the cluster starts: its nannies hand this configuration to their workers. The
        # scheduler's web server takes a free port (with None it still binds 8787, so two fleets on
        # one machine would collide).
        with dask.config.set(fleet_mod.QUIET_WORKERS):
            cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=":0",
                                   silence_logs=40)
        client = Client(cluster)
    # Each worker imports carecheck and loads its plugins once, as part of starting the cluster,
    # rather than in its first store's task.
    profiling = sum(client.run(fleet_mod.warm_worker).values())
    if profiling:
        click.echo(f"Note: {profiling} worker(s) run Dask's profiler, which slows each store's check; start workers "
                   "with DASK_DISTRIBUTED__WORKER__PROFILE__ENABLED=False (docs/fleet.md)", err=True)
    return client, cluster


def _run_tasks(client, cluster, jobs, common: tuple, pack_files: dict, follow_symlinks: bool, retries: int):
    """Each store's check as a task; the results as they complete (a lost task is a failed row),
    and how many workers there were. The client and any local cluster are closed at the end."""
    from dask.distributed import as_completed

    from carecheck import fleet as fleet_mod

    chain, label, as_of, targets, read_only_stores, fleet_id = common
    results = []
    try:
        workers_seen = len(client.scheduler_info().get("workers", {}))
        futures = [client.submit(fleet_mod.check_store, job, chain, label, as_of, targets, read_only_stores,
                                 fleet_id, pack_files.get(job.store), False, follow_symlinks,
                                 key=f"carecheck-{fleet_id[:8]}-{index}", retries=retries, pure=False)
                   for index, job in enumerate(jobs)]
        by_future = dict(zip(futures, jobs))
        progress = _Progress(len(futures))
        for future in as_completed(futures):
            job = by_future[future]
            try:
                result = future.result()
            except Exception as error:  # the task itself was lost more times than --retries
                result = fleet_mod.StoreResult(job.store, job.provider, 0.0,
                                               error=f"{type(error).__name__}: {error}".splitlines()[0])
            results.append(result)
            progress.done(failed=result.error is not None)
        progress.finish()
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
    return results, workers_seen


class _Progress:
    """Done, failed and running, on one line of a terminal's standard error."""

    def __init__(self, total: int):
        self.total, self.finished, self.failed = total, 0, 0
        self.shown = sys.stderr.isatty()

    def done(self, failed: bool) -> None:
        self.finished += 1
        self.failed += failed
        if self.shown:
            sys.stderr.write(f"\r{self.finished}/{self.total} stores done, {self.failed} failed, "
                             f"{self.total - self.finished} running or waiting")
            sys.stderr.flush()

    def finish(self) -> None:
        if self.shown:
            sys.stderr.write("\n")


COMMANDS = [fleet]
