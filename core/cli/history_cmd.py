"""``carecheck runs``, ``history``, ``diff``, ``failures`` and ``prune``: recovery over time, run by run."""

from __future__ import annotations

import json

import click

from carecheck.errors import InputError
from carecheck.reporters.words import tabulate
from carecheck.cli.options import UKDate, db_option, json_option


def _store(db_path, *, reads_only: bool = True):
    from carecheck.store import using_store

    return using_store(db_path, read_only_ok=reads_only)


def _shown_plainly(rows: list[dict], as_json: bool, empty: str) -> bool:
    """Rows as JSON, or the words for none: True when that was all there was to show."""
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return True
    if not rows:
        click.echo(empty + _demo_hint())
        return True
    return False


def _demo_hint() -> str:
    """Where the demo's runs are, when the default store has none and the demo's store is here."""
    from pathlib import Path

    from carecheck.cli.options import DEFAULT_DB
    from carecheck.cli.run_cmd import DEMO_DB

    ctx = click.get_current_context(silent=True)
    used = ctx.params.get("db_path") if ctx else None
    if used == DEFAULT_DB and Path(DEMO_DB).exists():
        return f" The demo keeps its runs in {DEMO_DB}: add --db {DEMO_DB}."
    return ""


def _when(text: str) -> str:
    """A stored time to the second, as people read it: 2026-09-01 09:14:03."""
    return text[:19].replace("T", " ")


@click.command(name="runs")
@db_option
@click.option("--last", type=click.IntRange(1), help="Only the newest N runs.")
@json_option
def runs(db_path, last, as_json) -> None:
    """List the runs kept in the store, oldest first.

    Each run's id, when it ran, its as-of date, ruleset and hash, the carecheck that made it, its
    lowest location level and the records it read.

    \b
    Example:
        carecheck runs --last 5
        carecheck diff RUN_A RUN_B      # with two ids from the list
    """
    from carecheck.store.runs import list_runs

    with _store(db_path) as db:
        rows = list_runs(db, last)
    if _shown_plainly(rows, as_json, "No runs yet: carecheck run keeps every run."):
        return
    click.echo(tabulate(
        [(r["run_id"], _when(r["created_at"]), r["as_of"], f"{r['ruleset']} {(r['ruleset_hash'] or '')[:8]}",
          r["carecheck_version"] or "-", (r["lowest_level"] or "-").replace("_", " "),
          "-" if r["records_read"] is None else f"{r['records_read']:,}") for r in rows],
        headers=("run", "run at", "as of", "ruleset", "carecheck", "lowest level", "records read"),
    ))


def _known_or_fail(db, what: str, value: str, sql: str) -> None:
    """A --target or --service that no stored run has is a typing mistake: say what there is."""
    known = sorted(name for (name,) in db.execute(sql).fetchall() if name)
    if known and value not in known:
        raise click.BadParameter(f"no stored run has the {what} {value!r} ({what}s: {', '.join(known)})",
                                 param_hint=f"--{what}")


@click.command(name="history")
@db_option
@click.option("--target", help="Only this target id.")
@click.option("--service", help="Only this service (as the verdict names it), or (provider) for pooled figures.")
@click.option("--last", type=click.IntRange(1), help="Only the newest N runs.")
@click.option("--ruleset", help="The series of this ruleset (by name); default: the newest run's.")
@json_option
def history(db_path, target, service, last, ruleset, as_json) -> None:
    """Show each target's current-period value and status, run by run, in one series: runs of one
    ruleset with the same values (a change of ruleset or overlay starts another series).

    \b
    Example:
        carecheck history --target inc_review_5wd --last 6
        carecheck history --service "Oak House" --json
    """
    from carecheck.reporters.words import percent
    from carecheck.store.runs import run_rows

    with _store(db_path) as db:
        if ruleset is not None:
            _known_or_fail(db, "ruleset", ruleset, "SELECT DISTINCT ruleset FROM runs")
        rows = run_rows(db, target, service, last, ruleset)
        if target is not None and not rows:
            _known_or_fail(db, "target", target, "SELECT DISTINCT target FROM target_results")
        if service is not None and not rows:
            _known_or_fail(db, "service", service, "SELECT DISTINCT service FROM target_results")
    if _shown_plainly(rows, as_json, "No runs match. Runs are kept by carecheck run and carecheck demo."):
        return
    click.echo(tabulate(
        [(r["run_id"][:8], _when(r["created_at"]), r["as_of"], r["ruleset"], r["target"], r["service"], r["period"],
          f"{r['numerator']}/{r['denominator']}", percent(r["value"]), r["status"].replace("_", " ")) for r in rows],
        headers=("run", "run at", "as of", "ruleset", "target", "service", "period", "n/d", "value", "status"),
    ))


@click.command(name="diff")
@click.argument("run_a")
@click.argument("run_b")
@db_option
@click.option("--all-periods", is_flag=True, help="List restated figures in every period, not only B's window.")
@json_option
def diff(run_a, run_b, db_path, all_periods, as_json) -> None:
    """What changed from RUN_A to RUN_B, location by location.

    The headline compares each target at each location in A's current period with B's current
    period: regressed (met, now not met), resolved (not met, now met), new (not met, with no value
    before) and still failing. Then the figures of B's window (its last sustained periods) that
    late records restated. Run ids may be shortened to any unique start (carecheck runs lists them).

    \b
    Example:
        carecheck diff 3f2a9c 8b71d0
        carecheck diff 3f2a9c 8b71d0 --all-periods --json
    """
    from carecheck.reporters.words import percent
    from carecheck.store.runs import DIFF_STATES, diff_runs

    with _store(db_path) as db:
        changes = diff_runs(db, run_a, run_b, all_periods)
    if as_json:
        click.echo(json.dumps(changes, indent=2))
        return
    counts = changes["counts"]
    rulesets = changes["rulesets"]
    a, b = rulesets["a"], rulesets["b"]
    if not rulesets["same"]:
        # A change of ruleset reads as a change of evidence unless it is said first.
        click.echo(f"The two runs used different rulesets: A {_ruleset_words(a)}; B {_ruleset_words(b)}.")
        for item in rulesets["differences"]:
            click.echo(f"  {item['key']}: {json.dumps(item['a'])} in A, {json.dumps(item['b'])} in B")
        click.echo("Figures below compare the two rulesets' judgements, not only the evidence.\n")
    column_a, column_b = f"A: {a['as_of']} ({a['name']})", f"B: {b['as_of']} ({b['name']})"
    click.echo(f"From run {changes['run_a'][:8]} ({changes['period_a']}) to run {changes['run_b'][:8]} "
               f"({changes['period_b']}): " + ", ".join(f"{counts[s]} {s.replace('_', ' ')}" for s in DIFF_STATES))
    for state in DIFF_STATES:
        items = changes[state]
        if items:
            click.echo(f"\n{state.replace('_', ' ').capitalize()} ({len(items)})")
            click.echo(tabulate(
                [(i["target"], i["service"], percent(i["before"]), percent(i["after"])) for i in items],
                headers=("target", "location", column_a, column_b),
            ))
    restated = changes["changed"]
    click.echo(f"\nRestated figures ({len(restated)}){'' if all_periods else ' in the window of run B'}")
    if restated:
        click.echo(tabulate(
            [(i["target"], i["service"], i["period"], percent(i["before"]), percent(i["after"])) for i in restated],
            headers=("target", "location", "period", column_a, column_b),
        ))


@click.command(name="failures")
@click.argument("run_id")
@db_option
@click.option("--target", help="Only this target id.")
@click.option("--service", help="Only this location (as the verdict names it).")
@click.option("--period", help="Only this period (2026-08).")
@json_option
def failures(run_id, db_path, target, service, period, as_json) -> None:
    """Every failure behind a stored run's figures: the record ids (or missed checks) by target,
    location and period, more than the verdict's lists show (they stop at 25).

    \b
    Example:
        carecheck failures 3f2a9c --target inc_review_5wd --period 2026-08
    """
    from carecheck.store.runs import _resolve_run_id, stored_failures

    with _store(db_path) as db:
        resolved = _resolve_run_id(db, run_id)
        rows = [row for row in stored_failures(db, resolved)
                if (target is None or row["target"] == target) and (service is None or row["service"] == service)
                and (period is None or row["period"] == period)]
    if _shown_plainly(rows, as_json, "No failures match."):
        return
    click.echo(tabulate([(r["target"], r["service"], r["period"], r["unit"]) for r in rows],
                        headers=("target", "location", "period", "record or missed check")))


def _ruleset_words(side: dict) -> str:
    chain = f", extends {' -> '.join(side['extends'])}" if side.get("extends") else ""
    version = f" version {side['version']}" if side.get("version") is not None else ""
    values = (side.get("values_hash") or side.get("hash") or "")[:8]
    return f"{side['name']}{version}{chain} (values {values})"


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
    from carecheck.store.runs import prune_runs

    if keep is None and before is None:
        raise InputError("say which runs to remove: --keep N, --before DATE, or both")
    with _store(db_path, reads_only=dry_run) as db:
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


COMMANDS = [runs, history, diff, failures, prune]
