"""Learning that must happen: reviews with substance, learning counted against every reviewed
incident, no "pending until the next meeting" for ever, care plans reviewed after harm, the
incident form completed at once, and incidents suggesting abuse set against safeguarding concerns.
Every figure, date and id below is worked out by hand from the records each test writes."""

import json
import sqlite3
from datetime import date

import pytest
from click.testing import CliRunner

from builders import ruleset_file, write_csv
from carecheck.cli import build_cli
from carecheck.ruleset import load_ruleset
from carecheck.run import RunOptions, evaluate
from carecheck.store import open_store

INCIDENTS_ONLY = "name: inc\nstart: 2026-04-01\ndomains:\n  incident_learning: {}\n"
SAFEGUARDING_ONLY = "name: sg\nstart: 2026-06-01\ndomains:\n  safeguarding_recording: {}\n"
SERVICES = [["id", "service", "service_type"], ["S1", "Oak", "residential"]]


def _import(run_cli, db_path, kind, path):
    result = run_cli("import", path, "--kind", kind, "--db", db_path)
    assert result.exit_code == 0, result.stderr


def _store(run_cli, tmp_path, name, **files):
    """A store of the service register and the given kinds, each from its own CSV rows."""
    db_path = tmp_path / f"{name}.db"
    _import(run_cli, db_path, "service", write_csv(tmp_path / f"{name}-services.csv", SERVICES))
    for kind, rows in files.items():
        _import(run_cli, db_path, kind, write_csv(tmp_path / f"{name}-{kind}.csv", rows))
    return db_path


def _run(db_path, tmp_path, text, as_of, **options):
    db = open_store(db_path)
    try:
        return evaluate(db, load_ruleset(ruleset_file(tmp_path, text)),
                        RunOptions(as_of=as_of, engine="reference", **options)).verdict
    finally:
        db.close()


def _figure(verdict, target, service, period):
    """(numerator, denominator, failing record ids, pending) of one location's period."""
    found = next(t for d in verdict["domains"] for t in d["targets"] if t["id"] == target)
    location = next(s for s in found["services"] if s["service"] == service)
    figure = next(p for p in location["periods"] if p["period"] == period)
    return figure["numerator"], figure["denominator"], list(figure["failures"]), figure["pending"]


def _escalations(verdict, rule):
    return [e for e in verdict["escalations"] if e["rule"] == rule]


def _gaps(verdict, kind="incident"):
    return sorted(e["facts"].get("field") for e in verdict["escalations"]
                  if e["rule"] == "data_gap" and e["facts"].get("kind") == kind and e["facts"].get("field"))


# -- learning removed from the demo ---------------------------------------------------------------


@pytest.fixture(scope="module")
def learning_removed(tmp_path_factory):
    """The demo's store with Riverside's learning of June to August removed: the incidents'
    improvement actions, the briefings and the practice observations, and the incidents' links to
    them, as the domain review did."""
    folder = tmp_path_factory.mktemp("removed")
    store = folder / "demo.db"
    result = CliRunner().invoke(build_cli(), ["demo", "--db", str(store), "--format", "json", "-o",
                                              str(folder / "v.json")])
    assert result.exit_code == 0, result.output
    with sqlite3.connect(store) as db:
        # Riverside's records carry its export code S001 (the register maps it to the name).
        june_on = "(SELECT id FROM incident WHERE service = 'S001' AND occurred_at >= '2026-06')"
        db.execute(f"DELETE FROM improvement_action WHERE source_kind = 'incident' AND source_id IN {june_on}")
        db.execute("DELETE FROM briefing WHERE service = 'S001' AND held_at >= '2026-06'")
        db.execute("DELETE FROM practice_observation WHERE service = 'S001' AND observed_at >= '2026-06'")
        db.execute("UPDATE incident SET learning_action_id = NULL, learning_shared_at = NULL "
                   "WHERE service = 'S001' AND occurred_at >= '2026-06'")
    result = CliRunner().invoke(build_cli(), ["run", "--db", str(store), "--as-of", "2026-08-31", "--no-save",
                                              "--format", "json"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_learning_never_identified_fails_and_takes_the_home_below_assured(learning_removed):
    riverside = "Riverside Supported Living"
    # The demo gives each home six incidents a month, each reviewed and given an improvement
    # action within five working days of its review. From June Riverside has none: 0 of 6 each
    # month, where May (untouched) was 6 of 6.
    assert _figure(learning_removed, "inc_learning_identified", riverside, "2026-05")[:2] == (6, 6)
    for month in ("2026-06", "2026-07", "2026-08"):
        numerator, denominator, failing, pending = _figure(learning_removed, "inc_learning_identified", riverside,
                                                           month)
        assert (numerator, denominator, pending, len(failing)) == (0, 6, 0, 6), month
    location = next(loc for loc in learning_removed["locations"] if loc["service"] == riverside)
    domain = next(d for d in location["domains"] if d["domain"] == "incident_learning")
    # Met for five months, then missed three in a row: deteriorating, so not assured.
    assert (domain["level"], domain["level_rule"]) == ("not_assured", "level_not_assured")
    (missing,) = [e for e in _escalations(learning_removed, "inc_learning_missing") if e["service"] == riverside]
    assert missing["reason"].startswith("Learning identified for every reviewed incident: 0 of 6 in 2026-08")
    # The other homes keep their learning.
    assert _figure(learning_removed, "inc_learning_identified", "Oak House", "2026-08")[:2] == (6, 6)


# -- reviews with substance -----------------------------------------------------------------------


INCIDENT_COLUMNS = ["id", "service", "person_id", "occurred_at", "incident_type", "harm_level", "death",
                    "police_involved", "serious_injury", "notifiable_safety_incident", "reported_at",
                    "immediate_action", "reviewed_at"]


def _incident(record_id, occurred, reviewed, **extra):
    """An incident of no harm and no statutory duty, reported with its action 30 minutes later."""
    day, time = occurred.split(" ")
    hour, minute = time.split(":")
    row = {"id": record_id, "service": "Oak", "person_id": f"P-{record_id}", "occurred_at": occurred,
           "incident_type": "other", "harm_level": "none", "death": "N", "police_involved": "N",
           "serious_injury": "N", "notifiable_safety_incident": "N",
           "reported_at": f"{day} {hour}:{int(minute) + 30:02d}", "immediate_action": "Made safe",
           "reviewed_at": reviewed}
    row.update(extra)
    return row


def _rows(incidents, columns):
    return [columns] + [[incident.get(c, "") for c in columns] for incident in incidents]


REVIEWED = [
    # Monday 1 June, reviewed Wednesday 3 June with no root cause written down.
    _incident("I1", "01/06/2026 09:00", "03/06/2026 10:00", root_cause="", immediate_controls="Sensor mat"),
    # Tuesday 2 June, reviewed Thursday 4 June with both.
    _incident("I2", "02/06/2026 09:00", "04/06/2026 10:00", root_cause="Wet floor", immediate_controls="Signs"),
    # Wednesday 3 June, reviewed Friday 12 June: seven working days, late whatever it records.
    _incident("I3", "03/06/2026 09:00", "12/06/2026 10:00", root_cause="Rushed round", immediate_controls="Rota"),
]


def test_a_review_with_a_blank_root_cause_does_not_count(run_cli, tmp_path):
    columns = INCIDENT_COLUMNS + ["root_cause", "immediate_controls"]
    store = _store(run_cli, tmp_path, "supplied", incident=_rows(REVIEWED, columns))
    verdict = _run(store, tmp_path, INCIDENTS_ONLY, date(2026, 6, 30), targets=["inc_review_5wd"])
    assert _figure(verdict, "inc_review_5wd", "Oak", "2026-06") == (1, 3, ["I1", "I3"], 0)
    assert "root_cause" not in _gaps(verdict) and "immediate_controls" not in _gaps(verdict)


def test_an_export_without_the_review_columns_keeps_its_figures_with_a_data_gap(run_cli, tmp_path):
    # The same incidents from a system that exports no root cause or controls: reviews count on
    # their dates alone (I1 and I2 on time, I3 late), as before these fields were read.
    store = _store(run_cli, tmp_path, "unsupplied", incident=_rows(REVIEWED, INCIDENT_COLUMNS))
    verdict = _run(store, tmp_path, INCIDENTS_ONLY, date(2026, 6, 30))
    assert _figure(verdict, "inc_review_5wd", "Oak", "2026-06") == (2, 3, ["I3"], 0)
    assert {"root_cause", "immediate_controls"} <= set(_gaps(verdict))
    gap = next(e for e in _escalations(verdict, "data_gap") if e["facts"].get("field") == "root_cause")
    assert gap["service"] == "Oak"


# -- learning identified, and checked at governance within a bound ----------------------------------


def test_learning_is_an_action_or_a_reasoned_decision_that_none_is_needed(run_cli, tmp_path):
    columns = INCIDENT_COLUMNS + ["learning_decision", "learning_rationale", "learning_action_id"]
    incidents = [
        # Reviewed Wednesday 3 June; its action raised Monday 8 June, within five working days (10 June).
        _incident("I1", "01/06/2026 09:00", "03/06/2026 10:00", learning_decision="action", learning_action_id="A1"),
        # Reviewed Thursday 4 June: nothing needed, with the reason.
        _incident("I2", "02/06/2026 09:00", "04/06/2026 10:00", learning_decision="none_needed",
                  learning_rationale="Isolated, cause removed"),
        # Reviewed Thursday 4 June: "none needed" with no reason does not excuse the missing action.
        _incident("I3", "02/06/2026 11:00", "04/06/2026 10:00", learning_decision="none_needed"),
        # Reviewed Friday 5 June, its action raised Monday 15 June: six working days, late.
        _incident("I4", "03/06/2026 09:00", "05/06/2026 10:00", learning_decision="action", learning_action_id="A4"),
    ]
    actions = [["id", "service", "source_kind", "source_id", "description", "raised_on", "due_date", "status"],
               ["A1", "Oak", "incident", "I1", "Handover change", "08/06/2026", "22/06/2026", "open"],
               ["A4", "Oak", "incident", "I4", "Footwear checks", "15/06/2026", "29/06/2026", "open"]]
    store = _store(run_cli, tmp_path, "identified", improvement_action=actions, incident=_rows(incidents, columns))
    verdict = _run(store, tmp_path, INCIDENTS_ONLY, date(2026, 6, 30))
    assert _figure(verdict, "inc_learning_identified", "Oak", "2026-06") == (2, 4, ["I3", "I4"], 0)
    (missing,) = _escalations(verdict, "inc_learning_missing")
    assert missing["records"] == ["I3", "I4"]


NO_MEETINGS = {
    "improvement_action": [
        ["id", "service", "source_kind", "source_id", "description", "raised_on", "due_date", "status"],
        ["A0", "Oak", "incident", "I0", "Footwear checks", "02/04/2026", "16/04/2026", "completed"],
        ["A1", "Oak", "incident", "I1", "Protected medicines round", "06/05/2026", "20/05/2026", "completed"],
    ],
    "incident": _rows([
        _incident("I0", "01/04/2026 09:00", "02/04/2026 10:00", learning_decision="action", learning_action_id="A0"),
        _incident("I1", "05/05/2026 09:00", "06/05/2026 10:00", learning_decision="action", learning_action_id="A1"),
    ], INCIDENT_COLUMNS + ["learning_decision", "learning_action_id"]),
    # The last governance meeting, on 22 April, checked A0; none has been held since.
    "governance_item": [["id", "service", "meeting_date", "meeting_type", "item_type", "action_id"],
                        ["G0", "Oak", "22/04/2026", "governance", "action_review", "A0"]],
    # Other evidence goes on arriving in June: a run as of 30 June is judged as of then.
    "feedback": [["id", "service", "received_at", "source"], ["F1", "Oak", "15/06/2026 10:00", "staff"]],
}


@pytest.fixture
def no_meetings(run_cli, tmp_path):
    return _store(run_cli, tmp_path, "no-meetings", **NO_MEETINGS)


def test_learning_pending_a_meeting_fails_after_35_days_with_no_meeting_since(no_meetings, tmp_path):
    # I1 was reviewed on Wednesday 6 May: its check was due at a meeting by 10 June (35 days).
    on_the_day = _run(no_meetings, tmp_path, INCIDENTS_ONLY, date(2026, 6, 10))
    assert _figure(on_the_day, "inc_learning_checked", "Oak", "2026-05")[2:] == ([], 1)
    assert not _escalations(on_the_day, "inc_no_governance")

    after = _run(no_meetings, tmp_path, INCIDENTS_ONLY, date(2026, 6, 11))
    assert _figure(after, "inc_learning_checked", "Oak", "2026-04") == (1, 1, [], 0)
    assert _figure(after, "inc_learning_checked", "Oak", "2026-05") == (0, 1, ["I1"], 0)
    (escalation,) = _escalations(after, "inc_no_governance")
    assert (escalation["service"], escalation["owner_role"], escalation["records"]) == ("Oak", "quality_lead", ["I1"])
    assert "no governance meeting since 2026-04-22" in escalation["reason"]
    domain = next(d for loc in after["locations"] for d in loc["domains"] if d["domain"] == "incident_learning")
    (signal,) = [s for s in domain["signals"] if s["signal"] == "learning_unchecked"]
    assert signal["records"] == ["I1"]


def test_a_unit_failed_for_want_of_a_meeting_shows_as_restated_in_diff(run_cli, no_meetings, tmp_path):
    ruleset = ruleset_file(tmp_path, INCIDENTS_ONLY, "inc.yaml")
    for as_of in ("10/06/2026", "30/06/2026"):
        result = run_cli("run", ruleset, "--db", no_meetings, "--as-of", as_of, "--format", "json")
        assert result.exit_code == 0, result.stderr
    runs = json.loads(run_cli("runs", "--db", no_meetings, "--json").stdout)
    changes = json.loads(run_cli("diff", runs[0]["run_id"], runs[1]["run_id"], "--db", no_meetings, "--json").stdout)
    # May could not be judged on 10 June (I1 pending); on 30 June it is 0 of 1.
    restated = [(c["target"], c["period"], c["before"], c["after"]) for c in changes["changed"]]
    assert ("inc_learning_checked", "2026-05", None, 0.0) in restated


# -- care plans and risk assessments after incidents -------------------------------------------------


def test_a_fall_with_no_care_plan_review_within_seven_days_fails(run_cli, tmp_path):
    incidents = [
        # A fall (no harm) on Monday 1 June; P1's care plan reviewed on 9 June, eight days later.
        _incident("I1", "01/06/2026 09:00", "02/06/2026 10:00", person_id="P1", incident_type="fall"),
        # A medication error with moderate harm on 2 June; P2's risk assessment reviewed 9 June, day 7.
        _incident("I2", "02/06/2026 09:00", "03/06/2026 10:00", person_id="P2", incident_type="medication",
                  harm_level="moderate", serious_injury="N", notifiable_safety_incident="N"),
        # A fall on 3 June; a review the next day, but of another person's plan.
        _incident("I3", "03/06/2026 09:00", "04/06/2026 10:00", person_id="P3", incident_type="fall"),
        # Another kind of incident with no harm: not in the target.
        _incident("I4", "04/06/2026 09:00", "05/06/2026 10:00", person_id="P4", incident_type="other"),
        # A fall with no person reference: left out, and counted in data quality.
        _incident("I5", "05/06/2026 09:00", "05/06/2026 10:00", person_id="", incident_type="fall"),
    ]
    reviews = [["id", "service", "person_id", "reviewed_on", "review_type", "incident_id"],
               ["R1", "Oak", "P1", "09/06/2026", "care_plan", "I1"],
               ["R2", "Oak", "P2", "09/06/2026", "risk_assessment", ""],
               ["R3", "Oak", "P9", "04/06/2026", "care_plan", ""]]
    store = _store(run_cli, tmp_path, "care", incident=_rows(incidents, INCIDENT_COLUMNS), care_plan_review=reviews)
    verdict = _run(store, tmp_path, INCIDENTS_ONLY, date(2026, 6, 30))
    assert _figure(verdict, "inc_care_plan_reviewed", "Oak", "2026-06") == (1, 3, ["I1", "I3"], 0)
    (missed,) = _escalations(verdict, "inc_care_plan_missed")
    assert missed["records"] == ["I1", "I3"]
    assert verdict["data_quality"]["left_out"] == [
        {"domain": "incident_learning", "target": "inc_care_plan_reviewed", "location": "Oak",
         "reason": "no person reference", "records": 1, "examples": ["I5"]}]


# -- the incident form ------------------------------------------------------------------------------


def test_the_form_is_reported_within_24_hours_with_its_immediate_action(run_cli, tmp_path):
    incidents = [
        _incident("I1", "01/06/2026 09:00", "02/06/2026 10:00", reported_at="02/06/2026 09:00"),  # 24 hours
        _incident("I2", "01/06/2026 10:00", "02/06/2026 10:00", reported_at="02/06/2026 11:00"),  # 25 hours
        _incident("I3", "01/06/2026 11:00", "02/06/2026 10:00", immediate_action=""),  # on time, no action
    ]
    store = _store(run_cli, tmp_path, "forms", incident=_rows(incidents, INCIDENT_COLUMNS))
    verdict = _run(store, tmp_path, INCIDENTS_ONLY, date(2026, 6, 30))
    assert _figure(verdict, "inc_reported_promptly", "Oak", "2026-06") == (1, 3, ["I2", "I3"], 0)
    (late,) = _escalations(verdict, "inc_form_late")
    assert late["records"] == ["I2", "I3"]


def test_an_export_without_report_times_leaves_the_form_target_unjudged(run_cli, tmp_path):
    columns = [c for c in INCIDENT_COLUMNS if c != "reported_at"]
    store = _store(run_cli, tmp_path, "no-times", incident=_rows([_incident("I1", "01/06/2026 09:00", "")], columns))
    verdict = _run(store, tmp_path, INCIDENTS_ONLY, date(2026, 6, 30))
    assert _figure(verdict, "inc_reported_promptly", "Oak", "2026-06")[:2] == (0, 0)
    assert "reported_at" in _gaps(verdict)


# -- incidents suggesting abuse, against safeguarding concerns ----------------------------------------


def test_an_incident_flagged_as_safeguarding_with_no_concern_raises_the_signal(run_cli, tmp_path):
    columns = INCIDENT_COLUMNS + ["safeguarding_flag"]
    incidents = [
        # Flagged on Tuesday 2 June; no concern for P1.
        _incident("I1", "02/06/2026 09:00", "03/06/2026 10:00", person_id="P1", safeguarding_flag="Y"),
        # An unexplained injury on 2 June; a concern for P2 the next day.
        _incident("I2", "02/06/2026 10:00", "03/06/2026 10:00", person_id="P2", incident_type="unexplained_injury",
                  safeguarding_flag="N"),
        # An unexplained injury on 2 June; a concern for P3 five days later, past the two days.
        _incident("I3", "02/06/2026 11:00", "03/06/2026 10:00", person_id="P3", incident_type="unexplained_injury",
                  safeguarding_flag="N"),
        # A fall, not flagged: nothing to raise.
        _incident("I4", "02/06/2026 12:00", "03/06/2026 10:00", person_id="P4", incident_type="fall",
                  safeguarding_flag="N"),
    ]
    concerns = [["id", "service", "person_id", "raised_at", "is_allegation_of_abuse", "concern"],
                ["C2", "Oak", "P2", "03/06/2026 09:00", "N", "At 09:00 a bruise was found on the arm."],
                ["C3", "Oak", "P3", "07/06/2026 09:00", "N", "At 09:00 a bruise was found on the leg."]]
    store = _store(run_cli, tmp_path, "flags", incident=_rows(incidents, columns), safeguarding_concern=concerns)
    verdict = _run(store, tmp_path, SAFEGUARDING_ONLY, date(2026, 6, 30))
    domain = next(d for loc in verdict["locations"] for d in loc["domains"] if d["domain"] == "safeguarding_recording")
    (signal,) = [s for s in domain["signals"] if s["signal"] == "incident_without_concern"]
    assert signal["records"] == ["I1", "I3"]
    (escalation,) = _escalations(verdict, "sg_incident_without_concern")
    assert (escalation["owner_role"], escalation["records"]) == ("safeguarding_lead", ["I1", "I3"])


def test_the_fields_a_review_can_require_are_incident_fields(tmp_path):
    from carecheck.plugins.incident_learning import REVIEW_FIELDS
    from carecheck.records import Incident

    assert set(REVIEW_FIELDS) <= set(Incident.content_fields())
    bad = ruleset_file(tmp_path, "name: x\ndomains:\n  incident_learning:\n    parameters: {review_requires: [root_cuase]}\n")
    from carecheck.errors import InputError

    with pytest.raises(InputError, match=r"parameters\.review_requires: not incident fields a review records .*: "
                                         r"root_cuase$"):
        load_ruleset(bad)
