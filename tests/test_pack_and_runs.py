"""Reports people read: the demo's group, its two runs, the runs list, diff by location, the pack's
charts and a one-location pack."""

import json
import re

import pytest

from carecheck.reporters.charts import LABEL_GAP, value_chart
from carecheck.reporters.html import _runs_points


@pytest.fixture(scope="module")
def demo_store(tmp_path_factory):
    from click.testing import CliRunner

    from carecheck.cli import build_cli

    path = tmp_path_factory.mktemp("demo") / "demo.db"
    result = CliRunner().invoke(build_cli(), ["demo", "--engine", "reference", "--db", str(path), "--format", "json"],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert result.stderr == (f"Kept the demo's store in {path}, with runs as of 2026-07-31 and 2026-08-31; next, try: "
                             f"carecheck runs --db {path}\n")
    return path


def test_runs_lists_the_demos_two_runs(run_cli, demo_store):
    runs = json.loads(run_cli("runs", "--db", demo_store, "--json").stdout)
    assert [(r["as_of"], r["lowest_level"], r["ruleset"]) for r in runs] == [
        ("2026-07-31", "partly_assured", "cqc-recovery"), ("2026-08-31", "not_assured", "cqc-recovery")]
    assert all(r["records_read"] > 0 and r["carecheck_version"] for r in runs)
    assert runs[1]["records_read"] > runs[0]["records_read"]  # August's records too
    table = run_cli("runs", "--db", demo_store, "--last", "1").stdout
    assert runs[1]["run_id"] in table and runs[0]["run_id"] not in table
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", table)  # to the second


def test_diff_of_consecutive_monthly_runs_shows_the_drifting_home_regressed(run_cli, demo_store):
    runs = json.loads(run_cli("runs", "--db", demo_store, "--json").stdout)
    changes = json.loads(run_cli("diff", runs[0]["run_id"], runs[1]["run_id"], "--db", demo_store, "--json").stdout)
    # July: every home met every target but Oak House's follow-ups (3 of 4 on time) and Elm Court's
    # care plan reviews (5 of its 6 harmful incidents reviewed within 7 days). August: Willow Lodge
    # reviewed none of its six incidents within five working days, Oak House again completed 3 of
    # its 4 follow-ups on time, Elm Court again 5 of 6, and Oak House's visit action overdue since
    # 24 July reached 35 days on 27 August with no governance meeting taking it up (new: no
    # overdue action had been due for review before); nothing else changed, and no closed month is
    # listed.
    assert changes["counts"] == {"regressed": 1, "resolved": 0, "new": 1, "still_failing": 2}
    assert [(c["target"], c["service"], c["before"], c["after"]) for c in changes["new"]] == [
        ("po_tracker_reviewed", "Oak House", None, 0.0)]
    assert [(c["target"], c["service"], c["before"], c["after"]) for c in changes["regressed"]] == [
        ("inc_review_5wd", "Willow Lodge", 1.0, 0.0)]
    assert [(c["target"], c["service"], round(c["before"], 4), round(c["after"], 4))
            for c in changes["still_failing"]] == [
        ("inc_care_plan_reviewed", "Elm Court Nursing Home", 0.8333, 0.8333),
        ("sg_follow_up_complete", "Oak House", 0.75, 0.75)]
    assert changes["changed"] == []
    history = json.loads(run_cli("history", "--db", demo_store, "--target", "inc_review_5wd", "--service",
                                 "Willow Lodge", "--last", "1", "--json").stdout)
    assert [(h["as_of"], h["value"], h["ruleset"]) for h in history] == [("2026-08-31", 0.0, "cqc-recovery")]


CODES = re.compile(r"run_band_|domain_score_|has_value|\.met\b")


@pytest.mark.parametrize("fmt", ["table", "md", "html", "junit"])
def test_no_output_shows_a_rule_code_or_trigger_without_words(run_cli, demo_store, fmt):
    runs = json.loads(run_cli("runs", "--db", demo_store, "--json").stdout)
    text = run_cli("report", runs[1]["run_id"], "--db", demo_store, "--format", fmt).stdout
    assert CODES.findall(text) == []
    if fmt == "html":  # a level rule is always given in words, never by its code
        assert "half or more of the judged targets are not met or not evidenced" in text
        assert "level_not_assured" not in text


def test_a_one_location_pack(run_cli, demo_store, tmp_path):
    from shutil import copy

    store = tmp_path / "one.db"
    copy(demo_store, store)
    html = run_cli("run", "--db", store, "--as-of", "2026-08-31", "--service", "Willow Lodge", "--engine",
                   "reference", "--format", "html").stdout
    assert html.count('<tr class="location"') == 1 and 'data-location="Willow Lodge"' in html
    assert 'id="loc-willow-lodge-inc_review_5wd"' in html  # the location's own chart of each target


def test_across_runs_chart_has_one_point_per_as_of_date_in_date_order():
    verdict = {"as_of": "2026-08-31"}
    history = [{"as_of": "2026-08-31", "value": 1.0}, {"as_of": "2026-12-01", "value": 0.0},
               {"as_of": "2026-12-01", "value": 0.5}, {"as_of": "2026-07-31", "value": 0.25}]
    points = _runs_points(verdict, history, 0.75, 0.9)
    assert [(p["label"], p["value"], p["met"]) for p in points] == [
        ("2026-07-31", 0.25, False), ("2026-08-31 (this run)", 0.75, False), ("2026-12-01", 0.5, False)]


def test_equal_target_and_baseline_labels_do_not_overlap():
    svg = str(value_chart([{"label": "2026-01", "value": 1.0, "met": True, "partial": False}], 1.0, 1.0, "t", "c"))
    target = float(re.search(r'class="target-label" x="[\d.]+" y="([\d.]+)"', svg).group(1))
    baseline = float(re.search(r'class="baseline-label" x="[\d.]+" y="([\d.]+)"', svg).group(1))
    assert abs(target - baseline) >= LABEL_GAP


def test_every_escalation_of_the_demo_names_its_records_in_words(run_cli, demo_store):
    runs = json.loads(run_cli("runs", "--db", demo_store, "--json").stdout)
    verdict = json.loads(run_cli("report", runs[1]["run_id"], "--db", demo_store, "--format", "json").stdout)
    assert verdict["escalations"]
    for escalation in verdict["escalations"]:
        assert escalation["records"] and escalation["reason"] and not CODES.search(escalation["reason"])
    review = next(e for e in verdict["escalations"] if e["rule"] == "inc_review_delayed")
    # Willow Lodge reviewed none of its six August incidents in time.
    assert review["service"] == "Willow Lodge" and review["records_total"] == 6
    assert review["reason"].startswith("Incidents reviewed within five working days: 0 of 6 in 2026-08, below 95%: ")
