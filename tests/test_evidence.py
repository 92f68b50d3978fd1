"""Evidence that corroborates: categories as the framework assigns them, corroboration in the window,
and escalations that name their records in plain words."""

import re
from datetime import date

import pytest

from builders import add, ruleset_file
from carecheck.run import RunOptions, evaluate
from carecheck.ruleset import load_ruleset


def _location_domain(verdict, service, domain):
    location = next(loc for loc in verdict["locations"] if loc["service"] == service)
    return next(d for d in location["domains"] if d["domain"] == domain)


def test_incident_records_are_processes_and_observations_observation(db, tmp_path):
    """The seed's residential incident example: records of incidents and practice observations give
    processes and observation evidence; a repeat-incident rate is outcomes evidence only where the
    framework uses outcomes (not for residential services)."""
    add(db, "service", id="S1", service="Oak", service_type="residential")
    add(db, "service", id="S2", service="Ash", service_type="supported_living")
    for service in ("Oak", "Ash"):
        for month in (5, 6, 7):
            record = f"{service}-I{month}"
            add(db, "incident", id=record, service=service, occurred_at=f"05/{month:02d}/2026 10:00", cause="fall",
                person_id="P1", harm_level="none", reviewed_at=f"06/{month:02d}/2026 10:00")
            add(db, "practice_observation", id=f"{service}-O{month}", service=service,
                observed_at=f"10/{month:02d}/2026 10:00", incident_id=record, outcome="met",
                staff_aware_of_guidance=True)
    ruleset = ruleset_file(tmp_path, "name: inc\nstart: 2026-05-01\ndomains:\n  incident_learning: {}\n")
    verdict = evaluate(db, load_ruleset(ruleset), RunOptions(as_of=date(2026, 7, 31), engine="reference")).verdict
    oak = _location_domain(verdict, "Oak", "incident_learning")
    assert oak["evidence_categories"] == ["observation", "processes"]
    # Falls of the same person with the same cause on 5 May, 5 June and 5 July: June's is 31 days
    # after May's, outside the 30-day window for any repeat of a person but inside the 90 days for
    # the same person and cause; so is July's: 2 of 3.
    assert oak["outcome_measures"] == {"repeat_incident_rate": round(2 / 3, 6)}
    ash = _location_domain(verdict, "Ash", "incident_learning")
    assert ash["evidence_categories"] == ["observation", "processes", "outcomes"]
    (domain,) = verdict["domains"]
    sources = {s["source"]: (s["category"], s["records"]) for s in domain["triangulation"]}
    assert sources["incident records"] == ("processes", 6)
    assert sources["practice observation audit"] == ("observation", 6)


def _complete_concern(db, record_id, service, day):
    add(db, "safeguarding_concern", id=record_id, service=service, raised_at=f"{day} 09:00",
        concern="At 09:00 staff saw a bruise.", immediate_action="Checked and supported", manager_decision="refer",
        decision_rationale="Unexplained injury", manager_decision_at=f"{day} 12:00", outcome_review_at=f"{day} 16:00")


@pytest.fixture
def recovered_safeguarding(db):
    """Oak's safeguarding records are complete from April to July 2026 (as of 31 July, the window is
    May to July)."""
    add(db, "service", id="S1", service="Oak", service_type="supported_living")
    for month in (4, 5, 6, 7):
        _complete_concern(db, f"C{month}", "Oak", f"08/{month:02d}/2026")
    # Feedback before the window never counts toward the current judgement.
    add(db, "feedback", id="F-OLD", service="Oak", received_at="10/04/2026 10:00", source="person", feels_safe=False)
    return db


def _feedback(db, safe_flags):
    for n, safe in enumerate(safe_flags, 1):
        add(db, "feedback", id=f"F{n}", service="Oak", received_at=f"{n:02d}/06/2026 10:00", source="family",
            feels_safe=safe)


def _run(db, tmp_path):
    ruleset = ruleset_file(tmp_path, "name: sg\nstart: 2026-04-01\ndomains:\n  safeguarding_recording: {}\n")
    options = RunOptions(as_of=date(2026, 7, 31), engine="reference", targets=["sg_record_complete"])
    return evaluate(db, load_ruleset(ruleset), options).verdict


def test_feedback_that_contradicts_met_targets_caps_the_domain(recovered_safeguarding, tmp_path):
    db = recovered_safeguarding
    _feedback(db, [True] * 5 + [False] * 3 + [None])  # an entry that does not say is left out
    domain = _location_domain(_run(db, tmp_path), "Oak", "safeguarding_recording")
    people = next(e for e in domain["corroboration"] if e["source"] == "feedback from people and families")
    assert people == {"category": "people_experience", "source": "feedback from people and families", "supporting": 5,
                      "total": 8, "share": 0.625, "state": "contradicting"}
    # Recovered, with two categories in the window (processes, people's experience): assured, capped.
    assert (domain["level"], domain["level_rule"]) == ("partly_assured", "cap_contradicting_evidence")
    assert domain["level_caps"] == [{"cap": "contradicting_evidence", "at_most": "partly_assured"}]
    assert ("records meet every judged target, but 3 of 8 feedback from people and families in the window say the "
            "person does not feel safe") in domain["warnings"]


def test_too_few_feedback_entries_neither_corroborate_nor_cap(recovered_safeguarding, tmp_path):
    db = recovered_safeguarding
    _feedback(db, [True, False])
    domain = _location_domain(_run(db, tmp_path), "Oak", "safeguarding_recording")
    people = next(e for e in domain["corroboration"] if e["source"] == "feedback from people and families")
    assert (people["supporting"], people["total"], people["state"]) == (1, 2, "too_few")
    assert (domain["level"], domain["level_caps"]) == ("assured", [])


TRIGGER = re.compile(r"has_value|\.met\b")


def test_every_escalation_names_its_records_in_plain_words(run_cli, demo_copy):
    import json

    verdict = json.loads(run_cli("run", "--db", demo_copy, "--as-of", "2026-08-31", "--engine", "reference",
                                 "--format", "json").stdout)
    assert verdict["escalations"]
    for escalation in verdict["escalations"]:
        assert escalation["records"] and escalation["records"] == sorted(escalation["records"])
        assert escalation["records_total"] >= len(escalation["records"])
        assert not TRIGGER.search(escalation["reason"])
        assert all(record in escalation["reason"] for record in escalation["records"][:10])
    review = next(e for e in verdict["escalations"] if e["rule"] == "inc_review_delayed" and e["service"] == "Oak House")
    # August at Oak House: 6 incidents, one (INC-0002843) reviewed late.
    assert review["reason"] == "Incidents reviewed within five working days: 5 of 6 in 2026-08, below 95%: INC-0002843"
    assert (review["records"], review["records_total"]) == (["INC-0002843"], 1)
    for fmt in ("table", "md", "html"):
        text = run_cli("run", "--db", demo_copy, "--as-of", "2026-08-31", "--engine", "reference",
                       "--format", fmt).stdout
        assert not TRIGGER.search(text), fmt


def test_every_signal_with_a_value_is_shown_with_its_records(run_cli, demo_copy):
    import json

    verdict = json.loads(run_cli("run", "--db", demo_copy, "--as-of", "2026-08-31", "--engine", "reference",
                                 "--format", "json").stdout)
    oversight = _location_domain(verdict, "Oak House", "provider_oversight")
    closed = next(s for s in oversight["signals"] if s["signal"] == "closed_without_evidence")
    assert closed["value"] == len(closed["records"]) == 2
    assert closed["sentence"] == ("2 visit actions closed in 2026-08 with no follow-up evidence: "
                                  + ", ".join(closed["records"]))
    assert closed["sentence"] in oversight["warnings"]


def test_records_after_the_window_do_not_count(recovered_safeguarding, tmp_path):
    """As of 10 August, July is the current period and August is partial: August's feedback is
    outside the window (May to July)."""
    db = recovered_safeguarding
    _feedback(db, [True] * 5 + [False] * 3)
    for n in range(3):
        add(db, "feedback", id=f"F-AUG{n}", service="Oak", received_at=f"0{n + 1}/08/2026 10:00", source="person",
            feels_safe=False)
    ruleset = ruleset_file(tmp_path, "name: sg\nstart: 2026-04-01\ndomains:\n  safeguarding_recording: {}\n")
    options = RunOptions(as_of=date(2026, 8, 10), engine="reference", targets=["sg_record_complete"])
    verdict = evaluate(db, load_ruleset(ruleset), options).verdict
    assert verdict["periods"]["partial"] == "2026-08"
    domain = _location_domain(verdict, "Oak", "safeguarding_recording")
    people = next(e for e in domain["corroboration"] if e["source"] == "feedback from people and families")
    assert (people["supporting"], people["total"]) == (5, 8)
