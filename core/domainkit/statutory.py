"""The statutory rules of adult social care that the built-in domains check, each with its source
(part of the domain authors' API: import them from :mod:`carecheck.domain_api`).

- **Duty of candour**, regulation 20 of the Health and Social Care Act 2008 (Regulated Activities)
  Regulations 2014. Adult social care providers fall under regulation 20(9): a notifiable safety
  incident is an unintended or unexpected incident that, in the reasonable opinion of a health
  care professional, appears to have resulted in, or requires treatment to prevent, death;
  impairment of sensory, motor or intellectual functions for at least 28 days; changes to the
  structure of the body (a fracture); prolonged pain or psychological harm (28 days or more); or
  the shortening of life expectancy. Moderate harm, the threshold for health service bodies
  (regulation 20(8)), is not enough on its own.
- **Notifications to CQC "without delay"**, CQC (Registration) Regulations 2009: regulation 16,
  the death of a person using the service; regulation 18, other incidents, among them serious
  injuries, abuse or allegations of abuse, and incidents reported to or investigated by the
  police. "Without delay" is not defined in days: carecheck checks the end of the event's date
  plus a number of calendar days (a notification is due whatever the day of the week).

Fields left empty are unknown, never read as "no": a record whose deciding fields are all empty
is listed as undetermined rather than judged.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import TYPE_CHECKING

from carecheck.dates import stored_day

if TYPE_CHECKING:
    from carecheck.domain_api import Context

DEATH, SERIOUS_INJURY, POLICE_INCIDENT, ABUSE_ALLEGATION = "death", "serious_injury", "police_incident", "abuse_allegation"


def candour_required(notifiable: bool | None, harm: str | None, serious_injury: bool | None) -> bool | None:
    """Whether an incident is a notifiable safety incident (regulation 20(9)); None when nothing
    recorded decides it.

    The explicit field decides when it is filled in; otherwise a serious injury, or severe or
    fatal harm. A death alone does not decide it: an expected death is not an unintended or
    unexpected incident.
    """
    if notifiable is not None:
        return notifiable
    if harm is None and serious_injury is None:
        return None
    return bool(serious_injury) or harm in ("severe", "fatal")


def incident_notifications(death: bool | None, harm: str | None, serious_injury: bool | None,
                           police: bool | None) -> list[str] | None:
    """The CQC notifications an incident needs (REG2009-16 and 18), by type; None when every
    deciding field is empty."""
    if death is None and harm is None and serious_injury is None and police is None:
        return None
    needed = []
    if death or harm == "fatal":
        needed.append(DEATH)
    if serious_injury or harm == "severe":
        needed.append(SERIOUS_INJURY)
    if police:
        needed.append(POLICE_INCIDENT)
    return needed


def notification_due(event_day: date, within_days: int) -> date:
    """The last day a notification "without delay" may be sent: the event's date plus calendar days."""
    return event_day + timedelta(days=within_days)


def cqc_notified(ctx: "Context", kind: str, record_id: str, notification_id: str | None, notification_type: str,
                 due: date) -> bool:
    """Whether CQC was sent a notification of ``notification_type`` about a record by the end of
    ``due`` (Europe/London): linked by the record's notification id or the notification's about_id."""
    rows = ctx.rows(
        "SELECT sent_at FROM notification WHERE recipient = 'cqc' AND notification_type = ? "
        "AND (id = ? OR (about_kind = ? AND about_id = ?))",
        [notification_type, notification_id, kind, record_id],
    )
    return any(stored_day(sent_at) <= due for (sent_at,) in rows)
