"""Missing data is never comfort: a stopped export is stale, judged against the location's own
usual count of the kind, while a kind a small home records rarely is never stale for being
empty. Every count, date and rate below is worked out by hand from the records written here."""

import math
from datetime import date

import pytest

from builders import add, demo_store_in, ruleset_file
from carecheck.ruleset import load_ruleset
from carecheck.run import RunOptions, evaluate
from carecheck.store import open_store

RULESET = "name: inc\nstart: 2026-01-01\ndomains:\n  incident_learning: {}\n"
INCIDENT_TARGETS = ("inc_review_5wd", "inc_reported_promptly")  # the targets that count incidents alone


@pytest.fixture
def stopped(db_path):
    """Oak House logs six incidents a month from January, the last on 12 May (its export stopped
    on 14 May); Elm Court, a small home, logs one in February and one in May. Both keep recording
    their monthly theme reviews to the end of October."""
    db = open_store(db_path)
    add(db, "service", id="S1", service="Oak House", service_type="residential")
    add(db, "service", id="S2", service="Elm Court", service_type="residential")
    for month in range(1, 6):
        for day in (2, 4, 6, 8, 10, 12):
            _incident(db, f"OAK-{month}-{day}", "Oak House", date(2026, month, day))
    for month in (2, 5):
        _incident(db, f"ELM-{month}", "Elm Court", date(2026, month, 3))
    for month in range(1, 11):
        for service in ("Oak House", "Elm Court"):
            add(db, "governance_activity", id=f"GA-{service[:3]}-{month}", service=service,
                activity="monthly_incident_themes", performed_at=f"{date(2026, month, 20).isoformat()}T10:00:00")
    db.close()
    return db_path


def _incident(db, record_id, service, day):
    add(db, "incident", id=record_id, service=service, person_id=f"P-{record_id}", incident_type="other",
        harm_level="none", death=False, police_involved=False, serious_injury=False,
        notifiable_safety_incident=False, occurred_at=f"{day.isoformat()}T09:00:00",
        reported_at=f"{day.isoformat()}T09:30:00", immediate_action="Made safe",
        reviewed_at=f"{day.isoformat()}T15:00:00", root_cause="Found", immediate_controls="Put in place",
        learning_decision="none_needed", learning_rationale="Isolated")


def _verdict(db_path, tmp_path, as_of):
    db = open_store(db_path)
    try:
        return evaluate(db, load_ruleset(ruleset_file(tmp_path, RULESET)),
                        RunOptions(as_of=as_of, engine="reference")).verdict
    finally:
        db.close()


def _location(verdict, target, service):
    found = next(t for d in verdict["domains"] for t in d["targets"] if t["id"] == target)
    return next(s for s in found["services"] if s["service"] == service)


def _level(verdict, service):
    location = next(loc for loc in verdict["locations"] if loc["service"] == service)
    return next(d for d in location["domains"] if d["domain"] == "incident_learning")["level"]


def test_a_stopped_incident_export_is_stale_with_a_data_gap(stopped, tmp_path):
    verdict = _verdict(stopped, tmp_path, date(2026, 7, 31))
    # Current period July, and June before it: no Oak House incidents in either. Its usual count,
    # over January to May (the last month holding one, and the four before): 30 / 5 = 6 a month,
    # and e^-6 = 0.0025 is far below 0.05.
    assert math.exp(-6) < 0.05
    reason = "no incident records at Oak House since 12/05/2026; it logged about 6 a month before"
    for target in INCIDENT_TARGETS:
        oak = _location(verdict, target, "Oak House")
        assert (oak["status"], oak["reason_code"], oak["reason"]) == ("insufficient_evidence", "stale", reason), target
        assert oak["stale_sources"] == ["incident"]
    (gap,) = [e for e in verdict["escalations"] if e["rule"] == "data_gap" and e["facts"].get("stale")]
    assert (gap["service"], gap["facts"]["kind"], gap["reason"]) == ("Oak House", "incident", reason)
    assert gap["facts"]["usual_per_period"] == 6.0 and gap["facts"]["newest"] == "2026-05-12"
    assert set(INCIDENT_TARGETS) <= set(gap["facts"]["targets"])
    # Not evidenced counts as short: every incident target is, so incident learning is not assured.
    assert _level(verdict, "Oak House") == "not_assured"


def test_a_small_home_with_no_incidents_lately_is_not_stale(stopped, tmp_path):
    verdict = _verdict(stopped, tmp_path, date(2026, 7, 31))
    # Elm Court: one in February and one in May, over February to May: 2 / 4 = 0.5 a month, and
    # e^-0.5 = 0.61: an empty June and July are no surprise. Its May figure is carried.
    assert math.exp(-0.5) > 0.05
    elm = _location(verdict, "inc_review_5wd", "Elm Court")
    assert elm["reason_code"] == "carried" and elm["carried_from"] == "2026-05"
    assert elm["stale_sources"] == []
    assert not [e for e in verdict["escalations"] if e["rule"] == "data_gap" and e["service"] == "Elm Court"]


def test_the_stopped_export_is_still_stale_three_months_later(stopped, tmp_path):
    verdict = _verdict(stopped, tmp_path, date(2026, 10, 31))
    oak = _location(verdict, "inc_review_5wd", "Oak House")
    assert (oak["reason_code"], oak["reason"]) == (
        "stale", "no incident records at Oak House since 12/05/2026; it logged about 6 a month before")
    # Elm Court's last incident was in May: nothing to carry from the window (August to October).
    assert _location(verdict, "inc_review_5wd", "Elm Court")["reason_code"] == "no_events"


def test_a_month_with_records_again_ends_the_staleness(stopped, tmp_path):
    db = open_store(stopped)
    _incident(db, "OAK-7-1", "Oak House", date(2026, 7, 1))
    db.close()
    verdict = _verdict(stopped, tmp_path, date(2026, 7, 31))
    assert _location(verdict, "inc_review_5wd", "Oak House")["reason_code"] is None


# -- the end of the data ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo_store(tmp_path_factory):
    return demo_store_in(tmp_path_factory.mktemp("demo"))


def test_a_run_after_the_data_ends_is_judged_as_of_its_end(run_cli, demo_store, tmp_path):
    import json
    import shutil

    store = tmp_path / "demo.db"
    shutil.copy(demo_store, store)
    # The demo's evidence runs to 31 August 2026. On 3 December the current period is November,
    # with no record of any kind: the run is judged as of 31 August, the end of August.
    late = json.loads(run_cli("run", "--db", store, "--as-of", "03/12/2026", "--format", "json").stdout)
    assert (late["as_of"], late["effective_as_of"], late["data_end"]) == ("2026-12-03", "2026-08-31", "2026-08-31")
    assert late["periods"]["current"] == "2026-08"
    summary = late["verdict"]["summary"]
    assert summary.startswith("The newest evidence is dated 31/08/2026; judged as of then. Lowest assurance:")
    ordinary = json.loads(run_cli("run", "--db", store, "--as-of", "31/08/2026", "--format", "json",
                                  "--no-save").stdout)
    # The same levels as a run as of 31 August.
    assert [(loc["service"], loc["level"]) for loc in late["locations"]] == [
        (loc["service"], loc["level"]) for loc in ordinary["locations"]]
    for fmt in ("table", "md", "html"):
        text = run_cli("run", "--db", store, "--as-of", "03/12/2026", "--format", fmt, "--no-save").stdout
        assert "2026-12-03 (judged as of 2026-08-31)" in text.replace("<strong>", "").replace("</strong>", ""), fmt
        assert "The newest evidence is dated 31/08/2026; judged as of then." in text, fmt

    # A gate cannot pass on old evidence, whatever the levels.
    gate = run_cli("run", "--db", store, "--as-of", "03/12/2026", "--fail-under", "partly_assured", "--no-save")
    assert gate.exit_code == 1
    assert "the newest evidence is dated 31/08/2026" in gate.stderr


def test_a_run_just_after_the_data_ends_is_an_ordinary_run(run_cli, demo_store):
    import json

    # On 3 September the current period is August, which holds records.
    verdict = json.loads(run_cli("run", "--db", demo_store, "--as-of", "03/09/2026", "--format", "json",
                                 "--no-save").stdout)
    assert (verdict["as_of"], verdict["effective_as_of"], verdict["data_end"]) == ("2026-09-03", "2026-09-03", None)
    assert verdict["periods"]["current"] == "2026-08"
    assert not verdict["verdict"]["summary"].startswith("The newest evidence")


# -- unknown locations are loud -----------------------------------------------------------------


def test_a_record_for_an_unknown_location_is_counted_at_import_and_in_the_verdict(run_cli, db_path, tmp_path):
    import json

    from builders import write_csv

    services = write_csv(tmp_path / "services.csv", [["id", "service", "service_type"],
                                                     ["S1", "Oak House", "residential"]])
    header = ["id", "service", "occurred_at", "reviewed_at"]
    incidents = write_csv(tmp_path / "incidents.csv", [
        header,
        ["I1", "Oak House", "01/06/2026 09:00", "02/06/2026 10:00"],  # row 2
        ["I2", "Oak House", "02/06/2026 09:00", "03/06/2026 10:00"],
        ["I3", "S1", "03/06/2026 09:00", "04/06/2026 10:00"],  # the register's id is a name for it too
        ["I4", "Oak House", "04/06/2026 09:00", "12/06/2026 10:00"],
        ["I5", "Oak Hse", "05/06/2026 09:00", "08/06/2026 10:00"],  # row 6: a typing slip
    ])
    assert run_cli("import", services, "--kind", "service", "--db", db_path).exit_code == 0
    result = run_cli("import", incidents, "--kind", "incident", "--db", db_path)
    assert result.exit_code == 0, result.stderr
    assert ("  1 record names a location not in the service register, so it is judged at no location: "
            "'Oak Hse' (row 6).") in result.stdout
    ruleset = ruleset_file(tmp_path, "name: inc\nstart: 2026-06-01\ndomains:\n  incident_learning: {}\n")
    verdict = json.loads(run_cli("run", ruleset, "--db", db_path, "--as-of", "30/06/2026", "--format", "json",
                                 "--target", "inc_review_5wd", "--no-save").stdout)
    assert verdict["data_quality"]["unattributed"] == [{"kind": "incident", "value": "Oak Hse", "records": 1}]
    assert ("1 incident record ('Oak Hse') names no location in the service register: judged at no location"
            in verdict["verdict"]["summary"])
    # Oak House counts its own four: three on time, I4 late (seven working days).
    oak = _location(verdict, "inc_review_5wd", "Oak House")
    june = next(p for p in oak["periods"] if p["period"] == "2026-06")
    assert (june["numerator"], june["denominator"]) == (3, 4)


# -- a period with no evidence at all ---------------------------------------------------------------


def test_a_month_with_no_record_of_any_kind_leaves_checks_unevidenced_not_missed(db_path, tmp_path):
    db = open_store(db_path)
    add(db, "service", id="S1", service="Oak House", service_type="residential")
    add(db, "service", id="S2", service="Elm Court", service_type="residential")
    # Both homes review their incident themes every month to June; in July Elm Court does again,
    # while Oak House holds no record of any kind (its systems were down).
    for month in range(1, 8):
        for service in ("Oak House", "Elm Court"):
            if service == "Oak House" and month == 7:
                continue
            add(db, "governance_activity", id=f"GA-{service[:3]}-{month}", service=service,
                activity="monthly_incident_themes", performed_at=f"2026-{month:02d}-20T10:00:00")
            _incident(db, f"{service[:3]}-{month}", service, date(2026, month, 5))
    db.close()
    verdict = _verdict(db_path, tmp_path, date(2026, 7, 31))
    oak = _location(verdict, "inc_monthly_themes", "Oak House")
    assert (oak["status"], oak["reason_code"]) == ("insufficient_evidence", "no_evidence")
    assert oak["reason"].startswith("no record of any kind at Oak House in 2026-07")
    july = next(p for p in oak["periods"] if p["period"] == "2026-07")
    # The missed review is not counted: July has no figure, rather than 0 of 1.
    assert (july["numerator"], july["denominator"], july["value"]) == (0, 0, None)
    assert _location(verdict, "inc_monthly_themes", "Elm Court")["status"] == "recovered"


# -- outcome trends --------------------------------------------------------------------------------


def _worsening_store(db_path, current_repeats):
    """Oak House: twenty incidents a month, January to October, each for a person of its own except
    the repeats (the same person as the day before); four repeats a month to July, then
    ``current_repeats`` a month. Reviews, forms, feedback and observations all as they should be."""
    db = open_store(db_path)
    # Supported living: a service type whose evidence includes the outcomes category.
    add(db, "service", id="S1", service="Oak House", service_type="supported_living")
    for month in range(1, 11):
        repeats = 4 if month <= 7 else current_repeats
        person = None
        for day in range(1, 21):
            if not (day > 1 and day - 1 <= repeats):  # days 2 to repeats + 1 repeat the day before's person
                person = f"P-{month}-{day}"
            record = f"I-{month:02d}-{day:02d}"
            occurred = date(2026, month, day)
            add(db, "incident", id=record, service="Oak House", person_id=person, incident_type="other",
                harm_level="none", death=False, police_involved=False, serious_injury=False,
                notifiable_safety_incident=False, occurred_at=f"{occurred.isoformat()}T09:00:00",
                reported_at=f"{occurred.isoformat()}T09:30:00", immediate_action="Made safe",
                reviewed_at=f"{occurred.isoformat()}T15:00:00", root_cause="Found", immediate_controls="In place",
                learning_decision="none_needed", learning_rationale="Isolated")
        for n, source in enumerate(("person", "person", "staff", "staff")):
            add(db, "feedback", id=f"FB-{month}-{n}", service="Oak House", source=source, channel="survey",
                received_at=f"2026-{month:02d}-{22 + n}T10:00:00", feels_safe=True, rating=5)
        for n in range(2):
            add(db, "practice_observation", id=f"OBS-{month}-{n}", service="Oak House",
                observed_at=f"2026-{month:02d}-{25 + n}T10:00:00", observer_role="deputy manager",
                topic="falls", outcome="met", staff_aware_of_guidance=True)
    db.close()
    return db_path


def _oak_incident_learning(db_path, tmp_path):
    db = open_store(db_path)
    try:
        verdict = evaluate(db, load_ruleset(ruleset_file(tmp_path, RULESET)),
                           RunOptions(as_of=date(2026, 10, 31), engine="reference",
                                      targets=["inc_review_5wd", "inc_reported_promptly"])).verdict
    finally:
        db.close()
    location = next(loc for loc in verdict["locations"] if loc["service"] == "Oak House")
    return verdict, next(d for d in location["domains"] if d["domain"] == "incident_learning")


def test_repeat_incidents_rising_cap_the_home_at_assured_with_an_escalation(db_path, tmp_path):
    verdict, domain = _oak_incident_learning(_worsening_store(db_path, current_repeats=7), tmp_path)
    # Baseline: the first window (of three months) whose 90-day look-back (a repeat of the same
    # person and cause) starts on or after the first incident (1 January): April to June (1 April
    # less 90 days is 1 January), 12 repeats of 60 = 0.2. Current window, August to October: 21 of
    # 60 = 0.35, a rise of 0.15, and 21 - 0.2 x 60 = 9 more repeats than predicted.
    (trend,) = domain["outcome_trends"]
    assert (trend["baseline"], trend["baseline_window"], trend["current"], trend["numerator"],
            trend["denominator"], trend["excess"], trend["worsening"]) == (
        0.2, ["2026-04", "2026-06"], 0.35, 21, 60, 9.0, True)
    assert domain["level"] == "assured"
    assert {"cap": "worsening_outcomes", "at_most": "assured"} in domain["level_caps"]
    assert "outcomes" not in domain["evidence_categories"]  # a worsening result is no evidence of good outcomes
    (escalation,) = [e for e in verdict["escalations"] if e["rule"] == "outcomes_worsening"]
    assert (escalation["service"], escalation["owner_role"], escalation["title"]) == (
        "Oak House", "nominated_individual", "Continued poor outcomes")
    assert escalation["reason"] == ("Repeat incidents rose from 0.2 (2026-04 to 2026-06) to 0.35 (21 of 60, 9 more "
                                    "than the earlier rate predicts)")
    assert "continued_poor_outcomes" in {s["signal"] for s in domain["signals"]}


def test_a_steady_repeat_rate_counts_as_outcomes_evidence_and_no_cap(db_path, tmp_path):
    verdict, domain = _oak_incident_learning(_worsening_store(db_path, current_repeats=4), tmp_path)
    (trend,) = domain["outcome_trends"]
    assert (trend["baseline"], trend["current"], trend["worsening"]) == (0.2, 0.2, False)
    assert domain["level"] == "assured_sustained" and domain["level_caps"] == []
    assert "outcomes" in domain["evidence_categories"]
    assert not [e for e in verdict["escalations"] if e["rule"] == "outcomes_worsening"]


def test_one_more_repeat_than_predicted_is_noise_not_a_trend(db_path, tmp_path):
    # August to October with 5 repeats a month: 15 of 60 = 0.25, up 0.05 -- not beyond the tolerance.
    _, domain = _oak_incident_learning(_worsening_store(db_path, current_repeats=5), tmp_path)
    assert domain["outcome_trends"][0]["worsening"] is False


def test_the_demo_homes_outcomes_hold_steady(run_cli, demo_store):
    import json

    verdict = json.loads(run_cli("run", "--db", demo_store, "--as-of", "31/08/2026", "--format", "json",
                                 "--no-save").stdout)
    trends = [t for loc in verdict["locations"] for d in loc["domains"] for t in d["outcome_trends"]]
    assert trends and not [t for t in trends if t["worsening"]]
    assert not [e for e in verdict["escalations"] if e["rule"] == "outcomes_worsening"]


def test_the_fleet_overview_gives_each_providers_evidence_date_and_says_where_it_ended_early(tmp_path):
    from carecheck.reporters.fleet_overview import render_overview

    def location(provider):
        return {"provider": provider, "location": "Oak House", "level": "assured", "drifting": False,
                "domains": {"incident_learning": "assured"}}

    view = {"fleet_run_id": "F1", "drifting": 0, "failures": [],
            "audit": {"fleet_run_id": "F1", "ruleset": "cqc-recovery", "as_of": "2026-12-03", "stores": 2, "failed": 0,
                      "carecheck_version": "0.1.0", "scheduler": "local"},
            "locations": [location("Acme Care"), location("Beta Homes")],
            "stores": [{"provider": "Acme Care", "store": "a.db", "run_id": "R1", "lowest_level": "assured",
                        "seconds": 1.0, "error": None, "pack": None, "data_end": None, "newest_evidence": "2026-12-02"},
                       {"provider": "Beta Homes", "store": "b.db", "run_id": "R2", "lowest_level": "assured",
                        "seconds": 1.0, "error": None, "pack": None, "data_end": "2026-08-31",
                        "newest_evidence": "2026-08-31"}]}
    table = render_overview(view, "table", tmp_path)
    assert "evidence to" in table and "02/12/2026" in table and "31/08/2026" in table
    assert "Beta Homes: the newest evidence is dated 31/08/2026; judged as of then" in table
    assert "Acme Care: the newest" not in table
    html = render_overview(view, "html", tmp_path)
    assert "<th>evidence to</th>" in html and "Evidence that ended early" in html
