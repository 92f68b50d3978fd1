"""``carecheck history`` and ``carecheck diff``: recovery over time, run by run."""

from __future__ import annotations

import json
from pathlib import Path

import click
from tabulate import tabulate

from ..errors import InputError
from .options import db_option, json_option


def _store(db_path):
    from ..store import open_store

    if not Path(db_path).exists():
        raise InputError(f"{db_path}: no evidence store here; pass --db")
    return open_store(db_path)


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

    db = _store(db_path)
    try:
        rows = run_rows(db, target, service)
    finally:
        db.close()
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

    db = _store(db_path)
    try:
        changes = diff_runs(db, run_a, run_b)
    finally:
        db.close()
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


COMMANDS = [history, diff]
