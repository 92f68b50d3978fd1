"""``carecheck actions``: the escalations and open actions as an action tracker."""

from __future__ import annotations

from pathlib import Path

import click

from carecheck.errors import InputError
from carecheck.cli.options import db_option


@click.command(name="actions")
@db_option
@click.option("--run", "run_id", help="The run whose escalations to export (default: the latest run).")
@click.option("--format", "fmt", type=click.Choice(["csv", "xlsx"]), default="csv", show_default=True)
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path),
              help="File to write (required for xlsx; csv goes to standard output without it).")
@click.option("--by-location", is_flag=True, help="With xlsx: one sheet per location.")
@click.option("--include-text", is_flag=True, help="Include the actions' descriptions (free text from the tracker).")
def actions(db_path, run_id, fmt, output, by_location, include_text) -> None:
    """Export escalations and open improvement actions as an action tracker (CSV or Excel).

    Columns: id, kind, service, domain, target, why (in words), action, owner role, owner, due date
    (a date cell in Excel), status, and the rule's expression for audit. Owner names come from the
    tracker records, as a tracker needs them; the actions' descriptions (free text) only with
    --include-text.
    Cells that begin with =, +, - or @ are neutralised so a spreadsheet never runs them.

    \b
    Example:
        carecheck actions --format xlsx --output actions.xlsx
        carecheck actions --format xlsx --by-location --output actions-by-home.xlsx
        carecheck actions --run 3f2a9c > actions.csv
    """
    from carecheck.store.runs import load_run
    from carecheck.store import using_store
    from carecheck.reporters.tracker import to_csv, tracker_rows, write_xlsx

    from carecheck.reporters.outputs import check_output, write_output

    if fmt == "xlsx" and output is None:
        raise click.UsageError("--format xlsx needs --output FILE")
    if output is not None:
        check_output(output, [db_path], "tracker")
    with using_store(db_path) as db:
        if run_id is None:
            latest = db.execute("SELECT run_id FROM runs ORDER BY created_at DESC, rowid DESC LIMIT 1").fetchone()
            if latest is None:
                raise InputError(f"{db_path}: no run yet; run carecheck run first")
            run_id = latest[0]
        rows = tracker_rows(db, load_run(db, run_id), include_text)
    if output is None:
        click.echo(to_csv(rows), nl=False)
        return

    def produce(path: Path) -> None:
        if fmt == "csv":
            path.write_text(to_csv(rows), encoding="utf-8-sig")  # Excel opens UTF-8 with a BOM
        else:
            write_xlsx(rows, path, by_location=by_location)

    write_output(output, produce, [db_path], "tracker")
    click.echo(f"Wrote {len(rows)} rows to {output}", err=True)


COMMANDS = [actions]
