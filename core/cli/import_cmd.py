"""``carecheck import``."""

from __future__ import annotations

from pathlib import Path

import click

from carecheck.errors import InputError
from carecheck.cli.progress import Progress
from carecheck.cli.options import KindChoice, db_option

SHOWN_REJECTIONS = 20


def _parse_option(values: tuple[str, ...]) -> dict[str, str]:
    options = {}
    for value in values:
        key, sep, setting = value.partition("=")
        if not sep or not key.strip():
            raise click.BadParameter(f"{value!r} is not KEY=VALUE", param_hint="--option")
        options[key.strip()] = setting
    return options


def _rows_text(rows: list[int]) -> str:
    shown = ", ".join(str(row) for row in rows[:10])
    return shown + (f" and {len(rows) - 10} more" if len(rows) > 10 else "")


def _report(result) -> None:
    if result.skipped:
        click.echo(
            f"{result.path}: unchanged since import {result.import_id}, skipped (use --force to read it again)"
        )
        return
    click.echo(
        f"{result.path}: {result.kind}: {result.rows_read} rows read = {result.rows_accepted} accepted"
        f" + {result.rows_rejected} rejected + {result.rows_left_out} left out; records {result.records_new} new,"
        f" {result.records_changed} changed, {result.records_unchanged} unchanged"
    )
    if result.unknown_locations:
        count = sum(len(rows) for rows in result.unknown_locations.values())
        named = "; ".join(f"{value!r} (row{'s' if len(rows) != 1 else ''} {_rows_text(rows)})"
                          for value, rows in result.unknown_locations.items())
        click.echo(f"  {count} record{'s name' if count != 1 else ' names'} a location not in the service register, "
                   f"so {'they are' if count != 1 else 'it is'} judged at no location: {named}. Add the name as an "
                   "alias of its service in the register (docs/mappings.md), or correct the export")
    if result.rows_read == 0:
        click.echo("  the file has a header and no rows: nothing to import (a period with no records)")
    if result.implausible_dates:
        click.echo(f"  {result.implausible_dates} row{'s' if result.implausible_dates != 1 else ''} kept with an "
                   "implausible event date (before 2000, or after today): flagged, never counted in a review period")
    if result.ids_cleaned:
        click.echo(f"  {result.ids_cleaned} id{'s' if result.ids_cleaned != 1 else ''} cleaned of invisible characters "
                   "or another Unicode form before they were compared")
    if result.values_seen:
        from carecheck.importing.importer import VALUES_SHOWN

        parts = []
        for name, seen in sorted(result.values_seen.items()):
            words = sorted(str(value) for value in seen)
            more = " and more" if len(words) > VALUES_SHOWN else ""
            parts.append(f"{name}: {', '.join(words[:VALUES_SHOWN])}{more}")
        click.echo(f"  values seen: {'; '.join(parts)}")
    if result.rows_with_findings:
        fields = ", ".join(f"{name} ({count})" for name, count in sorted(result.fields_left_empty.items()))
        click.echo(f"  {result.rows_with_findings} accepted row{'s' if result.rows_with_findings != 1 else ''} with "
                   f"a field left empty because its value could not be read: {fields} (carecheck records --findings "
                   "says which rows and why)")
    for rejection in result.rejections[:SHOWN_REJECTIONS]:
        click.echo(f"  rejected row {rejection.row}: {rejection.reason}")
    if result.rows_rejected > SHOWN_REJECTIONS:
        click.echo(
            f"  ... and {result.rows_rejected - SHOWN_REJECTIONS} more rejected rows"
            f" (all are in the store's rejected_rows table, import {result.import_id})"
        )


@click.command(name="import")
@click.argument("source", required=False, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--kind", type=KindChoice(), help="The record kind the source holds.")
@click.option("--adapter", help="The adapter to read it with (default: from the file's extension).")
@click.option("--mapping", help="A mapping file, or the name of a mapping a plugin registered.")
@click.option("--source-name", help="The record system the file came from, kept as provenance.")
@click.option("--option", "options", multiple=True, metavar="KEY=VALUE",
              help="An adapter option, e.g. sheet=Incidents, query='SELECT ...', encoding=cp1252.")
@click.option("--manifest", type=click.Path(dir_okay=False, exists=True, path_type=Path),
              help="A YAML list of files to import, each with its kind, options and mapping.")
@click.option("--force", is_flag=True, help="Read the file again even if it is unchanged since its last import.")
@click.option("--help-adapter", "help_adapter", metavar="NAME", help="List an adapter's options, then stop.")
@click.option("--allow-outside", is_flag=True, help="Let a manifest name files outside its own folder.")
@db_option
def import_(source, kind, adapter, mapping, source_name, options, manifest, force, help_adapter, allow_outside,
            db_path) -> None:
    """Import records from a file into the evidence store.

    Each file is imported whole or not at all. Rows that cannot be read are rejected with their
    row number and reason, and the rest are imported. Importing the same file again adds nothing;
    a changed row updates its record and keeps the earlier version in the history table.

    \b
    Example:
        carecheck import incidents.csv --kind incident --mapping incidents.yaml
        carecheck import tracker.xlsx --kind improvement_action --option sheet=Actions
        carecheck import --manifest export/manifest.yaml
        carecheck import --help-adapter xlsx
    """
    from carecheck.importing.importer import ImportRequest
    from carecheck.importing.manifest import load_manifest
    from carecheck.store import discard_unused_store

    if help_adapter is not None:
        _describe_adapter(help_adapter)
        return
    if manifest and (source or kind):
        raise click.UsageError("give either SOURCE with --kind, or --manifest, not both")
    if manifest:
        requests = load_manifest(manifest, allow_outside)
    elif source is None:
        raise click.UsageError("give a SOURCE file (with --kind) or --manifest")
    elif kind is None:
        raise click.UsageError("--kind is required with SOURCE")
    else:
        requests = [ImportRequest(source, kind, adapter, _parse_option(options), mapping, source_name)]
    failed: list[str] = []
    existed = Path(db_path).exists()
    try:
        _import_all(db_path, requests, force, failed)
        if failed:
            raise InputError(f"{len(failed)} of {len(requests)} files were not imported (see above)")
    except BaseException:
        if not existed:
            discard_unused_store(db_path)  # a first import that failed leaves no empty store behind
        raise


def _describe_adapter(name: str) -> None:
    from carecheck import plugin_manager

    adapters = plugin_manager.registry().adapters
    if name not in adapters:
        raise InputError(f"unknown adapter {name!r} (available: {', '.join(sorted(adapters))})")
    adapter = adapters[name].item
    click.echo(f"{adapter.name}: {adapter.description} ({', '.join(adapter.extensions) or 'no extension'})")
    described = adapter.describe_options()
    if not described:
        click.echo("  no options")
    for option in described:
        default = "" if option["default"] is None else f" (default: {option['default']})"
        click.echo(f"  --option {option['name']}=...  {option['type']}{default}: {option['help']}")


def _import_all(db_path, requests, force, failed: list[str]) -> None:
    from carecheck.importing.importer import import_source
    from carecheck.store import using_store

    with using_store(db_path, create=True) as db:
        for request in requests:
            progress = Progress(f"importing {request.path.name}")
            try:
                result = import_source(db, request, force=force, progress=progress.update)
                progress.done()
                _report(result)
            except InputError as error:
                progress.done()
                if len(requests) == 1:
                    raise
                failed.append(str(error))
                click.echo(f"Error: {error}", err=True)


COMMANDS = [import_]
