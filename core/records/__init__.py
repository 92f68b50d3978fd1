"""The canonical evidence records carecheck reads, one pydantic model per kind.

Every adapter and mapping ends in these models: whatever a record system calls a column,
carecheck stores and reasons over these fields. Field metadata (``json_schema_extra``) says
which fields are free text (never quoted in messages or outputs) and which refer to another
record by id, so reference checks and the generated ``docs/records.md`` come from one place.
"""

from __future__ import annotations

import unicodedata

from datetime import date, datetime
from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PlainSerializer

from carecheck.dates import parse_date, parse_timestamp

TRUE_WORDS = frozenset({"y", "yes", "true", "t", "1", "on", "x", "✓"})
FALSE_WORDS = frozenset({"n", "no", "false", "f", "0", "off", ""})


def _to_bool(value: Any) -> Any:
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, (int, float)) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        word = value.strip().lower()
        if word in TRUE_WORDS:
            return True
        if word in FALSE_WORDS:
            return False
    raise ValueError(f"not a yes/no value: {str(value)[:20]!r}")


def _to_list(value: Any) -> Any:
    if value is None:
        return []
    if isinstance(value, str):
        # Exports join several values in one cell with ; or |.
        parts = value.replace("|", ";").split(";")
        return [part.strip() for part in parts if part.strip()]
    return value


def _to_code(value: Any) -> Any:
    """Normalise a code word: ``"Supported Living"`` and ``supported-living`` both read as ``supported_living``."""
    if isinstance(value, str):
        return value.strip().lower().replace("-", "_").replace(" ", "_")
    return value


def _blank_to_none(value: Any) -> Any:
    if isinstance(value, str) and not value.strip():
        return None
    return value


def _datetime(value: Any) -> Any:
    value = _blank_to_none(value)
    return None if value is None else parse_timestamp(value)


def _date(value: Any) -> Any:
    value = _blank_to_none(value)
    return None if value is None else parse_date(value)


def _int(value: Any) -> Any:
    value = _blank_to_none(value)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _optional_bool(value: Any) -> Any:
    value = _blank_to_none(value)
    return None if value is None else _to_bool(value)


def clean_text(value: str) -> str:
    """Short text as carecheck compares and stores it: Unicode NFC, format characters (zero-width
    spaces, bidirectional marks, byte-order marks from concatenated exports) removed, surrounding
    space trimmed, so look-alike ids are one id."""
    if value.isascii():
        return value.strip()
    value = unicodedata.normalize("NFC", value)
    return "".join(c for c in value if unicodedata.category(c) != "Cf").strip()


#: The longest short text (a code, id or name) and the longest narrative a record may hold.
MAX_TEXT, MAX_FREE_TEXT = 10_000, 100_000


def _checked(value: str, limit: int) -> str:
    """A text value with no NUL byte and within ``limit`` characters: else not readable (the field
    is left empty, or a required one rejects the row), never quoted."""
    if "\x00" in value:
        raise ValueError("holds a NUL byte")
    if len(value) > limit:
        raise ValueError(f"is longer than {limit:,} characters")
    return value


def _free_text(value: Any) -> Any:
    value = _blank_to_none(value)
    return _checked(value, MAX_FREE_TEXT) if isinstance(value, str) else value


def _text(value: Any) -> Any:
    value = _blank_to_none(value)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        # Spreadsheet cells turn ids like 1001 into numbers; ids are text.
        return str(int(value)) if float(value).is_integer() else str(value)
    if isinstance(value, str):
        value = clean_text(_checked(value, MAX_TEXT))
        return value or None
    return value


# A date and time, or a date alone when the source gives no time of day (never read as midnight).
Timestamp = Annotated[
    datetime | date,
    BeforeValidator(_datetime),
    PlainSerializer(lambda v: v.isoformat(), return_type=str),
]
Day = Annotated[date, BeforeValidator(_date), PlainSerializer(lambda v: v.isoformat(), return_type=str)]
YesNo = Annotated[bool, BeforeValidator(_to_bool)]
MaybeYesNo = Annotated[bool | None, BeforeValidator(_optional_bool)]
Count = Annotated[int, BeforeValidator(_int)]
Text = Annotated[str, BeforeValidator(_text)]
IdList = Annotated[list[str], BeforeValidator(_to_list)]
FreeText = Annotated[str, BeforeValidator(_free_text)]


def Code(*values: str):
    """A closed vocabulary; local words map onto it through a mapping file's ``values``."""
    return Annotated[Literal[values], BeforeValidator(_to_code)]  # type: ignore[valid-type]


def free_text(description: str, **kwargs) -> Any:
    """A field holding narrative that may name people: never quoted in messages or reports."""
    return Field(default=None, description=description, json_schema_extra={"free_text": True}, **kwargs)


def ref(kind: str, description: str, **kwargs) -> Any:
    """A field holding the id of another record of ``kind``; dangling references are data-quality findings."""
    kwargs.setdefault("default", None)
    return Field(description=description, json_schema_extra={"ref": kind}, **kwargs)


HarmLevel = Code("none", "low", "moderate", "severe", "fatal")
ActionStatus = Code("open", "in_progress", "completed", "closed", "overdue", "cancelled")


class Record(BaseModel):
    """Fields every record has: its id, the service it belongs to, and where it came from."""

    # Schemas are built when a kind is first validated: a run that only reads the store never pays for it.
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, defer_build=True)

    kind: ClassVar[str]
    title: ClassVar[str]
    #: The field that places a record in a review period (its event date).
    event_field: ClassVar[str]
    #: Extra indexes the domains' queries need, beyond service, event date and references.
    indexes: ClassVar[tuple[tuple[str, ...], ...]] = ()

    id: Text = Field(description="The record's id in its source system; unique within its kind.", min_length=1)
    service: Text = Field(
        description="The service the record belongs to: its name, id or any alias in the service register.",
        min_length=1,
    )
    source_system: Text | None = Field(
        default=None, description="Provenance: the record system the row came from (set on import).",
        json_schema_extra={"provenance": True},
    )
    source_file: Text | None = Field(
        default=None, description="Provenance: the file, table or query the row was read from (set on import).",
        json_schema_extra={"provenance": True},
    )
    source_row: Count | None = Field(
        default=None, description="Provenance: the row's number in its source, as the source system shows it.",
        json_schema_extra={"provenance": True},
    )
    imported_at: Timestamp | None = Field(
        default=None, description="Provenance: when the row was imported (set on import).",
        json_schema_extra={"provenance": True},
    )
    content_hash: int | None = Field(
        default=None,
        description="Provenance: 64-bit hash of the record's canonical content, to detect changed rows.",
        json_schema_extra={"provenance": True},
    )

    @classmethod
    def provenance_fields(cls) -> list[str]:
        return ["source_system", "source_file", "source_row", "imported_at", "content_hash"]

    @classmethod
    def content_fields(cls) -> list[str]:
        """Fields a source supplies (everything but provenance)."""
        skip = set(cls.provenance_fields())
        return [name for name in cls.model_fields if name not in skip]

    @classmethod
    def required_fields(cls) -> list[str]:
        return [name for name, info in cls.model_fields.items() if info.is_required()]

    @classmethod
    def references(cls) -> dict[str, str]:
        """Field name to the kind it refers to."""
        out = {}
        for name, info in cls.model_fields.items():
            extra = info.json_schema_extra or {}
            if isinstance(extra, dict) and "ref" in extra:
                out[name] = extra["ref"]
        return out

    @classmethod
    def condition_names(cls) -> dict[str, str]:
        """The fields a condition over a record (an evidence source's ``supports``) may name, with
        their value type: yes/no fields ``bool``, counts and numbers ``number``, codes and short
        text ``text``. Free text, lists, dates, times and provenance are left out."""
        free = cls.free_text_fields()
        names = {}
        for name in cls.content_fields():
            if name in free:
                continue
            kind = _value_type(cls.model_fields[name].annotation)
            if kind is not None:
                names[name] = kind
        return names

    @classmethod
    def free_text_fields(cls) -> frozenset[str]:
        return frozenset(
            name
            for name, info in cls.model_fields.items()
            if isinstance(info.json_schema_extra, dict) and info.json_schema_extra.get("free_text")
        )


def _value_type(annotation: Any) -> str | None:
    import types
    import typing

    if typing.get_origin(annotation) is Annotated:
        return _value_type(typing.get_args(annotation)[0])
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        found = {_value_type(a) for a in typing.get_args(annotation) if a is not type(None)}
        return found.pop() if len(found) == 1 else None
    if annotation is bool:
        return "bool"
    if annotation in (int, float):
        return "number"
    if annotation is str or typing.get_origin(annotation) is Literal:
        return "text"
    return None


class Service(Record):
    """The service register: one row per registered location, with the names other systems use for it."""

    kind: ClassVar[str] = "service"
    title: ClassVar[str] = "Service (register)"
    event_field: ClassVar[str] = "registered_on"

    service: Text = Field(description="The service's canonical name, used in outputs.", min_length=1)
    service_type: Code("residential", "nursing", "supported_living", "homecare") = Field(
        description="Type of service; decides which CQC evidence categories apply."
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
    follow_up_completed_at: Timestamp | None = Field(default=None, description="When follow-up actions were completed.")
    outcome_review_at: Timestamp | None = Field(default=None, description="When the outcome review was recorded.")
    outcome: Code("risk_removed", "risk_reduced", "risk_remains") | None = Field(
        default=None, description="Outcome of the concern (Safeguarding Adults Collection risk outcome)."
    )
    clarification_requests: Count | None = Field(
        default=None, ge=0, description="How many times the manager had to ask the recorder to clarify the record.")
    notification_id: Text | None = ref("notification", "The notification sent about this concern, if any.")
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
    about_kind: Code("safeguarding_concern", "incident", "other") | None = Field(
        default=None, description="The kind of record the notification is about."
    )
    about_id: Text | None = Field(
        default=None, description="The id of the record the notification is about.", json_schema_extra={"ref": "@about_kind"}
    )
    sent_at: Timestamp = Field(description="When the notification was sent.")
    reference: Text | None = Field(default=None, description="The recipient's reference for the notification.")


class Incident(Record):
    """An incident report, its management review and the learning that followed."""

    kind: ClassVar[str] = "incident"
    title: ClassVar[str] = "Incident"
    event_field: ClassVar[str] = "occurred_at"

    person_id: Text | None = Field(default=None, description="Pseudonymous id of the person affected.")
    occurred_at: Timestamp = Field(description="When the incident happened (sets its period).")
    reported_at: Timestamp | None = Field(default=None, description="When the incident form was submitted.")
    reported_by: Text | None = Field(default=None, description="Staff id of the person who completed the form.")
    incident_type: Text | None = Field(default=None, description="Type of incident, e.g. fall, medication error.")
    cause: Text | None = Field(default=None, description="Cause category, used to find repeated incidents with similar causes.")
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
    learning_shared_at: Timestamp | None = Field(default=None, description="When the learning was shared with staff.")
    learning_action_id: Text | None = ref("improvement_action", "The improvement action that carries the learning.")
    duty_of_candour_at: Timestamp | None = Field(
        default=None, description="When the duty-of-candour notification was made (regulation 20), if it was."
    )
    notification_id: Text | None = ref("notification", "The CQC notification about this incident, if any.")
    status: Code("open", "closed") | None = Field(default=None, description="Whether the incident is open or closed.")


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
    Service, SafeguardingConcern, Notification, Incident, OversightVisit, ImprovementAction,
    GovernanceItem, GovernanceActivity, Briefing, PracticeObservation, AuditResult, Feedback,
    Supervision, DailyNote,
)
#: carecheck's own kinds.
BUILTIN_KINDS: dict[str, type[Record]] = {model.kind: model for model in RECORD_MODELS}
#: Every kind known to this process: carecheck's own, then those plugins register. The same dict
#: object throughout (updated in place by :func:`install_plugin_kinds`), so every module that
#: imported it sees the plugins' kinds.
KINDS: dict[str, type[Record]] = dict(BUILTIN_KINDS)
#: The plugin that registered each plugin kind.
KIND_PLUGINS: dict[str, str] = {}


def install_plugin_kinds(kinds: dict[str, tuple[type[Record], str]]) -> None:
    """Make ``kinds`` (kind to model and plugin) the plugin kinds this process knows."""
    KINDS.clear()
    KINDS.update(BUILTIN_KINDS)
    KINDS.update({kind: model for kind, (model, _plugin) in kinds.items()})
    KIND_PLUGINS.clear()
    KIND_PLUGINS.update({kind: plugin for kind, (_model, plugin) in kinds.items()})


def model_for(kind: str) -> type[Record]:
    from carecheck.errors import InputError

    try:
        return KINDS[kind]
    except KeyError:
        raise InputError(f"unknown record kind {kind!r} (known: {', '.join(sorted(KINDS))})") from None
