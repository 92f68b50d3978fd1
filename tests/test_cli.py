import json

import click
import pytest

from carecheck.cli import build_cli

from builders import INCIDENT_HEADER, SAMPLE, write_csv


def all_commands(group: click.Group, prefix=()):
    for name, command in group.commands.items():
        yield prefix + (name,), command
        if isinstance(command, click.Group):
            yield from all_commands(command, prefix + (name,))


@pytest.mark.parametrize("path", [p for p, _ in all_commands(build_cli())], ids=" ".join)
def test_every_command_has_help_with_an_example(run_cli, path):
    result = run_cli(*path, "--help")
    assert result.exit_code == 0
    assert "Example:" in result.output
    assert "carecheck " + path[0] in result.output


def test_version(run_cli):
    from carecheck import __version__

    result = run_cli("--version")
    assert result.output == f"carecheck, version {__version__}\n"


def test_sample_imports_twice_with_unchanged_counts(run_cli, db_path):
    manifest = SAMPLE / "manifest.yaml"
    first = run_cli("import", "--manifest", manifest, "--db", db_path)
    assert first.exit_code == 0, first.output
    # INC-1008 has an impossible date (rejected); INC-1009 a harm word not in the list (kept, harm left empty).
    assert "incidents.csv: incident: 9 rows read = 8 accepted + 1 rejected + 0 left out; records 8 new" in first.output
    counts_before = json.loads(run_cli("records", "--json", "--db", db_path).output)
    second = run_cli("import", "--manifest", manifest, "--db", db_path)
    assert second.exit_code == 0
    assert second.output.count("skipped") == 3
    forced = run_cli("import", "--manifest", manifest, "--db", db_path, "--force")
    assert "records 0 new, 0 changed, 8 unchanged" in forced.output
    counts_after = json.loads(run_cli("records", "--json", "--db", db_path).output)
    assert counts_after["counts"] == counts_before["counts"]
    incidents = {(c["service"], c["month"]): c["records"] for c in counts_after["counts"] if c["kind"] == "incident"}
    # INC-1003 is recorded against an alias of Oak House and counted under its register name.
    assert incidents == {("Oak House", "2026-04"): 5, ("Oak House", "2026-05"): 3}
    assert counts_after["dangling_references"] == [
        {"kind": "incident", "record_id": "INC-1006", "field": "learning_action_id",
         "target_kind": "improvement_action", "target_id": "ACT-999"}
    ]


def test_records_table(run_cli, db_path):
    run_cli("import", "--manifest", SAMPLE / "manifest.yaml", "--db", db_path)
    output = run_cli("records", "--db", db_path).output
    assert "incident            Oak House                   2026-04            5" in output
    assert "Rows rejected on import: 1" in output
    assert "incident INC-1006: learning_action_id -> improvement_action ACT-999 not found" in output


def test_missing_required_column_exits_2_naming_it(run_cli, tmp_path, db_path):
    path = write_csv(tmp_path / "no-date.csv", [["id", "service"], ["I1", "Oak"]])
    result = run_cli("import", path, "--kind", "incident", "--db", db_path)
    assert result.exit_code == 2
    assert result.stderr == (f"Error: {path}: missing required column 'occurred_at' (field occurred_at; "
                             "columns found: 'id', 'service')\n")
    assert result.stdout == ""


def test_bad_rows_are_reported_and_good_rows_kept(run_cli, tmp_path, db_path):
    path = write_csv(tmp_path / "in.csv", [
        INCIDENT_HEADER,
        ["I1", "Oak", "02/04/2026", "none", "fall"],
        ["I2", "Oak", "2/30/2026", "none", "fall"],
        ["I3", "Oak", "02/04/2026", "none", "fall"],
    ])
    result = run_cli("import", path, "--kind", "incident", "--db", db_path)
    assert result.exit_code == 0
    assert result.output == (
        f"{path}: incident: 3 rows read = 2 accepted + 1 rejected + 0 left out; records 2 new, 0 changed, 0 unchanged\n"
        "  values seen: cause: fall; harm_level: none\n"
        "  rejected row 3: occurred_at: unreadable date '2/30/2026' (expected DD/MM/YYYY [HH:MM] or ISO 8601)\n"
    )


@pytest.mark.parametrize(
    "args,message",
    [
        (["import", "{missing}", "--kind", "incident"], "{missing}: no such file"),
        (["import", "{csv}", "--kind", "nonsense"], "Invalid value for '--kind'"),
        (["import", "{csv}"], "--kind is required with SOURCE"),
        (["import"], "give a SOURCE file (with --kind) or --manifest"),
        (["import", "{csv}", "--kind", "incident", "--option", "colour"], "'colour' is not KEY=VALUE"),
        (["import", "{csv}", "--kind", "incident", "--option", "colour=red"],
         "{csv}: adapter csv options: colour: Extra inputs are not permitted"),
        (["import", "{csv}", "--kind", "incident", "--mapping", "{missing}"], "{missing}: no such mapping file"),
        (["import", "{csv}", "--kind", "incident", "--adapter", "pdf"], "unknown adapter 'pdf'"),
    ],
)
def test_error_paths_exit_2_with_one_line(run_cli, tmp_path, db_path, incidents_csv, args, message):
    values = {"missing": tmp_path / "missing.csv", "csv": incidents_csv}
    args = [a.format(**values) for a in args]
    result = run_cli(*args, "--db", db_path)
    assert result.exit_code == 2
    assert message.format(**values) in result.stderr
    assert "Traceback" not in result.output


def test_manifest_errors(run_cli, tmp_path, db_path, incidents_csv):
    manifest = tmp_path / "manifest.yaml"
    manifest.write_text(f"- path: {incidents_csv.name}\n  kind: incident\n  colour: red\n")
    result = run_cli("import", "--manifest", manifest, "--db", db_path)
    assert result.exit_code == 2
    assert result.stderr == f"Error: {manifest}: files.0.colour: Extra inputs are not permitted\n"
    manifest.write_text(
        f"- path: {incidents_csv.name}\n  kind: incident\n- path: gone.csv\n  kind: incident\n"
    )
    result = run_cli("import", "--manifest", manifest, "--db", db_path)
    assert result.exit_code == 2
    assert "incidents.csv: incident: 3 rows read = 3 accepted" in result.stdout
    assert f"{tmp_path / 'gone.csv'}: no such file" in result.stderr
    assert "1 of 2 files were not imported" in result.stderr


def test_internal_error_exits_3_without_traceback(run_cli, monkeypatch, db_path, incidents_csv):
    from carecheck.importing import importer

    def broken(*args, **kwargs):
        raise ZeroDivisionError("boom")

    monkeypatch.setattr(importer, "import_source", broken)
    monkeypatch.delenv("CARECHECK_RAISE_ERRORS")
    result = run_cli("import", incidents_csv, "--kind", "incident", "--db", db_path)
    assert result.exit_code == 3
    assert result.stderr.startswith("Error: internal error (ZeroDivisionError): this is a bug in carecheck")
    assert "Traceback" not in result.output


def test_unknown_kind_in_schema(run_cli):
    result = run_cli("schema", "record", "nonsense")
    assert result.exit_code == 2
    assert "'nonsense' is not one of" in result.stderr


def test_schema_record(run_cli):
    schema = json.loads(run_cli("schema", "record", "incident").output)
    assert schema["title"] == "Incident"
    assert schema["additionalProperties"] is False
    assert {"id", "service", "occurred_at"} <= set(schema["required"])


def test_records_filters(run_cli, db_path):
    run_cli("import", "--manifest", SAMPLE / "manifest.yaml", "--db", db_path)
    payload = json.loads(run_cli("records", "--db", db_path, "--json", "--kind", "service").output)
    assert {c["kind"] for c in payload["counts"]} == {"service"}
    assert payload["dangling_references"] == []


def test_cli_default_store_matches_the_store_module():
    from carecheck.cli.options import DEFAULT_DB as cli_default
    from carecheck.store import DEFAULT_DB

    assert cli_default == DEFAULT_DB


@pytest.mark.parametrize("command", [
    ["records"], ["history"], ["diff", "a", "b"], ["prune", "--keep", "1"], ["report", "abc"], ["actions"],
    ["run", "--as-of", "2026-08-31"],
], ids=lambda c: c[0])
def test_a_mistyped_store_is_an_input_error_and_never_created(run_cli, tmp_path, command):
    typo = tmp_path / "typo.db"
    result = run_cli(*command, "--db", typo)
    assert result.exit_code == 2
    assert result.stderr == f"Error: {typo}: no evidence store here; import records first (carecheck import) or pass --db\n"
    assert not typo.exists()


def test_command_modules_import_nothing_from_the_cli_package_itself():
    """Each command module imports exit codes and options from modules of their own, never from
    ``carecheck.cli`` (which imports the command modules: a cycle)."""
    import ast
    from pathlib import Path

    import carecheck.cli

    folder = Path(carecheck.cli.__file__).parent
    submodules = {path.stem for path in folder.glob("*.py")}
    for path in folder.glob("*_cmd.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level == 1 and node.module is None:
                assert {alias.name for alias in node.names} <= submodules, path.name
            if isinstance(node, ast.ImportFrom) and node.module == "carecheck.cli":
                raise AssertionError(f"{path.name} imports carecheck.cli")


def test_a_usage_error_is_one_line_naming_the_option(run_cli, tmp_path):
    result = run_cli("run", "--as-of", "31/13/2026", "--db", tmp_path / "x.db")
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith("Error: Invalid value for '--as-of': ")
    assert result.stderr.endswith("(see carecheck run --help)\n")


def test_records_findings_lists_each_field_left_empty(run_cli, db_path):
    run_cli("import", "--manifest", SAMPLE / "manifest.yaml", "--db", db_path)
    summary = run_cli("records", "--db", db_path).output
    assert "Field findings on import (values left empty, implausible dates): 1 (--findings lists them)" in summary
    findings = json.loads(run_cli("records", "--findings", "--json", "--db", db_path).output)
    # INC-1009, line 10 of incidents.csv: its harm word is not in the list, so harm is left empty.
    assert [(f["source_file"].rsplit("/", 1)[-1], f["row"], f["field"]) for f in findings] == [
        ("incidents.csv", 10, "harm_level")]
    table = run_cli("records", "--findings", "--db", db_path).output
    assert "harm_level" in table and "why left empty" in table
