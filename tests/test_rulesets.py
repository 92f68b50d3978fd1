import json

import pytest

from carecheck.errors import InputError
from carecheck.rulesets import RULESETS_DIR
from carecheck.ruleset import check_ruleset, load_ruleset

from builders import ruleset_file

BAD_TRIGGER = """\
name: broken
domains:
  incident_learning:
    escalations:
      inc_repeated_themes:
        when: "repeated_incidents >> 2"
      my_rule:
        when: "staff_unawre > 0"
        action: Coach the team
        owner: registered_manager
        due_working_days: 3
"""


def test_default_ruleset_loads_all_three_domains():
    ruleset = load_ruleset()
    assert [d.domain.name for d in ruleset.domains] == ["safeguarding_recording", "incident_learning", "provider_oversight"]
    incident = ruleset.domains[1]
    assert incident.targets["inc_review_5wd"].threshold == 0.95
    assert incident.params.review_within_working_days == 5


def test_trigger_errors_name_file_rule_and_position(tmp_path):
    path = ruleset_file(tmp_path, BAD_TRIGGER)
    ruleset, problems = check_ruleset(path)
    assert ruleset is None
    assert problems == [
        f"{path}: domains.incident_learning.escalations.inc_repeated_themes.when: rule inc_repeated_themes: "
        "position 21: expected a name or a value, found '>'",
        f"{path}: domains.incident_learning.escalations.my_rule.when: rule my_rule: position 1: unknown name 'staff_unawre' (did you mean staff_unaware?)",
    ]


@pytest.mark.parametrize(
    "text,problem",
    [
        ("name: x\ndomains: {incident_learning: {}}\ncolour: blue\n", "colour: Extra inputs are not permitted"),
        ("name: x\ndomains: {incident_learning: {parameters: {review_within_working_dayz: 3}}}\n",
         "domains.incident_learning.parameters.review_within_working_dayz: Extra inputs are not permitted"),
        ("name: x\ndomains: {incident_learning: {targets: {inc_review_5wd: {threshold: 95}}}}\n",
         "domains.incident_learning.targets.inc_review_5wd.threshold: Input should be less than or equal to 1"),
        ("name: x\ndomains: {incident_learning: {targets: {nope: {}}}}\n",
         "domains.incident_learning.targets.nope: incident_learning has no target 'nope'"),
        ("name: x\ndomains: {falls: {}}\n", "domains.falls: no domain plugin provides 'falls'"),
        ("name: x\nperiod: fortnight\ndomains: {incident_learning: {}}\n", "period: Input should be 'week', 'month' or 'quarter'"),
        ("name: x\ndomains: {incident_learning: {escalations: {new_rule: {when: 'staff_unaware > 0'}}}}\n",
         "domains.incident_learning.escalations.new_rule: a new rule needs action, owner, due_working_days"),
        ("name: x\nbaseline: {period: April}\ndomains: {incident_learning: {}}\n",
         "baseline.period: 'April' is not a month (expected e.g. 2026-04)"),
        ("just text\n", "a ruleset is a YAML mapping of keys"),
    ],
)
def test_bad_rulesets_are_refused_with_the_key_path(tmp_path, text, problem):
    path = ruleset_file(tmp_path, text)
    with pytest.raises(InputError) as error:
        load_ruleset(path)
    assert problem in str(error.value)
    assert str(path) in str(error.value)


def test_validate_cli_reports_every_problem(run_cli, tmp_path):
    path = ruleset_file(tmp_path, BAD_TRIGGER)
    result = run_cli("validate", path)
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 2
    assert "rule my_rule: position 1: unknown name 'staff_unawre'" in result.stderr
    good = run_cli("validate", RULESETS_DIR / "cqc-recovery.yaml")
    assert good.exit_code == 0
    assert good.stdout.endswith("valid (3 domains, 18 targets, 29 escalation rules)\n")


def test_schema_ruleset_forbids_unknown_keys(run_cli):
    schema = json.loads(run_cli("schema", "ruleset").stdout)
    assert schema["additionalProperties"] is False
    assert "domains" in schema["required"]


def test_disabling_and_overriding(tmp_path):
    path = ruleset_file(tmp_path, """\
name: custom
domains:
  provider_oversight:
    targets:
      po_quarterly_ni_review: {enabled: false}
    escalations:
      po_weak_challenge: {enabled: false}
      po_visit_missed: {due_working_days: 1, owner: registered_manager}
      po_many_overdue:
        title: Many overdue actions
        when: overdue_actions >= 3
        action: Weekly tracker review by the nominated individual
        owner: nominated_individual
        due_working_days: 5
""")
    (domain,) = load_ruleset(path).domains
    assert sorted(domain.targets) == ["po_action_quality", "po_monthly_visit", "po_previous_reviewed",
                                      "po_tracker_reviewed"]
    rules = {e.spec.id: e.spec for e in domain.escalations}
    assert sorted(rules) == ["po_evidence_before_closure", "po_many_overdue", "po_overdue_actions", "po_repeated_overdue",
                             "po_tracker_not_reviewed", "po_visit_missed"]
    assert (rules["po_visit_missed"].due_working_days, rules["po_visit_missed"].owner) == (1, "registered_manager")


def test_a_trigger_on_a_disabled_target_is_an_unknown_name(tmp_path):
    path = ruleset_file(tmp_path, """\
name: custom
domains:
  provider_oversight:
    targets:
      po_monthly_visit: {enabled: false}
""")
    with pytest.raises(InputError, match=r"rule po_visit_missed: position 1: unknown name 'po_monthly_visit.has_value'"):
        load_ruleset(path)


def test_a_ruleset_start_date_reads_day_first(tmp_path):
    from carecheck.ruleset import load_ruleset

    path = tmp_path / "r.yaml"
    path.write_text("name: r\nstart: 01/04/2026\ndomains:\n  incident_learning: {}\n")
    assert load_ruleset(path).model.start.isoformat() == "2026-04-01"


def test_a_bare_yaml_boolean_where_text_is_wanted_says_to_quote_it(run_cli, tmp_path):
    path = ruleset_file(tmp_path, "extends: cqc-recovery\nname: off\n")
    result = run_cli("validate", path)
    assert result.exit_code == 2
    assert result.stderr == (f"{path}: name: Input should be a valid string (YAML reads a bare yes, no, on, off, true "
                             "or false as true or false: put the word in quotes)\n")
