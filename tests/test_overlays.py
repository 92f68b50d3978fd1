"""Ruleset overlays (``extends``) and guardrails: a loosened guarded value still runs, but caps its
domain at not assured everywhere and says so in every format; tightening is free; an inherited
guardrail cannot be changed."""

import json
import xml.etree.ElementTree as ET

import pytest

from builders import demo_store_in

AS_OF = "31/08/2026"
HOMES = ["Elm Court Nursing Home", "Oak House", "Riverside Supported Living", "Willow Lodge"]


@pytest.fixture(scope="module")
def demo_store(tmp_path_factory):
    return demo_store_in(tmp_path_factory.mktemp("overlay"))


def _overlay(tmp_path, name, days, extra=""):
    path = tmp_path / f"{name}.yaml"
    path.write_text(f"extends: cqc-recovery\nname: {name}\ndomains:\n  incident_learning:\n    parameters:\n"
                    f"      review_within_working_days: {days}\n{extra}")
    return path


def _levels(verdict, domain="incident_learning"):
    return {l["service"]: next(d["level"] for d in l["domains"] if d["domain"] == domain) for l in verdict["locations"]}


def _run(run_cli, ruleset, store, *extra):
    return run_cli("run", ruleset, "--db", store, "--as-of", AS_OF, "--no-save", *extra)


def test_the_base_ruleset_has_incident_learning_assured_where_an_overlay_loosens_it(run_cli, demo_store):
    verdict = json.loads(_run(run_cli, "cqc-recovery", demo_store, "--format", "json").stdout)
    # Elm Court's late care plan reviews keep it partly assured.
    assert _levels(verdict) == {"Elm Court Nursing Home": "partly_assured", "Oak House": "assured_sustained",
                                "Riverside Supported Living": "assured_sustained", "Willow Lodge": "not_assured"}
    assert verdict["audit"]["guardrails"] == "11 guardrails: none breached"
    assert [t.get("guardrail") for d in verdict["domains"] for t in d["targets"]] == [None] * 18


def test_a_loosened_guardrail_runs_but_caps_its_domain_everywhere_and_says_so(run_cli, demo_store, tmp_path):
    overlay = _overlay(tmp_path, "ten-days", 10)
    verdict = json.loads(_run(run_cli, overlay, demo_store, "--format", "json").stdout)
    assert _levels(verdict) == {home: "not_assured" for home in HOMES}
    # The other domains are untouched.
    assert _levels(verdict, "safeguarding_recording") == {home: "assured_sustained" for home in HOMES} | {
        "Oak House": "partly_assured"}  # its late follow-ups, as under the base ruleset
    breach = {"parameter": "incident_learning.review_within_working_days", "kind": "max", "limit": 5.0,
              "value": 10.0, "file": str(overlay)}
    incident = next(d for d in verdict["domains"] if d["domain"] == "incident_learning")
    assert {t["id"]: t["guardrail"] for t in incident["targets"]} == {
        "inc_review_5wd": breach, "inc_learning_identified": None, "inc_learning_checked": None,
        "inc_practice_observed": None, "inc_monthly_themes": None, "inc_care_plan_reviewed": None,
        "inc_reported_promptly": None}
    for location in verdict["locations"]:
        domain = next(d for d in location["domains"] if d["domain"] == "incident_learning")
        assert {"cap": "guardrail", "at_most": "not_assured"} in domain["level_caps"]
    assert verdict["audit"]["guardrail_breaches"] == [breach]
    assert verdict["audit"]["guardrails"] == "11 guardrails: 1 breached"
    chain = verdict["audit"]["ruleset_chain"]
    assert [c["file"].rsplit("/", 1)[-1] for c in chain] == ["cqc-recovery.yaml", "ten-days.yaml"]
    assert all(len(c["hash"]) == 32 for c in chain)

    said = (f"guardrail breached: incident_learning.review_within_working_days is 10 (set in {overlay}), above the "
            "most")
    for fmt in ("table", "md", "html"):
        # Markdown escapes the underscores it shows literally.
        assert said in _run(run_cli, overlay, demo_store, "--format", fmt).stdout.replace("\\_", "_"), fmt
    junit = ET.fromstring(_run(run_cli, overlay, demo_store, "--format", "junit").stdout)
    failures = {(case.get("classname"), case.get("name")): case.find("failure").get("message")
                for case in junit.iter("testcase") if case.find("failure") is not None}
    assert failures[("Oak House", "incident_learning.inc_review_5wd")].startswith(
        "guardrail breached: incident_learning.review_within_working_days is 10")
    assert failures[("Oak House", "level")].endswith("guardrail breached in incident_learning")


def test_tightening_a_guarded_value_runs_normally(run_cli, demo_store, tmp_path):
    verdict = json.loads(_run(run_cli, _overlay(tmp_path, "three-days", 3), demo_store, "--format", "json").stdout)
    assert verdict["audit"]["guardrail_breaches"] == []
    assert all(d["level_caps"] == [] or all(c["cap"] != "guardrail" for c in d["level_caps"])
               for l in verdict["locations"] for d in l["domains"])
    assert verdict["ruleset"]["name"] == "three-days"


def test_an_overlay_may_not_redefine_an_inherited_guardrail(run_cli, demo_store, tmp_path):
    overlay = _overlay(tmp_path, "sneaky", 10, "guardrails:\n  - {parameter: incident_learning.review_within_working_days, "
                                                "kind: max, limit: 10, protects: [inc_review_5wd]}\n")
    result = _run(run_cli, overlay, demo_store)
    assert result.exit_code == 2
    assert (f"{overlay}: guardrails: the guardrail on parameter incident_learning.review_within_working_days is "
            "inherited from") in result.stderr
    assert "may not be changed; an overlay may only add guardrails" in result.stderr


def test_disabling_a_required_target_is_a_breach(run_cli, demo_store, tmp_path):
    overlay = tmp_path / "no-visits.yaml"
    overlay.write_text("extends: cqc-recovery\nname: no-visits\ndomains:\n  provider_oversight:\n    targets:\n"
                       "      po_monthly_visit: {enabled: false}\n      po_quarterly_ni_review: {enabled: false}\n"
                       "    escalations:\n      po_visit_missed: {enabled: false}\n")
    verdict = json.loads(_run(run_cli, overlay, demo_store, "--format", "json").stdout)
    kinds = [(b["parameter"], b["kind"], b["value"]) for b in verdict["audit"]["guardrail_breaches"]]
    assert kinds == [("provider_oversight.po_monthly_visit", "required", None),
                     ("provider_oversight.po_quarterly_ni_review", "required", None)]
    assert set(_levels(verdict, "provider_oversight").values()) == {"not_assured"}


def test_a_cycle_of_extends_is_an_error_naming_the_files(run_cli, tmp_path):
    (tmp_path / "a.yaml").write_text("extends: b.yaml\nname: a\ndomains: {incident_learning: {}}\n")
    (tmp_path / "b.yaml").write_text("extends: a.yaml\nname: b\ndomains: {incident_learning: {}}\n")
    result = run_cli("validate", tmp_path / "a.yaml")
    assert result.exit_code == 2
    assert "extends makes a cycle" in result.stderr
    assert "a.yaml" in result.stderr and "b.yaml" in result.stderr


def test_ruleset_show_resolved_names_the_file_of_every_value(run_cli, tmp_path):
    overlay = _overlay(tmp_path, "ten-days", 10)
    shown = run_cli("ruleset", "show", overlay, "--resolved").stdout
    assert f"      review_within_working_days: 10  # {overlay}" in shown
    assert "      repeat_window_days: 30  # " in shown and "cqc-recovery.yaml" in shown.split("repeat_window_days")[1]
    assert 'name: "ten-days"  # ' + str(overlay) in shown
    assert '"parameter": "incident_learning.review_within_working_days", "kind": "max", "limit": 5' in shown


def test_a_waiver_does_not_lift_a_guardrail_breach(run_cli, demo_store, tmp_path):
    overlay = _overlay(tmp_path, "ten-days", 10)
    waivers = tmp_path / "waivers.yaml"
    waivers.write_text("- target: inc_review_5wd\n  justification: Review process being replaced\n"
                       "  approved_by: Registered manager\n  expires: 2026-12-31\n")
    verdict = json.loads(_run(run_cli, overlay, demo_store, "--format", "json", "--waivers", waivers).stdout)
    incident = next(d for d in verdict["domains"] if d["domain"] == "incident_learning")
    target = next(t for t in incident["targets"] if t["id"] == "inc_review_5wd")
    assert target["waiver"]["applies"] is True
    assert target["guardrail"]["value"] == 10.0
    # The waived target is not judged, but the domain's other targets are: still capped everywhere.
    assert _levels(verdict) == {home: "not_assured" for home in HOMES}


def test_validate_and_show_warn_of_guardrail_breaches_and_strict_fails(run_cli, tmp_path):
    # Two loosened guarded values (reviews in ten working days, candour in fifteen) and a required
    # target switched off (the monthly provider visit).
    overlay = _overlay(tmp_path, "loose", 10, "      candour_within_working_days: 15\n"
                                              "  provider_oversight:\n    targets:\n"
                                              "      po_monthly_visit: {enabled: false}\n"
                                              "    escalations:\n      po_visit_missed: {enabled: false}\n")
    result = run_cli("validate", overlay)
    assert result.exit_code == 0, result.stderr
    warnings = [line for line in result.stderr.splitlines() if line.startswith("Warning: guardrail breached:")]
    assert len(warnings) == 3, result.stderr
    assert any("review_within_working_days is 10" in w and "capped at not assured in every location" in w
               for w in warnings)
    assert any("po_monthly_visit" in w for w in warnings)
    assert result.stdout.endswith("valid (3 domains, 17 targets, 28 escalation rules, 3 guardrail warnings)\n")
    strict = run_cli("validate", overlay, "--strict")
    assert strict.exit_code == 1 and strict.stderr == result.stderr
    assert run_cli("validate", _overlay(tmp_path, "tight", 3), "--strict").exit_code == 0
    shown = run_cli("ruleset", "show", overlay, "--resolved")
    assert shown.exit_code == 0
    assert sum(line.startswith("# Warning: guardrail breached:") for line in shown.stdout.splitlines()) == 3
