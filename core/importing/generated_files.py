"""The files ``carecheck generate`` writes: each kind's columns, and a writer that puts values in
them as Excel on Windows saves a CSV (Windows-1252, day-first dates, Y and N)."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path


@dataclass
class Writer:
    path: Path
    columns: list[str]

    def __post_init__(self):
        self.handle = open(self.path, "w", newline="", encoding="cp1252")
        self.writer = csv.writer(self.handle)
        self.writer.writerow(self.columns)
        self.rows = 0

    def row(self, **values) -> None:
        self.writer.writerow([_cell(values.get(column)) for column in self.columns])
        self.rows += 1

    def close(self) -> None:
        self.handle.close()


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "Y" if value else "N"
    if isinstance(value, datetime):
        return value.strftime("%d/%m/%Y %H:%M")
    if isinstance(value, date):
        return value.strftime("%d/%m/%Y")
    if isinstance(value, (list, tuple)):
        return ";".join(value)
    return str(value)


COLUMNS = {
    "service": ["id", "service", "service_type", "cqc_location_id", "aliases", "registered_manager"],
    "safeguarding_concern": [
        "id", "service", "person_id", "raised_at", "recorded_by", "category", "is_allegation_of_abuse", "concern",
        "immediate_action", "immediate_action_at", "screened_at", "manager_decision_at", "manager_decision",
        "decision_rationale", "referral_at", "follow_up", "follow_up_due", "follow_up_completed_at", "outcome_review_at",
        "outcome", "clarification_requests", "notification_id", "cqc_notified_at", "status",
    ],
    "notification": ["id", "service", "recipient", "notification_type", "about_kind", "about_id", "sent_at", "reference"],
    "incident": [
        "id", "service", "person_id", "occurred_at", "reported_at", "reported_by", "incident_type", "cause", "harm_level",
        "description", "immediate_action", "safeguarding_flag", "police_involved", "serious_injury", "death",
        "notifiable_safety_incident", "reviewed_at", "reviewed_by", "root_cause", "immediate_controls",
        "learning_decision", "learning_rationale", "learning_shared_at", "learning_action_id", "duty_of_candour_at",
        "notification_id", "cqc_notified_at", "status",
    ],
    "care_plan_review": ["id", "service", "person_id", "reviewed_on", "review_type", "incident_id", "reviewed_by",
                         "next_review_on"],
    "death": ["id", "service", "person_id", "died_at", "expected", "during_service", "incident_id", "cqc_notified_at"],
    "improvement_action": [
        "id", "service", "source_kind", "source_id", "description", "owner", "owner_role", "raised_on", "due_date",
        "status", "completed_on", "closure_evidence", "verified_by", "delay_explanation",
    ],
    "governance_item": ["id", "service", "meeting_date", "meeting_type", "item_type", "action_id", "chaired_by_role", "decision"],
    "governance_activity": ["id", "service", "activity", "performed_at", "performed_by", "role", "records_checked", "outcome"],
    "briefing": ["id", "service", "held_at", "led_by_role", "topic", "incident_id", "learning_action_id", "attendees",
                 "understanding_checked"],
    "practice_observation": ["id", "service", "observed_at", "observer_role", "staff_id", "topic", "incident_id",
                             "learning_action_id", "outcome", "staff_aware_of_guidance"],
    "audit": ["id", "service", "audit_date", "audit_type", "auditor_role", "score", "result", "improvement_action_id"],
    "feedback": ["id", "service", "received_at", "source", "channel", "feels_safe", "rating", "theme", "comments"],
    "supervision": ["id", "service", "staff_id", "supervisor_role", "held_at", "supervision_type", "themes", "related_concern_id"],
    "oversight_visit": ["id", "service", "visit_date", "previous_visit_date", "visitor", "visitor_role", "visit_type",
                        "sampled", "findings", "actions_reviewed", "actions_agreed"],
    "daily_note": ["id", "service", "person_id", "written_at", "author_id", "safeguarding_indicator", "note"],
}
FILES = {kind: f"{kind}.csv" for kind in COLUMNS}
