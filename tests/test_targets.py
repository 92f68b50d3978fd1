"""Every built-in target on a small hand-built fixture, against figures worked out by hand.

The working-day figures follow the England and Wales calendar of 2026: Good Friday 3 April and
Easter Monday 6 April, the early May bank holiday Monday 4 May.
"""

from datetime import date

import pytest

from carecheck.run import RunOptions, evaluate
from carecheck.ruleset import load_ruleset

from builders import add, one_domain, ruleset_file

AS_OF = date(2026, 5, 31)


def figures(verdict, target_id, service=None):
    for domain in verdict["domains"]:
        for target in domain["targets"]:
            if target["id"] == target_id:
                if service is None:
                    return target, {p["period"]: p for p in target["periods"]}
                row = next(s for s in target["services"] if s["service"] == service)
                return row, {p["period"]: p for p in row["periods"]}
    raise KeyError(target_id)


def check(verdict, target_id, expected: dict, status: str):
    target, periods = figures(verdict, target_id)
    got = {label: (p["numerator"], p["denominator"], sorted(p["failures"]), p["pending"]) for label, p in periods.items()}
    assert got == expected
    assert target["status"] == status


def run(db, tmp_path, domain, start, extra=""):
    path = ruleset_file(tmp_path, one_domain(domain, start, extra))
    return evaluate(db, load_ruleset(path), RunOptions(as_of=AS_OF, engine="reference")).verdict


# -- incident learning ---------------------------------------------------------------------------


@pytest.fixture
def incidents(db):
    add(db, "service", id="S1", service="Oak House", service_type="residential", aliases=["OAK"])
    rows = [
        # id, occurred, reviewed, learning action, learning shared
        ("I1", "02/04/2026 10:00", "13/04/2026 09:00", "A1", "14/04/2026 10:00"),  # Thu before Easter: due Mon 13 Apr
        ("I2", "02/04/2026 11:00", "14/04/2026 09:00", "A2", "15/04/2026 10:00"),  # a day late
        ("I3", "20/04/2026 08:00", None, None, None),  # never reviewed: due Mon 27 Apr
        ("I4", "01/04/2026 23:30", "09/04/2026 16:00", "A4", None),  # due Fri 10 Apr; learning shared at a briefing
        ("I7", "30/04/2026 14:00", "08/05/2026 12:00", None, None),  # early May bank holiday: due Fri 8 May
        ("I6", "14/05/2026 09:00", "19/05/2026 09:00", "A6", "20/05/2026 09:00"),
        ("I5", "15/05/2026 09:00", None, None, None),  # due Fri 22 May, still not reviewed on 31 May
    ]
    for record_id, occurred, reviewed, action, shared in rows:
        add(db, "incident", id=record_id, service="OAK", occurred_at=occurred, reviewed_at=reviewed,
            learning_action_id=action, learning_shared_at=shared)
    for action, raised in [("A1", "13/04/2026"), ("A2", "14/04/2026"), ("A4", "09/04/2026"), ("A6", "19/05/2026")]:
        add(db, "improvement_action", id=action, service="OAK", source_kind="incident", raised_on=raised,
            owner="Named owner", due_date="30/06/2026")
    # Governance meetings on 28 April and 26 May; A1 and A6 are checked at the next meeting, A2 only a month late.
    add(db, "governance_item", id="G1", service="OAK", meeting_date="28/04/2026", item_type="action_check", action_id="A1")
    add(db, "governance_item", id="G2", service="OAK", meeting_date="26/05/2026", item_type="action_check", action_id="A2")
    add(db, "governance_item", id="G3", service="OAK", meeting_date="26/05/2026", item_type="action_check", action_id="A6")
    add(db, "briefing", id="B4", service="OAK", held_at="10/04/2026 14:00", learning_action_id="A4")
    add(db, "practice_observation", id="O1", service="OAK", observed_at="20/04/2026 10:00", incident_id="I1", outcome="met")
    add(db, "practice_observation", id="O2", service="OAK", observed_at="23/04/2026 10:00", incident_id="I2", outcome="met")
    add(db, "practice_observation", id="O4", service="OAK", observed_at="17/04/2026 10:00", learning_action_id="A4",
        outcome="met")
    add(db, "governance_activity", id="T1", service="OAK", activity="monthly_incident_themes", performed_at="29/04/2026 15:00")
    return db


def test_review_within_five_working_days_over_easter_and_may_bank_holiday(incidents, tmp_path):
    verdict = run(incidents, tmp_path, "incident_learning", date(2026, 4, 1))
    # April: I1 (on the day), I4 and I7 on time; I2 late; I3 never reviewed. May: I6 on time; I5 overdue.
    check(verdict, "inc_review_5wd", {"2026-04": (3, 5, ["I2", "I3"], 0), "2026-05": (1, 2, ["I5"], 0)}, "not_improving")
    target, _ = figures(verdict, "inc_review_5wd")
    assert (target["baseline"], target["current"]) == (0.6, 0.5)


def test_learning_checked_at_the_next_governance_meeting(incidents, tmp_path):
    verdict = run(incidents, tmp_path, "incident_learning", date(2026, 4, 1))
    # I1's action checked on 28 Apr (next meeting after 13 Apr): pass. I2's only on 26 May: fail. I4's never: fail.
    check(verdict, "inc_learning_checked", {"2026-04": (1, 3, ["I2", "I4"], 0), "2026-05": (1, 1, [], 0)}, "improving")


def test_practice_observed_within_seven_days(incidents, tmp_path):
    verdict = run(incidents, tmp_path, "incident_learning", date(2026, 4, 1))
    # I1 shared 14 Apr, observed 20 Apr: pass. I2 shared 15 Apr, observed 23 Apr (due 22 Apr): fail.
    # I4 briefed 10 Apr, observed 17 Apr (due 17 Apr, inclusive): pass. I6 shared 20 May, never observed: fail.
    check(verdict, "inc_practice_observed", {"2026-04": (2, 3, ["I2"], 0), "2026-05": (0, 1, ["I6"], 0)},
          "not_improving")


def test_monthly_theme_review_cadence_drifts(incidents, tmp_path):
    verdict = run(incidents, tmp_path, "incident_learning", date(2026, 4, 1))
    check(verdict, "inc_monthly_themes", {"2026-04": (1, 1, [], 0), "2026-05": (0, 1, ["Oak House: 2026-05"], 0)},
          "deteriorating")


def test_shift_breakdown(incidents, tmp_path):
    verdict = run(incidents, tmp_path, "incident_learning", date(2026, 4, 1))
    _, periods = figures(verdict, "inc_review_5wd")
    # April: I1 Thu 10:00 day, I2 Thu 11:00 day, I3 Mon 08:00 day, I4 Wed 23:30 night, I7 Thu 14:00 day.
    assert periods["2026-04"]["shifts"] == {
        "day": {"numerator": 2, "denominator": 4, "value": 0.5},
        "night": {"numerator": 1, "denominator": 1, "value": 1.0},
    }


def test_shift_of_a_stored_time_or_a_datetime():
    from datetime import datetime, timezone

    from carecheck.domain_api import Context

    ctx = Context(params=None, as_of=AS_OF, period_kind="month", periods=[], current=None, services={},
                  aliases={}, working_days=None, shift_hours=(7, 20))
    assert ctx.shift("2026-04-04T10:00:00+01:00") == "weekend"  # a Saturday
    assert ctx.shift("2026-04-06T06:59:00+01:00") == "night"  # Easter Monday is a weekday: before 07:00
    assert ctx.shift("2026-04-07T07:00:00+01:00") == "day"
    assert ctx.shift("2026-04-07T19:59") == "day"
    assert ctx.shift("2026-04-07T20:00") == "night"
    assert ctx.shift("2026-04-07") == "unknown" and ctx.shift(None) is None  # a date alone is never night
    # 06:30 UTC is 07:30 in London in April (BST); 19:30 UTC on Friday 10 April is 20:30.
    assert ctx.shift(datetime(2026, 4, 7, 6, 30, tzinfo=timezone.utc)) == "day"
    assert ctx.shift(datetime(2026, 4, 10, 19, 30, tzinfo=timezone.utc)) == "night"


# -- safeguarding recording ---------------------------------------------------------------------


@pytest.fixture
def concerns(db):
    add(db, "service", id="S2", service="Riverside", service_type="supported_living")
    complete = dict(concern="At 09:00 staff saw a bruise.", immediate_action="Checked and supported",
                    manager_decision="refer", decision_rationale="Unexplained injury")
    add(db, "safeguarding_concern", id="C1", service="Riverside", raised_at="01/04/2026 09:00",
        manager_decision_at="01/04/2026 15:00", referral_at="01/04/2026 15:00", outcome_review_at="20/04/2026 10:00", **complete)
    add(db, "safeguarding_concern", id="C2", service="Riverside", raised_at="02/04/2026 09:00",
        manager_decision_at="03/04/2026 09:00", referral_at="03/04/2026 09:00", outcome_review_at="20/04/2026 10:00", **complete)  # decided late
    add(db, "safeguarding_concern", id="C3", service="Riverside", raised_at="03/04/2026 09:00",
        manager_decision_at="03/04/2026 12:00", referral_at="03/04/2026 12:00", outcome_review_at="20/04/2026 10:00",
        **dict(complete, decision_rationale=None))  # no rationale
    add(db, "safeguarding_concern", id="C4", service="Riverside", raised_at="06/04/2026 09:00",
        manager_decision_at="06/04/2026 12:00", referral_at="06/04/2026 12:00", **complete)  # no outcome review by 4 May
    add(db, "safeguarding_concern", id="C5", service="Riverside", raised_at="20/05/2026 09:00",
        manager_decision_at="20/05/2026 12:00", referral_at="20/05/2026 12:00", **complete)  # review not due until 17 June
    add(db, "safeguarding_concern", id="C6", service="Riverside", raised_at="05/05/2026 09:00",
        manager_decision_at="05/05/2026 12:00", referral_at="05/05/2026 12:00", outcome_review_at="25/05/2026 10:00", **complete)
    n = 0
    for day in range(1, 32):
        if day <= 30 and day not in (4, 5, 6):
            n += 1
            add(db, "governance_activity", id=f"D{n}", service="Riverside", activity="daily_screening",
                performed_at=f"{day:02d}/04/2026 08:00")
        n += 1
        add(db, "governance_activity", id=f"D{n}", service="Riverside", activity="daily_screening",
            performed_at=f"{day:02d}/05/2026 08:00")
    # Lead checks: twice in the weeks ending 12 and 19 April, once in the week ending 26 April,
    # twice in every week of May (weeks ending 3, 10, 17, 24 and 31 May).
    checks = ["07/04", "09/04", "14/04", "16/04", "21/04", "28/04", "30/04"] + [
        f"{d:02d}/05" for d in (5, 7, 12, 14, 19, 21, 26, 28)]
    for i, day in enumerate(checks):
        add(db, "governance_activity", id=f"L{i}", service="Riverside", activity="safeguarding_lead_check",
            performed_at=f"{day}/2026 10:00")
    for i, day in enumerate(["29/04", "06/05", "13/05", "20/05", "27/05"]):
        add(db, "governance_activity", id=f"W{i}", service="Riverside", activity="recording_sample",
            performed_at=f"{day}/2026 10:00")
    for i, day in enumerate(["28/04", "27/05"]):
        add(db, "governance_activity", id=f"M{i}", service="Riverside", activity="monthly_safeguarding_review",
            performed_at=f"{day}/2026 10:00")
    return db


def test_safeguarding_record_complete(concerns, tmp_path):
    verdict = run(concerns, tmp_path, "safeguarding_recording", date(2026, 4, 1))
    check(verdict, "sg_record_complete", {"2026-04": (1, 4, ["C2", "C3", "C4"], 0), "2026-05": (1, 1, [], 1)},
          "improving")


def test_safeguarding_cadences(concerns, tmp_path):
    verdict = run(concerns, tmp_path, "safeguarding_recording", date(2026, 4, 1))
    check(verdict, "sg_daily_screening",
          {"2026-04": (27, 30, ["Riverside: 2026-04-04", "Riverside: 2026-04-05", "Riverside: 2026-04-06"], 0),
           "2026-05": (31, 31, [], 0)}, "improving")
    # The week of 30 March to 5 April started before the evaluation and is not counted.
    check(verdict, "sg_lead_checks", {"2026-04": (2, 3, ["Riverside: 2026-W17"], 0), "2026-05": (5, 5, [], 0)},
          "improving")
    # The sample on 29 April falls in the week ending 3 May, which belongs to May.
    check(verdict, "sg_weekly_sample", {"2026-04": (0, 3, ["Riverside: 2026-W15", "Riverside: 2026-W16",
                                                            "Riverside: 2026-W17"], 0),
                                        "2026-05": (5, 5, [], 0)}, "improving")
    check(verdict, "sg_monthly_review", {"2026-04": (1, 1, [], 0), "2026-05": (1, 1, [], 0)}, "recovered")


def test_safeguarding_signals_fire_escalations(concerns, tmp_path):
    verdict = run(concerns, tmp_path, "safeguarding_recording", date(2026, 4, 1))
    # The current period is May: C5 and C6 are complete, so no recording escalation fires. The log
    # never gave whether a concern is an allegation, nor the review's outcome: two data gaps, no cap.
    assert [e["rule"] for e in verdict["escalations"] if e["rule"] != "data_gap"] == []
    assert sorted(e["facts"]["field"] for e in verdict["escalations"] if e["rule"] == "data_gap") == [
        "is_allegation_of_abuse", "outcome"]
    add(concerns, "feedback", id="F1", service="Riverside", received_at="10/05/2026 10:00", source="person",
        feels_safe="No")
    verdict = run(concerns, tmp_path, "safeguarding_recording", date(2026, 4, 1))
    (escalation,) = [e for e in verdict["escalations"] if e["rule"] != "data_gap"]
    assert (escalation["rule"], escalation["facts"], escalation["owner_role"]) == (
        "sg_unsafe_feedback", {"unsafe_feedback": 1}, "registered_manager")
    assert escalation["due"] == "2026-06-02"  # Sunday 31 May + 2 working days


# -- provider oversight -------------------------------------------------------------------------


@pytest.fixture
def visits(db):
    add(db, "service", id="S1", service="Oak House", service_type="residential")
    add(db, "oversight_visit", id="V1", service="Oak House", visit_date="10/03/2026", actions_agreed="A10;A11;A12",
        findings="word " * 30)
    add(db, "oversight_visit", id="V2", service="Oak House", visit_date="12/05/2026", actions_reviewed="A11=overdue",
        actions_agreed="A13", findings="word " * 30)
    action = dict(service="Oak House", source_kind="oversight_visit")
    add(db, "improvement_action", id="A10", source_id="V1", raised_on="10/03/2026", owner="Named", due_date="10/04/2026",
        status="completed", completed_on="05/04/2026", closure_evidence="Audit seen", **action)
    add(db, "improvement_action", id="A11", source_id="V1", raised_on="10/03/2026", owner="Named", due_date="30/04/2026",
        **action)
    add(db, "improvement_action", id="A12", source_id="V1", raised_on="10/03/2026", **action)  # no owner, no deadline
    add(db, "improvement_action", id="A13", source_id="V2", raised_on="12/05/2026", owner="Named", due_date="19/05/2026",
        status="completed", completed_on="20/05/2026", **action)  # closed without evidence
    add(db, "governance_item", id="B1", service="Oak House", meeting_date="30/03/2026", meeting_type="board",
        item_type="ni_review")
    # April holds other evidence, so its missing visit is a missed visit, not a gap in the evidence.
    add(db, "feedback", id="F1", service="Oak House", received_at="15/04/2026 10:00", source="staff", rating=4)
    return db


def test_provider_oversight_targets(visits, tmp_path):
    verdict = run(visits, tmp_path, "provider_oversight", date(2026, 3, 1))
    check(verdict, "po_monthly_visit",
          {"2026-03": (1, 1, [], 0), "2026-04": (0, 1, ["Oak House: 2026-04"], 0), "2026-05": (1, 1, [], 0)},
          "not_improving")  # met again in May, but no better than the March baseline and not yet sustained
    check(verdict, "po_action_quality",
          {"2026-03": (2, 3, ["A12"], 0), "2026-04": (0, 0, [], 0), "2026-05": (0, 1, ["A13"], 0)}, "not_improving")
    # At V2, A11 and A12 were still open; only A11 was reviewed.
    check(verdict, "po_previous_reviewed",
          {"2026-03": (0, 0, [], 0), "2026-04": (0, 0, [], 0), "2026-05": (0, 1, ["V2"], 0)}, "not_improving")
    # The board review on 30 March covers every month ending within 92 days of it.
    check(verdict, "po_quarterly_ni_review",
          {"2026-03": (1, 1, [], 0), "2026-04": (1, 1, [], 0), "2026-05": (1, 1, [], 0)}, "recovered")


def test_provider_oversight_escalation_ids_are_stable(visits, tmp_path):
    first = run(visits, tmp_path, "provider_oversight", date(2026, 3, 1))
    second = run(visits, tmp_path, "provider_oversight", date(2026, 3, 1))
    rules = sorted((e["rule"], e["id"]) for e in first["escalations"])
    # A13 closed without evidence; A11 is still open past its deadline of 30 April.
    assert [r for r, _ in rules] == ["po_evidence_before_closure", "po_overdue_actions"]
    assert rules == sorted((e["rule"], e["id"]) for e in second["escalations"])
    closure = next(e for e in first["escalations"] if e["rule"] == "po_evidence_before_closure")
    assert closure["facts"]["closed_without_evidence"] == 1
    assert closure["owner_role"] == "nominated_individual"
    overdue = next(e for e in first["escalations"] if e["rule"] == "po_overdue_actions")
    assert (overdue["facts"]["overdue_actions"], overdue["records"]) == (1, ["A11"])


def test_an_escalation_closes_when_an_action_citing_it_is_closed(visits, tmp_path):
    first = run(visits, tmp_path, "provider_oversight", date(2026, 3, 1))
    escalation = next(e for e in first["escalations"] if e["rule"] == "po_evidence_before_closure")
    assert escalation["status"] == "open"
    add(visits, "improvement_action", id="A20", service="Oak House", raised_on="01/06/2026", owner="Named",
        due_date="05/06/2026", escalation_id=escalation["id"])
    still_open = next(e for e in run(visits, tmp_path, "provider_oversight", date(2026, 3, 1))["escalations"]
                      if e["id"] == escalation["id"])
    assert (still_open["status"], still_open["answered_by"]) == ("open", ["A20"])
    visits["improvement_action"].update("A20", {"status": "completed", "completed_on": "2026-06-04"})
    closed = next(e for e in run(visits, tmp_path, "provider_oversight", date(2026, 3, 1))["escalations"]
                  if e["id"] == escalation["id"])
    assert (closed["id"], closed["status"]) == (escalation["id"], "closed")


def test_bank_holidays_are_kept_in_the_store(incidents, tmp_path, monkeypatch):
    from carecheck import dates

    run(incidents, tmp_path, "incident_learning", date(2026, 4, 1))
    stored = {day for (day,) in incidents.execute("SELECT day FROM bank_holidays WHERE year = 2026").fetchall()}
    assert {"2026-04-03", "2026-04-06", "2026-05-04", "2026-12-28"} <= stored

    def no_library(year):
        raise AssertionError("the holidays package was asked again")

    monkeypatch.setattr(dates, "bank_holidays", no_library)
    monkeypatch.setattr("carecheck.store.bank_holidays", no_library, raising=False)
    verdict = run(incidents, tmp_path, "incident_learning", date(2026, 4, 1))
    check(verdict, "inc_review_5wd", {"2026-04": (3, 5, ["I2", "I3"], 0), "2026-05": (1, 2, ["I5"], 0)}, "not_improving")
