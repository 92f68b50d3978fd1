"""The mapping language for real exports: a date and a time in two columns, rows of several kinds in
one export, columns to ignore, words a value map does not know, and dates that cannot be misread.
Each import asserts exact counts: rows read = accepted + rejected + left out."""

import pytest

from carecheck.errors import InputError
from carecheck.importing.importer import ImportRequest, import_source

from builders import write_csv

LOG_HEADER = ["Ref", "Home", "Date Raised", "Time Raised", "Person", "Outcome", "CQC notified"]
LOG = [
    LOG_HEADER,
    ["SG-1", "Oak", "03/04/2026", "14:05", "P1", "Family told; risk now lower", "04/04/2026 09:00"],
    ["SG-2", "Oak", "07/04/2026", "23:40", "P2", "Police informed", ""],
    ["SG-3", "Oak", "11/04/2026", "", "P3", "", ""],  # a Saturday, with no time recorded
    ["SG-4", "Oak", "12/04/2026", "08:15:30", "P4", "Reviewed", "12/04/2026 10:00"],
]


@pytest.fixture
def log_file(tmp_path):
    return write_csv(tmp_path / "safeguarding.csv", LOG, encoding="cp1252")


def test_a_date_and_a_time_in_two_columns(db, log_file, tmp_path):
    mapping = tmp_path / "concerns.yaml"
    mapping.write_text(
        "key: Ref\n"
        "ignore: [Outcome]            # free text, not the enumerated outcome field\n"
        "fields:\n"
        "  service: Home\n"
        "  person_id: Person\n"
        "  raised_at: {columns: [Date Raised, Time Raised], format: \"%d/%m/%Y %H:%M\"}\n"
    )
    result = import_source(db, ImportRequest(log_file, "safeguarding_concern", mapping=str(mapping),
                                             options={"encoding": "cp1252"}))
    assert (result.rows_read, result.rows_accepted, result.rows_rejected, result.rows_left_out) == (4, 4, 0, 0)
    stored = dict(db.execute("SELECT id, raised_at FROM safeguarding_concern").fetchall())
    assert stored == {
        "SG-1": "2026-04-03T14:05:00+01:00",  # British Summer Time
        "SG-2": "2026-04-07T23:40:00+01:00",  # a Tuesday night
        "SG-3": "2026-04-11",  # a date alone: never midnight
        "SG-4": "2026-04-12T08:15:00+01:00",  # seconds read where the format has none
    }
    assert db.execute("SELECT COUNT(*) FROM safeguarding_concern WHERE outcome IS NOT NULL").fetchone() == (0,)
    from carecheck.domain_api import Context

    ctx = Context(params=None, as_of=None, period_kind="month", periods=[], current=None, services={},
                  aliases={}, working_days=None)
    assert [ctx.shift(stored[i]) for i in ("SG-1", "SG-2", "SG-3", "SG-4")] == ["day", "night", "unknown", "weekend"]


def test_the_same_log_gives_notifications_for_the_rows_that_have_one(db, log_file, tmp_path):
    mapping = tmp_path / "notifications.yaml"
    mapping.write_text(
        "kind: notification\n"
        "key: Ref\n"
        "only_rows: {column: cqc notified, filled: true}   # column names match loosely\n"
        "fields:\n"
        "  service: Home\n"
        "  sent_at: CQC Notified\n"
        "  about_id: Ref\n"
        "  recipient: {default: cqc}\n"
        "  notification_type: {default: abuse_allegation}\n"
        "  about_kind: {default: safeguarding_concern}\n"
    )
    result = import_source(db, ImportRequest(log_file, "notification", mapping=str(mapping),
                                             options={"encoding": "cp1252"}))
    # SG-2 and SG-3 have no notification: left out, not rejected.
    assert (result.rows_read, result.rows_accepted, result.rows_rejected, result.rows_left_out) == (4, 2, 0, 2)
    assert db.execute("SELECT id, about_id, sent_at FROM notification ORDER BY id").fetchall() == [
        ("SG-1", "SG-1", "2026-04-04T09:00:00+01:00"), ("SG-4", "SG-4", "2026-04-12T10:00:00+01:00")]
    assert db.execute("SELECT rows_left_out FROM imports").fetchone() == (2,)


def test_words_a_value_map_does_not_know(db, tmp_path):
    source = write_csv(tmp_path / "incidents.csv", [
        ["id", "service", "occurred_at", "Harm"],
        ["I1", "Oak", "03/04/2026 10:00", "No harm"],
        ["I2", "Oak", "03/04/2026 11:00", "Bruise"],
    ])
    mapping = tmp_path / "m.yaml"
    mapping.write_text("fields:\n  harm_level: {column: harm, values: {No harm: none}, unmapped: low}\n")
    result = import_source(db, ImportRequest(source, "incident", mapping=str(mapping)))
    assert (result.rows_accepted, result.rows_rejected) == (2, 0)
    assert db.execute("SELECT id, harm_level FROM incident ORDER BY id").fetchall() == [("I1", "none"), ("I2", "low")]


MIXED = [["id", "service", "occurred_at"], ["I1", "Oak", "04/05/2026 10:00"], ["I2", "Oak", "04/13/2026 10:00"]]


def test_a_month_first_file_is_refused_whole_with_the_fix(db, tmp_path):
    source = write_csv(tmp_path / "us.csv", MIXED)
    with pytest.raises(InputError) as caught:
        import_source(db, ImportRequest(source, "incident"))
    message = str(caught.value)
    assert message.startswith(f"{source}: row 3: column 'occurred_at' holds '04/13/2026 10:00', a date only "
                              "month-first reading allows")
    assert 'date_format: "%m/%d/%Y"' in message
    assert db.execute("SELECT COUNT(*) FROM incident").fetchone() == (0,)  # nothing half-written


def test_the_same_file_with_a_month_first_format_imports(db, tmp_path):
    source = write_csv(tmp_path / "us.csv", MIXED)
    mapping = tmp_path / "us.yaml"
    mapping.write_text('date_format: "%m/%d/%Y %H:%M"\n')
    result = import_source(db, ImportRequest(source, "incident", mapping=str(mapping)))
    assert (result.rows_accepted, result.rows_rejected) == (2, 0)
    assert db.execute("SELECT id, occurred_at FROM incident ORDER BY id").fetchall() == [
        ("I1", "2026-04-05T10:00:00+01:00"), ("I2", "2026-04-13T10:00:00+01:00")]


def test_a_missing_column_lists_the_columns_found(db, tmp_path):
    from carecheck.errors import MappingError

    source = write_csv(tmp_path / "x.csv", [["Ref", "Home", "When"], ["1", "Oak", "03/04/2026"]])
    mapping = tmp_path / "m.yaml"
    mapping.write_text("key: Ref\nfields:\n  service: Home\n  occurred_at: {columns: [When, Time]}\n")
    with pytest.raises(MappingError, match=r"missing column 'Time' named by the mapping \(field occurred_at; "
                                           r"columns found: 'Ref', 'Home', 'When'\)"):
        import_source(db, ImportRequest(source, "incident", mapping=str(mapping)))


def _visits_and_actions(tmp_path, order):
    write_csv(tmp_path / "visits.csv", [
        ["Visit ID", "Home", "Date", "Visitor"],
        ["V1", "Oak", "05/03/2026", "Provider representative"],
        ["V2", "Oak", "09/04/2026", "Provider representative"],
    ], encoding="cp1252")
    write_csv(tmp_path / "actions.csv", [
        ["Action", "Home", "Visit ID", "What", "Owner", "Due"],
        ["A1", "Oak", "V1", "Fix the rota", "A. Patel", "30/03/2026"],
        ["A2", "Oak", "v2", "Review care plans", "J. Okafor", "30/04/2026"],  # the id in another case
        ["A3", "Oak", "V9", "Unknown visit", "S. Byrne", "30/04/2026"],
    ], encoding="cp1252")
    (tmp_path / "visits.yaml").write_text(
        "key: Visit ID\nfields: {service: Home, visit_date: Date, visitor: Visitor}\n")
    (tmp_path / "actions.yaml").write_text(
        "key: Action\n"
        "fields:\n"
        "  service: Home\n"
        "  description: What\n"
        "  owner: Owner\n"
        "  due_date: Due\n"
        "  source_id: Visit ID\n"
        "  source_kind: {default: oversight_visit}\n"
        "  raised_on: {lookup: {kind: oversight_visit, key: Visit ID, field: visit_date, ignore_case: true}}\n")
    entries = {
        "visits": "- {path: visits.csv, kind: oversight_visit, mapping: visits.yaml, options: {encoding: cp1252}}\n",
        "actions": "- {path: actions.csv, kind: improvement_action, mapping: actions.yaml, options: {encoding: cp1252}}\n",
    }
    manifest = tmp_path / "manifest.yaml"
    manifest.write_text("".join(entries[name] for name in order))
    return manifest


def test_actions_take_their_date_from_the_visits_imported_before_them(db, tmp_path):
    from carecheck.importing.manifest import load_manifest

    manifest = _visits_and_actions(tmp_path, ["visits", "actions"])
    visits, actions = (import_source(db, request) for request in load_manifest(manifest))
    assert (visits.rows_read, visits.rows_accepted) == (2, 2)
    assert (actions.rows_read, actions.rows_accepted, actions.rows_rejected, actions.rows_left_out) == (3, 2, 1, 0)
    assert db.execute("SELECT id, raised_on FROM improvement_action ORDER BY id").fetchall() == [
        ("A1", "2026-03-05"), ("A2", "2026-04-09")]
    assert db.execute("SELECT row, field, reason FROM rejected_rows").fetchall() == [
        (4, "raised_on", "raised_on: no oversight_visit 'V9' in the store to take visit_date from")]


def test_a_manifest_that_looks_up_a_kind_it_imports_later_is_refused(tmp_path):
    from carecheck.importing.manifest import load_manifest

    manifest = _visits_and_actions(tmp_path, ["actions", "visits"])
    with pytest.raises(InputError, match="actions.csv looks up oversight_visit records, which the manifest imports "
                                         "after it: list the oversight_visit file first"):
        load_manifest(manifest)


def test_a_failed_first_import_leaves_no_store(run_cli, tmp_path):
    store = tmp_path / "new.db"
    source = write_csv(tmp_path / "us.csv", MIXED)
    result = run_cli("import", source, "--kind", "incident", "--db", store)
    assert result.exit_code == 2
    assert not store.exists() and not (tmp_path / "new.db-wal").exists()


def test_clock_changes(db, tmp_path):
    source = write_csv(tmp_path / "dst.csv", [
        ["id", "service", "occurred_at"],
        ["S1", "Oak", "29/03/2026 01:30"],  # the clocks go forward at 01:00: 01:30 never happens
        ["A1", "Oak", "25/10/2026 01:30"],  # the clocks go back at 02:00: 01:30 happens twice
    ])
    result = import_source(db, ImportRequest(source, "incident"))
    assert (result.rows_accepted, result.rows_rejected) == (1, 1)
    assert db.execute("SELECT occurred_at FROM incident").fetchone() == ("2026-10-25T01:30:00+01:00",)  # the first
    assert db.execute("SELECT row, reason FROM rejected_rows").fetchone() == (
        2, "occurred_at: 29/03/2026 01:30 does not exist in Europe/London: the clocks went forward that hour")


def test_a_nested_json_dump_is_named_with_its_keys(db, tmp_path):
    import json as json_module

    path = tmp_path / "dump.json"
    path.write_text(json_module.dumps({"exported": "2026-04-30", "records": [{"id": "I1"}]}, indent=2))
    with pytest.raises(InputError, match=r"dump.json: not a JSON array \(found an object with keys 'exported', "
                                         r"'records'\); the records look to be under 'records'"):
        import_source(db, ImportRequest(path, "incident"))


def test_adapters_list_their_options(run_cli):
    import json as json_module

    plugins = json_module.loads(run_cli("plugins", "--json").stdout)["plugins"]
    adapters = {adapter["name"]: adapter for plugin in plugins for adapter in plugin["adapters"]}
    assert adapters["xlsx"]["extensions"] == [".xlsx", ".xlsm"]
    options = {o["name"]: o for o in adapters["xlsx"]["options"]}
    assert options["header_row"] == {"name": "header_row", "type": "integer", "default": 1,
                                     "help": "The row holding the column names."}
    text = run_cli("import", "--help-adapter", "csv").stdout
    assert "--option encoding=...  string (default: auto): The file's encoding" in text


def test_the_import_summary_lists_the_words_seen(run_cli, tmp_path):
    source = write_csv(tmp_path / "incidents.csv", [
        ["id", "service", "occurred_at", "incident_type", "person_id"],
        ["I1", "Oak", "03/04/2026 10:00", "Medicine", "P-1"],
        ["I2", "Oak", "04/04/2026 10:00", "Fall", "P-2"],
        ["I3", "Oak", "05/04/2026 10:00", "Medicine", "P-3"],
    ])
    result = run_cli("import", source, "--kind", "incident", "--db", tmp_path / "s.db")
    # A domain looking for "medication" would find none of these: the words are there to check.
    assert "  values seen: incident_type: Fall, Medicine\n" in result.stdout
    assert "P-1" not in result.stdout  # ids of people are never listed


def test_an_action_with_no_date_takes_its_source_records_date(db, tmp_path):
    from carecheck.importing.manifest import load_manifest

    manifest = _visits_and_actions(tmp_path, ["visits", "actions"])
    (tmp_path / "actions.yaml").write_text(
        "key: Action\nfields: {service: Home, description: What, source_id: Visit ID, "
        "source_kind: {default: oversight_visit}}\n")
    visits, actions = (import_source(db, request) for request in load_manifest(manifest))
    assert (actions.rows_accepted, actions.rows_rejected) == (1, 2)  # v2 differs in case; V9 is no visit
    assert db.execute("SELECT id, raised_on FROM improvement_action").fetchall() == [("A1", "2026-03-05")]


def test_a_corrected_visit_date_reaches_the_actions_on_the_next_import(db, tmp_path):
    from carecheck.importing.manifest import load_manifest

    manifest = _visits_and_actions(tmp_path, ["visits", "actions"])
    for request in load_manifest(manifest):
        import_source(db, request)
    again = [import_source(db, request) for request in load_manifest(manifest)]
    assert [result.skipped for result in again] == [True, True]  # nothing changed: both skipped
    write_csv(tmp_path / "visits.csv", [
        ["Visit ID", "Home", "Date", "Visitor"],
        ["V1", "Oak", "06/03/2026", "Provider representative"],  # corrected
        ["V2", "Oak", "09/04/2026", "Provider representative"],
    ], encoding="cp1252")
    visits, actions = (import_source(db, request) for request in load_manifest(manifest))
    assert (visits.records_changed, actions.skipped) == (1, False)
    assert db.execute("SELECT raised_on FROM improvement_action WHERE id = 'A1'").fetchone() == ("2026-03-06",)


def test_a_free_text_column_named_like_a_code_field_costs_no_record(db, log_file, tmp_path):
    """Without ignore, the free-text Outcome column meets the enumerated outcome field: its words
    are not outcomes, so the field is left empty, and every concern is kept."""
    mapping = tmp_path / "concerns.yaml"
    mapping.write_text("key: Ref\nfields:\n  service: Home\n  person_id: Person\n"
                       "  raised_at: {columns: [Date Raised, Time Raised], format: \"%d/%m/%Y %H:%M\"}\n")
    result = import_source(db, ImportRequest(log_file, "safeguarding_concern", mapping=str(mapping),
                                             options={"encoding": "cp1252"}))
    assert (result.rows_read, result.rows_accepted, result.rows_rejected, result.rows_left_out) == (4, 4, 0, 0)
    assert result.fields_left_empty == {"outcome": 3}  # SG-3's outcome cell is empty: nothing to read
    assert db.execute("SELECT COUNT(*) FROM safeguarding_concern WHERE outcome IS NULL").fetchone() == (4,)


def test_a_manifest_path_may_not_leave_its_folder(tmp_path):
    from carecheck.importing.manifest import load_manifest

    (tmp_path / "export").mkdir()
    manifest = tmp_path / "export" / "manifest.yaml"
    manifest.write_text("- {path: ../../../../etc/passwd, kind: incident}\n")
    with pytest.raises(InputError, match=r"files\[0\].path '../../../../etc/passwd' leads outside the manifest's "
                                         r"folder \(pass --allow-outside to read it\)"):
        load_manifest(manifest)
    assert load_manifest(manifest, allow_outside=True)[0].kind == "incident"


def test_an_open_store_is_made_readable_by_its_owner_only(run_cli, tmp_path):
    import os
    import stat

    store = tmp_path / "s.db"
    run_cli("import", write_csv(tmp_path / "i.csv", MIXED[:2]), "--kind", "incident", "--db", store)
    os.chmod(store, 0o644)
    result = run_cli("records", "--db", store)
    assert stat.S_IMODE(os.stat(store).st_mode) == 0o600
    assert f"Note: {store}: permissions were 644; now 600, readable by its owner only" in result.stderr
    os.chmod(store, 0o400)  # read-only stays read-only
    run_cli("records", "--db", store)
    assert stat.S_IMODE(os.stat(store).st_mode) == 0o400


def test_typed_spreadsheet_date_and_time_cells_are_combined(db, tmp_path):
    from datetime import date, datetime, time

    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.title = "Log"
    sheet.append(["Ref", "Home", "Date", "Time"])
    sheet.append(["C1", "Oak", date(2026, 4, 7), time(14, 5)])
    sheet.append(["C2", "Oak", datetime(2026, 4, 8), None])  # a date cell, the time left empty
    path = tmp_path / "log.xlsx"
    book.save(path)
    mapping = tmp_path / "m.yaml"
    mapping.write_text("key: Ref\nfields: {service: Home, raised_at: {columns: [Date, Time]}}\n")
    result = import_source(db, ImportRequest(path, "safeguarding_concern", mapping=str(mapping),
                                             options={"sheet": "Log"}))
    assert (result.rows_accepted, result.rows_rejected) == (2, 0)
    assert dict(db.execute("SELECT id, raised_at FROM safeguarding_concern").fetchall()) == {
        "C1": "2026-04-07T14:05:00+01:00", "C2": "2026-04-08"}
