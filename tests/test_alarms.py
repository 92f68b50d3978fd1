"""Alarms that mean something: one unit short after recovery is slipping, not a collapse. Every
figure and date below is worked out by hand from the records written here."""

from datetime import date, timedelta

import pytest

from builders import add, ruleset_file
from carecheck.ruleset import load_ruleset
from carecheck.run import RunOptions, evaluate
from carecheck.store import open_store

RULESET = "name: inc\nstart: 2026-03-01\ndomains:\n  incident_learning: {}\n"
TARGETS = ["inc_review_5wd", "inc_reported_promptly"]


def _reviews(db_path, late_by_month: dict[int, int]):
    """Oak House: six incidents a month from March (on the 2nd to the 7th at 09:00), each reported
    within the hour; each reviewed the next day, except ``late_by_month[month]`` of them, reviewed
    fifteen days later (past five working days)."""
    db = open_store(db_path)
    add(db, "service", id="S1", service="Oak House", service_type="residential")
    for month in range(3, 9):
        late = late_by_month.get(month, 0)
        for n, day in enumerate(range(2, 8)):
            occurred = date(2026, month, day)
            reviewed = occurred + timedelta(days=15 if n < late else 1)
            add(db, "incident", id=f"I-{month}-{day}", service="Oak House", person_id=f"P-{month}-{day}",
                incident_type="other", harm_level="none", death=False, police_involved=False, serious_injury=False,
                notifiable_safety_incident=False, occurred_at=f"{occurred.isoformat()}T09:00:00",
                reported_at=f"{occurred.isoformat()}T09:30:00", immediate_action="Made safe",
                reviewed_at=f"{reviewed.isoformat()}T10:00:00", root_cause="Found", immediate_controls="In place")
    db.close()
    return db_path


def _judged(db_path, tmp_path, as_of):
    db = open_store(db_path)
    try:
        verdict = evaluate(db, load_ruleset(ruleset_file(tmp_path, RULESET)),
                           RunOptions(as_of=as_of, engine="reference", targets=TARGETS)).verdict
    finally:
        db.close()
    target = next(t for d in verdict["domains"] for t in d["targets"] if t["id"] == "inc_review_5wd")
    row = next(s for s in target["services"] if s["service"] == "Oak House")
    location = next(loc for loc in verdict["locations"] if loc["service"] == "Oak House")
    domain = next(d for d in location["domains"] if d["domain"] == "incident_learning")
    return row, domain


@pytest.mark.parametrize("late, as_of, status, level", [
    # March to May 6 of 6: recovered. June 5 of 6: one more on time would have met 95% (6 of 6).
    ({6: 1}, date(2026, 6, 30), "slipping", "partly_assured"),
    # July 5 of 6 again: a second consecutive miss.
    ({6: 1, 7: 1}, date(2026, 7, 31), "deteriorating", "not_assured"),
    # June 0 of 6: a larger miss is never slipping.
    ({6: 6}, date(2026, 6, 30), "deteriorating", "not_assured"),
    # June 4 of 6: two short.
    ({6: 2}, date(2026, 6, 30), "deteriorating", "not_assured"),
])
def test_one_late_review_after_recovery_is_slipping_not_a_collapse(db_path, tmp_path, late, as_of, status, level):
    row, domain = _judged(_reviews(db_path, late), tmp_path, as_of)
    assert row["status"] == status
    # Two judged targets, the reporting one met: slipping alone is partly assured, never not assured.
    assert domain["level"] == level


# -- repeats by person, clusters by the location's own rate -------------------------------------


def _incident(db, record_id, service, day, person, cause):
    add(db, "incident", id=record_id, service=service, person_id=person, cause=cause, incident_type="fall",
        harm_level="none", death=False, police_involved=False, serious_injury=False, notifiable_safety_incident=False,
        occurred_at=f"{day.isoformat()}T09:00:00", reported_at=f"{day.isoformat()}T09:30:00",
        immediate_action="Made safe", reviewed_at=f"{day.isoformat()}T15:00:00")


def _signals(db_path, tmp_path, as_of):
    db = open_store(db_path)
    try:
        verdict = evaluate(db, load_ruleset(ruleset_file(tmp_path, "name: inc\nstart: 2026-01-01\ndomains:\n"
                                                                     "  incident_learning: {}\n")),
                           RunOptions(as_of=as_of, engine="reference")).verdict
    finally:
        db.close()
    found = {}
    for location in verdict["locations"]:
        domain = next(d for d in location["domains"] if d["domain"] == "incident_learning")
        found[location["service"]] = {s["signal"]: s["records"] for s in domain["signals"]}
    fired = sorted(e["service"] for e in verdict["escalations"] if e["rule"] == "inc_repeated_themes")
    return found, fired


def test_a_cluster_is_judged_against_the_homes_own_rate(db_path, tmp_path):
    db = open_store(db_path)
    add(db, "service", id="S1", service="Oak House", service_type="residential")
    add(db, "service", id="S2", service="Elm Court", service_type="residential")
    # The window is August to October (as of 31 October); the baseline, the six months before it:
    # February to July. Oak House: one fall from the environment a quarter (10 February, 10 May):
    # 2 / 6 a month. Elm Court: four a month.
    for month in (2, 5):
        _incident(db, f"OAK-{month}", "Oak House", date(2026, month, 10), f"P-OAK-{month}", "environment")
    for month in range(2, 10):
        for n in range(4):
            _incident(db, f"ELM-{month}-{n}", "Elm Court", date(2026, month, 3 + 5 * n), f"P-ELM-{month}-{n}",
                      "environment")
    # October: four at Oak House, six at Elm Court, each for a different person.
    for n in range(4):
        _incident(db, f"OAK-10-{n}", "Oak House", date(2026, 10, 5 + 3 * n), f"P-OAK-10-{n}", "environment")
    for n in range(6):
        _incident(db, f"ELM-10-{n}", "Elm Court", date(2026, 10, 2 + 4 * n), f"P-ELM-10-{n}", "environment")
    db.close()
    signals, fired = _signals(db_path, tmp_path, date(2026, 10, 31))
    # Oak House: P(X >= 4) at 1/3 a month is about 0.0004, below 0.05: a cluster.
    assert signals["Oak House"].get("incident_clusters") == [f"OAK-10-{n}" for n in range(4)]
    # Elm Court: P(X >= 6) at 4 a month is about 0.21: its usual run of falls, no cluster.
    assert "incident_clusters" not in signals["Elm Court"]
    # Nobody repeats: shared causes alone are never a repeat.
    assert "repeated_incidents" not in signals["Oak House"] and "repeated_incidents" not in signals["Elm Court"]
    assert fired == ["Oak House"]


def test_a_repeat_is_the_same_person_not_the_same_cause(db_path, tmp_path):
    db = open_store(db_path)
    add(db, "service", id="S1", service="Oak House", service_type="residential")
    # P1: 1 August and 20 October (80 days), the same cause: within 90 days, a repeat.
    _incident(db, "A1", "Oak House", date(2026, 8, 1), "P1", "equipment")
    _incident(db, "A2", "Oak House", date(2026, 10, 20), "P1", "equipment")
    # P2: 1 August and 20 October, another cause: beyond 30 days, not a repeat.
    _incident(db, "B1", "Oak House", date(2026, 8, 1), "P2", "equipment")
    _incident(db, "B2", "Oak House", date(2026, 10, 20), "P2", "behaviour")
    # P3: 25 September and 10 October (15 days), any cause: a repeat.
    _incident(db, "C1", "Oak House", date(2026, 9, 25), "P3", "staffing")
    _incident(db, "C2", "Oak House", date(2026, 10, 10), "P3", "equipment")
    # P4 and P5: the same cause a day apart, different people: not a repeat.
    _incident(db, "D1", "Oak House", date(2026, 10, 1), "P4", "behaviour")
    _incident(db, "D2", "Oak House", date(2026, 10, 2), "P5", "behaviour")
    db.close()
    signals, _ = _signals(db_path, tmp_path, date(2026, 10, 31))
    assert signals["Oak House"]["repeated_incidents"] == ["A2", "C2"]
