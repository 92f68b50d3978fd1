"""Helpers the built-in domains share (and a provider's own domain may use too)."""

from __future__ import annotations

from datetime import date

from carecheck.dates import stored_day
from carecheck.domain_api import Context, EvidenceSource


def feedback_sources() -> tuple[EvidenceSource, ...]:
    """Feedback counts as people's experience, staff feedback or partner feedback by who gave it."""
    return (
        EvidenceSource("feedback", "people_experience", "source IN ('person', 'family')", "feedback from people and families"),
        EvidenceSource("feedback", "staff_feedback", "source = 'staff'", "staff feedback"),
        EvidenceSource("feedback", "partner_feedback", "source = 'partner'", "partner feedback"),
    )


def cqc_notified(ctx: Context, kind: str, record_id: str, notification_id: str | None, deadline: date) -> bool:
    """Whether CQC was notified about a record by ``deadline``: by the record's notification id or the notification's about_id."""
    rows = ctx.rows(
        "SELECT sent_at FROM notification WHERE recipient = 'cqc' AND (id = ? OR (about_kind = ? AND about_id = ?))",
        [notification_id, kind, record_id],
    )
    return any(stored_day(sent_at) <= deadline for (sent_at,) in rows)
