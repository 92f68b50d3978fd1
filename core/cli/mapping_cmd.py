"""``carecheck mapping``: write a mapping for a new export, and see what a mapping makes of it."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import click

from carecheck.cli.import_cmd import _parse_option
from carecheck.cli.options import KindChoice

_source = [
    click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path)),
    click.option("--kind", required=True, type=KindChoice(), help="The record kind the export holds."),
    click.option("--adapter", help="Read the file with this adapter (default: by its extension)."),
    click.option("--option", "options", multiple=True, metavar="KEY=VALUE", help="An adapter option; repeatable."),
    click.option("--db", "db_path", type=click.Path(exists=True, dir_okay=False, path_type=Path),
                 help="A store to look missing fields up in (only read)."),
]


def source_options(function):
    for decorator in reversed(_source):
        function = decorator(function)
    return function


@click.group(name="mapping")
def mapping() -> None:
    """Write a mapping for a new export, and check what a mapping makes of it.

    \b
    Example:
        carecheck mapping suggest incidents.csv --kind incident -o incidents.yaml
        carecheck mapping check incidents.csv --kind incident --mapping incidents.yaml
    """


@mapping.command(name="suggest")
@source_options
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the mapping here (default: standard output).")
def suggest(path: Path, kind: str, adapter: str | None, options, db_path: Path | None, output: Path | None) -> None:
    """Draft a mapping for an export from its columns and values.

    Columns are matched to fields by name and by the names record systems use; date formats,
    yes/no words and value maps for enumerated fields are inferred from the values; a free-text
    column named like an enumerated field is set aside. Each guess carries its evidence as a
    comment, and what cannot be placed is left as a TODO listing the choices.

    \b
    Example:
        carecheck mapping suggest incidents.csv --kind incident -o incidents.yaml
        carecheck mapping suggest actions.xlsx --kind improvement_action --option sheet=Actions --db carecheck.db
    """
    from carecheck.mapping.suggest import render, suggest as draft_for
    from carecheck.reporters.outputs import check_output, output_file
    from carecheck.store import using_store

    stores = [db_path] if db_path is not None else []
    if output is not None:
        check_output(output, [path, *stores], "mapping")
    if db_path is not None:
        with using_store(db_path, read_only_ok=True) as db:
            draft = draft_for(path, kind, adapter, _parse_option(options), db)
    else:
        draft = draft_for(path, kind, adapter, _parse_option(options))
    text = render(draft)
    if output is None:
        click.echo(text, nl=False)
        return
    with output_file(output, [path, *stores], "mapping") as handle:
        handle.write(text)
    todo = f"; settle its TODOs first ({', '.join(draft.todo)})" if draft.todo else ""
    import shlex

    click.echo(f"Wrote {output}{todo}. Try it: carecheck mapping check {shlex.quote(str(path))} --kind {kind} "
               f"--mapping {shlex.quote(str(output))}")


@mapping.command(name="check")
@source_options
@click.option("--mapping", "mapping_name", required=True, help="The mapping file, or a plugin's mapping name.")
@click.option("--json", "as_json", is_flag=True, help="Output JSON instead of text.")
def check(path: Path, kind: str, adapter: str | None, options, db_path: Path | None, mapping_name: str,
          as_json: bool) -> int:
    """Show, field by field, what a mapping makes of an export, without touching any store.

    Exit code 0 when every row would be accepted (rows left out by only_rows aside) with no value
    left empty; 1 when some rows would be rejected or have values left empty; 2 when the mapping
    does not fit the export.

    \b
    Example:
        carecheck mapping check incidents.csv --kind incident --mapping incidents.yaml
    """
    from carecheck.mapping.check import check_mapping
    from carecheck.reporters.words import tabulate
    from carecheck.cli.exits import EXIT_CHECKS_FAILED, EXIT_OK

    report = check_mapping(path, kind, mapping_name, adapter, _parse_option(options), db_path)
    if as_json:
        click.echo(json.dumps({**asdict(report), "clean": report.clean}, indent=2))
        return EXIT_OK if report.clean else EXIT_CHECKS_FAILED
    click.echo(f"{report.source} as {report.kind}: {report.rows_read} rows read = {report.accepted} accepted + "
               f"{report.rejected} rejected + {report.left_out} left out")
    rows = []
    for item in report.fields:
        shown = ", ".join(item.values[:VALUES]) + (f" (+{len(item.values) - VALUES})" if len(item.values) > VALUES else "")
        rows.append((item.field, item.column, f"{item.filled} of {report.accepted}", sum(item.rejected.values()) or "",
                     sum(item.findings.values()) or "", shown))
    click.echo(tabulate(rows, headers=("field", "column", "filled", "rejected", "left empty", "values")))
    problems = [(item.field, "rejected", reason, n) for item in report.fields for reason, n in item.rejected.items()]
    problems += [(item.field, "left empty", reason, n) for item in report.fields for reason, n in item.findings.items()]
    if problems:
        click.echo("\nBy reason:")
        for name, what, reason, n in problems:
            click.echo(f"  {name}: {n} {'row' if n == 1 else 'rows'} {what}: {reason}")
    if report.unmapped:
        click.echo(f"\nColumns no field reads: {', '.join(report.unmapped)}")
    return EXIT_OK if report.clean else EXIT_CHECKS_FAILED


VALUES = 8
COMMANDS = [mapping]
