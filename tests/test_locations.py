"""The location-first verdict: a failing home never hides in a pooled figure, and absence of evidence
is never scored as failure nor read as compliance."""

import json
import re
import sqlite3
from datetime import date

import pytest

from builders import add, ruleset_file
from carecheck.importing.generator import generate
from carecheck.importing.importer import import_source
from carecheck.importing.manifest import load_manifest
from carecheck.run import RunOptions, evaluate
from carecheck.ruleset import load_ruleset
from carecheck.store import open_store
from carecheck.verdict import Verdict


def _target(verdict, target_id):
    return next(t for d in verdict["domains"] for t in d["targets"] if t["id"] == target_id)


def _row(target, service):
    return next(s for s in target["services"] if s["service"] == service)


@pytest.fixture(scope="module")
def drifting_group(tmp_path_factory):
    folder = tmp_path_factory.mktemp("group")
    manifest = generate(folder / "export", services=20, months=6, seed=3, start=date(2026, 1, 1), notes_per_day=0,
                        drifting=1)
    db = open_store(folder / "group.db")
    for request in load_manifest(manifest):
        import_source(db, request)
    verdict = evaluate(db, load_ruleset(None), RunOptions(as_of=date(2026, 6, 30), engine="reference")).verdict
    db.close()
    from carecheck.verdict.chunks import plain

    return json.loads(json.dumps(verdict, default=plain))


def test_one_drifting_home_is_named_though_the_pooled_figure_recovers(drifting_group):
    verdict = drifting_group
    Verdict.model_validate(verdict)
    # The 20th location (the generator names the seventh onwards "Service NNN") misses all six of its
    # June incident reviews, after meeting them from March to May.
    assert verdict["verdict"]["lowest"] == {"level": "not_assured", "locations": ["Service 020"]}
    # Oak House, the second location, completes one safeguarding follow-up in four late every month;
    # Elm Court, the third, reviews one care plan in six late after an incident every month.
    assert verdict["verdict"]["levels"] == {"not_assured": 1, "partly_assured": 2, "assured": 0,
                                            "assured_sustained": 17}
    review = _target(verdict, "inc_review_5wd")
    june = next(p for p in review["periods"] if p["period"] == "2026-06")
    assert (june["numerator"], june["denominator"]) == (114, 120)  # 19 homes x 6 on time: 95%, the threshold
    assert review["pooled_status"] == "recovered"
    assert review["status"] == "deteriorating"
    assert review["location_statuses"] == {"deteriorating": 1, "recovered": 19}
    assert review["reason"] == "1 of 20 locations deteriorating: Service 020"
    summary = verdict["commissioner_summary"]
    under_review = {line["target"]: line for line in summary["under_review"]}
    assert under_review["inc_review_5wd"]["locations"] == ["Service 020"]
    assert "inc_review_5wd" not in {line["target"] for line in summary["improved"] + summary["maintained"]}
    drifting = next(loc for loc in verdict["locations"] if loc["service"] == "Service 020")
    assert [line["target"] for line in drifting["commissioner_summary"]["under_review"]] == ["inc_review_5wd"]
    assert verdict["verdict"]["summary"].startswith("Lowest assurance: not assured at 1 of 20 locations: Service 020.")


def _register(db, *names):
    for n, name in enumerate(names, 1):
        add(db, "service", id=f"S{n}", service=name, service_type="supported_living")


def _incident(db, record_id, service, day, reviewed_day, cause):
    add(db, "incident", id=record_id, service=service, occurred_at=f"{day} 10:00", harm_level="none", cause=cause,
        person_id=f"P-{record_id}", reviewed_at=f"{reviewed_day} 12:00")


def test_a_store_of_incidents_alone_is_insufficient_evidence_not_failure(db):
    _register(db, "Oak", "Elm")
    n = 0
    for service in ("Oak", "Elm"):
        for day, reviewed in (("07/04/2026", "08/04/2026"), ("12/05/2026", "13/05/2026"), ("09/06/2026", "10/06/2026")):
            n += 1
            _incident(db, f"I{n}", service, day, reviewed, f"cause {n}")
    verdict = evaluate(db, load_ruleset(None), RunOptions(as_of=date(2026, 6, 30), engine="reference")).verdict
    missing = {"sg_record_complete": "safeguarding_concern", "sg_daily_screening": "governance_activity",
               "sg_lead_checks": "governance_activity", "sg_weekly_sample": "governance_activity",
               "sg_monthly_review": "governance_activity", "inc_learning_checked": "governance_item",
               "inc_practice_observed": "practice_observation", "inc_monthly_themes": "governance_activity",
               "po_monthly_visit": "oversight_visit", "po_action_quality": "improvement_action",
               "po_previous_reviewed": "oversight_visit", "po_quarterly_ni_review": "governance_item",
               "inc_learning_identified": "improvement_action", "inc_care_plan_reviewed": "care_plan_review"}
    for target_id, kind in missing.items():
        target = _target(verdict, target_id)
        assert (target["status"], target["reason_code"], target["current"]) == ("insufficient_evidence", "no_records", None)
        assert kind.replace("_", " ") in target["reason"]  # the kind in words
        for row in target["services"]:
            assert (row["status"], row["reason_code"]) == ("insufficient_evidence", "no_records")
            assert all(p["denominator"] == 0 and list(p["failures"]) == [] for p in row["periods"])  # nothing counted
    assert _target(verdict, "inc_review_5wd")["status"] == "recovered"  # 100% in April, May and June
    gaps = [e for e in verdict["escalations"] if e["rule"] == "data_gap" and not e["facts"].get("field")]
    # The kinds targets need, and the register of deaths regulation 16 is checked over.
    assert sorted(e["facts"]["kind"] for e in gaps) == ["care_plan_review", "death", "governance_activity", "governance_item",
                                                       "improvement_action", "oversight_visit", "practice_observation",
                                                       "safeguarding_concern"]
    # The incidents never said whether anyone died, was seriously injured or involved the police: the
    # notification checks cannot be made, and each location is told which fields are missing. Nor
    # did they give a root cause, the manager's controls or when the form was made: the reviews
    # count on their dates alone, and the form is not judged.
    fields = sorted((e["service"], e["facts"]["kind"], e["facts"]["field"]) for e in verdict["escalations"]
                    if e["rule"] == "data_gap" and e["facts"].get("field"))
    assert fields == [(service, "incident", field) for service in ("Elm", "Oak")
                      for field in ("death", "immediate_controls", "learning_decision", "police_involved", "reported_at",
                                    "root_cause", "serious_injury")]
    for gap in gaps:
        assert (gap["owner_role"], gap["due"], gap["locations"]) == ("registered_manager", "2026-07-07", ["Elm", "Oak"])
    # No operational escalation on a target without evidence: no "increase provider visit frequency".
    assert [e["rule"] for e in verdict["escalations"] if e["rule"] != "data_gap"] == []
    # Not evidenced counts as short: of Oak's four incident targets one is met (reviews) and three
    # are not evidenced, and three of four short gives not assured.
    oak = next(loc for loc in verdict["locations"] if loc["service"] == "Oak")
    assert {d["domain"]: d["level"] for d in oak["domains"]} == {
        "safeguarding_recording": "not_assured", "incident_learning": "not_assured", "provider_oversight": "not_assured"}


COMPLETE = dict(concern="At 09:00 staff saw a bruise.", immediate_action="Checked and supported",
                manager_decision="refer", decision_rationale="Unexplained injury")


def _concern(db, record_id, service, day):
    add(db, "safeguarding_concern", id=record_id, service=service, raised_at=f"{day} 09:00",
        manager_decision_at=f"{day} 12:00", outcome_review_at=f"{day} 16:00", **COMPLETE)


def _note(db, record_id, service, day):
    add(db, "daily_note", id=record_id, service=service, written_at=f"{day} 08:00", person_id="P1",
        note="Settled.")


SAFEGUARDING = "name: sg\nstart: 2026-04-01\ndomains:\n  safeguarding_recording: {}\n"


def _safeguarding_run(db, tmp_path):
    ruleset = load_ruleset(ruleset_file(tmp_path, SAFEGUARDING))
    options = RunOptions(as_of=date(2026, 7, 31), engine="reference", targets=["sg_record_complete"])
    return evaluate(db, ruleset, options).verdict


@pytest.fixture
def safeguarding_store(db):
    """Periods April to July 2026, as of 31 July: July is current; the window (three periods) is May
    to July; the stale cutoff (two periods before July) is 1 May."""
    _register(db, "Oak", "Elm", "Ash", "Fir")
    _concern(db, "O4", "Oak", "10/04/2026")
    _concern(db, "O5", "Oak", "11/05/2026")
    _concern(db, "O6", "Oak", "10/06/2026")
    _note(db, "ON7", "Oak", "15/07/2026")
    _concern(db, "E4", "Elm", "10/04/2026")
    _concern(db, "E5", "Elm", "12/05/2026")
    _note(db, "EN7", "Elm", "16/07/2026")
    _concern(db, "A4", "Ash", "20/04/2026")  # and nothing since: no record of the domain since 1 May
    _concern(db, "F4", "Fir", "14/04/2026")
    _note(db, "FN5", "Fir", "15/05/2026")  # records since 1 May, but no concern in the window
    return db


def test_no_concerns_this_month_keeps_the_level_two_months_carries_and_a_rare_kind_is_not_stale(safeguarding_store, tmp_path):
    db = safeguarding_store
    verdict = _safeguarding_run(db, tmp_path)
    target = _target(verdict, "sg_record_complete")
    oak, elm, ash, fir = (_row(target, name) for name in ("Oak", "Elm", "Ash", "Fir"))
    # Oak: no concern in July; June's (1 of 1, met) is carried, with its status: met in April,
    # May and June.
    assert (oak["status"], oak["reason_code"], oak["carried"], oak["carried_from"], oak["judged"]) == (
        "recovered", "carried", True, "2026-06", True)
    assert oak["reason"] == ("no events in the current period; carried from 2026-06: met in the last 3 periods "
                             "with a value (1 of 1)")
    # Elm: none in June or July, but daily notes in July: May's figure is carried.
    assert (elm["reason_code"], elm["carried_from"], elm["judged"]) == ("carried", "2026-05", True)
    # Ash: one concern in April and nothing since. One month is too little to know its usual count
    # (three are needed), so the silence is not read as a stopped export: not judged.
    assert (ash["status"], ash["reason_code"], ash["judged"]) == ("insufficient_evidence", "no_events", False)
    # Fir: records since May, but no concern in the window: not judged, and said in its warnings.
    assert (fir["status"], fir["reason_code"], fir["judged"]) == ("insufficient_evidence", "no_events", False)
    locations = {loc["service"]: loc for loc in verdict["locations"]}
    assert locations["Fir"]["warnings"] == ["no safeguarding concern records at Fir since 2026-04-14"]
    assert locations["Fir"]["level"] is None
    assert locations["Ash"]["level"] is None
    # Elm's May status: met in April and May, but not yet in three periods, and no better than April.
    assert elm["status"] == "not_improving"
    assert target["location_statuses"] == {"not_improving": 1, "not_judged": 2, "recovered": 1}
    assert verdict["scope"] == {"services": [], "targets": ["sg_record_complete"]}

    # A concern in July (met) gives Oak the same level as carrying June's.
    carried_level = locations["Oak"]["level"]
    _concern(db, "O7", "Oak", "14/07/2026")
    again = _safeguarding_run(db, tmp_path)
    oak_now = _row(_target(again, "sg_record_complete"), "Oak")
    assert (oak_now["reason_code"], oak_now["current"]) == (None, 1.0)
    assert next(loc for loc in again["locations"] if loc["service"] == "Oak")["level"] == carried_level == "assured"


def test_an_empty_store_is_an_input_error(run_cli, db_path, db):
    _register(db, "Oak")
    result = run_cli("run", "--db", db_path, "--as-of", "2026-07-31")
    assert result.exit_code == 2
    assert result.stderr == "Error: no records imported: the store holds no evidence yet (carecheck import adds some)\n"


# An audit's own score is a record field, not an assurance score.
SCORE_WORDS = re.compile(r"(?<!audit )\b(score|scored|scores|percentage)\b", re.I)
RATING_WORDS = re.compile(r"\b(Outstanding|Good|Requires improvement|Inadequate)\b")  # CQC's ratings, capitalised


@pytest.mark.parametrize("fmt", ["table", "md", "html", "junit", "json"])
def test_no_format_shows_a_score_or_rating_word(run_cli, demo_copy, fmt):
    result = run_cli("run", "--db", demo_copy, "--as-of", "2026-08-31", "--engine", "reference", "--format", fmt)
    assert result.exit_code == 0
    text = result.stdout
    if fmt == "json":  # keys and values alike
        text = json.dumps(json.loads(text))
    assert SCORE_WORDS.findall(text) == [] and RATING_WORDS.findall(text) == []
    assert not re.search(r"\d of 4 \(", text)  # as in "2 of 4 (some shortfalls)"


def test_a_stored_run_of_schema_1_0_still_renders(run_cli, demo_copy):
    import zlib
    from pathlib import Path

    old = json.loads((Path(__file__).parent / "golden" / "stored-1.0.json").read_text())
    old["audit"].update(run_id="0ld0ld", generated_at="2026-09-01T09:00:00+01:00", python="3.11.7",
                        engine_note=None, carecheck_version="0.1.0",
                        plugins=[{"name": name, "version": "0.1.0"} for name in old["audit"]["plugins"]])
    old["ruleset"]["source"] = "cqc-recovery.yaml"
    old["history"] = {}
    conn = sqlite3.connect(demo_copy)
    with conn:
        conn.execute("INSERT INTO runs (run_id, created_at, as_of, ruleset, ruleset_hash, engine, score, percentage, "
                     "verdict_z, current_period) VALUES ('0ld0ld', '2026-09-01T09:00:00+01:00', '2026-08-31', "
                     "'cqc-recovery', 'x', 'reference', 2, 50, ?, '2026-08')",
                     [zlib.compress(json.dumps(old).encode())])
    conn.close()
    for fmt in ("table", "md", "html", "junit"):
        result = run_cli("report", "0ld0ld", "--db", demo_copy, "--format", fmt)
        assert result.exit_code == 0, result.stderr
        assert SCORE_WORDS.findall(result.stdout) == [] and "2 of 4" not in result.stdout
    table = run_cli("report", "0ld0ld", "--db", demo_copy).stdout
    assert "Stored by an earlier carecheck (verdict schema 1.0), before location levels" in table
    assert "Warning: stored with verdict schema 1.0, before verdicts were location-first: no location levels" in table
