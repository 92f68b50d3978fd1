"""carecheck's own record kinds, one pydantic model each: what every adapter and mapping ends in."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from carecheck.records.model import (  # noqa: F401 (used here and re-exported)
    FALSE_WORDS,
    TRUE_WORDS,
    ActionStatus,
    Code,
    Count,
    Day,
    FreeText,
    HarmLevel,
    IdList,
    MaybeYesNo,
    Record,
    Text,
    Timestamp,
    YesNo,
    _blank_to_none,
    _checked,
    _date,
    _datetime,
    _free_text,
    _int,
    _optional_bool,
    _text,
    _to_bool,
    _to_code,
    _to_list,
    _value_type,
    clean_text,
    free_text,
    ref,
)


class Service(Record):
    """The service register: one row per registered location, with the names other systems use for it,
    and optionally one row for the provider itself (type ``provider``): records there are the
    provider's own (board minutes, the nominated individual's reviews), never a location's."""

    kind: ClassVar[str] = "service"
    title: ClassVar[str] = "Service (register)"
    event_field: ClassVar[str] = "registered_on"

    service: Text = Field(description="The service's canonical name, used in outputs.", min_length=1)
    service_type: Code("residential", "nursing", "supported_living", "homecare", "provider") = Field(
        description="Type of service; decides which CQC evidence categories apply. ``provider``: the provider "
                    "itself (head office), judged with every location and never as one."
    )
    cqc_location_id: Text | None = Field(default=None, description="CQC location id, e.g. 1-123456789.")
    aliases: IdList = Field(
        default_factory=list,
        description="Other names or codes record systems use for this service (several joined with ;).",
    )
    registered_manager: Text | None = Field(default=None, description="Role or name of the registered manager.")
    registered_on: Day | None = Field(default=None, description="Date the service was registered or joined the register.")


class SafeguardingConcern(Record):
    """A safeguarding concern as logged: the concern, protection, escalation decision and outcome review."""

    kind: ClassVar[str] = "safeguarding_concern"
    title: ClassVar[str] = "Safeguarding concern"
    event_field: ClassVar[str] = "raised_at"
    #: Flagged daily notes are matched to concerns about the same person.
    indexes: ClassVar[tuple[tuple[str, ...], ...]] = (("person_id", "raised_at"),)

    person_id: Text | None = Field(default=None, description="Pseudonymous id of the person the concern is about.")
    raised_at: Timestamp = Field(description="When the concern was raised (the event time that sets its period).")
    recorded_by: Text | None = Field(default=None, description="Staff id of the person who recorded the concern.")
    recorded_at: Timestamp | None = Field(default=None, description="When the concern was written up.")
    category: Code(
        "physical", "sexual", "psychological", "financial_or_material", "discriminatory",
        "organisational", "neglect_and_acts_of_omission", "domestic_abuse", "sexual_exploitation",
        "modern_slavery", "self_neglect", "other",
    ) | None = Field(default=None, description="Care Act 2014 category of abuse or neglect.")
    is_allegation_of_abuse: MaybeYesNo = Field(
        default=None, description="Whether the concern is an allegation of abuse (CQC must be notified without delay); "
                                  "empty when not recorded.")
    concern: FreeText | None = free_text("What was seen or heard: the concern as recorded.")
    immediate_action: FreeText | None = free_text("The immediate protection action taken.")
    immediate_action_at: Timestamp | None = Field(default=None, description="When the immediate protection action was taken.")
    screened_at: Timestamp | None = Field(default=None, description="When the team leader's initial screening decision was recorded.")
    manager_decision_at: Timestamp | None = Field(
        default=None, description="When the registered manager recorded the escalation (referral) decision."
    )
    manager_decision: Code("refer", "no_referral", "pending") | None = Field(
        default=None, description="The escalation decision: refer to the local authority, or no referral."
    )
    decision_rationale: FreeText | None = free_text("Why the escalation decision was made.")
    referral_at: Timestamp | None = Field(default=None, description="When an external referral was made, if it was.")
    follow_up: FreeText | None = free_text("Follow-up actions agreed.")
    follow_up_due: Day | None = Field(
        default=None, description="When the follow-up actions are due (else the decision date plus the ruleset's "
                                  "follow_up_within_days).")
    follow_up_completed_at: Timestamp | None = Field(default=None, description="When follow-up actions were completed.")
    outcome_review_at: Timestamp | None = Field(default=None, description="When the outcome review was recorded; it "
                                                                          "counts only with its outcome.")
    outcome: Code("risk_removed", "risk_reduced", "risk_remains") | None = Field(
        default=None, description="Outcome of the concern (Safeguarding Adults Collection risk outcome)."
    )
    clarification_requests: Count | None = Field(
        default=None, ge=0, description="How many times the manager had to ask the recorder to clarify the record.")
    notification_id: Text | None = ref("notification", "The notification sent about this concern, if any.")
    cqc_notified_at: Timestamp | None = Field(
        default=None, description="When CQC was notified of the allegation, as the log records it (a linked "
                                  "notification record counts too).")
    status: Code("open", "closed") | None = Field(default=None, description="Whether the concern is open or closed.")


class Notification(Record):
    """A statutory notification sent to CQC or the local authority."""

    kind: ClassVar[str] = "notification"
    title: ClassVar[str] = "Notification"
    event_field: ClassVar[str] = "sent_at"

    recipient: Code("cqc", "local_authority", "police", "other") = Field(description="Who was notified.")
    notification_type: Code(
        "abuse_allegation", "serious_injury", "police_incident", "death", "deprivation_of_liberty", "other"
    ) = Field(description="What the notification was about (CQC Registration Regulations 2009, reg 18 categories).")
    about_kind: Code("safeguarding_concern", "incident", "death", "other") | None = Field(
        default=None, description="The kind of record the notification is about."
    )
    about_id: Text | None = Field(
        default=None, description="The id of the record the notification is about.", json_schema_extra={"ref": "@about_kind"}
    )
    sent_at: Timestamp = Field(description="When the notification was sent.")
    reference: Text | None = Field(default=None, description="The recipient's reference for the notification.")


from carecheck.vocabulary import INCIDENT_CAUSES, INCIDENT_TYPES  # noqa: E402 (with the kind that uses them)


class Incident(Record):
    """An incident report, its management review and the learning that followed."""

    kind: ClassVar[str] = "incident"
    title: ClassVar[str] = "Incident"
    event_field: ClassVar[str] = "occurred_at"

    person_id: Text | None = Field(default=None, description="Pseudonymous id of the person affected.")
    occurred_at: Timestamp = Field(description="When the incident happened (sets its period).")
    reported_at: Timestamp | None = Field(default=None, description="When the incident form was submitted.")
    reported_by: Text | None = Field(default=None, description="Staff id of the person who completed the form.")
    incident_type: Text | None = Field(
        default=None, description="Type of incident, one of " + ", ".join(INCIDENT_TYPES) + " (map an export's own "
                                  "words to them with a value map; other text is kept and matches no listed type).")
    cause: Text | None = Field(
        default=None, description="Cause category, one of " + ", ".join(INCIDENT_CAUSES) + " (other text is kept "
                                  "and matches no listed cause); with the person, finds repeated incidents; alone, clusters of one cause.")
    harm_level: HarmLevel | None = Field(
        default=None, description="Physical harm level (NHS LFPSE): none, low, moderate, severe, fatal; empty when "
                                  "not recorded (unknown, never read as no harm).")
    description: FreeText | None = free_text("What happened.")
    immediate_action: FreeText | None = free_text("Immediate action taken.")
    witnesses: FreeText | None = free_text("Witnesses.")
    police_involved: MaybeYesNo = Field(default=None, description="Whether the police were informed or investigated "
                                                                 "(a CQC notification, REG2009-18); empty when unknown.")
    serious_injury: MaybeYesNo = Field(default=None, description="Whether the incident caused a serious injury, such as "
                                                                "a fracture (a CQC notification, REG2009-18); empty when unknown.")
    death: MaybeYesNo = Field(default=None, description="Whether the person died (a CQC notification, REG2009-16); "
                                                        "empty when unknown.")
    notifiable_safety_incident: MaybeYesNo = Field(
        default=None, description="A health care professional's view that the incident is a notifiable safety incident "
                                  "for the duty of candour (regulation 20(9)); empty when not recorded.")
    reviewed_at: Timestamp | None = Field(default=None, description="When the registered manager's review was recorded.")
    reviewed_by: Text | None = Field(default=None, description="Role or staff id of the reviewer.")
    root_cause: FreeText | None = free_text("The root cause analysis.")
    immediate_controls: FreeText | None = free_text(
        "The controls the manager put in place at the review (distinct from the form's immediate action).")
    learning_decision: Code("action", "none_needed") | None = Field(
        default=None, description="The review's decision on learning: action (an improvement action carries it) or "
                                  "none_needed (with learning_rationale).")
    learning_rationale: FreeText | None = free_text("Why no learning action was needed.")
    safeguarding_flag: MaybeYesNo = Field(
        default=None, description="Whether the incident suggests abuse or neglect (a safeguarding concern is expected "
                                  "for the same person).")
    learning_shared_at: Timestamp | None = Field(default=None, description="When the learning was shared with staff.")
    learning_action_id: Text | None = ref("improvement_action", "The improvement action that carries the learning.")
    duty_of_candour_at: Timestamp | None = Field(
        default=None, description="When the duty-of-candour notification was made (regulation 20), if it was."
    )
    notification_id: Text | None = ref("notification", "The CQC notification about this incident, if any.")
    cqc_notified_at: Timestamp | None = Field(
        default=None, description="When CQC was notified, as the incident log records it (a linked notification "
                                  "record counts too).")
    status: Code("open", "closed") | None = Field(default=None, description="Whether the incident is open or closed.")


class Death(Record):
    """The death of a person using the service, from the provider's register of deaths: every death
    counts for regulation 16 of the Registration Regulations 2009, expected ones included, not only
    those written in the incident log."""

    kind: ClassVar[str] = "death"
    title: ClassVar[str] = "Death of a person using the service"
    event_field: ClassVar[str] = "died_at"

    person_id: Text | None = Field(default=None, description="Pseudonymous id of the person who died.")
    died_at: Timestamp = Field(description="Date (and time, if known) of death.")
    expected: MaybeYesNo = Field(default=None, description="Whether the death was expected (expected deaths are "
                                                           "notified too).")
    during_service: Code("yes", "no", "unknown") | None = Field(
        default=None, description="Whether the person died while the service was being provided, or the death may "
                                  "have resulted from it (REG2009-16): yes, no or unknown.")
    incident_id: Text | None = ref("incident", "The incident log's record of the same death, if any.")
    cqc_notified_at: Timestamp | None = Field(default=None, description="When CQC was notified of the death.")
    notification_id: Text | None = ref("notification", "The CQC notification about the death, if any.")


class CarePlanReview(Record):
    """A review of a person's care plan or risk assessment, after an incident or on schedule."""

    kind: ClassVar[str] = "care_plan_review"
    title: ClassVar[str] = "Care plan or risk assessment review"
    event_field: ClassVar[str] = "reviewed_on"
    indexes: ClassVar[tuple[tuple[str, ...], ...]] = (("person_id", "reviewed_on"),)

    person_id: Text = Field(description="Pseudonymous id of the person whose plan was reviewed.")
    reviewed_on: Day = Field(description="The date of the review.")
    review_type: Code("care_plan", "risk_assessment") = Field(
        description="What was reviewed: care_plan or risk_assessment.")
    incident_id: Text | None = ref("incident", "The incident that prompted the review, if any.")
    reviewed_by: Text | None = Field(default=None, description="Role or staff id of the reviewer.")
    next_review_on: Day | None = Field(default=None, description="When the plan is next due for review.")


class OversightVisit(Record):
    """A provider oversight (quality assurance) visit and the previous actions reviewed at it."""

    kind: ClassVar[str] = "oversight_visit"
    title: ClassVar[str] = "Provider oversight visit"
    event_field: ClassVar[str] = "visit_date"

    visit_date: Day = Field(description="Date of the visit (sets its period).")
    previous_visit_date: Day | None = Field(default=None, description="Date of the previous visit.")
    visitor: Text | None = Field(default=None, description="Name or id of the provider representative.")
    visitor_role: Text | None = Field(default=None, description="Role of the provider representative.")
    visit_type: Code("announced", "unannounced") | None = Field(default=None, description="Announced or unannounced.")
    sampled: FreeText | None = free_text("What was sampled: records, people and staff spoken to, observations.")
    findings: FreeText | None = free_text("Findings recorded on the visit template.")
    actions_reviewed: IdList = Field(
        default_factory=list,
        description="Previous actions reviewed at this visit, as ACTION_ID=status entries joined with ; "
        "(status: open, in_progress, completed, closed, overdue).",
        json_schema_extra={"ref": "improvement_action"},
    )
    actions_agreed: IdList = Field(
        default_factory=list, description="Ids of improvement actions agreed at this visit.",
        json_schema_extra={"ref": "improvement_action"},
    )


class ImprovementAction(Record):
    """An entry in the service improvement tracker."""

    kind: ClassVar[str] = "improvement_action"
    title: ClassVar[str] = "Improvement action"
    event_field: ClassVar[str] = "raised_on"

    source_kind: Code(
        "oversight_visit", "incident", "audit", "safeguarding_concern", "governance_item", "escalation", "other"
    ) | None = Field(default=None, description="What kind of record the action came from.")
    source_id: Text | None = Field(
        default=None, description="The id of the record the action came from.", json_schema_extra={"ref": "@source_kind"}
    )
    description: FreeText | None = free_text("What is to be done.")
    owner: Text | None = Field(default=None, description="The named owner, as recorded in the tracker.")
    owner_role: Text | None = Field(default=None, description="The owner's role.")
    raised_on: Day = Field(description="Date the action was agreed (sets its period).")
    due_date: Day | None = Field(default=None, description="The deadline.")
    status: ActionStatus | None = Field(default=None, description="Status in the tracker; empty when not recorded "
                                                                  "(read as not closed).")
    completed_on: Day | None = Field(default=None, description="Date the action was completed.")
    closure_evidence: FreeText | None = free_text("The follow-up evidence seen at closure.")
    verified_by: Text | None = Field(default=None, description="Who verified the closure evidence (role or id).")
    verified_on: Day | None = Field(default=None, description="When closure evidence was verified.")
    delay_explanation: FreeText | None = free_text("Why the action is still open past its deadline.")
    escalation_id: Text | None = Field(default=None, description="The carecheck escalation the action answers, if any.")


class GovernanceItem(Record):
    """An item in governance or board meeting minutes: what was checked and what was decided."""

    kind: ClassVar[str] = "governance_item"
    title: ClassVar[str] = "Governance meeting item"
    event_field: ClassVar[str] = "meeting_date"

    meeting_date: Day = Field(description="Date of the meeting (sets its period).")
    meeting_type: Code("governance", "quality", "board", "safeguarding", "other") | None = Field(
        default=None, description="Kind of meeting; empty when not recorded.")
    item_type: Code(
        "action_check", "incident_themes", "safeguarding_review", "oversight_review", "ni_review", "audit_review", "other"
    ) | None = Field(default=None, description="What the item did; empty when not recorded.")
    action_id: Text | None = ref("improvement_action", "The improvement action checked at this item, if any.")
    chaired_by_role: Text | None = Field(default=None, description="Role of the chair or reviewer.")
    decision: FreeText | None = free_text("What was decided and why; provider challenge recorded.")


class GovernanceActivity(Record):
    """A recorded governance check: who checked what, when, with what outcome."""

    kind: ClassVar[str] = "governance_activity"
    title: ClassVar[str] = "Governance activity"
    event_field: ClassVar[str] = "performed_at"

    activity: Code(
        "daily_screening", "safeguarding_lead_check", "recording_sample", "monthly_safeguarding_review",
        "incident_daily_review", "monthly_incident_themes", "oversight_visit_review", "tracker_review",
        "quarterly_ni_review", "other",
    ) = Field(description="Which check was done.")
    performed_at: Timestamp = Field(description="When the check was done.")
    performed_by: Text | None = Field(default=None, description="Staff id of who did it.")
    role: Text | None = Field(default=None, description="Their role (team leader, safeguarding lead, deputy manager...).")
    records_checked: Count | None = Field(default=None, ge=0, description="How many records were checked.")
    outcome: Code("no_concerns", "concerns_found", "actions_raised", "not_completed") | None = Field(
        default=None, description="The outcome of the check; empty when not recorded (the check still counts as done).")
    notes: FreeText | None = free_text("Notes of the check.")


class Briefing(Record):
    """A staff handover or briefing at which learning was shared."""

    kind: ClassVar[str] = "briefing"
    title: ClassVar[str] = "Handover or staff briefing"
    event_field: ClassVar[str] = "held_at"

    held_at: Timestamp = Field(description="When the handover or briefing took place.")
    led_by_role: Text | None = Field(default=None, description="Role of who led it.")
    topic: Text | None = Field(default=None, description="Topic code or short title.")
    incident_id: Text | None = ref("incident", "The incident whose learning was shared, if any.")
    learning_action_id: Text | None = ref("improvement_action", "The learning action shared, if any.")
    attendees: Count | None = Field(default=None, ge=0, description="How many staff attended.")
    understanding_checked: MaybeYesNo = Field(default=None, description="Whether staff understanding was checked.")
    key_messages: FreeText | None = free_text("Key messages recorded.")


class PracticeObservation(Record):
    """An observation of staff practice, e.g. after learning was shared."""

    kind: ClassVar[str] = "practice_observation"
    title: ClassVar[str] = "Practice observation"
    event_field: ClassVar[str] = "observed_at"

    observed_at: Timestamp = Field(description="When the practice was observed.")
    observer_role: Text | None = Field(default=None, description="Role of the observer.")
    staff_id: Text | None = Field(default=None, description="Staff id of the person observed.")
    topic: Text | None = Field(default=None, description="Topic code or short title.")
    incident_id: Text | None = ref("incident", "The incident whose learning the observation checks, if any.")
    learning_action_id: Text | None = ref("improvement_action", "The learning action the observation checks, if any.")
    outcome: Code("met", "partially_met", "not_met") = Field(description="Whether practice met the expected standard.")
    staff_aware_of_guidance: MaybeYesNo = Field(default=None, description="Whether staff knew the changed guidance.")
    findings: FreeText | None = free_text("Findings.")


class AuditResult(Record):
    """The result of an audit (care records, medication, safeguarding logs...)."""

    kind: ClassVar[str] = "audit"
    title: ClassVar[str] = "Audit result"
    event_field: ClassVar[str] = "audit_date"

    audit_date: Day = Field(description="Date of the audit.")
    audit_type: Text = Field(description="What was audited, e.g. care_records, medication, safeguarding_log.")
    auditor_role: Text | None = Field(default=None, description="Role of the auditor.")
    score: float | None = Field(default=None, ge=0, le=100, description="Score as a percentage, if the audit scores.")
    result: Code("good", "requires_improvement", "poor") = Field(description="Overall result.")
    improvement_action_id: Text | None = ref("improvement_action", "The improvement decision linked to the audit, if any.")
    findings: FreeText | None = free_text("Findings.")


class Feedback(Record):
    """Feedback from people who use the service, families, staff or partners."""

    kind: ClassVar[str] = "feedback"
    title: ClassVar[str] = "Feedback"
    event_field: ClassVar[str] = "received_at"

    received_at: Timestamp = Field(description="When the feedback was received.")
    source: Code("person", "family", "staff", "partner", "other") = Field(description="Who gave the feedback.")
    channel: Code("survey", "complaint", "compliment", "meeting", "review", "other") | None = Field(
        default=None, description="How it was given.")
    feels_safe: MaybeYesNo = Field(default=None, description="Whether the person says they (or their relative) feel safe.")
    rating: Count | None = Field(default=None, ge=1, le=5, description="Rating from 1 (poor) to 5 (excellent), if given.")
    theme: Text | None = Field(default=None, description="Theme code, e.g. safety, staffing, communication.")
    comments: FreeText | None = free_text("What was said.")


class Supervision(Record):
    """A staff supervision record."""

    kind: ClassVar[str] = "supervision"
    title: ClassVar[str] = "Supervision record"
    event_field: ClassVar[str] = "held_at"

    staff_id: Text = Field(description="Staff id of the person supervised.")
    supervisor_role: Text | None = Field(default=None, description="Role of the supervisor.")
    held_at: Timestamp = Field(description="When the supervision took place.")
    supervision_type: Code("routine", "targeted", "probation", "other") | None = Field(
        default=None, description="Routine or targeted.")
    themes: IdList = Field(default_factory=list, description="Theme codes discussed (joined with ;), e.g. recording_quality.")
    related_concern_id: Text | None = ref("safeguarding_concern", "The concern that prompted a targeted supervision, if any.")
    notes: FreeText | None = free_text("Notes.")


class DailyNote(Record):
    """A daily care note about a person."""

    kind: ClassVar[str] = "daily_note"
    title: ClassVar[str] = "Daily note"
    event_field: ClassVar[str] = "written_at"

    person_id: Text = Field(description="Pseudonymous id of the person the note is about.")
    written_at: Timestamp = Field(description="When the note was written.")
    author_id: Text | None = Field(default=None, description="Staff id of the author.")
    safeguarding_indicator: MaybeYesNo = Field(
        default=None, description="Whether the note was flagged as suggesting abuse, neglect or unexplained risk.")
    screened_at: Timestamp | None = Field(default=None, description="When the team leader screened the note.")
    note: FreeText | None = free_text("The note.")


RECORD_MODELS: tuple[type[Record], ...] = (
    Service, SafeguardingConcern, Notification, Incident, Death, CarePlanReview, OversightVisit, ImprovementAction,
    GovernanceItem, GovernanceActivity, Briefing, PracticeObservation, AuditResult, Feedback,
    Supervision, DailyNote,
)
