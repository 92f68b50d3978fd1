import json

import pytest

WAIVERS = """\
- target: po_monthly_visit
  justification: Provider representative on leave; the area manager visits in September
  approved_by: Nominated individual
  expires: 2026-12-31
- target: po_action_quality
  service: S002
  justification: Tracker migration in progress
  approved_by: Nominated individual
  expires: 2026-09-10
- target: po_previous_reviewed
  justification: Visit template being replaced
  approved_by: Quality lead
  expires: 2026-08-30
- target: inc_review_5wd
  justification: Date written the UK way, as every other date
  approved_by: Registered manager
  expires: 01/10/2026
"""


def run_demo(run_cli, db, waivers, fmt="json", *extra):
    return run_cli("run", "--db", db, "--as-of", "2026-08-31", "--engine", "reference", "--waivers", waivers,
                   "--format", fmt, *extra)


@pytest.fixture
def waivers_file(tmp_path):
    path = tmp_path / "waivers.yaml"
    path.write_text(WAIVERS)
    return path


def test_waivers_in_force_expiring_and_expired_in_json(run_cli, demo_copy, waivers_file):
    result = run_demo(run_cli, demo_copy, waivers_file)
    assert result.exit_code == 0, result.stderr
    verdict = json.loads(result.stdout)
    statuses = {(w["target"], w["service"]): (w["status"], w["applies"]) for w in verdict["waivers"]}
    assert statuses == {
        ("po_monthly_visit", None): ("in_force", True),
        ("po_action_quality", "Oak House"): ("expiring_soon", True),
        ("po_previous_reviewed", None): ("expired", False),
        ("inc_review_5wd", None): ("in_force", True),  # 01/10/2026 is 1 October, day-first
    }
    targets = {t["id"]: t for d in verdict["domains"] for t in d["targets"]}
    # Still evaluated and shown, never hidden.
    assert targets["po_monthly_visit"]["status"] == "deteriorating"
    assert targets["po_monthly_visit"]["waiver"]["status"] == "in_force"
    assert targets["po_action_quality"]["waiver"] is None
    oak = next(s for s in targets["po_action_quality"]["services"] if s["service"] == "Oak House")
    assert oak["waiver"]["status"] == "expiring_soon"
    assert targets["po_previous_reviewed"]["waiver"]["applies"] is False
    assert verdict["warnings"] == [
        "waiver 1 (po_action_quality for Oak House) expires on 2026-09-10, within 14 days",
        "waiver 2 (po_previous_reviewed) expired on 2026-08-30 and no longer applies",
    ]
    assert verdict["waivers"][3]["expires"] == "2026-10-01"
    oversight = next(d for d in verdict["domains"] if d["domain"] == "provider_oversight")
    assert oversight["waived_targets"] == 1


def test_a_waiver_date_that_is_not_a_date_is_an_input_error(run_cli, demo_copy, tmp_path):
    path = tmp_path / "w.yaml"
    path.write_text("- {target: po_monthly_visit, justification: x, approved_by: NI, expires: end of September}\n")
    result = run_demo(run_cli, demo_copy, path)
    assert result.exit_code == 2
    assert result.stderr == (f"Error: {path}: waiver 0 (po_monthly_visit): expires 'end of September' is not a date "
                             "(use DD/MM/YYYY or YYYY-MM-DD)\n")


def test_waivers_show_in_table_and_html(run_cli, demo_copy, waivers_file):
    table = run_demo(run_cli, demo_copy, waivers_file, "table").stdout
    assert "DETERIORATING [waived until 2026-12-31]" in table
    assert ("Visit actions with owner, deadline and closure evidence for Oak House: DETERIORATING "
            "[waived until 2026-09-10, expiring soon]") in table
    assert "[waiver expired 2026-08-30]" in table
    assert "Warning: waiver 2 (po_previous_reviewed) expired on 2026-08-30 and no longer applies" in table
    html = run_demo(run_cli, demo_copy, waivers_file, "html").stdout
    assert "Waived until 2026-12-31</span>" in html
    assert "expiring soon (expires 2026-09-10)" in html
    assert "Waiver expired 2026-08-30: no longer applies" in html
    assert '<tr class="waiver-expired"><td>Previous actions reviewed at each visit</td>' in html
    assert '<tr class="waiver-in_force"><td>Incidents reviewed within five working days</td>' in html


def test_a_waiver_in_force_does_not_lower_the_level(run_cli, demo_copy, tmp_path):
    path = tmp_path / "w.yaml"
    path.write_text("".join(
        f"- {{target: {t}, justification: Agreed with commissioners, approved_by: Nominated individual, expires: 2026-12-31}}\n"
        for t in ("po_monthly_visit", "po_action_quality", "po_previous_reviewed")
    ))
    verdict = json.loads(run_demo(run_cli, demo_copy, path).stdout)
    oversight = next(d for d in verdict["domains"] if d["domain"] == "provider_oversight")
    # Only the quarterly review is judged: recovered, with three (Oak House) or four (Riverside)
    # evidence categories in the window: assured and sustained at both.
    assert oversight["waived_targets"] == 3
    assert oversight["levels"] == {"not_assured": 0, "partly_assured": 0, "assured": 0, "assured_sustained": 2}
    for location in verdict["locations"]:
        levels = {d["domain"]: (d["level"], d["level_rule"]) for d in location["domains"]}
        assert levels["provider_oversight"] == ("assured_sustained", "level_assured_sustained")
        # No waiver there: three of its seven targets improving but short, the others met.
        assert levels["incident_learning"] == ("partly_assured", "level_partly_assured")
    assert oversight["status"] == "deteriorating"  # the status still shows what the figures say
    visit = next(t for t in oversight["targets"] if t["id"] == "po_monthly_visit")
    assert visit["location_statuses"] == {"waived": 2}


@pytest.mark.parametrize(
    "text,message",
    [
        ("- {target: po_monthly_visit, approved_by: NI, expires: 2026-12-31}\n", "waiver 0: justification: Field required"),
        ("- {target: po_monthly_visit, justification: x, approved_by: NI, expires: 2026-12-31, colour: red}\n",
         "waiver 0: colour: Extra inputs are not permitted"),
        ("- {target: nope, justification: x, approved_by: NI, expires: 2026-12-31}\n", "waiver 0 (nope): unknown target 'nope'"),
        ("- {target: po_monthly_visit, service: Atlantis, justification: x, approved_by: NI, expires: 2026-12-31}\n",
         "unknown service 'Atlantis'"),
        ("target: x\n", "a waivers file is a YAML list of waivers"),
    ],
)
def test_other_waiver_problems_are_input_errors(run_cli, demo_copy, tmp_path, text, message):
    path = tmp_path / "w.yaml"
    path.write_text(text)
    result = run_demo(run_cli, demo_copy, path)
    assert result.exit_code == 2
    assert message in result.stderr
