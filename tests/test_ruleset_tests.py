"""``carecheck test``: ruleset test cases pass or fail with a readable diff, and coverage counts
only what passing cases assert (worked out by hand for the two cases in tests/data/ruleset-cases:
one target, one escalation rule and the ten level rules; the cases cover the target, the rule
and the two level rules they assert: 4 of 12)."""

import shutil

import pytest

from builders import REPO

CASES = REPO / "tests" / "data" / "ruleset-cases"


@pytest.fixture
def cases(tmp_path):
    copy = tmp_path / "cases"
    shutil.copytree(CASES, copy)
    return copy


def test_the_cases_pass_and_their_coverage_is_what_they_assert(run_cli, cases):
    result = run_cli("test", cases)
    assert result.exit_code == 0, result.stdout
    lines = result.stdout.splitlines()
    assert lines[:2] == [f"{cases / 'review-late'} ... PASSED", f"{cases / 'review-on-time'} ... PASSED"]
    assert "2 passed, 0 failed, 0 malformed" in lines
    assert "Coverage 33.3% (4 of 12 targets, escalation rules and level rules):" in lines
    assert "  not covered: level rule level_assured_sustained: no case asserts a level it sets" in lines
    assert not any("target inc_review_5wd" in line or "inc_review_delayed" in line for line in lines)


def test_coverage_below_the_minimum_fails(run_cli, cases):
    result = run_cli("test", cases, "--min-coverage", "50")
    assert result.exit_code == 1
    assert "Coverage 33.3% is below --min-coverage 50%" in result.stdout


def test_a_wrong_expected_value_fails_with_a_readable_diff(run_cli, cases):
    expected = cases / "review-late" / "expected.yaml"
    expected.write_text(expected.read_text().replace("{numerator: 1, denominator: 2", "{numerator: 2, denominator: 2"))
    result = run_cli("test", cases)
    assert result.exit_code == 1
    assert f"{cases / 'review-late'} ... FAILED" in result.stdout
    assert "  target inc_review_5wd at Oak House: numerator expected 2, got 1" in result.stdout
    assert "1 passed, 1 failed, 0 malformed" in result.stdout
    # A failing case covers nothing: the failing unit and the firing rule were only in it.
    assert "not covered: target inc_review_5wd: no case asserts a failing unit" in result.stdout
    assert "not covered: escalation incident_learning/inc_review_delayed: no case asserts that it fires" in (
        result.stdout)


def test_removing_the_failing_unit_case_drops_coverage(run_cli, cases):
    shutil.rmtree(cases / "review-late")
    result = run_cli("test", cases, "--min-coverage", "40")
    assert result.exit_code == 1
    assert "Coverage 8.3% (1 of 12 targets, escalation rules and level rules):" in result.stdout
    assert "  not covered: target inc_review_5wd: no case asserts a failing unit" in result.stdout


def test_an_escalation_expected_to_fire_that_does_not_is_a_failure(run_cli, cases):
    expected = cases / "review-on-time" / "expected.yaml"
    expected.write_text(expected.read_text().replace("do_not_fire:", "fire:"))
    result = run_cli("test", cases / "review-on-time")
    assert result.exit_code == 1
    assert "  escalation inc_review_delayed at Oak House: expected to fire, did not" in result.stdout


def test_a_malformed_case_exits_2(run_cli, cases):
    (cases / "review-on-time" / "expected.yaml").write_text("as_of: 30/06/2026\ntargts: {}\n")
    result = run_cli("test", cases)
    assert result.exit_code == 2
    assert f"{cases / 'review-on-time'} ... ERROR" in result.stdout
    assert "targts" in result.stdout


def test_the_shipped_cases_cover_every_target_and_rule_of_the_default_ruleset(run_cli):
    result = run_cli("test", REPO / "rulesets" / "tests", "--against", "cqc-recovery", "--min-coverage", "100")
    assert result.exit_code == 0, result.stdout
    assert "15 passed, 0 failed, 0 malformed" in result.stdout
    # 17 targets, 27 escalation rules and the 10 level rules.
    assert "Coverage 100% (57 of 57 targets, escalation rules and level rules of cqc-recovery)" in result.stdout
    assert run_cli("test", REPO / "rulesets" / "tests", "--min-coverage", "100").exit_code == 0


def test_removing_a_shipped_failing_case_drops_coverage_below_100(run_cli, tmp_path):
    shipped = tmp_path / "tests"
    shutil.copytree(REPO / "rulesets" / "tests", shipped)
    shutil.rmtree(shipped / "provider-oversight-gaps")
    result = run_cli("test", shipped, "--against", "cqc-recovery", "--min-coverage", "100")
    assert result.exit_code == 1
    # Its five targets lose their failing unit and its six rules their firing case: 46 of 57.
    assert "Coverage 80.7% (46 of 57 targets, escalation rules and level rules of cqc-recovery):" in result.stdout
    assert "  not covered: target po_previous_reviewed: no case asserts a failing unit" in result.stdout
    assert "  not covered: escalation provider_oversight/po_weak_challenge: no case asserts that it fires" in (
        result.stdout)
