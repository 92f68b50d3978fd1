"""``carecheck history``, ``diff`` and ``prune``: recovery over time, run by run."""

from __future__ import annotations

import json

import click

from ..errors import InputError
from ..reporters.table import tabulate
from .options import UKDate, db_option, json_option


def _store(db_path):
    from ..store import using_store

    return using_store(db_path)


@click.command(name="history")
@db_option
@click.option("--target", help="Only this target id.")
@click.option("--service", help="Only this service (as the verdict names it), or (provider) for pooled figures.")
@json_option
def history(db_path, target, service, as_json) -> None:
    """Show each target's current-period value and status, run by run.

    \b
    Example:
        carecheck history --target inc_review_5wd
        carecheck history --service "Oak House" --json
    """
    from ..reporters.table import percent
    from ..results import run_rows

    with _store(db_path) as db:
        rows = run_rows(db, target, service)
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        click.echo("No runs match. Runs are kept by carecheck run and carecheck demo --db.")
        return
    click.echo(tabulate(
        [(r["run_id"][:8], r["created_at"][:16], r["as_of"], r["target"], r["service"], r["period"],
          f"{r['numerator']}/{r['denominator']}", percent(r["value"]), r["status"].replace("_", " ")) for r in rows],
        headers=("run", "run at", "as of", "target", "service", "period", "n/d", "value", "status"),
    ))


@click.command(name="diff")
@click.argument("run_a")
@click.argument("run_b")
@db_option
@json_option
def diff(run_a, run_b, db_path, as_json) -> None:
    """List what is new, resolved, regressed and still failing from RUN_A to RUN_B.

    Figures are matched by target, service and period, not by position; partial periods are left
    out. Run ids may be shortened to any unique start.

    \b
    Example:
        carecheck diff 3f2a9c 8b71d0
    """
    from ..reporters.table import percent
    from ..results import diff_runs

    with _store(db_path) as db:
        changes = diff_runs(db, run_a, run_b)
    if as_json:
        click.echo(json.dumps(changes, indent=2))
        return
    click.echo(f"From run {changes['run_a']} to run {changes['run_b']}:")
    for change in ("new", "resolved", "regressed", "still_failing"):
        items = changes[change]
        click.echo(f"\n{change.replace('_', ' ').capitalize()} ({len(items)})")
        if items:
            click.echo(tabulate(
                [(i["target"], i["service"], i["period"], percent(i["before"]), percent(i["after"])) for i in items],
                headers=("target", "service", "period", "before", "after"),
            ))


@click.command(name="prune")
@db_option
@click.option("--keep", type=click.IntRange(1), help="Keep the newest N runs of each ruleset.")
@click.option("--before", type=UKDate(), help="Remove runs made before this day.")
@click.option("--ruleset", help="Only runs of this ruleset (by name).")
@click.option("--dry-run", is_flag=True, help="List the runs that would go; remove nothing.")
@click.option("--vacuum", is_flag=True, help="Then give the freed space back to the disk (rewrites the store).")
@json_option
def prune(db_path, keep, before, ruleset, dry_run, vacuum, as_json) -> None:
    """Remove old runs from the store: their verdicts, figures and failures.

    Each run keeps its verdict, every figure and every failure behind it: a year of daily runs for
    hundreds of services runs to gigabytes. A run goes when it meets every
    condition given (--keep, --before, --ruleset); the newest run of each ruleset always stays.
    Evidence records and import history are never touched. SQLite reuses the freed space for later
    runs; --vacuum also returns it to the disk.

    \b
    Example:
        carecheck prune --keep 90
        carecheck prune --before 01/01/2026 --dry-run
    """
    from ..results import prune_runs

    if keep is None and before is None:
        raise InputError("say which runs to remove: --keep N, --before DATE, or both")
    with _store(db_path) as db:
        removed = prune_runs(db, keep, before.isoformat() if before else None, ruleset, dry_run)
        if vacuum and removed and not dry_run:
            db.execute("VACUUM")
    if as_json:
        click.echo(json.dumps({"dry_run": dry_run, "removed": removed}, indent=2))
        return
    verb = "Would remove" if dry_run else "Removed"
    click.echo(f"{verb} {len(removed)} run{'s' if len(removed) != 1 else ''}.")
    for run in removed:
        click.echo(f"  {run['run_id'][:8]}  {run['created_at'][:16]}  as of {run['as_of']}  {run['ruleset']}")


COMMANDS = [history, diff, prune]
