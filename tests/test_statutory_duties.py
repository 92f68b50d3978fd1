"""Statutory duties decide the level: a breach (a CQC notification, a safeguarding referral or a
duty-of-candour notice not made by its deadline) caps the owning domain at not assured; a record
whose duty nobody decided caps it at partly assured; evidence that was never supplied is a data
gap, never a breach. Every date and id below is worked out by hand."""

import json
from datetime import date

import pytest
from click.testing import CliRunner

from builders import add, ruleset_file, write_csv
from carecheck.cli import build_cli
from carecheck.ruleset import load_ruleset
from carecheck.ruleset.waivers import load_waivers
from carecheck.run import RunOptions, evaluate
from carecheck.store import open_store

INCIDENTS_ONLY = "name: inc\nstart: 2026-06-01\ndomains:\n  incident_learning: {}\n"
SAFEGUARDING_ONLY = "name: sg\nstart: 2026-06-01\ndomains:\n  safeguarding_recording: {}\n"


def _domain(verdict, service, name):
    location = next(loc for loc in verdict["locations"] if loc["service"] == service)
    return next(d for d in location["domains"] if d["domain"] == name)


def _caps(domain):
    return {cap["cap"]: cap for cap in domain["level_caps"]}


def _run(db, tmp_path, text, as_of, **options):
    return evaluate(db, load_ruleset(ruleset_file(tmp_path, text)),
                    RunOptions(as_of=as_of, engine="reference", **options)).verdict


def _import(run_cli, db_path, kind, path):
    result = run_cli("import", path, "--kind", kind, "--db", db_path)
    assert result.exit_code == 0, result.stderr


# -- the Oak House store of the domain review --------------------------------------------------


#: The demo's own verdict, before the breaches are added (filled in by the fixture below).
demo_verdict: dict = {}


@pytest.fixture(scope="module")
def oak_house_breaches(tmp_path_factory):
    """The demo's store, with Oak House's August holding every kind of breach the review made."""
    folder = tmp_path_factory.mktemp("oak")
    store = folder / "demo.db"
    runner = CliRunner()
    result = runner.invoke(build_cli(), ["demo", "--db", str(store), "--format", "json", "-o", str(folder / "v.json")])
    assert result.exit_code == 0, result.output
    concerns = write_csv(folder / "concerns.csv", [
        ["id", "service", "person_id", "raised_at", "is_allegation_of_abuse", "concern", "immediate_action",
         "immediate_action_at", "manager_decision", "manager_decision_at", "decision_rationale", "referral_at",
         "cqc_notified_at"],
        # An allegation of abuse on Monday 10 August, never notified: due by the end of 11 August.
        ["SG-T1", "S002", "P-S002-01", "10/08/2026 09:00", "Y", "At 09:00 staff saw a bruise on the arm.",
         "Body map completed", "10/08/2026 09:30", "no_referral", "10/08/2026 11:00", "Family member present", "", ""],
        # A decision to refer on Wednesday 12 August with no referral made: due by the end of 13 August.
        ["SG-T2", "S002", "P-S002-02", "12/08/2026 09:00", "N", "At 09:00 the person said money was missing.",
         "Purse checked with the person", "12/08/2026 09:20", "refer", "12/08/2026 11:00", "Possible financial abuse",
         "", ""],
    ])
    incidents = write_csv(folder / "incidents.csv", [
        ["id", "service", "person_id", "occurred_at", "reported_at", "harm_level", "death", "police_involved",
         "serious_injury", "notifiable_safety_incident", "duty_of_candour_at", "cqc_notified_at", "reviewed_at"],
        # A death on Monday 3 August, not notified: due by the end of 4 August (regulation 16).
        ["INC-T1", "S002", "P-S002-03", "03/08/2026 06:00", "03/08/2026 06:30", "none", "Y", "N", "N", "N", "", "",
         "04/08/2026 10:00"],
        # A police incident on Wednesday 5 August, not notified: due by the end of 6 August (regulation 18).
        ["INC-T2", "S002", "P-S002-04", "05/08/2026 14:00", "05/08/2026 14:30", "low", "N", "Y", "N", "N", "", "",
         "06/08/2026 10:00"],
        # Two fractures, notified to CQC the same day, with no candour notice: ten working days from
        # Thursday 6 August is Thursday 20 August; from Friday 7 August, Friday 21 August.
        ["INC-T3", "S002", "P-S002-05", "06/08/2026 10:00", "06/08/2026 10:30", "severe", "N", "N", "Y", "Y", "",
         "06/08/2026 15:00", "07/08/2026 10:00"],
        ["INC-T4", "S002", "P-S002-06", "07/08/2026 10:00", "07/08/2026 10:30", "severe", "N", "N", "Y", "Y", "",
         "07/08/2026 15:00", "10/08/2026 10:00"],
    ])
    demo_verdict.update(json.loads((folder / "v.json").read_text()))
    runner.invoke(build_cli(), ["import", str(concerns), "--kind", "safeguarding_concern", "--db", str(store)])
    runner.invoke(build_cli(), ["import", str(incidents), "--kind", "incident", "--db", str(store)])
    db = open_store(store)
    try:
        yield evaluate(db, load_ruleset(None), RunOptions(as_of=date(2026, 8, 31), engine="reference")).verdict
    finally:
        db.close()


def test_every_breach_caps_its_owning_domain_at_oak_house_and_leads_the_headline(oak_house_breaches):
    verdict = oak_house_breaches
    oak = next(loc for loc in verdict["locations"] if loc["service"] == "Oak House")
    assert oak["level"] == "not_assured"
    safeguarding = _domain(verdict, "Oak House", "safeguarding_recording")
    incidents = _domain(verdict, "Oak House", "incident_learning")
    assert (safeguarding["level"], incidents["level"]) == ("not_assured", "not_assured")
    # Provider oversight owns no duty, so no breach caps it: it is partly assured for the demo's visit
    # action that went overdue on 24 July and that no governance meeting took up within 35 days.
    oversight = _domain(verdict, "Oak House", "provider_oversight")
    assert (oversight["level"], _caps(oversight)) == ("partly_assured", {})
    said = [(b["duty"], b["regulation"], b["records"], b["due"], b["made"]) for b in
            _caps(safeguarding)["statutory_breach"]["breaches"]]
    assert said == [("notification_overdue", "REG2009-18", ["SG-T1"], "2026-08-11", None),
                    ("referral_overdue", "RA2014-13", ["SG-T2"], "2026-08-13", None)]
    said = [(b["duty"], b["regulation"], b["records"], b["due"]) for b in _caps(incidents)["statutory_breach"]["breaches"]]
    assert said == [("notification_overdue", "REG2009-16", ["INC-T1"], "2026-08-04"),
                    ("notification_overdue", "REG2009-18", ["INC-T2"], "2026-08-06"),
                    ("candour_overdue", "RA2014-20", ["INC-T3"], "2026-08-20"),
                    ("candour_overdue", "RA2014-20", ["INC-T4"], "2026-08-21")]
    assert [b["records"][0] for b in oak["statutory"]] == ["INC-T1", "INC-T2", "SG-T1", "SG-T2", "INC-T3", "INC-T4"]
    assert verdict["verdict"]["summary"].startswith(
        "Statutory: 1 death not notified to CQC at Oak House (INC-T1, due 04/08/2026); 1 police incident not "
        "notified to CQC at Oak House (INC-T2, due 06/08/2026); 1 allegation of abuse not notified to CQC at Oak "
        "House (SG-T1, due 11/08/2026); 1 decision to refer with no referral made at Oak House (SG-T2, due "
        "13/08/2026); 2 notifiable safety incidents without a duty-of-candour notice at Oak House (INC-T3, due "
        "20/08/2026; INC-T4, due 21/08/2026). Lowest assurance: not assured at 2 of 4 locations: Oak House, "
        "Willow Lodge.")
    # The control home is untouched.
    riverside = next(loc for loc in verdict["locations"] if loc["service"] == "Riverside Supported Living")
    assert (riverside["level"], riverside["statutory"]) == ("assured_sustained", [])
    rules = {(e["rule"], e["service"]) for e in verdict["escalations"]}
    assert {("sg_not_notified", "Oak House"), ("sg_referral_not_made", "Oak House"),
            ("inc_not_notified", "Oak House"), ("inc_candour", "Oak House")} <= rules


def test_every_format_shows_the_breaches_at_the_top_and_in_the_location(oak_house_breaches):
    import json
    import xml.etree.ElementTree as ET

    from carecheck.reporters.html import render_html
    from carecheck.reporters.junit import render_junit
    from carecheck.reporters.markdown import render_markdown
    from carecheck.reporters.table import render_table
    from carecheck.verdict.chunks import plain

    verdict = json.loads(json.dumps(oak_house_breaches, default=plain))
    at_oak = "Statutory: 1 death not notified to CQC at Oak House (INC-T1, due 04/08/2026);"
    for render in (render_table, render_markdown, render_html):
        text = render(verdict)
        # The headline, then the locations needing attention (and, in the pack, Oak House's section).
        assert text.count(at_oak) >= (3 if render is render_html else 2), render.__name__
        assert text.index(at_oak) < text.index("Lowest assurance")  # first, before the levels
    root = ET.fromstring(render_junit(verdict))
    oak = next(c for c in root.iter("testcase") if c.get("classname") == "Oak House" and c.get("name") == "level")
    assert oak.find("failure").text.startswith(at_oak)


def test_the_demo_tells_its_story_with_no_statutory_breach(oak_house_breaches):
    """Willow Lodge is the one home not assured (its August incident reviews); Oak House is partly
    assured (one safeguarding follow-up in four late every month: never met, not improving); Elm
    Court is partly assured (one care plan review in six late after an incident, every month);
    Riverside is assured and sustained with no escalation; only Willow Lodge's people repeat."""
    verdict = demo_verdict
    levels = {loc["service"]: loc["level"] for loc in verdict["locations"]}
    assert levels == {"Elm Court Nursing Home": "partly_assured", "Oak House": "partly_assured",
                      "Riverside Supported Living": "assured_sustained", "Willow Lodge": "not_assured"}
    (care_plans,) = [row for d in verdict["domains"] for t in d["targets"] if t["id"] == "inc_care_plan_reviewed"
                     for row in t["services"] if row["service"] == "Elm Court Nursing Home"]
    assert [(p["numerator"], p["denominator"]) for p in care_plans["periods"]] == [(5, 6)] * 8
    assert (_domain(verdict, "Elm Court Nursing Home", "incident_learning")["level"], care_plans["status"]) == (
        "partly_assured", "not_improving")
    (missed,) = [e for e in verdict["escalations"] if e["rule"] == "inc_care_plan_missed"]
    assert (missed["service"], missed["records"]) == ("Elm Court Nursing Home", ["INC-0004286"])  # 14 August, reviewed the 25th
    oak = _domain(verdict, "Oak House", "safeguarding_recording")
    (follow_up,) = [row for d in verdict["domains"] for t in d["targets"] if t["id"] == "sg_follow_up_complete"
                    for row in t["services"] if row["service"] == "Oak House"]
    assert (oak["level"], follow_up["status"]) == ("partly_assured", "not_improving")
    assert not any(p["met"] for p in follow_up["periods"] if not p["partial"] and p["value"] is not None)
    assert verdict["verdict"]["statutory"] == [] and all(loc["undetermined"] == [] for loc in verdict["locations"])
    assert [e["rule"] for e in verdict["escalations"] if e["service"] == "Riverside Supported Living"] == []
    assert [e["service"] for e in verdict["escalations"] if e["rule"] == "inc_repeated_themes"] == ["Willow Lodge"]
    assert not [e for e in verdict["escalations"] if e["rule"] == "data_gap"]


# -- when a late notification counts ------------------------------------------------------------


@pytest.fixture
def late_notification(db):
    """A fracture on Tuesday 28 July 2026, notified to CQC on Saturday 1 August: due by the end of
    Wednesday 29 July, so two days late. Its candour notice came the next day."""
    add(db, "service", id="S1", service="Oak", service_type="residential")
    add(db, "incident", id="I1", service="Oak", occurred_at="28/07/2026 10:00", reviewed_at="29/07/2026 10:00",
        harm_level="severe", serious_injury="yes", death="no", police_involved="no", notifiable_safety_incident="yes",
        duty_of_candour_at="29/07/2026 12:00")
    add(db, "notification", id="N1", service="Oak", recipient="cqc", notification_type="serious_injury",
        about_kind="incident", about_id="I1", sent_at="01/08/2026 09:00")
    add(db, "death", id="D0", service="Oak", died_at="01/06/2026 10:00", during_service="no")
    # Evidence goes on arriving in September (a run as of 30 September is an ordinary run).
    add(db, "incident", id="I2", service="Oak", occurred_at="07/09/2026 10:00", reviewed_at="08/09/2026 10:00",
        harm_level="none", serious_injury="no", death="no", police_involved="no", notifiable_safety_incident="no")
    return db


@pytest.mark.parametrize("as_of, capped, made", [
    (date(2026, 7, 31), True, None),  # outstanding on 31 July: sent after the run's date
    (date(2026, 8, 31), True, "2026-08-01"),  # made late within August, the current period
    (date(2026, 9, 30), False, None),  # September's run: the late notification is history
])
def test_a_notification_made_two_days_late_caps_only_the_run_whose_period_holds_it(late_notification, tmp_path, as_of,
                                                                                     capped, made):
    verdict = _run(late_notification, tmp_path, INCIDENTS_ONLY, as_of)
    domain = _domain(verdict, "Oak", "incident_learning")
    breaches = _caps(domain).get("statutory_breach", {}).get("breaches", [])
    if capped:
        assert domain["level"] == "not_assured"
        assert [(b["records"], b["due"], b["made"]) for b in breaches] == [(["I1"], "2026-07-29", made)]
    else:
        assert breaches == [] and "statutory_breach" not in _caps(domain)


def test_a_waiver_does_not_lift_the_statutory_cap(late_notification, tmp_path):
    waivers = tmp_path / "waivers.yaml"
    waivers.write_text("".join(
        f"- {{target: {target}, justification: Agreed with the commissioner, approved_by: NI, expires: 2026-12-31}}\n"
        for target in ("inc_review_5wd", "inc_learning_identified", "inc_learning_checked", "inc_practice_observed",
                       "inc_monthly_themes", "inc_care_plan_reviewed", "inc_reported_promptly")))
    verdict = _run(late_notification, tmp_path, INCIDENTS_ONLY, date(2026, 8, 31),
                   waivers=load_waivers(waivers, date(2026, 8, 31)))
    domain = _domain(verdict, "Oak", "incident_learning")
    assert (domain["level"], domain["level_rule"]) == ("not_assured", "cap_statutory_breach")
    # Nor does choosing one target: the duties are the domain's, whatever targets run.
    verdict = _run(late_notification, tmp_path, INCIDENTS_ONLY, date(2026, 8, 31), targets=["inc_monthly_themes"])
    assert _domain(verdict, "Oak", "incident_learning")["level"] == "not_assured"


# -- unknown is not no --------------------------------------------------------------------------


def test_an_undetermined_allegation_caps_at_partly_assured_and_asks_for_the_decision(run_cli, db_path, tmp_path):
    services = write_csv(tmp_path / "services.csv", [["id", "service", "service_type"],
                                                     ["S1", "Oak", "supported_living"]])
    concerns = write_csv(tmp_path / "concerns.csv", [
        ["id", "service", "raised_at", "is_allegation_of_abuse", "concern", "immediate_action", "immediate_action_at",
         "manager_decision", "manager_decision_at", "decision_rationale", "outcome_review_at", "outcome"],
        # The allegation cell is blank (the column is there): nobody decided.
        ["C1", "Oak", "02/06/2026 09:00", "", "At 09:00 staff saw a bruise.", "Checked", "02/06/2026 09:10",
         "no_referral", "02/06/2026 12:00", "Explained by a fall seen by staff", "10/06/2026 10:00", "risk_removed"],
    ])
    _import(run_cli, db_path, "service", services)
    _import(run_cli, db_path, "safeguarding_concern", concerns)
    db = open_store(db_path)
    verdict = _run(db, tmp_path, SAFEGUARDING_ONLY, date(2026, 6, 30), targets=["sg_record_complete"])
    domain = _domain(verdict, "Oak", "safeguarding_recording")
    # Complete and on time, with one category of evidence: capped at partly assured twice over (one
    # category; the undecided allegation), so the cap is asserted with the level.
    assert domain["level"] == "partly_assured"
    assert _caps(domain)["statutory_undetermined"] == {"cap": "statutory_undetermined", "at_most": "partly_assured",
                                                        "records": ["C1"]}
    # The escalation is a domain rule on signals alone: it runs when the whole domain does.
    verdict = _run(db, tmp_path, SAFEGUARDING_ONLY, date(2026, 6, 30))
    (escalation,) = [e for e in verdict["escalations"] if e["rule"] == "sg_allegation_undetermined"]
    # Tuesday 30 June + 1 working day.
    assert (escalation["owner_role"], escalation["due"], escalation["records"]) == (
        "registered_manager", "2026-07-01", ["C1"])
    assert not [e for e in verdict["escalations"] if e["rule"] == "data_gap" and e["facts"].get("field")]


def test_a_moderate_harm_incident_with_blank_flags_is_undetermined_not_unnotifiable(run_cli, db_path, tmp_path):
    services = write_csv(tmp_path / "services.csv", [["id", "service", "service_type"], ["S1", "Oak", "residential"]])
    incidents = write_csv(tmp_path / "incidents.csv", [
        ["id", "service", "occurred_at", "harm_level", "death", "police_involved", "serious_injury",
         "notifiable_safety_incident", "duty_of_candour_at", "cqc_notified_at", "reviewed_at"],
        ["I1", "Oak", "03/06/2026 10:00", "moderate", "N", "N", "", "", "", "", "04/06/2026 10:00"],
        # Moderate harm, no fracture and not notifiable in a clinician's view: decided, nothing due.
        ["I2", "Oak", "04/06/2026 10:00", "moderate", "N", "N", "N", "N", "", "", "05/06/2026 10:00"],
    ])
    _import(run_cli, db_path, "service", services)
    _import(run_cli, db_path, "incident", incidents)
    db = open_store(db_path)
    verdict = _run(db, tmp_path, INCIDENTS_ONLY, date(2026, 6, 30))
    domain = _domain(verdict, "Oak", "incident_learning")
    signals = {s["signal"]: s["records"] for s in domain["signals"]}
    assert (signals.get("candour_undetermined"), signals.get("notification_undetermined")) == (["I1"], ["I1"])
    assert "harm_without_candour" not in signals and "notifiable_not_notified" not in signals
    assert _caps(domain)["statutory_undetermined"]["records"] == ["I1"]
    assert "statutory_breach" not in _caps(domain)
    assert [e["records"] for e in verdict["escalations"] if e["rule"] == "inc_duty_undetermined"] == [["I1"]]


# -- no evidence is not a breach ----------------------------------------------------------------


def test_no_notification_records_is_a_data_gap_and_no_cap(run_cli, db_path, tmp_path):
    services = write_csv(tmp_path / "services.csv", [["id", "service", "service_type"], ["S1", "Oak", "residential"]])
    # A fracture, with no notification export and no cqc_notified_at column: cannot be checked.
    incidents = write_csv(tmp_path / "incidents.csv", [
        ["id", "service", "occurred_at", "harm_level", "death", "police_involved", "serious_injury",
         "notifiable_safety_incident", "duty_of_candour_at", "reviewed_at"],
        ["I1", "Oak", "03/06/2026 10:00", "severe", "N", "N", "Y", "Y", "04/06/2026 09:00", "04/06/2026 10:00"],
    ])
    _import(run_cli, db_path, "service", services)
    _import(run_cli, db_path, "incident", incidents)
    db = open_store(db_path)
    verdict = _run(db, tmp_path, INCIDENTS_ONLY, date(2026, 6, 30))
    domain = _domain(verdict, "Oak", "incident_learning")
    assert "statutory_breach" not in _caps(domain)
    assert _domain(verdict, "Oak", "incident_learning")["level_rule"] != "cap_statutory_breach"
    gaps = sorted((e["service"], e["facts"]["kind"], e["facts"].get("field")) for e in verdict["escalations"]
                  if e["rule"] == "data_gap" and "targets" not in e["facts"])
    # The notifications, and (separately) the register of deaths, were never imported; nor were the
    # review's root cause and controls, the learning decision or when the form was made.
    assert gaps == [("(provider)", "death", None), ("(provider)", "notification", None)] + [
        ("Oak", "incident", field) for field in ("immediate_controls", "learning_decision", "reported_at", "root_cause")]


def test_a_field_never_supplied_is_one_gap_per_location_and_judged_without_it(run_cli, db_path, tmp_path):
    services = write_csv(tmp_path / "services.csv", [["id", "service", "service_type"], ["S1", "Oak", "residential"]])
    # The log has no referral_at column: decisions to refer cannot be checked, and are not failed.
    concerns = write_csv(tmp_path / "concerns.csv", [
        ["id", "service", "raised_at", "is_allegation_of_abuse", "manager_decision", "manager_decision_at"],
        ["C1", "Oak", "02/06/2026 09:00", "N", "refer", "02/06/2026 12:00"],
        ["C2", "Oak", "09/06/2026 09:00", "N", "refer", "09/06/2026 12:00"],
    ])
    _import(run_cli, db_path, "service", services)
    _import(run_cli, db_path, "safeguarding_concern", concerns)
    db = open_store(db_path)
    verdict = _run(db, tmp_path, SAFEGUARDING_ONLY, date(2026, 6, 30))
    domain = _domain(verdict, "Oak", "safeguarding_recording")
    assert "statutory_breach" not in _caps(domain)
    gaps = [(e["service"], e["facts"].get("field")) for e in verdict["escalations"]
            if e["rule"] == "data_gap" and e["facts"]["kind"] == "safeguarding_concern"]
    assert gaps == [("Oak", "referral_at")]


# -- deaths that are not incidents --------------------------------------------------------------


def test_deaths_from_both_sources_are_counted_once_per_person(db, tmp_path):
    add(db, "service", id="S1", service="Oak", service_type="residential")
    # P1 died on Monday 3 August: in the incident log and in the register, notified by neither.
    add(db, "incident", id="I1", service="Oak", person_id="P1", occurred_at="03/08/2026 05:00", death="yes",
        harm_level="none", serious_injury="no", police_involved="no", notifiable_safety_incident="no",
        reviewed_at="03/08/2026 12:00")
    add(db, "death", id="D1", service="Oak", person_id="P1", died_at="03/08/2026 05:00", expected="yes",
        during_service="yes")
    # P2's expected death on 10 August is in the register alone, and not notified either.
    add(db, "death", id="D2", service="Oak", person_id="P2", died_at="10/08/2026 23:00", expected="yes",
        during_service="yes")
    # P3 died in hospital, unconnected with the service: no duty. P4: nobody knows whether it was.
    add(db, "death", id="D3", service="Oak", person_id="P3", died_at="12/08/2026 10:00", during_service="no")
    add(db, "death", id="D4", service="Oak", person_id="P4", died_at="14/08/2026 10:00", during_service="unknown")
    # A notification record exists (another incident's), so notifications are evidenced.
    add(db, "notification", id="N9", service="Oak", recipient="cqc", notification_type="other", sent_at="01/08/2026 09:00")
    verdict = _run(db, tmp_path, INCIDENTS_ONLY, date(2026, 8, 31))
    domain = _domain(verdict, "Oak", "incident_learning")
    breaches = [(b["records"], b["due"]) for b in _caps(domain)["statutory_breach"]["breaches"]]
    assert breaches == [(["D1", "I1"], "2026-08-04"), (["D2"], "2026-08-11")]
    assert _caps(domain)["statutory_undetermined"]["records"] == ["D4"]
    signals = {s["signal"]: s["records"] for s in domain["signals"]}
    assert signals["notifiable_not_notified"] == ["D1", "D2", "I1"]


# -- as of honesty ------------------------------------------------------------------------------


def test_a_run_as_of_a_date_before_a_review_shows_it_not_done(db, tmp_path):
    add(db, "service", id="S1", service="Oak", service_type="supported_living")
    add(db, "safeguarding_concern", id="C1", service="Oak", raised_at="01/06/2026 09:00", is_allegation_of_abuse="no",
        concern="At 09:00 staff saw a bruise.", immediate_action="Checked", immediate_action_at="01/06/2026 09:10",
        manager_decision="no_referral", manager_decision_at="01/06/2026 12:00", decision_rationale="Seen to fall",
        outcome_review_at="20/06/2026 10:00", outcome="risk_removed")

    def figures(as_of):
        verdict = _run(db, tmp_path, SAFEGUARDING_ONLY, as_of, targets=["sg_record_complete"])
        (target,) = verdict["domains"][0]["targets"]
        june = next(p for p in target["periods"] if p["period"] == "2026-06")
        return june["numerator"], june["denominator"], june["pending"]

    # As of 15 June the review (due by 29 June) had not happened: pending, not complete.
    assert figures(date(2026, 6, 15)) == (0, 0, 1)
    assert figures(date(2026, 6, 30)) == (1, 1, 0)


def test_an_overlay_cannot_loosen_the_duties(late_notification, tmp_path):
    overlay = ruleset_file(tmp_path, "extends: cqc-recovery\nname: slower\ndomains:\n  safeguarding_recording: "
                                     "{enabled: false}\n  provider_oversight: {enabled: false}\n  incident_learning:\n"
                                     "    parameters: {notification_within_days: 3, candour_within_working_days: 15}\n",
                           "slower.yaml")
    verdict = evaluate(late_notification, load_ruleset(overlay),
                       RunOptions(as_of=date(2026, 9, 30), engine="reference")).verdict
    breached = sorted(b["parameter"] for b in verdict["audit"]["guardrail_breaches"]
                      if b["parameter"].startswith("incident_learning."))
    assert breached == ["incident_learning.candour_within_working_days", "incident_learning.notification_within_days"]
    domain = _domain(verdict, "Oak", "incident_learning")
    assert (domain["level"], "guardrail" in _caps(domain)) == ("not_assured", True)


def test_completions_after_the_run_date_are_not_done_in_signals_either(db, tmp_path):
    add(db, "service", id="S1", service="Oak", service_type="residential")
    # Wednesday 20 May: five working days (Monday 25 May is a bank holiday) run to Thursday 28 May;
    # the review was done on 2 June.
    add(db, "incident", id="I1", service="Oak", occurred_at="20/05/2026 10:00", reviewed_at="02/06/2026 10:00")
    # A visit action due 22 May, closed with evidence on 3 June.
    add(db, "oversight_visit", id="V1", service="Oak", visit_date="01/05/2026", actions_agreed="A1")
    add(db, "improvement_action", id="A1", service="Oak", source_kind="oversight_visit", source_id="V1",
        raised_on="01/05/2026", owner="Named", due_date="22/05/2026", status="completed", completed_on="03/06/2026",
        closure_evidence="Audit seen")
    # Evidence goes on arriving in June (a run as of 30 June is an ordinary run).
    add(db, "feedback", id="F1", service="Oak", received_at="15/06/2026 10:00", source="staff", rating=4)
    both = "name: both\nstart: 2026-05-01\ndomains:\n  incident_learning: {}\n  provider_oversight: {}\n"

    def signals(as_of, domain, name):
        found = _domain(_run(db, tmp_path, both, as_of), "Oak", domain)["signals"]
        return next((s["records"] for s in found if s["signal"] == name), [])

    # As of 31 May the review was overdue and the action open past its deadline; by 30 June neither.
    assert signals(date(2026, 5, 31), "incident_learning", "reviews_overdue") == ["I1"]
    assert signals(date(2026, 6, 30), "incident_learning", "reviews_overdue") == []
    assert signals(date(2026, 5, 31), "provider_oversight", "overdue_actions") == ["A1"]
    assert signals(date(2026, 6, 30), "provider_oversight", "overdue_actions") == []


def test_a_schema_2_0_verdict_still_validates_and_renders(oak_house_breaches):
    """Runs stored before schema 2.1 have no statutory keys: they read as having none recorded."""
    import json

    from carecheck.reporters.html import render_html
    from carecheck.reporters.junit import render_junit
    from carecheck.reporters.markdown import render_markdown
    from carecheck.reporters.table import render_table
    from carecheck.verdict import Verdict
    from carecheck.verdict.chunks import plain

    verdict = json.loads(json.dumps(oak_house_breaches, default=plain))
    verdict["schema_version"] = "2.0"
    del verdict["verdict"]["statutory"]
    for location in verdict["locations"]:
        del location["statutory"], location["undetermined"]
        for domain in location["domains"]:
            domain["level_caps"] = [cap for cap in domain["level_caps"] if not cap["cap"].startswith("statutory")]
    Verdict.model_validate(verdict)
    for render in (render_table, render_markdown, render_html, render_junit):
        assert "Oak House" in render(verdict)
