"""Safeguarding recording: the seed's first operational example (a supported living provider).

Baseline issue: safeguarding concerns were not always recorded with clear timelines, management
decisions or follow-up actions. Target: 100% of safeguarding records show the concern, the
immediate protection action, the escalation decision with its rationale and an outcome review,
each within its timescale. Checked by daily screening, twice-weekly safeguarding-lead checks,
weekly recording samples and a monthly nominated-individual review.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from typing import Any, ClassVar, Iterable

from pydantic import Field, field_validator

from carecheck import hookimpl
from carecheck.domain_api import (
    ABUSE_ALLEGATION, DEFAULT_TIMELINE_PATTERN, FAIL, PASS, PENDING, Breach, Context, Domain, DomainParameters,
    EscalationSpec, EvidenceSource, Outcome, OutcomeMeasure, SignalSpec, TargetSpec, Undetermined, activity_days,
    contains_phrase, feedback_sources, has_timeline, phrase_list, repeat_share, stored_day,
)
from carecheck.plugins.safeguarding_matches import incidents_without_concern
from carecheck.plugins.statutory_checks import ConcernDuties


class SafeguardingParameters(DomainParameters):
    decision_within_days: int = Field(0, ge=0, description="Days after the concern for the manager's decision (0: the same day).")
    protection_within_days: int = Field(0, ge=0, description="Days after the concern for the immediate protection action.")
    outcome_review_within_days: int = Field(28, ge=1, description="Calendar days after the concern for the outcome review.")
    follow_up_within_days: int = Field(
        28, ge=1, description="Calendar days after the manager's decision by which agreed follow-up actions are due, "
                              "where the concern gives no follow_up_due.")
    notification_within_days: int = Field(
        1, ge=0, description="'Without delay' for a CQC notification of an allegation of abuse (REG2009-18): calendar "
                             "days after the end of the concern's date, whatever the day of the week.")
    referral_within_days: int = Field(
        1, ge=0, description="Calendar days after the end of the decision's date by which a decision to refer must be "
                             "followed by a recorded referral.")
    clarification_repeat: int = Field(2, ge=1, description="Clarification requests on one record that count as repeated.")
    weakness_window_days: int = Field(30, ge=1, description="Window for repeated recording weakness by the same recorder.")
    weakness_repeat: int = Field(2, ge=2, description="Weak records by one recorder within the window that count as repeated.")
    indicator_window_days: int = Field(7, ge=0, description="Days after a flagged daily note within which a concern should be raised.")
    lead_checks_per_week: int = Field(2, ge=1, description="Safeguarding-lead checks expected each week.")
    repeat_concern_days: int = Field(90, ge=1, description="A concern about a person with another within this many days "
                                                             "is a repeat (the repeat-concern outcome measure).")
    vague_phrases: list[str] = Field(default_factory=lambda: phrase_list("vague"))

    replaced: ClassVar[dict[str, str]] = {
        "notification_within_working_days": "replaced by notification_within_days (calendar days: 'without delay' "
                                            "does not wait for the working week)",
    }
    indicator_phrases: list[str] = Field(default_factory=lambda: phrase_list("safeguarding_indicators"))
    concern_incident_types: list[str] = Field(
        default_factory=lambda: ["unexplained_injury", "abuse"],
        description="Incident types (codes of incident_type) that call for a safeguarding concern for the person.")
    concern_after_incident_days: int = Field(
        2, ge=0, description="Days either side of such an incident (or one with safeguarding_flag yes) within which a "
                             "concern for the same person is expected.")
    timeline_pattern: str = Field(DEFAULT_TIMELINE_PATTERN, description="Regular expression for a time of day.")

    @field_validator("timeline_pattern")
    @classmethod
    def _compiles(cls, value: str) -> str:
        import re

        try:
            re.compile(value)
        except re.error as error:
            raise ValueError(f"not a valid regular expression ({error})") from None
        return value


class SafeguardingRecording(Domain):
    name = "safeguarding_recording"
    title = "Safeguarding recording"
    description = "Safeguarding concerns recorded with timelines, decisions, rationale and follow-up."
    baseline_issue = (
        "Safeguarding concerns were not always recorded with clear timelines, management decisions or follow-up actions."
    )
    reads = ("safeguarding_concern", "daily_note", "notification", "governance_activity", "feedback",
             "practice_observation", "supervision", "audit", "incident")
    parameters_model = SafeguardingParameters
    key_questions = ("safe", "well_led")
    quality_statements = ("safe.safeguarding", "well_led.governance")
    regulations = ("RA2014-13", "RA2014-17", "REG2009-18")
    targets = (
        TargetSpec(
            "sg_record_complete", "Safeguarding records complete and on time", "rate", 1.0, ("safeguarding_concern",),
            "Share of concerns showing the concern, the immediate protection action, the escalation decision with its "
            "rationale (the same day) and an outcome review with its outcome, each within its timescale.",
        ),
        TargetSpec(
            "sg_follow_up_complete", "Safeguarding follow-ups completed on time", "rate", 0.95, ("safeguarding_concern",),
            "Share of concerns with follow-up actions agreed whose follow-up was completed by its due date "
            "(its recorded due date, else {follow_up_within_days} days after the manager's decision).",
        ),
        TargetSpec(
            "sg_daily_screening", "Daily notes screened every day", "cadence", 1.0, ("governance_activity",),
            "Share of days with a recorded screening of daily notes.",
            cadence="Team leader screens all daily notes each morning (recorded as daily screening).",
        ),
        TargetSpec(
            "sg_lead_checks", "Safeguarding lead checks twice weekly", "cadence", 1.0, ("governance_activity",),
            "Share of weeks with the expected number of safeguarding-lead checks of open actions.",
            cadence="Safeguarding lead checks open safeguarding actions twice weekly (recorded as a safeguarding lead check).",
        ),
        TargetSpec(
            "sg_weekly_sample", "Weekly sampling of staff recording", "cadence", 1.0, ("governance_activity",),
            "Share of weeks with a recorded sample of staff recording.",
            cadence="Deputy manager samples staff recording weekly (recorded as a recording sample).",
        ),
        TargetSpec(
            "sg_monthly_review", "Monthly nominated-individual review", "cadence", 1.0, ("governance_activity",),
            "Share of months with the nominated individual's review of safeguarding data (judged once for the "
            "provider: a review recorded at the provider's row or at any location counts for all).",
            cadence="Nominated individual reviews safeguarding data monthly (recorded as a monthly safeguarding review).",
            scope="provider",
        ),
    )
    signals = (
        SignalSpec("missing_rationale", "Decisions without rationale",
                   "Concerns this period whose escalation decision has no rationale, or has no decision past its deadline.",
                   sentence="{n} concern{s} in {period} with no decision rationale"),
        SignalSpec("delayed_escalation", "Delayed escalation decisions",
                   "Concerns this period whose manager decision came after its timescale, or has not come and is overdue.",
                   sentence="{n} concern{s} in {period} with the manager's decision late or missing"),
        SignalSpec("vague_language", "Vague language", "Concerns this period whose record uses a vague phrase.",
                   sentence="{n} concern{s} in {period} in vague language"),
        SignalSpec("missing_timeline", "Missing timelines", "Concerns this period whose record gives no time of day.",
                   sentence="{n} concern{s} in {period} with no time of day"),
        SignalSpec("repeated_clarification", "Repeated manager clarification",
                   "Concerns this period on which the manager asked for clarification repeatedly.",
                   sentence="{n} concern{s} in {period} with repeated requests for clarification"),
        SignalSpec("repeated_recording_weakness", "Repeated recording weakness by the same recorder",
                   "Weak records (vague, no timeline, no rationale, repeated clarification) by recorders with repeated "
                   "weak records within the window ending this period.",
                   sentence="{n} weak record{s} by staff who repeatedly record weakly, in the window ending {period}"),
        SignalSpec("unscreened_indicators", "Daily notes with indicators but no concern",
                   "Daily notes this period with safeguarding indicators for a person with no concern raised within the window.",
                   sentence="{n} daily note{s} in {period} with safeguarding indicators and no concern raised"),
        SignalSpec("incident_without_concern", "Incidents suggesting abuse with no safeguarding concern",
                   "Incidents this period of the listed types (unexplained injury, abuse) or flagged as a safeguarding "
                   "matter, with no safeguarding concern for the same person within concern_after_incident_days.",
                   sentence="{n} incident{s} in {period} suggesting abuse or neglect with no safeguarding concern raised"),
        SignalSpec("abuse_without_notification", "Allegations of abuse not notified to CQC",
                   "Allegations whose CQC notification (REG2009-18) is outstanding past 'without delay', or was made late "
                   "this period.",
                   sentence="{n} allegation{s} of abuse not notified to CQC in time, as of {period}"),
        SignalSpec("referral_not_made", "Decisions to refer with no referral",
                   "Decisions to refer with the referral outstanding past referral_within_days of the decision, or made "
                   "late this period.",
                   sentence="{n} decision{s} to refer with no referral made in time, as of {period}"),
        SignalSpec("allegation_undetermined", "Concerns not recorded as allegations or not",
                   "Concerns in the window whose is_allegation_of_abuse was left blank: whether CQC must be notified "
                   "cannot be decided.",
                   sentence="{n} concern{s} in the window ending {period} not recorded as an allegation of abuse or not"),
        SignalSpec("indicator_screened_no_concern", "Flagged notes screened without a concern",
                   "Daily notes this period with safeguarding indicators that a team leader screened, with no concern "
                   "raised: for information, not an escalation.",
                   sentence="{n} flagged daily note{s} in {period} screened with no concern raised"),
        SignalSpec("unsafe_feedback", "Feedback that people do not feel safe",
                   "Feedback this period saying the person does not feel safe.",
                   sentence="{n} feedback record{s} in {period} saying the person does not feel safe"),
    )
    measures = (
        OutcomeMeasure("repeat_concern_rate", "Repeat concerns about the same person",
                       "Share of the window's concerns about a person who had another concern within the previous "
                       "repeat_concern_days (90) days: lower is better.",
                       kind="safeguarding_concern", lookback_param="repeat_concern_days"),
    )
    escalations = (
        EscalationSpec("sg_missing_rationale", "Missing decision rationale", "missing_rationale > 0",
                       "Immediate staff coaching on recording the escalation decision and its rationale",
                       "registered_manager", 2),
        EscalationSpec("sg_delayed_escalation", "Delayed escalation", "delayed_escalation > 0",
                       "Revised handover prompts so flagged concerns reach the registered manager the same day",
                       "registered_manager", 5),
        EscalationSpec("sg_repeated_weakness", "Repeated recording weakness",
                       "repeated_recording_weakness > 0 or repeated_clarification > 0",
                       "Targeted supervision for staff with repeated weak safeguarding records",
                       "registered_manager", 10),
        EscalationSpec("sg_unsafe_feedback", "People do not feel safe", "unsafe_feedback > 0",
                       "Follow up feedback that people do not feel safe and review their safeguarding plans",
                       "registered_manager", 2),
        EscalationSpec("sg_not_notified", "Allegation not notified", "abuse_without_notification > 0",
                       "Notify CQC of the allegation without delay (Registration Regulations 2009, regulation 18)",
                       "registered_manager", 1),
        EscalationSpec("sg_referral_not_made", "Referral not made", "referral_not_made > 0",
                       "Make the referral to the local authority and record when it was made",
                       "registered_manager", 1),
        EscalationSpec("sg_allegation_undetermined", "Allegation undecided", "allegation_undetermined > 0",
                       "Decide and record whether each concern is an allegation of abuse, and notify CQC where it is",
                       "registered_manager", 1),
        EscalationSpec("sg_follow_up_missed", "Follow-ups not completed on time",
                       "sg_follow_up_complete.has_value and not sg_follow_up_complete.met",
                       "Safeguarding lead checks every open follow-up twice weekly until each is completed and recorded",
                       "safeguarding_lead", 5),
        EscalationSpec("sg_unscreened_indicators", "Indicators not screened", "unscreened_indicators > 0",
                       "Screen the flagged daily notes and record a safeguarding decision for each",
                       "registered_manager", 1),
        EscalationSpec("sg_incident_without_concern", "Incidents without a safeguarding concern",
                       "incident_without_concern > 0",
                       "Safeguarding lead reviews each listed incident and raises a concern, or records why none is "
                       "needed", "safeguarding_lead", 1),
        EscalationSpec("sg_target_missed", "Recording target missed",
                       "sg_record_complete.has_value and not sg_record_complete.met",
                       "Immediate staff coaching and weekly sampling of every safeguarding record until the target is met",
                       "registered_manager", 5),
    )
    evidence = (
        EvidenceSource("safeguarding_concern", "processes", label="safeguarding log"),
        EvidenceSource("daily_note", "processes", label="daily notes"),
        EvidenceSource("governance_activity", "processes",
                       "activity IN ('daily_screening', 'safeguarding_lead_check', 'recording_sample', "
                       "'monthly_safeguarding_review')", "safeguarding oversight tracker"),
        EvidenceSource("audit", "processes", "audit_type LIKE '%safeguard%'", "safeguarding audits"),
        EvidenceSource("practice_observation", "observation", "topic IS NULL OR topic LIKE '%safeguard%'",
                       "safeguarding practice observations", supports="outcome == 'met'",
                       against="found practice below the expected standard"),
        EvidenceSource("supervision", "staff_feedback", label="supervision"),
        *feedback_sources(people=("feels_safe == true", "say the person does not feel safe")),
    )

    def outcomes(self, ctx: Context) -> Iterable[Outcome]:
        params: SafeguardingParameters = ctx.params
        if ctx.wants("sg_record_complete") or ctx.wants("sg_follow_up_complete"):
            yield from self._record_outcomes(ctx, params)
        cadences = {
            "sg_daily_screening": ("daily_screening", "day", 1),
            "sg_lead_checks": ("safeguarding_lead_check", "week", params.lead_checks_per_week),
            "sg_weekly_sample": ("recording_sample", "week", 1),
            "sg_monthly_review": ("monthly_safeguarding_review", "month", 1),
        }
        for target, (activity, every, minimum) in cadences.items():
            if ctx.wants(target):
                yield from ctx.cadence(target, every, activity_days(ctx, activity), minimum)

    def _record_outcomes(self, ctx: Context, params: SafeguardingParameters) -> Iterable[Outcome]:
        # Only whether each narrative is there matters here: fetch flags, not the text.
        rows = ctx.rows(
            """SELECT id, service, raised_at, coalesce(concern, '') != '', coalesce(immediate_action, '') != '',
                      immediate_action_at, manager_decision, manager_decision_at,
                      coalesce(decision_rationale, '') != '', outcome_review_at, outcome,
                      coalesce(follow_up, '') != '', follow_up_due, follow_up_completed_at, import_id
               FROM safeguarding_concern WHERE +raised_at >= ?""",
            [ctx.start.isoformat()],
        )
        complete, follow_ups = ctx.wants("sg_record_complete"), ctx.wants("sg_follow_up_complete")
        for (record_id, raw_service, raised_at, concern, action, action_at, decision, decision_at,
             rationale, review_at, outcome, follow_up, follow_up_due, follow_up_done, import_id) in rows:
            service = ctx.service(raw_service)
            if service is None:
                continue
            raised = stored_day(raised_at)
            shift = ctx.shift(raised_at)
            decided = ctx.done(decision_at)
            if complete:
                yield Outcome("sg_record_complete", service, raised, record_id,
                              self._complete(ctx, params, raised, (concern, action, action_at, decision, decided,
                                                                   rationale, review_at, outcome, import_id), service),
                              shift)
            if follow_ups and follow_up:
                due = (ctx.day(follow_up_due) if follow_up_due else None) or \
                      (decided or raised) + timedelta(days=params.follow_up_within_days)
                yield Outcome("sg_follow_up_complete", service, raised, record_id,
                              _deadline_status(ctx.done(follow_up_done), due, ctx.as_of), shift)

    @staticmethod
    def _complete(ctx: Context, params: SafeguardingParameters, raised: date, row: tuple, service: str) -> str:
        """A concern's record: complete (each element there and on time, as of the run's date), failed
        (an element missing past its deadline) or pending."""
        concern, action, action_at, decision, decided, rationale, review_at, outcome, import_id = row
        reviewed = ctx.done(review_at)
        if reviewed is not None and outcome is None:
            # The review counts with its outcome (risk removed, reduced, remains); a log with no
            # outcome column is judged on the review's date alone.
            if ctx.supplied("safeguarding_concern", "outcome", import_id):
                reviewed = None
            else:
                ctx.gap(service, "safeguarding_concern", "outcome")
        acted = ctx.day(action_at)
        # Each element: (done on time, deadline); a protection action with no time recorded passes.
        elements = [
            (bool(concern), raised),
            (bool(action) and (acted is None or (acted <= ctx.as_of
                                                 and acted <= raised + timedelta(days=params.protection_within_days))),
             raised + timedelta(days=params.protection_within_days)),
            (decision in ("refer", "no_referral") and bool(rationale) and decided is not None
             and decided <= raised + timedelta(days=params.decision_within_days),
             raised + timedelta(days=params.decision_within_days)),
            (reviewed is not None and reviewed <= raised + timedelta(days=params.outcome_review_within_days),
             raised + timedelta(days=params.outcome_review_within_days)),
        ]
        if all(done for done, _ in elements):
            return PASS
        if any(not done and ctx.as_of > deadline for done, deadline in elements):
            return FAIL
        return PENDING

    def signal_values(self, ctx: Context) -> dict[str, dict[str, Any]]:
        """Each signal as the ids of the records behind it."""
        params: SafeguardingParameters = ctx.params
        values: dict[str, dict[str, set]] = defaultdict(lambda: defaultdict(set))
        if ctx.current is None:
            return values
        current = ctx.current
        vague = tuple(p.lower() for p in params.vague_phrases)
        window_start = current.end - timedelta(days=params.weakness_window_days - 1)
        rows = ctx.rows(
            """SELECT id, service, raised_at, recorded_by, concern, manager_decision, manager_decision_at,
                      decision_rationale, clarification_requests
               FROM safeguarding_concern WHERE raised_at >= ? AND raised_at < ?""",
            [min(window_start, current.start).isoformat(), (current.end + timedelta(days=1)).isoformat()],
        )
        weak_by_recorder: dict[tuple[str, str], list[str]] = defaultdict(list)
        for (record_id, raw_service, raised_at, recorder, concern, decision, decision_at, rationale,
             clarifications) in rows:
            service = ctx.service(raw_service)
            if service is None:
                continue
            raised = stored_day(raised_at)
            if decision_at is not None and ctx.done(decision_at) is None:
                decision, decision_at = None, None  # decided after as_of: not yet, as of then
            decided_by = raised + timedelta(days=params.decision_within_days)
            no_decision_overdue = decision not in ("refer", "no_referral") and ctx.as_of > decided_by
            missing_rationale = (decision in ("refer", "no_referral") and not rationale) or no_decision_overdue
            is_vague = contains_phrase(concern, vague)
            no_timeline = not has_timeline(concern, params.timeline_pattern)
            repeated = (clarifications or 0) >= params.clarification_repeat
            if raised >= window_start and recorder and (is_vague or no_timeline or missing_rationale or repeated):
                weak_by_recorder[(service, recorder)].append(record_id)
            if not current.contains(raised):
                continue
            found = values[service]
            late = decision_at is not None and stored_day(decision_at) > decided_by
            for name, flagged in (("missing_rationale", missing_rationale), ("delayed_escalation", late or no_decision_overdue),
                                  ("vague_language", is_vague), ("missing_timeline", no_timeline),
                                  ("repeated_clarification", repeated)):
                if flagged:
                    found[name].add(record_id)
        for (service, _recorder), weak in weak_by_recorder.items():
            if len(weak) >= params.weakness_repeat:
                values[service]["repeated_recording_weakness"].update(weak)
        for duty in self.duties(ctx):
            if isinstance(duty, Undetermined):
                values[duty.service]["allegation_undetermined"].add(duty.record)
            elif duty.made is None or current.contains(duty.made):
                name = "abuse_without_notification" if duty.subject == ABUSE_ALLEGATION else "referral_not_made"
                values[duty.service][name].update(duty.records)
        if ctx.signal_wanted("incident_without_concern"):
            for service, record_id in incidents_without_concern(ctx, params):
                values[service]["incident_without_concern"].add(record_id)
        for service, note_id, screened in _unscreened_indicators(ctx, params):
            values[service]["indicator_screened_no_concern" if screened else "unscreened_indicators"].add(note_id)
        for record_id, raw_service in ctx.rows(
            "SELECT id, service FROM feedback WHERE feels_safe = 0 AND received_at >= ? AND received_at < ?",
            [current.start.isoformat(), (current.end + timedelta(days=1)).isoformat()],
        ):
            service = ctx.service(raw_service)
            if service is not None:
                values[service]["unsafe_feedback"].add(record_id)
        return values

    def duties(self, ctx: Context) -> list[Breach | Undetermined]:
        """Notifications of allegations of abuse (REG2009-18) and referrals decided (regulation 13),
        over the evaluated periods (plugins/statutory_checks.py)."""
        return ctx.cached("duties", lambda: ConcernDuties(ctx, ctx.params).found())

    def measure_values(self, ctx: Context) -> dict[str, dict[str, float | None]]:
        """Repeat concerns about the same person, over the window."""
        params: SafeguardingParameters = ctx.params
        if not ctx.window:
            return {}
        start = ctx.window[0].start
        events: dict[str, list] = defaultdict(list)
        for record_id, raw_service, person, raised_at in ctx.rows(
            "SELECT id, service, person_id, raised_at FROM safeguarding_concern WHERE raised_at >= ? AND raised_at < ? "
            "ORDER BY raised_at, id",
            [(start - timedelta(days=params.repeat_concern_days)).isoformat(),
             (ctx.window[-1].end + timedelta(days=1)).isoformat()],
        ):
            service = ctx.service(raw_service)
            if service is not None:
                events[service].append((record_id, (("person", person),), stored_day(raised_at)))
        return {service: {"repeat_concern_rate": repeat_share(rows, start, params.repeat_concern_days)}
                for service, rows in events.items()}


def _deadline_status(done: date | None, deadline: date, as_of: date) -> str:
    """Pass when done (by as_of) by the deadline; fail when done late or the deadline has passed;
    else pending."""
    if done is not None:
        return PASS if done <= deadline else FAIL
    return FAIL if as_of > deadline else PENDING


def _unscreened_indicators(ctx: Context, params: SafeguardingParameters) -> list[tuple[str, str, bool]]:
    """Flagged daily notes in the current period with no concern for the person within the window:
    (service, note id, whether a team leader screened it)."""
    current = ctx.current
    last_note_day = min(current.end, ctx.as_of - timedelta(days=params.indicator_window_days + 1))
    if last_note_day < current.start:
        return []
    phrases = tuple(p.lower() for p in params.indicator_phrases if p)
    # Whole-word matching needs a regular expression, which SQLite lacks: lend it one.
    ctx.function("carecheck_indicator", lambda text: int(contains_phrase(text, phrases)), 1)
    sql = """
        SELECT n.service, n.id, n.screened_at IS NOT NULL AND n.screened_at < ? FROM daily_note n
        WHERE n.written_at >= ? AND n.written_at < ?
          AND (n.safeguarding_indicator = 1 OR carecheck_indicator(n.note) = 1)
          AND NOT EXISTS (
              SELECT 1 FROM safeguarding_concern c
              WHERE c.person_id = n.person_id
                AND c.raised_at >= substr(n.written_at, 1, 10)
                AND substr(c.raised_at, 1, 10) BETWEEN substr(n.written_at, 1, 10)
                    AND date(substr(n.written_at, 1, 10), ?))"""
    args = [(ctx.as_of + timedelta(days=1)).isoformat(), current.start.isoformat(),
            (last_note_day + timedelta(days=1)).isoformat(), f"+{params.indicator_window_days} days"]
    found = []
    for raw_service, note_id, screened in ctx.rows(sql, args):
        service = ctx.service(raw_service)
        if service is not None:
            found.append((service, note_id, bool(screened)))
    return found


@hookimpl
def carecheck_register_domains(register):
    register(SafeguardingRecording())
