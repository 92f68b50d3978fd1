"""Record kinds a plugin registers (``carecheck_register_record_kinds``): their tables, imports from
every adapter, listings, references, and the mistakes refused with names."""

import json
import sqlite3

import openpyxl
import pytest

from carecheck import hookimpl, plugin_manager
from carecheck.records_api import Code, Field, MaybeYesNo, Record, Text, Timestamp, ref


class FallsRiskAssessment(Record):
    """A falls risk assessment of one person."""

    kind = "falls_risk_assessment"
    title = "Falls risk assessment"
    event_field = "assessed_at"

    person_id: Text = Field(description="Pseudonymous id of the person assessed.")
    assessed_at: Timestamp = Field(description="When the assessment was done.")
    risk: Code("low", "medium", "high") = Field(description="The assessed risk.")
    sensor_mat: MaybeYesNo = Field(default=None, description="Whether a sensor mat is in place.")
    action_id: Text | None = ref("improvement_action", "The improvement action raised, if any.")


def _kinds_plugin(*models):
    class Plugin:
        @hookimpl
        def carecheck_register_record_kinds(self, register):
            for model in models:
                register(model)

    return Plugin()


HEADER = ["id", "service", "person_id", "assessed_at", "risk", "sensor_mat", "action_id"]
ROWS = [
    ["F1", "Oak House", "P1", "02/06/2026 10:00", "High", "Y", "ACT-1"],
    ["F2", "Oak House", "P2", "03/06/2026", "low", "", ""],
    ["F3", "Elm Court", "P3", "04/07/2026 11:30", "medium", "N", ""],
]


@pytest.fixture
def falls(register_plugin):
    register_plugin(_kinds_plugin(FallsRiskAssessment), "carecheck-falls")


def _stored(db_path):
    con = sqlite3.connect(db_path)
    return con.execute("SELECT id, person_id, assessed_at, risk, sensor_mat, action_id FROM falls_risk_assessment "
                       "ORDER BY id").fetchall()


EXPECTED = [
    ("F1", "P1", "2026-06-02T10:00:00+01:00", "high", 1, "ACT-1"),
    ("F2", "P2", "2026-06-03", "low", None, None),
    ("F3", "P3", "2026-07-04T11:30:00+01:00", "medium", 0, None),
]


def test_a_plugin_kind_imports_from_csv(falls, run_cli, tmp_path):
    from builders import write_csv

    source = write_csv(tmp_path / "falls.csv", [HEADER] + ROWS, encoding="cp1252")
    result = run_cli("import", source, "--kind", "falls_risk_assessment", "--db", tmp_path / "s.db")
    assert result.exit_code == 0, result.stderr
    assert _stored(tmp_path / "s.db") == EXPECTED


def test_a_plugin_kind_imports_from_xlsx(falls, run_cli, tmp_path):
    book = openpyxl.Workbook()
    sheet = book.active
    for row in [HEADER] + ROWS:
        sheet.append(row)
    book.save(tmp_path / "falls.xlsx")
    result = run_cli("import", tmp_path / "falls.xlsx", "--kind", "falls_risk_assessment", "--db", tmp_path / "s.db")
    assert result.exit_code == 0, result.stderr
    assert _stored(tmp_path / "s.db") == EXPECTED


def test_a_plugin_kind_is_listed_by_schema_records_and_plugins(falls, run_cli, tmp_path):
    from builders import write_csv

    schema = json.loads(run_cli("schema", "record", "falls_risk_assessment").stdout)
    assert schema["properties"]["risk"]["enum"] == ["low", "medium", "high"]
    assert "person_id" in schema["required"]
    doc = run_cli("schema", "record", "falls_risk_assessment", "--markdown").stdout
    assert doc.startswith("## falls_risk_assessment\n\nFalls risk assessment. A falls risk assessment of one person.")
    assert "| `risk` | one of `low`, `medium`, `high` |" in doc
    assert "| `action_id` |" in doc and "refers to" in doc
    source = write_csv(tmp_path / "falls.csv", [HEADER] + ROWS)
    run_cli("import", source, "--kind", "falls_risk_assessment", "--db", tmp_path / "s.db")
    counts = json.loads(run_cli("records", "--db", tmp_path / "s.db", "--json").stdout)["counts"]
    assert [c for c in counts if c["kind"] == "falls_risk_assessment"] == [
        {"kind": "falls_risk_assessment", "service": "Elm Court", "month": "2026-07", "records": 1},
        {"kind": "falls_risk_assessment", "service": "Oak House", "month": "2026-06", "records": 2},
    ]
    plugins = {p["name"]: p for p in json.loads(run_cli("plugins", "--json").stdout)["plugins"]}
    assert plugins["carecheck-falls"]["record_kinds"] == ["falls_risk_assessment"]


def test_a_plugin_kinds_dangling_references_are_reported(falls, run_cli, tmp_path):
    from builders import write_csv

    source = write_csv(tmp_path / "falls.csv", [HEADER] + ROWS)
    run_cli("import", source, "--kind", "falls_risk_assessment", "--db", tmp_path / "s.db")
    report = json.loads(run_cli("records", "--db", tmp_path / "s.db", "--json").stdout)
    assert [(f["kind"], f["record_id"], f["field"], f["target_kind"], f["target_id"])
            for f in report["dangling_references"]] == [
        ("falls_risk_assessment", "F1", "action_id", "improvement_action", "ACT-1")]


def test_a_domain_may_read_a_plugin_kind(falls, register_plugin, db_path, tmp_path, run_cli):
    from builders import write_csv
    from carecheck.domain_api import PASS, FAIL, Domain, Outcome, TargetSpec

    class FallsDomain(Domain):
        name = "falls_prevention"
        title = "Falls prevention"
        reads = ("falls_risk_assessment",)
        targets = (TargetSpec("falls_high_risk_mat", "High-risk people with a sensor mat", "rate", 1.0,
                              ("falls_risk_assessment",), "Share of high-risk assessments with a sensor mat."),)

        def outcomes(self, ctx):
            for record_id, service, at, mat in ctx.rows(
                    "SELECT id, service, assessed_at, sensor_mat FROM falls_risk_assessment WHERE risk = 'high'"):
                yield Outcome("falls_high_risk_mat", ctx.service(service), ctx.day(at), record_id,
                              PASS if mat else FAIL)

        def signal_values(self, ctx):
            return {}

    class Plugin:
        @hookimpl
        def carecheck_register_domains(self, register):
            register(FallsDomain())

    register_plugin(Plugin(), "carecheck-falls-domain")
    services = write_csv(tmp_path / "services.csv", [["id", "service", "service_type"], ["S1", "Oak House", "nursing"],
                                                    ["S2", "Elm Court", "nursing"]])
    run_cli("import", services, "--kind", "service", "--db", db_path)
    source = write_csv(tmp_path / "falls.csv", [HEADER] + ROWS)
    run_cli("import", source, "--kind", "falls_risk_assessment", "--db", db_path)
    ruleset = tmp_path / "falls.yaml"
    ruleset.write_text("name: falls\ndomains:\n  falls_prevention: {}\n")
    result = run_cli("run", ruleset, "--db", db_path, "--as-of", "30/06/2026", "--format", "json")
    assert result.exit_code == 0, result.stderr
    verdict = json.loads(result.stdout)
    (target,) = verdict["domains"][0]["targets"]
    (june,) = [p for p in target["periods"] if p["period"] == "2026-06"]
    assert (june["numerator"], june["denominator"]) == (1, 1)


def test_a_builtin_kinds_name_is_refused(register_plugin):
    class Clash(Record):
        kind = "incident"
        title = "My incidents"
        event_field = "at"
        at: Timestamp = Field(description="When.")

    register_plugin(_kinds_plugin(Clash), "carecheck-clash")
    assert plugin_manager.get_record_kinds() == {}
    assert [f.message() for f in plugin_manager.failures()] == [
        "plugin 'carecheck-clash' failed in carecheck_register_record_kinds: ValueError: record kind name "
        "'incident' is carecheck's own kind"]


@pytest.mark.parametrize("name", ["runs", "imports", "sqlite_stat1", "_sqlite_migrations"])
def test_a_store_tables_name_is_refused(register_plugin, name):
    model = type("Clash", (Record,), {"__annotations__": {"at": Timestamp}, "kind": name, "title": "x",
                                      "event_field": "at", "at": Field(description="When.")})
    register_plugin(_kinds_plugin(model), "carecheck-clash")
    assert plugin_manager.get_record_kinds() == {}
    (failure,) = plugin_manager.failures()
    assert failure.plugin == "carecheck-clash"
    assert name in failure.error


def test_two_plugins_registering_one_kind_are_both_named(register_plugin):
    register_plugin(_kinds_plugin(FallsRiskAssessment), "carecheck-falls-a")
    register_plugin(_kinds_plugin(FallsRiskAssessment), "carecheck-falls-b")
    assert plugin_manager.get_record_kinds()["falls_risk_assessment"].plugin == "carecheck-falls-a"
    assert [f.message() for f in plugin_manager.failures()] == [
        "plugin 'carecheck-falls-b' failed in carecheck_register_record_kinds: ValueError: record kind name "
        "'falls_risk_assessment' is already taken by carecheck-falls-a"]


def test_a_field_whose_type_changed_is_an_error_naming_it(register_plugin, run_cli, tmp_path):
    from builders import write_csv

    register_plugin(_kinds_plugin(FallsRiskAssessment), "carecheck-falls")
    source = write_csv(tmp_path / "falls.csv", [HEADER] + ROWS)
    assert run_cli("import", source, "--kind", "falls_risk_assessment", "--db", tmp_path / "s.db").exit_code == 0
    plugin_manager.get_plugin_manager().unregister(name="carecheck-falls")

    class Changed(FallsRiskAssessment):
        sensor_mat: Text | None = Field(default=None, description="Which sensor mat.")

    register_plugin(_kinds_plugin(Changed), "carecheck-falls-2")
    result = run_cli("records", "--db", tmp_path / "s.db")
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        "Error: record kind 'falls_risk_assessment' of plugin carecheck-falls-2: field 'sensor_mat' is now str but "
        "the store holds it as int; keep the field's type, or give the new field a new name")


def test_an_uninstalled_plugins_records_stay_and_are_noted(register_plugin, run_cli, tmp_path):
    from builders import write_csv

    register_plugin(_kinds_plugin(FallsRiskAssessment), "carecheck-falls")
    source = write_csv(tmp_path / "falls.csv", [HEADER] + ROWS)
    run_cli("import", source, "--kind", "falls_risk_assessment", "--db", tmp_path / "s.db")
    plugin_manager.get_plugin_manager().unregister(name="carecheck-falls")
    result = run_cli("records", "--db", tmp_path / "s.db")
    assert result.exit_code == 0
    assert ("Note: 3 records of kind 'falls_risk_assessment' are kept, but no installed plugin provides the kind "
            "(it came from carecheck-falls); reinstall the plugin to check them") in result.stdout
    assert len(_stored(tmp_path / "s.db")) == 3
    refused = run_cli("import", source, "--kind", "falls_risk_assessment", "--db", tmp_path / "s.db")
    assert refused.exit_code == 2
