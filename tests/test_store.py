import json
import os
import stat

import pytest
from sqlite_utils import Database

from carecheck.importing import importer, reader
from carecheck.importing.importer import ImportRequest, import_source
from carecheck.store.migrations import migrations
from carecheck.store import open_store

from builders import INCIDENT_HEADER, write_csv


def counts(db):
    return {
        "incident": db.execute("SELECT COUNT(*) FROM incident").fetchone()[0],
        "history": db.execute("SELECT COUNT(*) FROM record_history").fetchone()[0],
        "imports": db.execute("SELECT COUNT(*) FROM imports").fetchone()[0],
        "rejected": db.execute("SELECT COUNT(*) FROM rejected_rows").fetchone()[0],
    }


def test_store_is_private_wal_with_busy_timeout(db_path):
    db = open_store(db_path)
    assert stat.S_IMODE(os.stat(db_path).st_mode) == 0o600
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("PRAGMA busy_timeout").fetchone()[0] == 30_000  # carecheck --busy-timeout, 30 s unless given
    assert [m.name for m in migrations.applied(db)] == ["m001_imports", "m002_rejected_rows", "m003_record_history", "m004_runs", "m005_run_current_period", "m006_compressed_verdicts",
        "m007_bank_holidays", "m008_history_index", "m009_run_lowest_level", "m010_run_provenance", "m011_rows_left_out", "m012_field_findings", "m013_clean_ids", "m014_plugin_kinds",
        "m015_store_info", "m016_verdict_length", "m017_supplied_fields", "m018_compact_runs", "m019_rulesets",
    ]
    plan = " ".join(str(row) for row in db.execute(
        "EXPLAIN QUERY PLAN SELECT value FROM target_results WHERE run_id = 'r' AND service = '(provider)' AND period = 'p'"
    ).fetchall())
    assert "idx_target_results_run_id_period_service_target (run_id=? AND period=? AND service=?)" in plan
    db.close()


def test_migrations_from_blank_and_part_way(tmp_path):
    db = Database(memory=True)
    migrations.apply(db, stop_before="m003_record_history")
    assert not db["record_history"].exists()
    db["imports"].insert({"source_file": "legacy.csv", "kind": "incident"})
    migrations.apply(db)
    assert db["record_history"].exists()
    assert db.execute("SELECT source_file FROM imports").fetchone()[0] == "legacy.csv"


def test_stored_runs_from_before_compaction_keep_every_failure(tmp_path):
    from carecheck.store.runs import run_rows, stored_failures

    db = Database(memory=True)
    migrations.apply(db, stop_before="m018_compact_runs")
    # Two runs as stored before: a row per figure (July and August) and per failure.
    for run_id, created, period in (("A", "2026-08-01T09:00:00", "2026-07"), ("B", "2026-09-01T09:00:00", "2026-08")):
        db["runs"].insert({"run_id": run_id, "created_at": created, "as_of": period + "-28", "ruleset": "r",
                           "current_period": period, "verdict": "{}"})
    rows = [("A", "inc", "inc_review_5wd", "Oak House", "2026-07", 0, 6, 6, 1.0, 1, "recovered"),
            ("B", "inc", "inc_review_5wd", "Oak House", "2026-07", 0, 6, 6, 1.0, 1, "deteriorating"),
            ("B", "inc", "inc_review_5wd", "Oak House", "2026-08", 0, 0, 6, 0.0, 0, "deteriorating")]
    db.conn.executemany("INSERT INTO target_results VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
    db.conn.executemany("INSERT INTO run_failures VALUES (?, ?, ?, ?, ?, ?)",
                        [("B", "inc", "inc_review_5wd", "Oak House", "2026-08", f"I{n}") for n in range(1, 7)])
    migrations.apply(db)
    assert not db["run_failures"].exists()
    # Only the current period's rows stay in target_results (the verdict holds every period).
    assert db.execute("SELECT run_id, period FROM target_results ORDER BY run_id").fetchall() == [
        ("A", "2026-07"), ("B", "2026-08")]
    assert [f["unit"] for f in stored_failures(db, "B")] == ["I1", "I2", "I3", "I4", "I5", "I6"]
    assert stored_failures(db, "A") == []
    assert [(r["run_id"], r["value"]) for r in run_rows(db)] == [("A", 1.0), ("B", 0.0)]


def test_a_stored_runs_failures_that_inflate_past_their_length_are_refused(tmp_path):
    from carecheck.errors import InputError
    from carecheck.store.runs import pack_rows, stored_failures

    db = Database(memory=True)
    migrations.apply(db)
    packed, length = pack_rows([["inc", "t", "Oak House", "2026-08", "I1"]] * 100)
    db["runs"].insert({"run_id": "R", "failures_z": packed, "failures_length": length // 10})
    with pytest.raises(InputError, match="run R: its stored failures inflate past their recorded length"):
        stored_failures(db, "R")
    db.execute("UPDATE runs SET failures_z = ?, failures_length = ? WHERE run_id = 'R'", pack_rows([["x"]]))
    with pytest.raises(InputError, match="row 1 of its stored failures is damaged"):
        stored_failures(db, "R")


def test_not_a_database(tmp_path):
    from carecheck.errors import InputError

    path = tmp_path / "notes.db"
    path.write_text("these are not the droids")
    with pytest.raises(InputError, match=r"notes.db: is not a carecheck store \(not a SQLite database\); carecheck "
                                          "leaves it unchanged"):
        open_store(path)
    assert path.read_text() == "these are not the droids"


def test_same_file_twice_adds_nothing(db, incidents_csv):
    first = import_source(db, ImportRequest(incidents_csv, "incident"))
    assert (first.records_new, first.records_changed) == (3, 0)
    assert import_source(db, ImportRequest(incidents_csv, "incident")).skipped
    forced = import_source(db, ImportRequest(incidents_csv, "incident"), force=True)
    assert (forced.records_new, forced.records_changed, forced.records_unchanged) == (0, 0, 3)
    assert counts(db) == {"incident": 3, "history": 0, "imports": 2, "rejected": 0}


def test_changed_row_keeps_the_earlier_version_and_missing_rows_stay(db, tmp_path, incidents_csv):
    import_source(db, ImportRequest(incidents_csv, "incident"))
    later = write_csv(
        tmp_path / "later.csv",
        [
            INCIDENT_HEADER,
            ["I2", "Oak House", "03/04/2026", "moderate", "fall"],  # harm level corrected
            ["I4", "Oak House", "20/04/2026", "none", "fall"],  # new; I1 and I3 are outside the window
        ],
    )
    result = import_source(db, ImportRequest(later, "incident"))
    assert (result.records_new, result.records_changed, result.records_unchanged) == (1, 1, 0)
    assert dict(db.execute("SELECT id, harm_level FROM incident").fetchall()) == {
        "I1": "none", "I2": "moderate", "I3": "moderate", "I4": "none",
    }
    kind, record_id, data, superseded_by = db.execute(
        "SELECT kind, record_id, data, superseded_by_import FROM record_history"
    ).fetchone()
    assert (kind, record_id, superseded_by) == ("incident", "I2", result.import_id)
    assert json.loads(data)["harm_level"] == "low"


def test_bad_rows_are_rejected_and_counted(db, tmp_path, pipeline):
    path = write_csv(
        tmp_path / "mixed.csv",
        [
            INCIDENT_HEADER,
            ["I1", "Oak House", "02/04/2026", "none", "fall"],
            ["I2", "Oak House", "31/02/2026", "none", "fall"],
            ["I3", "", "02/04/2026", "none", "fall"],
            ["I4", "Oak House", "02/04/2026", "terrible", "fall"],
            ["I1", "Oak House", "05/04/2026", "low", "fall"],
            ["I5", "Oak House", "06/04/2026", "low", "fall", "extra cell"],
        ],
    )
    result = import_source(db, ImportRequest(path, "incident"))
    assert (result.rows_read, result.rows_accepted, result.rows_rejected) == (6, 2, 4)
    rejected = db.execute("SELECT row, field, reason FROM rejected_rows ORDER BY row").fetchall()
    assert rejected == [
        (3, "occurred_at", "occurred_at: unreadable date '31/02/2026' (expected DD/MM/YYYY [HH:MM] or ISO 8601)"),
        (4, "service", "service: required value is empty"),
        (6, "id", "id: the same id as row 2"),
        (7, "(row)", "6 cells but the header has 5 columns"),
    ]
    # An unreadable optional value costs no record: the field is left empty, and the finding kept.
    assert db.execute("SELECT id, harm_level FROM incident WHERE id = 'I4'").fetchone() == ("I4", None)
    assert db.execute("SELECT row, field, reason FROM field_findings").fetchall() == [
        (5, "harm_level", "Input should be 'none', 'low', 'moderate', 'severe' or 'fatal' (got 'terrible')")]
    assert (result.rows_with_findings, result.fields_left_empty) == (1, {"harm_level": 1})
    imported = db.execute("SELECT rows_read, rows_accepted, rows_rejected FROM imports").fetchone()
    assert imported == (6, 2, 4)


def test_free_text_is_never_quoted_in_rejections(db, tmp_path):
    path = write_csv(
        tmp_path / "notes.csv",
        [["id", "service", "person_id", "written_at", "note", "safeguarding_indicator"],
         ["N1", "Oak", "P1", "01/04/2026", "Mrs Jones said her son took £50", "perhaps"]],
    )
    result = import_source(db, ImportRequest(path, "daily_note"))
    assert (result.rows_accepted, result.rows_rejected) == (1, 0)
    (reason,) = db.execute("SELECT reason FROM field_findings WHERE field = 'safeguarding_indicator'").fetchone()
    assert "not a yes/no value: 'perhaps'" in reason
    findings = " ".join(r for (r,) in db.execute("SELECT reason FROM field_findings"))
    assert "Jones" not in findings


@pytest.fixture(params=["in one process", "read in a forked process"])
def pipeline(request, monkeypatch):
    """Run a test with big files read in this process, and again read in a forked child."""
    monkeypatch.setattr(reader, "PIPELINE_BYTES", 0 if request.param.startswith("read") else 1 << 40)
    return request.param


def test_an_error_part_way_leaves_the_store_as_it_was(db, tmp_path, incidents_csv, monkeypatch, pipeline):
    import_source(db, ImportRequest(incidents_csv, "incident"))
    before = counts(db)
    rows = [INCIDENT_HEADER] + [[f"N{i}", "Oak House", "02/04/2026", "none", "fall"] for i in range(12_000)]
    big = write_csv(tmp_path / "big.csv", rows)
    original = importer._Writer.write
    calls = {"n": 0}

    def crash_on_second_flush(self, batch):
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("power cut")
        original(self, batch)

    monkeypatch.setattr(importer._Writer, "write", crash_on_second_flush)
    with pytest.raises(RuntimeError, match="power cut"):
        import_source(db, ImportRequest(big, "incident"))
    assert calls["n"] == 2  # the first batch of 5,000 rows had been written
    assert counts(db) == before
    monkeypatch.setattr(importer._Writer, "write", original)
    result = import_source(db, ImportRequest(big, "incident"))
    assert result.records_new == 12_000


@pytest.mark.parametrize("store_has_rows", [False, True], ids=["empty table", "table with records"])
def test_duplicate_ids_across_batches_are_rejected(db, tmp_path, incidents_csv, store_has_rows, pipeline):
    if store_has_rows:
        import_source(db, ImportRequest(incidents_csv, "incident"))  # I1 to I3 already stored
    size = reader.BATCH_ROWS + 10
    rows = [INCIDENT_HEADER] + [[f"N{i}", "Oak House", "02/04/2026", "none", "fall"] for i in range(size)]
    rows.append(["N3", "Oak House", "05/04/2026", "low", "fall"])  # in the second batch, same id as row 5
    rows.append(["N4", "Oak House", "02/04/2026", "none", "fall"])  # identical to row 6
    rows.append(["I2", "Oak House", "03/04/2026", "severe", "fall"])  # a changed record
    rows.append(["I2", "Oak House", "03/04/2026", "fatal", "fall"])  # and again
    path = write_csv(tmp_path / "big.csv", rows)
    result = import_source(db, ImportRequest(path, "incident"))
    assert (result.rows_read, result.rows_rejected) == (size + 4, 3)
    # Data rows are 2 to size + 1; the four extra rows follow.
    assert sorted((r.row, r.reason) for r in result.rejections) == [
        (size + 2, "id: the same id as row 5"), (size + 3, "id: the same id as row 6"),
        (size + 5, f"id: the same id as row {size + 4}"),
    ]
    expected_new = size + (0 if store_has_rows else 1)
    assert (result.records_new, result.records_changed) == (expected_new, 1 if store_has_rows else 0)
    assert db.execute("SELECT harm_level FROM incident WHERE id = 'N3'").fetchone() == ("none",)
    assert db.execute("SELECT harm_level FROM incident WHERE id = 'I2'").fetchone() == ("severe",)


def test_an_unreadable_line_late_in_a_big_file_rolls_back(db, tmp_path, pipeline):
    from carecheck.errors import InputError

    rows = [INCIDENT_HEADER] + [[f"N{i}", "Oak House", "02/04/2026", "none", "fall"] for i in range(12_000)]
    path = write_csv(tmp_path / "late.csv", rows)
    with open(path, "ab") as handle:
        handle.write(b"N99999,Oak House,02/04/2026,none,\x81bad\r\n")
    with pytest.raises(InputError, match=r"late.csv: row 12002: the text is not valid utf-8"):
        import_source(db, ImportRequest(path, "incident", options={"encoding": "utf-8"}))
    assert counts(db)["incident"] == 0 and counts(db)["imports"] == 0


def test_a_store_from_before_ids_were_cleaned_is_migrated_and_clashes_listed(db_path):
    from carecheck.store import open_store

    db = open_store(db_path)
    for record_id in ("IN-9200", "IN-\u200b9200", "\u200fIN-7"):
        db.execute("INSERT INTO incident (id, service, occurred_at) VALUES (?, 'Oak', '2026-04-02')", [record_id])
    db.conn.commit()
    db.execute("DELETE FROM _sqlite_migrations WHERE name = 'm013_clean_ids'")
    db.execute("DROP TABLE id_clashes")
    db.conn.commit()
    db.close()
    db = open_store(db_path)  # the migration runs again, as on a store made before it
    assert sorted(i for (i,) in db.execute("SELECT id FROM incident")) == ["IN-7", "IN-9200", "IN-\u200b9200"]
    assert db.execute("SELECT kind, record_id, clean_id FROM id_clashes").fetchall() == [
        ("incident", "IN-\u200b9200", "IN-9200")]
    db.close()


def test_a_store_an_earlier_carecheck_made_has_no_foreign_objects(tmp_path):
    # Made up to the migration before runs were compacted: it still has run_failures and its
    # index, which a later migration removes. Until then, they are carecheck's own, not foreign.
    from carecheck.plugin_manager import registry
    from carecheck.store.trust import schema_findings

    db = Database(memory=True)
    migrations.apply(db, stop_before="m018_compact_runs")
    assert db["run_failures"].exists()
    assert schema_findings(db.conn, registry()) == []
    db.conn.execute("CREATE TABLE run_failures_copy (x)")
    (finding,) = schema_findings(db.conn, registry())
    assert "run_failures_copy" in finding.text
