"""Runs kept in the store: history, diff, report and the action tracker export."""

import csv
import io
import json
from datetime import datetime

import openpyxl
import pytest

from builders import write_csv


def run_json(run_cli, db):
    result = run_cli("run", "--db", db, "--as-of", "2026-08-31", "--engine", "reference", "--format", "json")
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def add_august_records(run_cli, db, tmp_path):
    """A late August visit to Oak House with an action that has no owner, and a Riverside concern with no rationale."""
    visits = write_csv(tmp_path / "visits.csv", [
        ["id", "service", "visit_date", "actions_agreed", "findings"],
        ["V-NEW-1", "S002", "12/08/2026", "ACT-NEW-1",
         "Sampled five care records and spoke with two people and three staff; falls risk assessments were reviewed "
         "after incidents; one action raised on night staffing with the registered manager."],
    ])
    actions = write_csv(tmp_path / "actions.csv", [
        ["id", "service", "source_kind", "source_id", "raised_on", "status"],
        ["ACT-NEW-1", "S002", "oversight_visit", "V-NEW-1", "12/08/2026", "open"],
    ])
    concerns = write_csv(tmp_path / "concerns.csv", [
        ["id", "service", "person_id", "raised_at", "concern", "immediate_action", "manager_decision",
         "manager_decision_at", "status"],
        ["SG-NEW-1", "S001", "P-S001-01", "20/08/2026 10:00", "At 10:00 staff saw a red mark on the wrist.",
         "Supported and checked", "refer", "20/08/2026 12:00", "open"],
    ])
    for path, kind in ((visits, "oversight_visit"), (actions, "improvement_action"), (concerns, "safeguarding_concern")):
        result = run_cli("import", path, "--kind", kind, "--db", db)
        assert result.exit_code == 0, result.stderr


def test_diff_between_two_runs_with_records_added(run_cli, demo_copy, tmp_path):
    first = run_json(run_cli, demo_copy)
    add_august_records(run_cli, demo_copy, tmp_path)
    second = run_json(run_cli, demo_copy)
    result = run_cli("diff", first["audit"]["run_id"][:8], second["audit"]["run_id"], "--db", demo_copy, "--json")
    assert result.exit_code == 0, result.stderr
    changes = json.loads(result.stdout)

    def keys(change):
        return [(c["target"], c["service"], c["before"], c["after"]) for c in changes[change]]

    # Worked by hand from the three stories' August figures, location by location:
    # - the new action has no owner or deadline: Oak House had no visit actions in August, now one that fails;
    # - Oak House now has its August visit;
    # - Riverside's August concerns were 2 of 2 complete (SG-0001290 and SG-0001297; the outcome
    #   reviews of SG-0001292 and SG-0001295 are dated in September, so not done as of 31 August:
    #   pending), now 2 of 3.
    assert keys("new") == [("po_action_quality", "Oak House", None, 0.0)]
    assert keys("resolved") == [("po_monthly_visit", "Oak House", 0.0, 1.0)]
    assert keys("regressed") == [("sg_record_complete", "Riverside Supported Living", 1.0, 0.666667)]
    still = keys("still_failing")
    assert ("po_monthly_visit", "Riverside Supported Living", 0.0, 0.0) in still
    assert not any(service == "(provider)" for _, service, _, _ in still)  # locations, never the pooled figure
    assert changes["counts"] == {state: len(changes[state]) for state in ("regressed", "resolved", "new", "still_failing")}
    assert (changes["period_a"], changes["period_b"], changes["changed"]) == ("2026-08", "2026-08", [])

    table = run_cli("diff", first["audit"]["run_id"], second["audit"]["run_id"], "--db", demo_copy).stdout
    assert "1 regressed, 1 resolved, 1 new" in table and "Resolved (1)" in table and "Regressed (1)" in table

    history = json.loads(run_cli("history", "--db", demo_copy, "--target", "po_monthly_visit", "--service", "Oak House",
                                 "--json").stdout)
    # The demo's own run, then the two runs of this test.
    assert [(h["run_id"], h["value"], h["status"]) for h in history][1:] == [
        (first["audit"]["run_id"], 0.0, "deteriorating"), (second["audit"]["run_id"], 1.0, "recovered")]
    assert len(history) == 3
    # The second run carries the first in its history, for the pack's across-runs chart.
    assert [h["value"] for h in second["history"]["po_monthly_visit"]] == [0.0, 0.0]  # the demo's own run, then the first


def test_report_renders_a_stored_run_again(run_cli, demo_copy):
    verdict = run_json(run_cli, demo_copy)
    again = run_cli("report", verdict["audit"]["run_id"][:10], "--db", demo_copy, "--format", "json")
    assert json.loads(again.stdout) == verdict
    missing = run_cli("report", "zzzz", "--db", demo_copy)
    assert missing.exit_code == 2
    assert "no run 'zzzz' in the store" in missing.stderr


@pytest.fixture
def tracker_db(run_cli, demo_copy, tmp_path):
    path = write_csv(tmp_path / "tracker.csv", [
        ["id", "service", "source_kind", "description", "owner", "owner_role", "raised_on", "due_date", "status"],
        ["ACT-X1", "S002", "audit", '=HYPERLINK("http://example.invalid","Click")', "A. Patel", "deputy manager",
         "20/08/2026", "10/08/2026", "open"],
        ["ACT-X2", "S001", "audit", "-5 days to sort the rota", "J. Okafor", "registered manager", "20/08/2026",
         "30/09/2026", "in progress"],
    ])
    assert run_cli("import", path, "--kind", "improvement_action", "--db", demo_copy).exit_code == 0
    run_json(run_cli, demo_copy)
    return demo_copy


def test_actions_csv_neutralises_formulas(run_cli, tracker_db):
    without = run_cli("actions", "--db", tracker_db).stdout
    assert "HYPERLINK" not in without and "sort the rota" not in without  # free text only on request
    result = run_cli("actions", "--db", tracker_db, "--include-text")
    assert result.exit_code == 0
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    by_id = {row["Id"]: row for row in rows}
    assert by_id["ACT-X1"]["Action"] == "'=HYPERLINK(\"http://example.invalid\",\"Click\")"
    assert by_id["ACT-X1"]["Status"] == "overdue"  # due 10 August, open at 31 August
    assert by_id["ACT-X1"]["Owner"] == "A. Patel"
    assert by_id["ACT-X2"]["Action"] == "'-5 days to sort the rota"
    escalations = [row for row in rows if row["Kind"] == "escalation"]
    assert escalations and all(row["Id"].startswith("ESC-") for row in escalations)
    # The reason in words, the rule's expression in a column of its own, roles in words.
    visit = next(row for row in escalations if row["Why"].startswith("Provider oversight visit every month"))
    assert visit["Rule (for audit)"] == "po_monthly_visit.has_value and not po_monthly_visit.met"
    assert visit["Owner role"] == "nominated individual"
    assert list(rows[0]) == ["Id", "Kind", "Service", "Domain", "Target", "Why", "Action", "Owner role", "Owner", "Due",
                             "Status", "Rule (for audit)"]


def test_actions_xlsx_is_a_real_workbook_with_text_not_formulas(run_cli, tracker_db, tmp_path):
    out = tmp_path / "actions.xlsx"
    result = run_cli("actions", "--db", tracker_db, "--format", "xlsx", "--output", out, "--include-text")
    assert result.exit_code == 0, result.stderr
    book = openpyxl.load_workbook(out)
    sheet = book["Actions"]
    header = [c.value for c in sheet[1]]
    assert header[:3] == ["Id", "Kind", "Service"]
    rows = {row[0].value: row for row in sheet.iter_rows(min_row=2)}
    due = rows["ACT-X1"][header.index("Due")]
    assert due.value == datetime(2026, 8, 10) and due.number_format == "DD/MM/YYYY"  # a real date cell
    assert rows["ACT-X1"][header.index("Owner role")].value == "deputy manager"
    action = rows["ACT-X1"][header.index("Action")]
    assert action.value == '=HYPERLINK("http://example.invalid","Click")'
    assert action.data_type == "s"  # text, not a formula
    assert action.quotePrefix
    assert rows["ACT-X2"][header.index("Action")].data_type == "s"
    assert run_cli("actions", "--db", tracker_db, "--format", "xlsx").exit_code == 2  # needs --output
    by_home = tmp_path / "by-home.xlsx"
    assert run_cli("actions", "--db", tracker_db, "--format", "xlsx", "--by-location", "--output", by_home).exit_code == 0
    sheets = openpyxl.load_workbook(by_home)
    assert sheets.sheetnames == ["Oak House", "Riverside Supported Living"]
    assert "ACT-X1" in [row[0].value for row in sheets["Oak House"].iter_rows(min_row=2)]


def test_prune_keeps_the_newest_runs_and_removes_everything_of_the_others(run_cli, demo_copy):
    import sqlite3
    from datetime import date, timedelta

    # The demo store holds the demo's own run; three more make four, oldest first.
    runs = [run_json(run_cli, demo_copy)["audit"]["run_id"] for _ in range(3)]
    store = sqlite3.connect(demo_copy)
    ids = [r for (r,) in store.execute("SELECT run_id FROM runs ORDER BY created_at, rowid")]
    store.close()
    assert len(ids) == 4 and ids[1:] == runs

    def counts():
        db = sqlite3.connect(demo_copy)
        try:
            found = {table: dict(db.execute(f"SELECT run_id, COUNT(*) FROM {table} GROUP BY run_id").fetchall())
                     for table in ("runs", "target_results")}
            # Every failure is kept with its run, compressed.
            found["failures"] = dict(db.execute("SELECT run_id, failures_length FROM runs").fetchall())
            return found
        finally:
            db.close()

    before = counts()
    assert all(before["target_results"][r] > 0 and before["failures"][r] > 0 for r in runs)

    dry = run_cli("prune", "--keep", "2", "--db", demo_copy, "--dry-run", "--json")
    assert dry.exit_code == 0, dry.stderr
    assert [r["run_id"] for r in json.loads(dry.stdout)["removed"]] == ids[:2]
    assert counts() == before

    result = run_cli("prune", "--keep", "2", "--db", demo_copy)
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith("Removed 2 runs.")
    after = counts()
    for table in ("runs", "target_results", "failures"):
        assert set(after[table]) == set(ids[2:])
        assert all(after[table][r] == before[table][r] for r in ids[2:])
    assert run_cli("report", ids[3], "--db", demo_copy, "--format", "json").exit_code == 0

    # Before tomorrow is every run, yet the newest of the ruleset stays; before today is none.
    today = date.today()
    assert run_cli("prune", "--before", today.strftime("%d/%m/%Y"), "--db", demo_copy).stdout.startswith("Removed 0 runs.")
    tomorrow = (today + timedelta(days=1)).strftime("%d/%m/%Y")
    assert run_cli("prune", "--before", tomorrow, "--db", demo_copy, "--vacuum").stdout.startswith("Removed 1 run.")
    assert set(counts()["runs"]) == {ids[3]}
    db = sqlite3.connect(demo_copy)
    assert db.execute("PRAGMA freelist_count").fetchone() == (0,)  # the space went back to the disk
    db.close()


def test_prune_needs_a_condition(run_cli, demo_copy):
    result = run_cli("prune", "--db", demo_copy)
    assert result.exit_code == 2
    assert "--keep N, --before DATE, or both" in result.stderr


def test_runs_of_another_ruleset_are_another_series_and_diff_says_so_first(run_cli, demo_copy, tmp_path):
    overlay = tmp_path / "three-days.yaml"
    overlay.write_text("extends: cqc-recovery\nname: three-days\ndomains:\n  incident_learning:\n    parameters:\n"
                       "      review_within_working_days: 3\n")
    before = json.loads(run_cli("runs", "--db", demo_copy, "--json").stdout)
    made = run_cli("run", overlay, "--db", demo_copy, "--as-of", "31/08/2026", "--format", "json")
    assert made.exit_code == 0, made.stderr
    after = json.loads(made.stdout)["audit"]["run_id"]
    # history: the newest run's series only (one run of three-days); --ruleset picks the other.
    own = json.loads(run_cli("history", "--db", demo_copy, "--target", "inc_review_5wd", "--service",
                             "(provider)", "--json").stdout)
    assert [(h["run_id"], h["ruleset"]) for h in own] == [(after, "three-days")]
    base = json.loads(run_cli("history", "--db", demo_copy, "--ruleset", "cqc-recovery", "--target",
                              "inc_review_5wd", "--service", "(provider)", "--json").stdout)
    assert [h["run_id"] for h in base] == [r["run_id"] for r in before]
    typo = run_cli("history", "--db", demo_copy, "--ruleset", "cqc-recovry")
    assert typo.exit_code == 2 and "no stored run has the ruleset 'cqc-recovry'" in typo.stderr
    # diff names the change of ruleset before any figure, and labels each column with its run.
    text = run_cli("diff", before[-1]["run_id"], after, "--db", demo_copy).stdout
    lines = text.splitlines()
    assert lines[0].startswith("The two runs used different rulesets: A cqc-recovery version 1 (values ")
    assert "B three-days version 1, extends " in lines[0]
    assert lines[1] == "  domains.incident_learning.parameters.review_within_working_days: 5 in A, 3 in B"
    assert "A: 2026-08-31 (cqc-recovery)" in text and "B: 2026-08-31 (three-days)" in text
    same = run_cli("diff", before[0]["run_id"], before[-1]["run_id"], "--db", demo_copy, "--json").stdout
    assert json.loads(same)["rulesets"]["same"] is True
    assert not run_cli("diff", before[0]["run_id"], before[-1]["run_id"], "--db", demo_copy).stdout.startswith(
        "The two runs used different rulesets")
