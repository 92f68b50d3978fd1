"""The statutory rules of adult social care, in worked cases: the duty of candour (regulation 20(9)),
notifications to CQC "without delay" (Registration Regulations 2009, regulations 16 and 18) and
safeguarding referrals. Each test asserts the record ids flagged and not flagged."""

from datetime import date

import pytest

from builders import add, ruleset_file
from carecheck.errors import InputError
from carecheck.run import RunOptions, evaluate
from carecheck.ruleset import load_ruleset

RULESET = "name: statutory\nstart: 2026-08-01\ndomains:\n  incident_learning: {}\n  safeguarding_recording: {}\n"


def _signals(verdict, domain):
    (location,) = verdict["locations"]
    found = next(d for d in location["domains"] if d["domain"] == domain)
    return {s["signal"]: s["records"] for s in found["signals"]}


def _incident(db, record_id, day, **fields):
    add(db, "incident", id=record_id, service="Oak", occurred_at=f"{day} 10:00", reviewed_at=f"{day} 15:00", **fields)


def _notification(db, record_id, about, kind, sent):
    add(db, "notification", id=record_id, service="Oak", recipient="cqc", notification_type=kind,
        about_kind="incident", about_id=about, sent_at=f"{sent} 09:00")


@pytest.fixture
def incidents(db):
    add(db, "service", id="S1", service="Oak", service_type="residential")
    # A death on Friday 28 August 2026, notified on Tuesday 1 September: due by the end of Saturday
    # 29 August (Monday 31 August is a bank holiday, which no longer matters).
    _incident(db, "D1", "28/08/2026", death="yes")
    _notification(db, "N-D1", "D1", "death", "01/09/2026")
    # A moderate-harm fall, no fracture: not a notifiable safety incident, no notification.
    _incident(db, "M1", "03/08/2026", harm_level="moderate", serious_injury="no", cause="fall")
    # Moderate harm with a fracture (serious injury): candour and a serious-injury notification.
    _incident(db, "M2", "03/08/2026", harm_level="moderate", serious_injury="yes")
    # A fatal incident with no notification at all.
    _incident(db, "F1", "04/08/2026", harm_level="fatal", duty_of_candour_at="05/08/2026 10:00")
    # Not a notifiable safety incident in a health care professional's view, but severe harm: no
    # candour, yet a serious-injury notification is still required.
    _incident(db, "S1", "05/08/2026", harm_level="severe", notifiable_safety_incident="no")
    # The same, notified the next day: on time.
    _incident(db, "S2", "05/08/2026", harm_level="severe", notifiable_safety_incident="no")
    _notification(db, "N-S2", "S2", "serious_injury", "06/08/2026")
    # The same, but notified as "other": the type must match.
    _incident(db, "S3", "05/08/2026", harm_level="severe", notifiable_safety_incident="no")
    _notification(db, "N-S3", "S3", "other", "05/08/2026")
    # Nothing recorded that decides candour or a notification.
    _incident(db, "U1", "06/08/2026")
    return db


def test_duty_of_candour_follows_regulation_20_9(incidents, tmp_path):
    verdict = evaluate(incidents, load_ruleset(ruleset_file(tmp_path, RULESET)),
                       RunOptions(as_of=date(2026, 8, 31), engine="reference")).verdict
    signals = _signals(verdict, "incident_learning")
    # M2 (fracture) is due candour within ten working days (17 August) and has none; F1 has it.
    assert signals["harm_without_candour"] == ["M2"]
    # D1 (a death, harm not recorded) and U1: nothing decides candour; never read as no harm.
    assert signals["candour_undetermined"] == ["D1", "U1"]


def test_notifications_to_cqc_without_delay(incidents, tmp_path):
    verdict = evaluate(incidents, load_ruleset(ruleset_file(tmp_path, RULESET)),
                       RunOptions(as_of=date(2026, 8, 31), engine="reference")).verdict
    signals = _signals(verdict, "incident_learning")
    # D1 late; M2 and S1 never notified; F1 (fatal) never notified; S3 notified as the wrong type.
    # M1 needs none; S2 was on time.
    assert signals["notifiable_not_notified"] == ["D1", "F1", "M2", "S1", "S3"]
    assert signals["notification_undetermined"] == ["U1"]
    notified = next(e for e in verdict["escalations"] if e["rule"] == "inc_not_notified")
    assert notified["records"] == ["D1", "F1", "M2", "S1", "S3"]


def test_a_death_notified_the_next_day_is_on_time(db, tmp_path):
    add(db, "service", id="S1", service="Oak", service_type="residential")
    _incident(db, "D2", "28/08/2026", death="yes", harm_level="fatal", duty_of_candour_at="29/08/2026 10:00")
    _notification(db, "N-D2", "D2", "death", "29/08/2026")
    verdict = evaluate(db, load_ruleset(ruleset_file(tmp_path, RULESET)),
                       RunOptions(as_of=date(2026, 8, 31), engine="reference")).verdict
    signals = _signals(verdict, "incident_learning")
    assert "notifiable_not_notified" not in signals and "harm_without_candour" not in signals


def test_a_referral_decided_and_not_made_and_screened_notes(db, tmp_path):
    add(db, "service", id="S1", service="Oak", service_type="residential")
    base = dict(service="Oak", concern="At 09:00 staff saw a bruise.", immediate_action="Checked",
                decision_rationale="Unexplained injury", outcome_review_at="20/08/2026 10:00")
    add(db, "safeguarding_concern", id="R1", raised_at="10/08/2026 09:00", manager_decision="refer",
        manager_decision_at="10/08/2026 12:00", person_id="P1", **base)  # no referral
    add(db, "safeguarding_concern", id="R2", raised_at="10/08/2026 09:00", manager_decision="refer",
        manager_decision_at="10/08/2026 12:00", referral_at="11/08/2026 10:00", person_id="P2", **base)  # in time
    add(db, "safeguarding_concern", id="R3", raised_at="10/08/2026 09:00", manager_decision="refer",
        manager_decision_at="10/08/2026 12:00", referral_at="14/08/2026 10:00", person_id="P3", **base)  # late
    # Flagged notes about a person with no concern: one screened by a team leader, one not.
    add(db, "daily_note", id="N1", service="Oak", person_id="P9", written_at="03/08/2026 08:00",
        safeguarding_indicator=True, screened_at="03/08/2026 09:00")
    add(db, "daily_note", id="N2", service="Oak", person_id="P9", written_at="04/08/2026 08:00",
        safeguarding_indicator=True)
    verdict = evaluate(db, load_ruleset(ruleset_file(tmp_path, RULESET)),
                       RunOptions(as_of=date(2026, 8, 31), engine="reference")).verdict
    signals = _signals(verdict, "safeguarding_recording")
    assert signals["referral_not_made"] == ["R1", "R3"]
    assert signals["unscreened_indicators"] == ["N2"]
    assert signals["indicator_screened_no_concern"] == ["N1"]
    referral = next(e for e in verdict["escalations"] if e["rule"] == "sg_referral_not_made")
    assert (referral["owner_role"], referral["due"], referral["records"]) == ("registered_manager", "2026-09-01",
                                                                              ["R1", "R3"])
    assert not any(e["rule"] == "sg_unscreened_indicators" and "N1" in e["records"] for e in verdict["escalations"])


@pytest.mark.parametrize("domain,parameter,replacement", [
    ("incident_learning", "candour_harm_levels", "notifiable_safety_incident"),
    ("incident_learning", "notification_within_working_days", "notification_within_days"),
    ("safeguarding_recording", "notification_within_working_days", "notification_within_days"),
])
def test_replaced_parameters_are_refused_naming_their_replacement(tmp_path, domain, parameter, replacement):
    path = ruleset_file(tmp_path, f"name: old\ndomains:\n  {domain}:\n    parameters:\n      {parameter}: 1\n")
    with pytest.raises(InputError) as caught:
        load_ruleset(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: domains.{domain}.parameters.{parameter}: ")
    assert replacement in message and "\n" not in message


def test_a_blank_harm_cell_is_unknown_never_no_harm(db, tmp_path):
    from carecheck.importing.importer import ImportRequest, import_source

    from builders import write_csv

    add(db, "service", id="S1", service="Oak", service_type="residential")
    path = write_csv(tmp_path / "incidents.csv", [
        ["id", "service", "occurred_at", "harm_level", "serious_injury", "notifiable_safety_incident", "reviewed_at"],
        ["B1", "Oak", "10/08/2026 10:00", "", "", "", "10/08/2026 15:00"],
    ])
    import_source(db, ImportRequest(path, "incident"))
    assert db.execute("SELECT harm_level, serious_injury, notifiable_safety_incident FROM incident").fetchone() == (
        None, None, None)
    verdict = evaluate(db, load_ruleset(ruleset_file(tmp_path, RULESET)),
                       RunOptions(as_of=date(2026, 8, 31), engine="reference")).verdict
    signals = _signals(verdict, "incident_learning")
    assert signals["candour_undetermined"] == ["B1"] and signals["notification_undetermined"] == ["B1"]
    assert "harm_without_candour" not in signals and "notifiable_not_notified" not in signals
