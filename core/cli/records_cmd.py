"""``carecheck records``: what the store holds."""

from __future__ import annotations

import json
from dataclasses import asdict

import click

from carecheck.store.references import dangling_references, service_names
from carecheck.store import registry_of, using_store
from carecheck.reporters.words import tabulate
from carecheck.cli.options import KindChoice, db_option, json_option

SHOWN_FINDINGS = 20


def record_counts(db) -> list[dict]:
    """Records by kind, service (as the register names it) and month of their event."""
    names = service_names(db)
    counts: dict[tuple[str, str, str], int] = {}
    for kind, model in registry_of(db).kinds.items():
        rows = db.execute(
            f"SELECT service, substr([{model.event_field}], 1, 7), COUNT(*) FROM [{kind}] GROUP BY 1, 2"
        ).fetchall()
        for service, month, count in rows:
            key = (kind, names.get(service, service), month or "(no date)")
            counts[key] = counts.get(key, 0) + count
    return [
        {"kind": kind, "service": service, "month": month, "records": count}
        for (kind, service, month), count in sorted(counts.items())
    ]


def kinds_without_plugin(db) -> list[dict]:
    """Record kinds a plugin added to the store that no installed plugin provides now: their
    tables and records stay, untouched, until the plugin is back."""
    if not db["plugin_kinds"].exists():
        return []
    out = []
    for kind, plugin in db.execute("SELECT kind, plugin FROM plugin_kinds ORDER BY kind").fetchall():
        if kind not in registry_of(db).kinds and db[kind].exists():
            (count,) = db.execute(f"SELECT COUNT(*) FROM [{kind}]").fetchone()
            out.append({"kind": kind, "plugin": plugin, "records": count})
    return out


@click.command(name="records")
@db_option
@json_option
@click.option("--kind", "kinds", multiple=True, type=KindChoice(), help="Only this kind; repeatable.")
@click.option("--service", "services", multiple=True, help="Only this service (as the register names it); repeatable.")
@click.option("--dangling", is_flag=True, help="List every reference that points at no record.")
@click.option("--findings", is_flag=True,
              help="List every field left empty on import because its value could not be read (file, row, field, why).")
def records_list(db_path: str, as_json: bool, kinds, services, dangling: bool, findings: bool) -> None:
    """Count the records in the store by kind, service and month.

    Also reports data-quality findings: references to records that are not in the store, and
    services missing from the service register.

    \b
    Example:
        carecheck records
        carecheck records --json --db evidence.db
        carecheck records --kind incident --service "Oak House"
        carecheck records --findings
    """
    if findings:
        _list_findings(db_path, as_json)
        return
    with using_store(db_path, read_only_ok=True) as db:
        counts = [c for c in record_counts(db)
                  if (not kinds or c["kind"] in kinds) and (not services or c["service"] in services)]
        findings = dangling_references(db, set(kinds) if kinds else None)
        rejected = db.execute("SELECT COUNT(*) FROM rejected_rows").fetchone()[0]
        left_empty = db.execute("SELECT COUNT(*) FROM field_findings").fetchone()[0]
        clashes = db.execute("SELECT kind, record_id, clean_id FROM id_clashes ORDER BY kind, record_id").fetchall()
        orphans = kinds_without_plugin(db)
    if as_json:
        click.echo(json.dumps({
            "counts": counts,
            "rows_rejected": rejected,
            "field_findings": left_empty,
            "id_clashes": [{"kind": k, "record_id": r, "clean_id": c} for k, r, c in clashes],
            "dangling_references": [asdict(finding) for finding in findings],
            "kinds_without_plugin": orphans,
        }, indent=2))
        return
    if not counts:
        click.echo("The store holds no records yet: import some with 'carecheck import'.")
    else:
        click.echo(tabulate([tuple(c.values()) for c in counts], headers=("kind", "service", "month", "records")))
        totals: dict[str, int] = {}
        for count in counts:
            totals[count["kind"]] = totals.get(count["kind"], 0) + count["records"]
        click.echo("\nTotal: " + ", ".join(f"{kind} {n}" for kind, n in sorted(totals.items())))
    click.echo(f"Rows rejected on import: {rejected}")
    click.echo(f"Field findings on import (values left empty, implausible dates): {left_empty}"
               + (" (--findings lists them)" if left_empty else ""))
    if clashes:
        click.echo(f"Ids that are another record's once cleaned of invisible characters: {len(clashes)} "
                   "(kept apart; the store's id_clashes table lists them)")
    for orphan in orphans:
        click.echo(f"Note: {orphan['records']} records of kind {orphan['kind']!r} are kept, but no installed plugin "
                   f"provides the kind (it came from {orphan['plugin']}); reinstall the plugin to check them")
    click.echo(f"References that point at nothing: {len(findings)}")
    shown = findings if dangling else findings[:SHOWN_FINDINGS]
    for finding in shown:
        click.echo(
            f"  {finding.kind} {finding.record_id}: {finding.field} -> {finding.target_kind} {finding.target_id} not found"
        )
    if len(findings) > len(shown):
        click.echo(f"  ... and {len(findings) - len(shown)} more (use --dangling to list all)")


def _list_findings(db_path: str, as_json: bool) -> None:
    """Every field left empty on import, with the file, row and why: the import kept the record."""
    with using_store(db_path, read_only_ok=True) as db:
        rows = [dict(zip(("import_id", "source_file", "row", "field", "reason"), row)) for row in db.execute(
            "SELECT import_id, source_file, row, field, reason FROM field_findings ORDER BY import_id, row, field")]
    if as_json:
        click.echo(json.dumps(rows, indent=2))
    elif not rows:
        click.echo("No field findings: every value imported could be read.")
    else:
        click.echo(tabulate([(r["import_id"], r["source_file"], r["row"], r["field"], r["reason"]) for r in rows],
                            headers=("import", "file", "row", "field", "why left empty")))


COMMANDS = [records_list]
