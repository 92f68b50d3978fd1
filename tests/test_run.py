"""carecheck demo and carecheck run, end to end."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from carecheck.verdict import Verdict

from builders import SAMPLE


@pytest.fixture(scope="module")
def demo_verdict(tmp_path_factory):
    """The three stories' store and the verdict of its one stored run."""
    import sqlite3

    from click.testing import CliRunner

    from carecheck.cli import build_cli

    from builders import three_stories

    path = three_stories(tmp_path_factory.mktemp("stories"))
    (run_id,) = sqlite3.connect(path).execute("SELECT run_id FROM runs").fetchone()
    result = CliRunner().invoke(build_cli(), ["report", run_id, "--db", str(path), "--format", "json"],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout), path


def test_demo_shows_three_recovery_stories(demo_verdict):
    verdict, _ = demo_verdict
    Verdict.model_validate(verdict)
    statuses = {d["domain"]: d["status"] for d in verdict["domains"]}
    assert statuses == {
        "safeguarding_recording": "recovered",
        "incident_learning": "improving",
        "provider_oversight": "deteriorating",
    }
    assert verdict["as_of"] == "2026-08-31"
    assert verdict["periods"]["current"] == "2026-08"
    assert verdict["audit"]["engine"] == "reference"
    assert {e["rule"] for e in verdict["escalations"]} >= {"po_visit_missed", "inc_review_delayed"}
    summary = verdict["commissioner_summary"]
    lists = {name: {line["target"] for line in summary[name]} for name in ("improved", "maintained", "under_review")}
    # Safeguarding's targets were below threshold in January and are met now; incident reviews
    # improved (50% to 83.3%) but are not met, so they stay under review.
    assert lists["improved"] >= {"sg_record_complete", "sg_daily_screening"}
    assert lists["maintained"] >= {"inc_monthly_themes"}
    assert lists["under_review"] >= {"po_monthly_visit", "inc_review_5wd"}
    assert sum(len(names) for names in lists.values()) == len(set().union(*lists.values()))  # none in two lists
    review = next(line for line in summary["under_review"] if line["target"] == "inc_review_5wd")
    assert review["locations"] == ["Oak House", "Riverside Supported Living"]
    assert len(summary["extra_controls"]["escalations"]) == len(verdict["escalations"])


def test_demo_levels_follow_the_rules(demo_verdict):
    verdict, _ = demo_verdict
    for location in verdict["locations"]:
        levels = {d["domain"]: (d["level"], d["level_rule"]) for d in location["domains"]}
        # Every safeguarding target recovered, with four or five evidence categories in the window.
        assert levels["safeguarding_recording"] == ("assured_sustained", "level_assured_sustained")
        # Three of seven incident targets not met (83.3%, 83.3%, 90.9% against 95%), each improving; the
        # learning identified, care plan, form and themes targets met: under half short.
        assert levels["incident_learning"] == ("partly_assured", "level_partly_assured")
        # The monthly visit was missed in August after being met: deteriorating.
        assert levels["provider_oversight"] == ("not_assured", "level_not_assured")
        assert location["level"] == "not_assured"
    assert verdict["verdict"]["levels"] == {"not_assured": 2, "partly_assured": 0, "assured": 0, "assured_sustained": 0}
    assert verdict["verdict"]["lowest"] == {"level": "not_assured", "locations": ["Oak House", "Riverside Supported Living"]}
    assert verdict["verdict"]["summary"].startswith(
        "Lowest assurance: not assured at 2 of 2 locations: Oak House, Riverside Supported Living.")


def test_demo_store_keeps_the_run_and_every_failure(demo_verdict, run_cli):
    import json
    import sqlite3

    verdict, db_path = demo_verdict
    conn = sqlite3.connect(db_path)
    run_id = verdict["audit"]["run_id"]  # other tests of this module add runs of their own, in any order
    assert conn.execute("SELECT run_id FROM runs WHERE run_id = ?", [run_id]).fetchone() == (run_id,)
    stored = conn.execute(
        "SELECT numerator, denominator FROM target_results WHERE run_id = ? AND target = 'inc_review_5wd' "
        "AND service = '(provider)' AND period = '2026-08'", [run_id]
    ).fetchone()
    inc = next(t for d in verdict["domains"] for t in d["targets"] if t["id"] == "inc_review_5wd")
    august = next(p for p in inc["periods"] if p["period"] == "2026-08")
    assert stored == (august["numerator"], august["denominator"])
    # Only the current period's figures are rows; every period's are kept with the run.
    assert conn.execute("SELECT DISTINCT period FROM target_results WHERE run_id = ?", [run_id]).fetchall() == [
        ("2026-08",)]
    listed = run_cli("failures", run_id[:8], "--db", db_path, "--target", "inc_review_5wd", "--period", "2026-08",
                     "--json")
    assert listed.exit_code == 0, listed.stderr
    failures = json.loads(listed.stdout)
    assert len(failures) == august["failures_total"] == august["denominator"] - august["numerator"]
    assert sorted(f["unit"] for f in failures)[:25] == sorted(august["failures"])


def test_run_table_fail_under_and_filters(run_cli, demo_verdict):
    _, db_path = demo_verdict
    table = run_cli("run", "--db", db_path, "--as-of", "31/08/2026", "--engine", "reference")
    assert table.exit_code == 0
    assert "Lowest assurance: not assured at 2 of 2 locations: Oak House, Riverside Supported Living." in table.stdout
    assert "Where to act first: 2 of 2 locations below assured" in table.stdout
    assert "What has improved:" in table.stdout and "What extra controls are in place:" in table.stdout
    failing = run_cli("run", "--db", db_path, "--as-of", "2026-08-31", "--fail-under", "partly_assured",
                      "--engine", "reference")
    assert failing.exit_code == 1
    assert failing.stderr == ("2 locations below --fail-under partly assured: Oak House (not assured), "
                              "Riverside Supported Living (not assured)\n")
    lowest = run_cli("run", "--db", db_path, "--as-of", "2026-08-31", "--fail-under", "not_assured",
                     "--engine", "reference")
    assert lowest.exit_code == 0
    one = run_cli("run", "--db", db_path, "--as-of", "2026-08-31", "--target", "inc_review_5wd",
                  "--service", "S002", "--format", "json", "--engine", "reference")
    verdict = json.loads(one.stdout)
    assert [t["id"] for d in verdict["domains"] for t in d["targets"]] == ["inc_review_5wd"]
    assert verdict["services"] == [{"service": "Oak House", "service_type": "residential"}]


@pytest.mark.parametrize(
    "args,message",
    [
        (["--as-of", "31/02/2026"], "unreadable date '31/02/2026'"),
        (["--service", "Nowhere"], "unknown service 'Nowhere'"),
        (["--target", "nope"], "unknown target 'nope'"),
        (["no-such-ruleset"], "no-such-ruleset: no such ruleset file or shipped ruleset"),
        (["--fail-under", "3"], "'3' is not one of 'not_assured', 'partly_assured', 'assured', 'assured_sustained'"),
    ],
)
def test_run_input_errors_exit_2(run_cli, demo_verdict, args, message):
    _, db_path = demo_verdict
    result = run_cli("run", "--db", db_path, "--engine", "reference", *args)
    assert result.exit_code == 2
    assert message in result.stderr


def test_run_without_a_store(run_cli, tmp_path):
    result = run_cli("run", "--db", tmp_path / "none.db")
    assert result.exit_code == 2
    assert "no evidence store here" in result.stderr


def test_run_refuses_a_ruleset_whose_domain_plugin_failed(run_cli, demo_verdict, tmp_path):
    _, db_path = demo_verdict
    ruleset = tmp_path / "falls.yaml"
    ruleset.write_text("name: falls\ndomains: {falls_prevention: {}}\n")
    result = run_cli("run", ruleset, "--db", db_path)
    assert result.exit_code == 2
    assert "domains.falls_prevention: no domain plugin provides 'falls_prevention'" in result.stderr


def test_demo_output_file_and_no_free_text(tmp_path):
    """The real command, in its own process (so durable-rules runs where it can)."""
    out = tmp_path / "verdict.json"
    done = subprocess.run([sys.executable, "-m", "carecheck", "demo", "--format", "json", "--output", str(out),
                           "--db", str(tmp_path / "demo.db")],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    text = out.read_text()
    verdict = json.loads(text)
    assert verdict["schema_version"] == "2.4"
    for phrase in ("staff saw", "Personal care given", "Seemed a bit upset", "Root cause analysis recorded",
                   "Risk controls reviewed"):  # free text in the generated records
        assert phrase not in text


def test_sample_run(run_cli, db_path):
    run_cli("import", "--manifest", SAMPLE / "manifest.yaml", "--db", db_path)
    result = run_cli("run", "--db", db_path, "--as-of", "2026-06-15", "--format", "json", "--engine", "reference")
    assert result.exit_code == 0
    verdict = json.loads(result.stdout)
    Verdict.model_validate(verdict)
    inc = next(t for d in verdict["domains"] for t in d["targets"] if t["id"] == "inc_review_5wd")
    # April: INC-1001 (Thu 2 Apr, due Mon 13 Apr) and INC-1002 (Good Friday, due Mon 13 Apr) on time;
    # INC-1003 (Fri 10 Apr, due Fri 17 Apr) reviewed on 24 Apr; INC-1004 never; INC-1005 on time.
    # May: all three on time (INC-1009's harm word is not in the list: its harm is left empty, the
    # incident kept). June is partial on 15 June.
    assert {p["period"]: (p["numerator"], p["denominator"], p["failures"]) for p in inc["periods"]} == {
        "2026-04": (3, 5, ["INC-1003", "INC-1004"]), "2026-05": (3, 3, []), "2026-06": (0, 0, [])}


def test_workers_give_the_same_verdict(run_cli, demo_verdict):
    _, db_path = demo_verdict
    one = json.loads(run_cli("run", "--db", db_path, "--as-of", "2026-08-31", "--engine", "reference",
                             "--format", "json").stdout)
    two = json.loads(run_cli("run", "--db", db_path, "--as-of", "2026-08-31", "--engine", "reference",
                             "--format", "json", "--workers", "2").stdout)
    for verdict in (one, two):
        for key in ("audit", "history"):
            verdict.pop(key)
    assert one == two


def test_a_workers_share_of_the_services_is_all_its_queries_see(demo_verdict):
    """With --workers, each worker's connection reads only its share of the services' records."""
    import sqlite3

    from sqlite_utils import Database

    from carecheck.run.reads import only_share

    _, db_path = demo_verdict
    db = Database(sqlite3.connect(f"file:{db_path}?mode=ro", uri=True))
    everyone = db.execute("SELECT service, COUNT(*) FROM incident GROUP BY service").fetchall()
    only_share(db, ["S001", "Riverside Supported Living", "SVC-001"])  # Riverside's names in the register
    assert everyone == [("S001", 48), ("S002", 48)]
    assert db.execute("SELECT service, COUNT(*) FROM incident GROUP BY service").fetchall() == [("S001", 48)]
    assert db.execute("SELECT COUNT(*) FROM main.incident").fetchone() == (96,)
    assert db.execute("SELECT COUNT(*) FROM service").fetchone() == (3,)  # the register stays whole, provider too
    db.close()


def test_a_run_closes_every_connection_it_opened(run_cli, demo_verdict, tmp_path):
    """The store's reads done alongside use a connection of their own. Left open, it would keep the
    write-ahead log beside the store, and a copy of the store file alone would miss the run."""
    import shutil

    _, db_path = demo_verdict
    store = tmp_path / "store.db"
    shutil.copy(db_path, store)
    result = run_cli("run", "--db", store, "--as-of", "2026-08-31", "--engine", "reference", "--format", "json")
    assert result.exit_code == 0, result.stderr
    assert not Path(f"{store}-wal").exists()
    run_id = json.loads(result.stdout)["audit"]["run_id"]
    copy = tmp_path / "copy.db"
    shutil.copy(store, copy)
    assert run_id in run_cli("history", "--db", copy, "--json").stdout


@pytest.mark.parametrize("period,partial,current,count", [
    ("quarter", "2026-Q3", "2026-Q2", 3),
    ("week", "2026-W36", "2026-W35", 36),  # 2026-W01 starts on Monday 29 December 2025
])
def test_week_and_quarter_periods(run_cli, demo_verdict, tmp_path, period, partial, current, count):
    _, db_path = demo_verdict
    (tmp_path / "closures.txt").write_text("# staff training day\n2026-09-03\n")
    ruleset = tmp_path / "r.yaml"
    ruleset.write_text(f"name: r\nperiod: {period}\nclosures_file: closures.txt\ndomains: {{incident_learning: {{}}}}\n")
    result = run_cli("run", ruleset, "--db", db_path, "--as-of", "2026-08-31", "--engine", "reference", "--format", "json")
    assert result.exit_code == 0, result.stderr
    verdict = json.loads(result.stdout)
    assert (verdict["periods"]["partial"], verdict["periods"]["current"]) == (partial, current)
    assert len(verdict["periods"]["evaluated"]) == count
    if period == "quarter":
        # Q2's reviews missed 95%. Monday 31 August 2026 is the summer bank holiday; five working days
        # later, skipping the local closure on Thursday 3 September, is Tuesday 8 September.
        due = {e["due"] for e in verdict["escalations"] if e["rule"] == "inc_review_delayed"}
        assert due == {"2026-09-08"}


def test_a_target_run_evaluates_only_the_rules_on_that_target(run_cli, demo_verdict):
    _, db_path = demo_verdict
    verdict = json.loads(run_cli("run", "--db", db_path, "--as-of", "2026-08-31", "--engine", "reference",
                                 "--format", "json", "--target", "inc_review_5wd").stdout)
    assert {e["rule"] for e in verdict["escalations"]} == {"inc_review_delayed"}
    assert "incident_learning/inc_repeated_themes" in verdict["audit"]["skipped_rules"]
    assert "incident_learning/inc_learning_not_embedded" in verdict["audit"]["skipped_rules"]
