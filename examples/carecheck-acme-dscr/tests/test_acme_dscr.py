"""The ACME DSCR adapter and mappings, on the sample export shipped with the package."""

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from carecheck import plugin_manager
from carecheck.cli import build_cli
from carecheck.errors import InputError

import carecheck_acme_dscr
from carecheck_acme_dscr.adapter import AcmeDscrAdapter

SAMPLE = Path(__file__).resolve().parent.parent / "sample"
ZIP = SAMPLE / "acme-export-2026-06.zip"
DUMP = SAMPLE / "acme-dump-2026-06.json"


@pytest.fixture
def acme(monkeypatch):
    monkeypatch.setenv("CARECHECK_LOAD_PLUGINS", "")
    plugin_manager.reset()
    plugin_manager.get_plugin_manager().register(carecheck_acme_dscr, name="acme-dscr")
    yield
    plugin_manager.reset()


def read(path, **options):
    adapter = AcmeDscrAdapter()
    with adapter.open(path, adapter.parse_options(options)) as source:
        return source.columns, list(source.rows)


def test_a_zip_member_is_read_with_acmes_byte_order_mark_and_line_numbers():
    columns, rows = read(ZIP, member="Incidents.csv")
    assert columns[0] == "IncidentRef"  # the BOM is not part of the first column's name
    assert [(number, row["IncidentRef"], row["OccurredTime"]) for number, row in rows] == [
        (2, "IN-101", "08:20"), (3, "IN-102", "21:05"), (4, "IN-103", "")]


def test_a_zip_with_several_files_needs_a_member():
    with pytest.raises(InputError, match=r"holds 3 CSV files \(Audits.csv, Incidents.csv, Locations.csv\); "
                                         r"choose one with --option member=NAME"):
        read(ZIP)
    with pytest.raises(InputError, match=r"no 'Staff.csv' in the ZIP"):
        read(ZIP, member="Staff.csv")


def test_the_json_dump_is_flattened_into_dotted_columns():
    columns, rows = read(DUMP, records="export.medication")
    assert {"entryId", "location.name", "error.flag", "error.reviewedAt", "staff.id"} <= set(columns)
    number, first = rows[2]
    assert (number, first["entryId"], first["status"], first["error.flag"]) == (3, "M3", "Not given", True)
    with pytest.raises(InputError, match=r"no list of records at 'export.staff' \(found: export.medication\)"):
        read(DUMP, records="export.staff")


def test_the_mappings_are_registered(acme):
    assert {"acme-locations", "acme-incidents", "acme-audits", "acme-mar"} <= set(plugin_manager.get_mappings())
    assert plugin_manager.get_adapters()["acme-dscr"].plugin == "acme-dscr"


def test_the_sample_export_imports_with_acmes_words_translated(acme, tmp_path):
    db = tmp_path / "acme.db"
    runner = CliRunner()
    for member, kind, mapping in (("Locations.csv", "service", "acme-locations"),
                                  ("Incidents.csv", "incident", "acme-incidents"),
                                  ("Audits.csv", "audit", "acme-audits")):
        result = runner.invoke(build_cli(), ["import", str(ZIP), "--kind", kind, "--adapter", "acme-dscr",
                                             "--option", f"member={member}", "--mapping", mapping, "--db", str(db)])
        assert result.exit_code == 0, result.output
    import sqlite3

    con = sqlite3.connect(db)
    assert con.execute("SELECT id, occurred_at, harm_level, status FROM incident ORDER BY id").fetchall() == [
        ("IN-101", "2026-06-02T08:20:00+01:00", "low", "closed"),
        ("IN-102", "2026-06-14T21:05:00+01:00", "moderate", "open"),
        ("IN-103", "2026-06-20", "none", "closed"),  # no time recorded: a date alone, never midnight
    ]
    assert con.execute("SELECT id, audit_type, result FROM audit ORDER BY id").fetchall() == [
        ("AU-1", "medication", "good"), ("AU-2", "care_records", "requires_improvement")]
    counts = json.loads(runner.invoke(build_cli(), ["records", "--db", str(db), "--json"]).output)["counts"]
    assert sum(c["records"] for c in counts) == 7
