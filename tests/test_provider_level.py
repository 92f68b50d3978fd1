"""Provider-level records and targets, and the tracker reviewed. Every figure and date below is
worked out by hand from the records written here."""

from datetime import date

import pytest

from builders import add, ruleset_file
from carecheck.errors import InputError
from carecheck.ruleset import load_ruleset
from carecheck.run import RunOptions, evaluate
from carecheck.store import open_store

SAFEGUARDING = "name: sg\nstart: 2026-03-01\ndomains:\n  safeguarding_recording: {}\n"


def _run(db, tmp_path, text, as_of, **options):
    return evaluate(db, load_ruleset(ruleset_file(tmp_path, text)),
                    RunOptions(as_of=as_of, engine="reference", **options)).verdict


def _target(verdict, target_id):
    return next(t for d in verdict["domains"] for t in d["targets"] if t["id"] == target_id)


def _by_location(verdict, target_id):
    """Each location's (numerator, denominator) per period of a target."""
    target = _target(verdict, target_id)
    return {row["service"]: {p["period"]: (p["numerator"], p["denominator"]) for p in row["periods"]}
            for row in target["services"]}


def _homes(db, provider_row: bool = True):
    add(db, "service", id="S1", service="Oak House", service_type="residential")
    add(db, "service", id="S2", service="Elm Court", service_type="nursing")
    if provider_row:
        add(db, "service", id="HQ", service="Head Office", service_type="provider", aliases="Head office;HO")


def _monthly_reviews(db, service, months):
    for month in months:
        add(db, "governance_activity", id=f"GA-{service}-{month}", service=service,
            activity="monthly_safeguarding_review", performed_at=f"2026-{month:02d}-25T10:00:00")


@pytest.fixture
def reviewed_at_head_office(db):
    """The nominated individual's review recorded at Head Office in March, April and May, and in
    June at Elm Court (an alias of none of them): a review at any location counts for all."""
    _homes(db)
    _monthly_reviews(db, "HO", [3, 4, 5])
    _monthly_reviews(db, "Elm Court", [6])
    _feedback_every_month(db)
    return db


def test_a_review_at_head_office_counts_for_every_location(reviewed_at_head_office, tmp_path):
    verdict = _run(reviewed_at_head_office, tmp_path, SAFEGUARDING, date(2026, 6, 30), targets=["sg_monthly_review"])
    every_month = {"2026-03": (1, 1), "2026-04": (1, 1), "2026-05": (1, 1), "2026-06": (1, 1)}
    assert _by_location(verdict, "sg_monthly_review") == {"Elm Court": every_month, "Oak House": every_month}
    target = _target(verdict, "sg_monthly_review")
    assert target["scope"] == "provider"
    # Judged once: the pooled figures are the provider's, not a sum over the two homes.
    assert [(p["numerator"], p["denominator"]) for p in target["periods"]] == [(1, 1)] * 4
    assert [s["status"] for s in target["services"]] == ["recovered", "recovered"]


def test_head_office_is_never_a_location(reviewed_at_head_office, tmp_path):
    verdict = _run(reviewed_at_head_office, tmp_path, SAFEGUARDING, date(2026, 6, 30))
    assert [s["service"] for s in verdict["services"]] == ["Elm Court", "Oak House"]
    assert [loc["service"] for loc in verdict["locations"]] == ["Elm Court", "Oak House"]
    assert "2 location" in verdict["verdict"]["summary"] and "Head Office" not in verdict["verdict"]["summary"]
    assert verdict["data_quality"]["unattributed"] == []
    for target in (t for d in verdict["domains"] for t in d["targets"]):
        assert [s["service"] for s in target["services"]] == ["Elm Court", "Oak House"]
    with pytest.raises(InputError, match="'HO' is the provider's own row, not a location"):
        _run(reviewed_at_head_office, tmp_path, SAFEGUARDING, date(2026, 6, 30), services=["HO"])


def _feedback_every_month(db):
    # Each home holds evidence every month, so a missed review is missed, not a gap in the evidence.
    for service in ("Oak House", "Elm Court"):
        for month in range(3, 7):
            add(db, "feedback", id=f"F-{service}-{month}", service=service, received_at=f"10/{month:02d}/2026 10:00",
                source="staff", rating=4)


def test_without_a_provider_row_a_review_at_any_location_counts_for_all(db, tmp_path):
    _homes(db, provider_row=False)
    _feedback_every_month(db)
    _monthly_reviews(db, "Oak House", [3, 4])
    _monthly_reviews(db, "Elm Court", [5])
    verdict = _run(db, tmp_path, SAFEGUARDING, date(2026, 6, 30))
    months = {"2026-03": (1, 1), "2026-04": (1, 1), "2026-05": (1, 1), "2026-06": (0, 1)}
    assert _by_location(verdict, "sg_monthly_review") == {"Elm Court": months, "Oak House": months}


def test_a_ruleset_can_judge_the_review_per_location_again(reviewed_at_head_office, tmp_path):
    text = SAFEGUARDING.replace("safeguarding_recording: {}",
                                "safeguarding_recording:\n    targets:\n      sg_monthly_review: {scope: location}")
    verdict = _run(reviewed_at_head_office, tmp_path, text, date(2026, 6, 30))
    # Per location, Head Office's reviews count nowhere: only Elm Court's own in June.
    assert _by_location(verdict, "sg_monthly_review") == {
        "Elm Court": {"2026-03": (0, 1), "2026-04": (0, 1), "2026-05": (0, 1), "2026-06": (1, 1)},
        "Oak House": {"2026-03": (0, 1), "2026-04": (0, 1), "2026-05": (0, 1), "2026-06": (0, 1)}}
    assert _target(verdict, "sg_monthly_review")["scope"] == "location"


def test_workers_judge_a_provider_level_target_from_every_location(reviewed_at_head_office, tmp_path):
    alone = _run(reviewed_at_head_office, tmp_path, SAFEGUARDING, date(2026, 6, 30))
    shared = _run(reviewed_at_head_office, tmp_path, SAFEGUARDING, date(2026, 6, 30), workers=2)
    assert _by_location(shared, "sg_monthly_review") == _by_location(alone, "sg_monthly_review")
    assert _by_location(shared, "sg_monthly_review")["Oak House"]["2026-06"] == (1, 1)


def test_records_a_location_target_needs_at_head_office_are_judged_nowhere(reviewed_at_head_office, tmp_path):
    add(reviewed_at_head_office, "safeguarding_concern", id="SG-HQ1", service="Head Office",
        raised_at="2026-06-03T10:00:00", concern="Something seen", recorded_by="ST-1")
    add(reviewed_at_head_office, "safeguarding_concern", id="SG-HQ2", service="HO",
        raised_at="2026-06-04T10:00:00", concern="Something seen", recorded_by="ST-1")
    verdict = _run(reviewed_at_head_office, tmp_path, SAFEGUARDING, date(2026, 6, 30))
    assert verdict["data_quality"]["provider_only"] == [{"kind": "safeguarding_concern", "records": 2}]
    assert ("2 safeguarding_concern records at Head Office: recorded for the provider, judged at no location"
            in verdict["verdict"]["summary"])
    # Neither concern is any location's: no rate target at a home counts it.
    assert all(p["denominator"] == 0 for row in _target(verdict, "sg_record_complete")["services"]
               for p in row["periods"])


def test_board_minutes_at_head_office_are_evidence_at_every_location(db, tmp_path):
    _homes(db)
    add(db, "governance_item", id="B1", service="Head Office", meeting_date="20/06/2026", meeting_type="board",
        item_type="ni_review")
    add(db, "oversight_visit", id="V1", service="Oak House", visit_date="10/06/2026", findings="word " * 30)
    text = "name: po\nstart: 2026-06-01\ndomains:\n  provider_oversight: {}\n"
    verdict = _run(db, tmp_path, text, date(2026, 6, 30))
    domain = next(d for d in verdict["domains"] if d["domain"] == "provider_oversight")
    board = next(s for s in domain["triangulation"] if s["source"] == "board minutes")
    assert board["records"] == 1  # one set of minutes, counted once
    # Elm Court has no record of its own: the board minutes are its processes evidence.
    evidence = {loc["service"]: next(d for d in loc["domains"] if d["domain"] == "provider_oversight")
                for loc in verdict["locations"]}
    assert evidence["Elm Court"]["evidence_categories"] == ["processes"]


# -- the tracker reviewed --------------------------------------------------------------------------

TRACKER = "name: po\nstart: 2026-05-01\ndomains:\n  provider_oversight: {}\n"


@pytest.fixture
def overdue(db):
    """Four of Oak House's actions, due 10 May (overdue from 11 May; 35 days end on 14 June):
    A1 taken to the governance meeting of 14 June, A2 to the one of 15 June (a day late), A3 never,
    and A4 closed on time. A5, due 31 May (overdue from 1 June), has until 5 July: it counts in July."""
    add(db, "service", id="S1", service="Oak House", service_type="residential")
    for action_id, due, status, completed in [("A1", "10/05/2026", "open", None), ("A2", "10/05/2026", "open", None),
                                              ("A3", "10/05/2026", "in_progress", None),
                                              ("A4", "10/05/2026", "completed", "09/05/2026"),
                                              ("A5", "31/05/2026", "open", None)]:
        add(db, "improvement_action", id=action_id, service="Oak House", source_kind="audit", raised_on="01/05/2026",
            owner="Named", due_date=due, status=status, completed_on=completed, closure_evidence="Seen")
    add(db, "governance_item", id="G1", service="Oak House", meeting_date="14/06/2026", meeting_type="governance",
        item_type="action_check", action_id="A1")
    add(db, "governance_item", id="G2", service="Oak House", meeting_date="15/06/2026", meeting_type="governance",
        item_type="action_check", action_id="A2")
    return db


def test_an_overdue_action_taken_to_no_meeting_within_35_days_fails_the_tracker(overdue, tmp_path):
    verdict = _run(overdue, tmp_path, TRACKER, date(2026, 6, 30), targets=["po_tracker_reviewed"])
    (row,) = _target(verdict, "po_tracker_reviewed")["services"]
    june = next(p for p in row["periods"] if p["period"] == "2026-06")
    # A1 within 35 days; A2 a day late and A3 never: both fail. A4 never went overdue.
    assert (june["numerator"], june["denominator"], june["failures"]) == (1, 3, ["A2", "A3"])
    (escalation,) = [e for e in verdict["escalations"] if e["rule"] == "po_tracker_not_reviewed"]
    assert (escalation["service"], escalation["owner_role"], escalation["records"]) == (
        "Oak House", "nominated_individual", ["A2", "A3"])


def test_an_action_closed_on_time_never_goes_overdue(db, tmp_path):
    add(db, "service", id="S1", service="Oak House", service_type="residential")
    add(db, "improvement_action", id="A4", service="Oak House", source_kind="audit", raised_on="01/05/2026",
        owner="Named", due_date="10/05/2026", status="completed", completed_on="10/05/2026", closure_evidence="Seen")
    verdict = _run(db, tmp_path, TRACKER, date(2026, 6, 30), targets=["po_tracker_reviewed"])
    (row,) = _target(verdict, "po_tracker_reviewed")["services"]
    assert all(p["denominator"] == 0 and p["pending"] == 0 for p in row["periods"])
    assert (row["status"], row["judged"]) == ("insufficient_evidence", False)
