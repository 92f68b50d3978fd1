"""Incident learning: the seed's second operational example (a residential care service).

Baseline issue: incidents were recorded but learning was not consistently shared or embedded.
Target: 95% of incidents reviewed within five working days, with learning actions checked at
the next governance meeting and practice observed within seven days of the learning being
shared. Checked by daily review, handover checks and monthly trend analysis. The seed's baseline
("learning is not consistently shared, and high-risk care plans are not reviewed after
incidents") is measured too: learning identified for every reviewed incident, care plans
reviewed after falls, medication and behaviour incidents, and the incident form completed at once.
The per-incident rules are in plugins/incident_units.py.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from typing import Any, Iterable, Literal

from pydantic import Field, field_validator

from carecheck import hookimpl
from carecheck.domain_api import (
    CANDOUR, Breach, Context, Domain, DomainParameters, EscalationSpec, EvidenceSource, Outcome,
    INCIDENT_TYPES, OutcomeMeasure, SignalSpec, TargetSpec, Undetermined, activity_days, feedback_sources,
    repeat_share, stored_day,
)
from carecheck.plugins.incident_repeats import repeats_and_clusters
from carecheck.plugins.incident_units import HARM_ORDER, IncidentUnits
from carecheck.plugins.statutory_checks import IncidentDuties


CLOSED = ("completed", "closed", "cancelled")
#: The incident fields a review can be required to record (review_requires).
REVIEW_FIELDS = ("root_cause", "immediate_controls", "learning_decision", "learning_rationale", "reviewed_by",
                 "immediate_action", "witnesses", "description")


class IncidentParameters(DomainParameters):
    review_within_working_days: int = Field(5, ge=0, description="Working days after the incident for the manager's review.")
    observation_within_days: int = Field(7, ge=0, description="Calendar days after learning is shared for a practice observation.")
    repeat_window_days: int = Field(30, ge=1, description="Days within which another incident for the same person is a "
                                                       "repeat.")
    repeat_cause_window_days: int = Field(
        90, ge=1, description="Days within which another incident for the same person with the same cause is a repeat.")
    repeat_count: int = Field(2, ge=2, description="Incidents for the same person within the window (counting itself) "
                                                   "that make a repeat.")
    cluster_min_count: int = Field(3, ge=2, description="Incidents of one cause at a location in a period that can be a "
                                                        "cluster.")
    cluster_probability: float = Field(
        0.05, gt=0, lt=1, description="A period's count of one cause is a cluster when, at the location's own rate for "
                                      "that cause, a count so high has a probability below this.")
    cluster_baseline_periods: int = Field(
        6, ge=3, description="Complete periods before the current window over which a cause's usual rate is taken "
                             "(with fewer than three, a cluster needs twice cluster_min_count).")
    notification_within_days: int = Field(
        1, ge=0, description="'Without delay' for a CQC notification (REG2009-16, 18): calendar days after the end of "
                             "the incident's date, whatever the day of the week.")
    candour_within_working_days: int = Field(
        10, ge=0, description="The provider's own policy for 'as soon as reasonably practicable' after a notifiable "
                              "safety incident (regulation 20): working days for the duty-of-candour notification. "
                              "The law sets no number of days.")

    replaced = {
        "candour_harm_levels": "no longer used: the duty of candour follows regulation 20(9) for adult social care "
                               "(record notifiable_safety_incident on incidents; a serious injury, or severe or fatal "
                               "harm, decides it when that is empty)",
        "notification_within_working_days": "replaced by notification_within_days (calendar days: 'without delay' "
                                            "does not wait for the working week)",
    }
    governance_meeting_types: list[str] = Field(default_factory=lambda: ["governance", "quality"])
    governance_within_days: int = Field(
        35, ge=1, description="Calendar days after an incident's review within which 'the next governance meeting' "
                              "must be held: past it with no meeting, the learning check fails.")
    review_requires: list[str] = Field(
        default_factory=lambda: ["root_cause", "immediate_controls"],
        description="Incident fields a review must record to count for inc_review_5wd (a field the import never "
                    "supplied is judged without, with a data gap).")
    learning_within_working_days: int = Field(
        5, ge=0, description="Working days after the review for its learning: an improvement action, or a decision "
                             "that none is needed with its rationale.")
    care_plan_within_days: int = Field(
        7, ge=0, description="Calendar days after an incident for a review of the person's care plan or risk "
                             "assessment.")
    care_plan_harm_from: Literal[HARM_ORDER] = Field(  # type: ignore[valid-type]
        "low", description="Incidents at or above this harm level need a care plan review.")
    care_plan_types: list[str] = Field(
        default_factory=lambda: ["fall", "medication", "behaviour"],
        description="Incident types that need a care plan review whatever the harm (codes of incident_type).")
    reported_within_hours: int = Field(
        24, ge=1, description="Hours after the incident for the incident form, with the immediate action recorded.")

    @field_validator("review_requires")
    @classmethod
    def _incident_fields(cls, names: list[str]) -> list[str]:
        unknown = [name for name in names if name not in REVIEW_FIELDS]
        if unknown:
            raise ValueError(f"not incident fields a review records ({', '.join(REVIEW_FIELDS)}): "
                             f"{', '.join(unknown)}")
        return names

    @field_validator("care_plan_types")
    @classmethod
    def _incident_types(cls, codes: list[str]) -> list[str]:
        unknown = [code for code in codes if code not in INCIDENT_TYPES]
        if unknown:
            raise ValueError(f"not incident types ({', '.join(INCIDENT_TYPES)}): {', '.join(unknown)}")
        return codes


class IncidentLearning(Domain):
    name = "incident_learning"
    title = "Incident learning"
    description = "Incidents reviewed on time, learning shared, checked at governance and seen in practice."
    baseline_issue = "Incidents were recorded but learning was not consistently shared or embedded."
    reads = ("incident", "improvement_action", "governance_item", "briefing", "practice_observation",
             "notification", "governance_activity", "feedback", "audit", "death", "care_plan_review")
    parameters_model = IncidentParameters
    key_questions = ("safe", "well_led")
    quality_statements = ("safe.learning_culture", "well_led.learning_improvement")
    regulations = ("RA2014-12", "RA2014-17", "RA2014-20", "REG2009-16", "REG2009-18")
    targets = (
        TargetSpec(
            "inc_review_5wd", "Incidents reviewed within {review_within_working_days} working days", "rate", 0.95,
            ("incident",),
            "Share of incidents whose management review was recorded within {review_within_working_days} working days "
            "(weekends and England and Wales bank holidays excluded, counting from the day after the incident), with "
            "the fields a review must record (root cause and immediate controls by default) recorded.",
        ),
        TargetSpec(
            "inc_learning_identified", "Learning identified for every reviewed incident", "rate", 0.95,
            ("incident", "improvement_action"),
            "Share of reviewed incidents with an improvement action raised, or a decision that none is needed with "
            "its rationale, within {learning_within_working_days} working days of the review.",
        ),
        TargetSpec(
            "inc_learning_checked", "Learning actions checked at the next governance meeting", "rate", 0.95,
            ("incident", "governance_item"),
            "Share of incidents with a learning action whose action was checked at the first governance meeting "
            "after the incident was reviewed, held within {governance_within_days} days.",
        ),
        TargetSpec(
            "inc_practice_observed", "Practice observed within {observation_within_days} days of learning shared", "rate",
            0.95, ("incident", "practice_observation"),
            "Share of incidents whose learning was shared and whose related practice was observed within "
            "{observation_within_days} days.",
        ),
        TargetSpec(
            "inc_monthly_themes", "Monthly review of incident themes", "cadence", 1.0, ("governance_activity",),
            "Share of months with the provider quality lead's review of incident themes.",
            cadence="Provider quality lead reviews incident themes monthly (recorded as a monthly incident themes "
                    "review).",
        ),
        TargetSpec(
            "inc_care_plan_reviewed", "Care plans reviewed after incidents", "rate", 0.95,
            ("incident", "care_plan_review"),
            "Share of incidents of low harm or above, or falls, medication and behaviour incidents, followed within "
            "{care_plan_within_days} days by a review of the person's care plan or risk assessment.",
        ),
        TargetSpec(
            "inc_reported_promptly", "Incident forms completed at once", "rate", 0.95, ("incident",),
            "Share of incidents whose form was submitted within {reported_within_hours} hours, with the immediate action "
            "recorded.",
        ),
    )
    signals = (
        SignalSpec("repeated_incidents", "Repeated incidents for the same person",
                   "Incidents this period with another incident for the same person within repeat_window_days (30), "
                   "or for the same person with the same cause within repeat_cause_window_days (90).",
                   sentence="{n} incident{s} in {period} repeating another for the same person"),
        SignalSpec("incident_clusters", "Clusters of incidents of one cause",
                   "Incidents this period of a cause the location logged far more often than its own usual rate "
                   "(at least cluster_min_count, with a probability below cluster_probability at that rate).",
                   sentence="{n} incident{s} in {period} in a cluster of one cause"),
        SignalSpec("staff_unaware", "Staff unaware of changed guidance",
                   "Practice observations this period not met, or where staff did not know the changed guidance.",
                   sentence="{n} practice observation{s} in {period} below standard or with staff unaware of the guidance"),
        SignalSpec("actions_open_unexplained", "Learning actions open without explanation",
                   "Learning actions past their deadline, still open, with no recorded explanation.",
                   sentence="{n} learning action{s} open past the deadline with no explanation"),
        SignalSpec("harm_without_candour", "Notifiable safety incidents without duty of candour",
                   "Notifiable safety incidents (regulation 20(9)) whose duty-of-candour notice is outstanding past the "
                   "provider's policy (candour_within_working_days, from when the provider became aware), or was given "
                   "late this period.",
                   sentence="{n} notifiable safety incident{s} with the duty-of-candour notice overdue or late in {period}"),
        SignalSpec("notifiable_not_notified", "Notifiable incidents and deaths not notified",
                   "Deaths (REG2009-16, from the incident log and the register of deaths), serious injuries and police "
                   "incidents (REG2009-18) whose CQC notification is outstanding past 'without delay', or was made late "
                   "this period.",
                   sentence="{n} notifiable incident{s} or death{s} not notified to CQC in time, as of {period}"),
        SignalSpec("candour_undetermined", "Incidents whose duty of candour cannot be decided",
                   "Incidents in the window whose duty of candour nobody decided: notifiable_safety_incident, "
                   "serious_injury and harm_level all blank, or moderate harm with both flags blank.",
                   sentence="{n} incident{s} in the window ending {period} with the duty of candour undecided"),
        SignalSpec("notification_undetermined", "Incidents and deaths whose CQC notification cannot be decided",
                   "Incidents in the window with death, harm_level, serious_injury and police_involved all blank, or "
                   "moderate harm with serious_injury blank; deaths whose link to the service is unknown.",
                   sentence="{n} incident{s} or death{s} in the window ending {period} with the CQC notification "
                            "undecided"),
        SignalSpec("learning_unchecked", "Learning actions unchecked for want of a governance meeting",
                   "Incidents whose learning action was not checked because no governance meeting was held within "
                   "governance_within_days of the review.",
                   sentence="{n} incident{s} with learning unchecked: no governance meeting since {since}"),
        SignalSpec("reviews_overdue", "Incident reviews overdue",
                   "Incidents not yet reviewed whose five-working-day deadline has passed.",
                   sentence="{n} incident{s} still unreviewed past the review deadline"),
    )
    measures = (
        OutcomeMeasure("repeat_incident_rate", "Repeat incidents",
                       "Share of the window's incidents with an earlier incident for the same person within "
                       "repeat_window_days (30), or for the same person with the same cause within "
                       "repeat_cause_window_days (90): lower is better.",
                       kind="incident", lookback_param="repeat_cause_window_days"),
    )
    escalations = (
        EscalationSpec("inc_repeated_themes", "Repeated incidents", "repeated_incidents > 0 or incident_clusters > 0",
                       "Additional observation of practice where incidents repeat", "registered_manager", 5),
        EscalationSpec("inc_staff_unaware", "Staff unaware of changed guidance", "staff_unaware > 0",
                       "Rota adjustment so staff unaware of changed guidance work alongside staff who have embedded it",
                       "registered_manager", 3),
        EscalationSpec("inc_review_delayed", "Delayed incident review",
                       "(inc_review_5wd.has_value and not inc_review_5wd.met) or reviews_overdue > 0",
                       "Revised risk controls and daily incident review by the registered manager", "registered_manager", 5),
        EscalationSpec("inc_learning_not_embedded", "Learning not embedded",
                       "(inc_practice_observed.has_value and not inc_practice_observed.met) or "
                       "(inc_learning_checked.has_value and not inc_learning_checked.met)",
                       "Additional observation of practice after learning is shared, checked at the next governance meeting",
                       "registered_manager", 5),
        EscalationSpec("inc_actions_unexplained", "Actions open without explanation", "actions_open_unexplained > 0",
                       "Record why learning actions are open past their deadline, or close them with evidence",
                       "registered_manager", 5),
        EscalationSpec("inc_candour", "Duty of candour", "harm_without_candour > 0",
                       "Complete duty-of-candour notifications (regulation 20)", "registered_manager", 2),
        EscalationSpec("inc_not_notified", "Notifiable incident not notified", "notifiable_not_notified > 0",
                       "Notify CQC without delay of deaths (Registration Regulations 2009, regulation 16), and of serious "
                       "injuries and police incidents (regulation 18)", "registered_manager", 1),
        EscalationSpec("inc_duty_undetermined", "Statutory duty undecided",
                       "candour_undetermined > 0 or notification_undetermined > 0",
                       "Decide and record for each incident whether it is a serious injury and a notifiable safety "
                       "incident (and for each death whether it followed from the service), then notify as needed",
                       "registered_manager", 1),
        EscalationSpec("inc_learning_missing", "Learning not identified",
                       "inc_learning_identified.has_value and not inc_learning_identified.met",
                       "Record the learning from each reviewed incident: an improvement action, or why none is needed",
                       "registered_manager", 5),
        EscalationSpec("inc_no_governance", "No governance meeting to check learning", "learning_unchecked > 0",
                       "Hold the governance meeting that checks incident learning actions, and keep it at least monthly",
                       "quality_lead", 5),
        EscalationSpec("inc_care_plan_missed", "Care plans not reviewed after incidents",
                       "inc_care_plan_reviewed.has_value and not inc_care_plan_reviewed.met",
                       "Review the care plan and risk assessment of each person after an incident, within "
                       "{care_plan_within_days} days",
                       "registered_manager", 2),
        EscalationSpec("inc_form_late", "Incident forms late or incomplete",
                       "inc_reported_promptly.has_value and not inc_reported_promptly.met",
                       "Check incident forms at each handover: completed the same day, with the immediate action",
                       "registered_manager", 5),
    )
    evidence = (
        EvidenceSource("incident", "processes", label="incident records"),
        EvidenceSource("briefing", "processes", label="handover file"),
        EvidenceSource("governance_item", "processes", "action_id IS NOT NULL", label="governance minutes"),
        EvidenceSource("improvement_action", "processes", "source_kind = 'incident'", label="learning actions"),
        EvidenceSource("audit", "processes", label="audits"),
        EvidenceSource("care_plan_review", "processes", label="care plan reviews"),
        EvidenceSource("practice_observation", "observation", label="practice observation audit",
                       supports="outcome == 'met' and staff_aware_of_guidance == true",
                       against="found practice below the standard or staff unaware of the changed guidance"),
        *feedback_sources(),
    )

    def outcomes(self, ctx: Context) -> Iterable[Outcome]:
        yield from self._units(ctx).outcomes()
        if ctx.wants("inc_monthly_themes"):
            yield from ctx.cadence("inc_monthly_themes", "month", activity_days(ctx, "monthly_incident_themes"))

    @staticmethod
    def _units(ctx: Context) -> IncidentUnits:
        # Shared with signal_values, which reads the learning checks that failed for want of a meeting.
        return ctx.cached("units", lambda: IncidentUnits(ctx, ctx.params))

    def signal_values(self, ctx: Context) -> dict[str, dict[str, Any]]:
        """Each signal as the ids of the records behind it."""
        params: IncidentParameters = ctx.params
        values: dict[str, dict[str, set]] = defaultdict(lambda: defaultdict(set))
        if ctx.current is None:
            return values
        current = ctx.current
        wanted = ctx.signal_wanted
        if wanted("repeated_incidents") or wanted("incident_clusters"):
            for service, signal, ids in repeats_and_clusters(ctx, params):
                values[service][signal].update(ids)
        for duty in self.duties(ctx):
            if isinstance(duty, Undetermined):
                name = "candour_undetermined" if duty.question == "candour" else "notification_undetermined"
                values[duty.service][name].add(duty.record)
            elif duty.made is None or current.contains(duty.made):
                name = "harm_without_candour" if duty.subject == CANDOUR else "notifiable_not_notified"
                values[duty.service][name].update(duty.records)
        for record_id, raw_service in () if not wanted("staff_unaware") else ctx.rows(
            "SELECT id, service FROM practice_observation WHERE (outcome = 'not_met' OR staff_aware_of_guidance = 0) "
            "AND observed_at >= ? AND observed_at < ?",
            [current.start.isoformat(), (current.end + timedelta(days=1)).isoformat()],
        ):
            service = ctx.service(raw_service)
            if service is not None:
                values[service]["staff_unaware"].add(record_id)
        for record_id, raw_service in () if not wanted("actions_open_unexplained") else ctx.rows(
            f"""SELECT a.id, a.service FROM improvement_action a
                WHERE (a.source_kind = 'incident' OR a.id IN (SELECT learning_action_id FROM incident))
                  AND (coalesce(a.status, '') NOT IN ({', '.join(repr(s) for s in CLOSED)}) OR a.completed_on > ?)
                  AND a.due_date < ? AND (a.delay_explanation IS NULL OR a.delay_explanation = '')""",
            [ctx.as_of.isoformat(), ctx.as_of.isoformat()],
        ):
            service = ctx.service(raw_service)
            if service is not None:
                values[service]["actions_open_unexplained"].add(record_id)
        if wanted("learning_unchecked"):
            for service, value in self._units(ctx).unchecked_signal().items():
                values[service]["learning_unchecked"] = value
        for record_id, raw_service, occurred_at in () if not wanted("reviews_overdue") else ctx.rows(
            # A review dated after as_of had not happened then.
            "SELECT id, service, occurred_at FROM incident WHERE (reviewed_at IS NULL OR reviewed_at >= ?) "
            "AND +occurred_at >= ?",
            [(ctx.as_of + timedelta(days=1)).isoformat(), ctx.start.isoformat()],
        ):
            service = ctx.service(raw_service)
            deadline = ctx.working_days.add(stored_day(occurred_at), params.review_within_working_days)
            if service is not None and ctx.as_of > deadline:
                values[service]["reviews_overdue"].add(record_id)
        return values

    def duties(self, ctx: Context) -> list[Breach | Undetermined]:
        """Notifications to CQC of incidents and deaths (REG2009-16, 18) and the duty of candour
        (regulation 20), over the evaluated periods (plugins/statutory_checks.py)."""
        return ctx.cached("duties", lambda: IncidentDuties(ctx, ctx.params).found())

    def measure_values(self, ctx: Context) -> dict[str, dict[str, float | None]]:
        """Repeat incidents over the window: the same person or the same cause within the repeat window."""
        params: IncidentParameters = ctx.params
        if not ctx.window:
            return {}
        start = ctx.window[0].start
        events: dict[str, list] = defaultdict(list)
        for record_id, raw_service, person, cause, occurred_at in ctx.rows(
            "SELECT id, service, person_id, cause, occurred_at FROM incident WHERE occurred_at >= ? AND occurred_at < ? "
            "ORDER BY occurred_at, id",
            [(start - timedelta(days=max(params.repeat_window_days, params.repeat_cause_window_days))).isoformat(),
             (ctx.window[-1].end + timedelta(days=1)).isoformat()],
        ):
            service = ctx.service(raw_service)
            if service is None:
                continue
            keys = (("person", person), ("person_cause", (person, cause.lower()) if person and cause else None))
            events[service].append((record_id, keys, stored_day(occurred_at)))
        windows = {"person": params.repeat_window_days, "person_cause": params.repeat_cause_window_days}
        return {service: {"repeat_incident_rate": repeat_share(rows, start, params.repeat_window_days, windows)}
                for service, rows in events.items()}


@hookimpl
def carecheck_register_domains(register):
    register(IncidentLearning())
