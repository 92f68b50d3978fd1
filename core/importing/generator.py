"""A seeded generator of realistic synthetic evidence, written as the exports providers keep.

Files are CSV in Windows-1252 with day-first dates, as Excel on Windows writes them, plus a
manifest that imports them all. The same seed gives the same files.

The patterns follow the three improvement stories of the default ruleset, so a run over the
output shows each recovery status:

- safeguarding recording recovers: record quality and the screening cadences climb to 100% four
  months before the end and stay there;
- incident learning improves but has not yet met its 95% targets; every incident is followed by
  a care plan or risk assessment review, in the demo late for one incident in six at Elm Court;
- provider oversight meets its targets, then drifts: the last month has no visit, and actions are
  closed without evidence; in the demo, one of Oak House's visit actions stays open past its
  deadline and no governance meeting takes it up.

The register holds the provider's own row (Head Office, alias HQ) with the board's quarterly
review and the nominated individual's monthly safeguarding review: recorded once for every location.

Names of people never appear: people who use services and staff are pseudonymous ids, and the
free text is made from neutral templates.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

import yaml

from carecheck.dates import WorkingDays
from carecheck.importing.generated_files import COLUMNS, FILES, Writer
from carecheck.records import BUILTIN_KINDS
from carecheck.importing.synthetic import (
    CAUSE_TYPES, CAUSES, CONCERN_TEXT, FINDINGS_GOOD, FIRST_OWNERS, PROVIDER_NAME, SAID, SERVICE_NAMES, VAGUE_CONCERN,
    WHAT, _at, _months, _quota,
)


@dataclass(frozen=True)
class ExportStop:
    """One kind's export stopped at one location (its code, S001 for the first) from a day on."""

    kind: str
    service: str
    from_day: date

class Generator:
    def __init__(self, out: Path, services: int, months: int, seed: int, start: date, notes_per_day: int,
                 drifting: int = 0):
        self.out = Path(out)
        self.drifting = drifting
        self.n_services = services
        self.months = _months(start, months)
        self.rng = random.Random(seed)
        self.seed = seed
        # Draws for the fields added since the stories were first told (deaths, follow-ups): a
        # stream of their own, so the records drawn before keep their values and ids.
        self.extra = random.Random(seed * 7919 + 1)
        self.notes_per_day = notes_per_day
        self.working_days = WorkingDays()
        self.writers: dict[str, Writer] = {}
        self.counter = 0
        self.care_plans = 0
        #: (kind, service code) -> the day its export stopped
        self.stops: dict[tuple[str, str], date] = {}

    def next_care_plan_id(self) -> str:
        # Numbered apart from the other records, so the ids drawn before care plan reviews were
        # generated stay the same.
        self.care_plans += 1
        return f"CPR-{self.care_plans:07d}"

    def next_id(self, prefix: str) -> str:
        self.counter += 1
        return f"{prefix}-{self.counter:07d}"

    def write(self, kind: str, **values) -> None:
        if self.stops:
            stopped = self.stops.get((kind, values.get("service")))
            if stopped is not None:
                when = values.get(BUILTIN_KINDS[kind].event_field)
                day = when.date() if isinstance(when, datetime) else when
                if day is not None and day >= stopped:
                    return
        self.writers[kind].row(**values)

    def run(self) -> Path:
        self.out.mkdir(parents=True, exist_ok=True)
        self.writers = {kind: Writer(self.out / name, COLUMNS[kind]) for kind, name in FILES.items()}
        try:
            for index in range(self.n_services):
                self.service(index)
            self.provider()
        finally:
            for writer in self.writers.values():
                writer.close()
        manifest = [{"path": FILES[kind], "kind": kind, "source_name": "carecheck generator",
                     "options": {"encoding": "cp1252"}} for kind in COLUMNS]
        path = self.out / "manifest.yaml"
        path.write_text(
            "# Synthetic evidence made by `carecheck generate`; import it with\n"
            "#   carecheck import --manifest PATH/TO/THIS/manifest.yaml\n" + yaml.safe_dump(manifest, sort_keys=False),
            encoding="utf-8",
        )
        return path

    # -- the provider's own records --------------------------------------------------------------

    def provider(self) -> None:
        """The provider's own row in the register, with what is recorded once for every location:
        the board's quarterly review by the nominated individual, and the nominated individual's
        monthly review of safeguarding data (every month once safeguarding has recovered, about
        three months in five before)."""
        self.write("service", id="SVC-000", service=PROVIDER_NAME, service_type="provider", aliases=["HQ"],
                   registered_manager=None)
        total = len(self.months)
        for m, (first, last) in enumerate(self.months):
            if m % 3 == 2:  # the quarter's board meeting
                self.write("governance_item", id=self.next_id("GI"), service="HQ", meeting_date=last - timedelta(days=1),
                           meeting_type="board", item_type="ni_review", chaired_by_role="nominated individual",
                           decision="Strategic assurance findings recorded")
            if m >= total - 4 or self.extra.random() < 0.6:
                self.activity("HQ", "monthly_safeguarding_review", _at(last - timedelta(days=3), self.extra),
                              "nominated individual")

    # -- one service ------------------------------------------------------------------------------

    def service(self, index: int) -> None:
        if index < len(SERVICE_NAMES):
            name, service_type = SERVICE_NAMES[index]
        else:
            name, service_type = f"Service {index + 1:03d}", SERVICE_NAMES[index % len(SERVICE_NAMES)][1]
        code = f"S{index + 1:03d}"
        self.write("service", id=f"SVC-{index + 1:03d}", service=name, service_type=service_type,
                   cqc_location_id=f"1-{100000000 + index}", aliases=[code], registered_manager="Registered manager")
        people = [f"P-{code}-{n:02d}" for n in range(1, 7)]
        staff = [f"ST-{code}-{n:02d}" for n in range(1, 9)]
        total = len(self.months)
        visit_actions: list[dict] = []
        previous_visit = None
        for m, (first, last) in enumerate(self.months):
            # The stories: safeguarding recovers four months before the end and stays recovered,
            # incident learning climbs towards but below 95%, provider oversight drifts at the end.
            sg_quality = 1.0 if m >= total - 4 else 0.5 + 0.4 * m / max(1, total - 4)
            inc_quality = 0.5 + 0.4 * m / max(1, total - 1)
            review_quality = None
            drifting = m == total - 1
            if self.drifting:  # a recovering group: only the drifting locations miss reviews, in the last month
                inc_quality = sg_quality
                review_quality = 0.0 if drifting and index >= self.n_services - self.drifting else None
                drifting = False
            # The demo's Oak House completes one safeguarding follow-up in four late, every month.
            self.safeguarding(code, people, staff, first, last, sg_quality,
                              follow_up_quality=0.75 if self.drifting and index == 1 else 1.0)
            if m % 4 == 2:
                self.death(code, first, last, m)
            self.cadences(code, first, last, sg_quality >= 1.0, m, total)
            # The demo's Elm Court reviews one care plan in six late after an incident, every month.
            self.incidents(code, people, staff, first, last, inc_quality, review_quality,
                           care_plans_late=1 if self.drifting and index == 2 else 0,
                           repeats=bool(self.drifting) and index >= self.n_services - self.drifting)
            previous_visit = self.oversight(code, first, last, m, drifting, visit_actions, previous_visit)
            self.other_evidence(code, people, staff, first, last)
            self.daily_notes(code, people, staff, first, last)
        for action in visit_actions:  # written once, in the state they ended in
            action.pop("stuck", None)
            self.write("improvement_action", **action)

    def death(self, code, first, last, m) -> None:
        """An expected death of a person using the service, notified to CQC the same day."""
        extra = self.extra
        died = _at(first + timedelta(days=extra.randint(0, (last - first).days)), extra, (1, 20))
        self.write("death", id=f"DTH-{code}-{m + 1:02d}", service=code, person_id=f"P-{code}-D{m + 1:02d}", died_at=died,
                   expected=True, during_service="yes", cqc_notified_at=died + timedelta(hours=3))

    def safeguarding(self, code, people, staff, first, last, quality, follow_up_quality=1.0) -> None:
        rng = self.rng
        weak_recorder = staff[0]
        follow_ups = _quota(4, follow_up_quality)
        self.extra.shuffle(follow_ups)
        pattern = self.concern_pattern(code, people)
        for (pattern_day, pattern_person), complete, follow_up_on_time in zip(pattern, _quota(4, quality), follow_ups):
            rng.randint(0, (last - first).days - 3)  # drawn and set aside: the draws after it keep their values
            day = first + timedelta(days=pattern_day)
            raised = _at(day, rng, (8, 18))
            record_id = self.next_id("SG")
            rng.choice(people)
            person = pattern_person
            allegation = rng.random() < 0.3
            notification_id = None
            if allegation and complete:
                notification_id = self.next_id("NOT")
                self.write("notification", id=notification_id, service=code, recipient="cqc",
                           notification_type="abuse_allegation", about_kind="safeguarding_concern", about_id=record_id,
                           sent_at=raised + timedelta(hours=3), reference=f"CQC-{notification_id[-5:]}")
            weakness = None if complete else rng.choice(["rationale", "late", "review", "vague"])
            text = VAGUE_CONCERN if weakness == "vague" else CONCERN_TEXT.format(
                time=raised.strftime("%H:%M"), what=rng.choice(WHAT), said=rng.choice(SAID))
            decision_at = raised + timedelta(days=1 if weakness == "late" else 0, hours=2)
            recorder = weak_recorder if weakness else rng.choice(staff[1:])  # drawn before the decision, as always
            decision = rng.choice(["refer", "no_referral"])
            follow_up_due = decision_at.date() + timedelta(days=14 if follow_up_on_time else 3)
            follow_up_done = (follow_up_due - timedelta(days=self.extra.randint(0, 5)) if follow_up_on_time
                              else follow_up_due + timedelta(days=self.extra.randint(8, 12)))
            self.write(
                "safeguarding_concern", id=record_id, service=code, person_id=person, raised_at=raised,
                recorded_by=recorder, category="physical",
                is_allegation_of_abuse=allegation, concern=text, immediate_action="Person supported and checked",
                immediate_action_at=raised + timedelta(minutes=30), screened_at=raised + timedelta(hours=1),
                manager_decision_at=decision_at, manager_decision=decision,
                referral_at=decision_at + timedelta(hours=1) if decision == "refer" else None,
                follow_up="Review the person's safeguarding plan with them and their family", follow_up_due=follow_up_due,
                follow_up_completed_at=datetime.combine(follow_up_done, raised.time()),
                decision_rationale=None if weakness == "rationale" else "Decision recorded with reasons and risks",
                outcome_review_at=None if weakness == "review" else raised + timedelta(days=rng.randint(7, 20)),
                outcome="risk_reduced", clarification_requests=2 if weakness else 0, notification_id=notification_id,
                cqc_notified_at=raised + timedelta(hours=3) if allegation else None, status="closed",
            )
            self.write("daily_note", id=self.next_id("DN"), service=code, person_id=person,
                       written_at=raised - timedelta(hours=1), author_id=rng.choice(staff),
                       safeguarding_indicator=True, note="Staff noticed something to report; see the safeguarding log.")

    def cadences(self, code, first, last, complete, m, total) -> None:
        rng = self.rng
        # From a week before the recovered months, so the weeks that straddle a month end are complete too.
        keep_all = complete or m == total - 5
        day = first
        while day <= last:
            if keep_all or rng.random() < 0.8:
                self.activity(code, "daily_screening", _at(day, rng, (7, 9)), "team leader")
            if day.weekday() in (0, 3) and (keep_all or rng.random() < 0.7):
                self.activity(code, "safeguarding_lead_check", _at(day, rng, (10, 16)), "safeguarding lead")
            if day.weekday() == 2 and (keep_all or rng.random() < 0.7):
                self.activity(code, "recording_sample", _at(day, rng, (10, 16)), "deputy manager")
            day += timedelta(days=1)
        if complete or rng.random() < 0.6:
            # Drawn and set aside, id and time (the provider's row holds the review): the records
            # after it keep their ids and values.
            self.next_id("GA")
            _at(last - timedelta(days=3), rng)
            rng.randint(3, 20)
        self.activity(code, "monthly_incident_themes", _at(last - timedelta(days=2), rng), "quality lead")

    def incident_pattern(self, code: str, first: date, repeats: bool) -> list[tuple[int, str, str]]:
        """A location's month of incidents (day of the month less one, person, cause), the same
        days and causes every month, so its outcome measures hold steady, as a recovering home's
        should. Each month's six people are new ones, coming round again only after four months
        (beyond both repeat windows): no one repeats, except at a home whose story ``repeats``,
        where the second incident each month is the first's person again."""
        pattern = random.Random(f"{self.seed}:{code}:incidents")
        days = sorted(pattern.sample(range(15), 6))
        causes = [pattern.choice(CAUSES) for _ in days]
        block = [m[0] for m in self.months].index(first) % 4 * 6
        people = [f"P-{code}-I{block + slot + 1:02d}" for slot in range(len(days))]
        if repeats:
            people[1] = people[0]
        return list(zip(days, people, causes))

    def concern_pattern(self, code: str, people: list[str]) -> list[tuple[int, str]]:
        """A location's month of safeguarding concerns (day of the month less one, person), the
        same every month, so its repeat-concern measure holds steady."""
        pattern = random.Random(f"{self.seed}:{code}:concerns")
        days = sorted(pattern.sample(range(25), 4))
        return [(day, pattern.choice(people)) for day in days]

    def activity(self, code, activity, when, role) -> None:
        self.write("governance_activity", id=self.next_id("GA"), service=code, activity=activity, performed_at=when,
                   performed_by=f"ST-{code}-01", role=role, records_checked=self.rng.randint(3, 20), outcome="no_concerns")

    def incidents(self, code, people, staff, first, last, quality, review_quality=None, care_plans_late=0,
                  repeats=False) -> None:
        rng = self.rng
        late_care_plans = care_plans_late
        meeting = last - timedelta(days=4)
        next_meeting = meeting + timedelta(days=31)
        reviews = _quota(6, quality if review_quality is None else review_quality)
        pattern = self.incident_pattern(code, first, repeats)
        for (pattern_day, pattern_person, pattern_cause), ok_review, ok_learning, ok_observed in zip(
                pattern, reviews, _quota(6, quality), _quota(6, quality)):
            rng.randint(0, 14)  # drawn and set aside: the draws after it keep their values
            day = first + timedelta(days=pattern_day)
            occurred = _at(day, rng, (0, 23))
            record_id = self.next_id("INC")
            delay = rng.randint(1, 4) if ok_review else 6 if review_quality is not None else rng.randint(7, 10)
            reviewed_day = self.working_days.add(day, delay)
            reviewed = datetime.combine(reviewed_day, occurred.time().replace(hour=11))
            action_id = self.next_id("ACT")
            shared = reviewed + timedelta(days=1)
            harm = rng.choice(["none", "none", "low", "low", "moderate"])
            serious = harm == "moderate" and rng.random() < 0.3
            notification_id = None
            if serious:
                notification_id = self.next_id("NOT")
                self.write("notification", id=notification_id, service=code, recipient="cqc",
                           notification_type="serious_injury", about_kind="incident", about_id=record_id,
                           sent_at=occurred + timedelta(hours=5), reference=f"CQC-{notification_id[-5:]}")
            _, reporter, _ = rng.choice(people), rng.choice(staff), rng.choice(CAUSES)
            person, cause = pattern_person, pattern_cause
            late = late_care_plans > 0
            late_care_plans -= late
            if late:  # a person with no other incident that month, whose later reviews cannot stand in
                person = f"P-{code}-M{first.month:02d}"
            self.write(
                "incident", id=record_id, service=code, person_id=person, occurred_at=occurred,
                reported_at=occurred + timedelta(minutes=40),
                reported_by=reporter, incident_type=CAUSE_TYPES[cause],
                cause=cause, harm_level=harm, description="Incident recorded on the electronic form.",
                immediate_action="Person checked for injury and made safe; senior on shift informed.",
                safeguarding_flag=False,
                police_involved=False, serious_injury=serious, death=False, notifiable_safety_incident=serious,
                cqc_notified_at=occurred + timedelta(hours=5) if serious else None,
                reviewed_at=reviewed, reviewed_by="registered manager",
                root_cause="Root cause analysis recorded on the review form.",
                immediate_controls="Risk controls reviewed and updated at the review.", learning_decision="action",
                learning_shared_at=shared, learning_action_id=action_id,
                duty_of_candour_at=occurred + timedelta(days=2) if harm == "moderate" else None,
                notification_id=notification_id, status="closed",
            )
            review_day = day + timedelta(days=self.extra.randint(9, 12) if late else self.extra.randint(1, 5))
            self.write("care_plan_review", id=self.next_care_plan_id(), service=code, person_id=person,
                       reviewed_on=review_day, review_type=self.extra.choice(["care_plan", "risk_assessment"]),
                       incident_id=record_id, reviewed_by="deputy manager",
                       next_review_on=review_day + timedelta(days=28))
            self.write("improvement_action", id=action_id, service=code, source_kind="incident", source_id=record_id,
                       description="Share learning and check practice", owner=rng.choice(FIRST_OWNERS),
                       owner_role="deputy manager", raised_on=reviewed_day, due_date=reviewed_day + timedelta(days=14),
                       status="completed", completed_on=reviewed_day + timedelta(days=10),
                       closure_evidence="Observation and handover record seen", verified_by="registered manager")
            self.write("briefing", id=self.next_id("BR"), service=code, held_at=shared, led_by_role="deputy manager",
                       topic="incident learning", incident_id=record_id, learning_action_id=action_id,
                       attendees=rng.randint(4, 9), understanding_checked=True)
            observed = shared + timedelta(days=rng.randint(2, 6) if ok_observed else rng.randint(9, 14))
            self.write("practice_observation", id=self.next_id("OBS"), service=code, observed_at=observed,
                       observer_role="care lead", staff_id=rng.choice(staff), topic="incident learning",
                       incident_id=record_id, learning_action_id=action_id, outcome="met" if ok_observed else "partially_met",
                       staff_aware_of_guidance=True)
            checked_at = meeting if reviewed_day <= meeting and ok_learning else next_meeting
            self.write("governance_item", id=self.next_id("GI"), service=code, meeting_date=checked_at,
                       meeting_type="governance", item_type="action_check", action_id=action_id,
                       chaired_by_role="registered manager", decision="Action checked against evidence")
        self.write("governance_item", id=self.next_id("GI"), service=code, meeting_date=meeting, meeting_type="governance",
                   item_type="incident_themes", chaired_by_role="registered manager", decision="Themes reviewed")

    def oversight(self, code, first, last, m, drifting, actions: list[dict], previous_visit):
        rng = self.rng
        if m % 3 == 2:
            self.next_id("GI")  # the board minutes are the provider's now: the ids after keep their values
        if drifting:
            for action in actions:  # closed without follow-up evidence, and no visit this month
                if action["status"] == "open":
                    action.update(status="completed", completed_on=first + timedelta(days=5), closure_evidence=None)
            return previous_visit
        visit_day = first + timedelta(days=rng.randint(5, 12))
        visit_id = self.next_id("VIS")
        reviewed = []
        for action in actions:
            if action["status"] == "open":
                if action.get("stuck"):  # still open: reviewed, and past its deadline once it is
                    reviewed.append(f"{action['id']}={'overdue' if action['due_date'] < visit_day else 'open'}")
                    continue
                action.update(status="completed", completed_on=visit_day,
                              closure_evidence="Follow-up evidence seen at the visit")
                reviewed.append(f"{action['id']}=completed")
        agreed = []
        for n in range(2):
            # Six weeks: done by the next visit, where its follow-up evidence is seen.
            action = {"id": self.next_id("ACT"), "service": code, "source_kind": "oversight_visit", "source_id": visit_id,
                      "description": "Put right a finding from the provider visit", "owner": rng.choice(FIRST_OWNERS),
                      "owner_role": "registered manager", "raised_on": visit_day,
                      "due_date": visit_day + timedelta(days=42), "status": "open"}
            # The demo's Oak House leaves one action from its visit three months before the end open
            # past its deadline, and no governance meeting takes it up.
            if n == 0 and self.drifting and code == "S002" and m == len(self.months) - 3:
                action["stuck"] = True
            actions.append(action)
            agreed.append(action["id"])
        self.write("oversight_visit", id=visit_id, service=code, visit_date=visit_day, previous_visit_date=previous_visit,
                   visitor="provider representative", visitor_role="provider representative", visit_type="announced",
                   sampled="Care records, staff and people spoken with", findings=FINDINGS_GOOD,
                   actions_reviewed=reviewed, actions_agreed=agreed)
        return visit_day

    def other_evidence(self, code, people, staff, first, last) -> None:
        rng = self.rng
        for source in ("person", "family", "staff"):
            self.write("feedback", id=self.next_id("FB"), service=code, received_at=_at(first + timedelta(days=rng.randint(0, 27)), rng),
                       source=source, channel="survey", feels_safe=True, rating=rng.randint(3, 5), theme="safety",
                       comments="Feedback recorded in the survey.")
        for _ in range(2):
            self.write("supervision", id=self.next_id("SUP"), service=code, staff_id=rng.choice(staff),
                       supervisor_role="deputy manager", held_at=_at(first + timedelta(days=rng.randint(0, 27)), rng),
                       supervision_type="routine", themes=["recording_quality"])
        # Scores rise a point a month from the first (a recovering home's audits do not fall); the
        # draws are made and set aside, so the draws after them keep their values.
        month = [m[0] for m in self.months].index(first)
        rng.randint(75, 95)
        self.write("audit", id=self.next_id("AUD"), service=code, audit_date=last - timedelta(days=6),
                   audit_type="care_records", auditor_role="quality lead", score=min(95, 80 + month), result="good")
        rng.randint(70, 95)
        self.write("audit", id=self.next_id("AUD"), service=code, audit_date=last - timedelta(days=5),
                   audit_type="safeguarding_log", auditor_role="safeguarding lead", score=min(95, 78 + month), result="good")
        self.write("practice_observation", id=self.next_id("OBS"), service=code,
                   observed_at=_at(first + timedelta(days=rng.randint(0, 27)), rng), observer_role="deputy manager",
                   staff_id=rng.choice(staff), topic="safeguarding recording", outcome="met", staff_aware_of_guidance=True)

    def daily_notes(self, code, people, staff, first, last) -> None:
        rng = self.rng
        day = first
        while day <= last:
            for n in range(self.notes_per_day):
                self.write("daily_note", id=self.next_id("DN"), service=code, person_id=people[n % len(people)],
                           written_at=_at(day, rng), author_id=rng.choice(staff), safeguarding_indicator=False,
                           note="Personal care given; ate well; settled in the evening.")
            day += timedelta(days=1)


def generate(out: Path, *, services: int = 2, months: int = 8, seed: int = 7, start: date = date(2026, 1, 1),
             notes_per_day: int = 3, drifting: int = 0, stops: tuple[ExportStop, ...] = ()) -> Path:
    """Write synthetic evidence and its manifest to ``out``; returns the manifest's path.

    With ``drifting``, the group recovers in every domain, except that the last ``drifting``
    locations miss every incident review deadline (inc_review_5wd) in the last month: a failing
    home that a pooled figure would hide; and the second location (Oak House) completes one
    safeguarding follow-up in four late every month (sg_follow_up_complete not improving). Every
    field the statutory rules read is filled in, every duty is met, and each location's register
    of deaths holds an expected death, notified the same day, every fourth month.

    Each of ``stops`` leaves out one kind's records at one location from a day on, as when a
    system's export stopped there: everything else is drawn as without it.
    """
    generator = Generator(out, services, months, seed, start, notes_per_day, drifting)
    generator.stops = {(stop.kind, stop.service): stop.from_day for stop in stops}
    return generator.run()


def last_day(start: date, months: int) -> date:
    """The last day of the generated months: the demo's as-of date."""
    return _months(start, months)[-1][1]
