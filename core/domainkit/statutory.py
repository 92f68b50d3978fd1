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
  the death of a person using the service while services were being provided or that may have
  resulted from them, expected deaths included; regulation 18, other incidents, among them
  serious injuries, abuse or allegations of abuse, and incidents reported to or investigated by
  the police. "Without delay" is not defined in days: carecheck checks the end of the event's
  date plus a number of calendar days (a notification is due whatever the day of the week).
- **Safeguarding referrals**, regulation 13 of the 2014 Regulations and the local authority's
  Care Act procedures: a decision to refer is followed by the referral within days.

Fields left empty are unknown, never read as "no": a record whose deciding fields are empty is
*undetermined* (a moderate-harm incident with neither ``serious_injury`` nor
``notifiable_safety_incident`` recorded, say), and the run asks for the decision.

A domain reports what it finds through :meth:`Domain.duties <carecheck.domain_api.Domain.duties>`:
each :class:`Breach` (a duty not done by its deadline) caps the owning domain's level at the
location at not assured, each :class:`Undetermined` record at partly assured.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from carecheck.domain_api import Context

DEATH, SERIOUS_INJURY, POLICE_INCIDENT, ABUSE_ALLEGATION = "death", "serious_injury", "police_incident", "abuse_allegation"
REFERRAL, CANDOUR = "referral", "candour"

#: What each duty is, in words (one, several), for breaches: "1 death not notified to CQC".
SUBJECTS = {
    DEATH: ("death not notified to CQC", "deaths not notified to CQC"),
    SERIOUS_INJURY: ("serious injury not notified to CQC", "serious injuries not notified to CQC"),
    POLICE_INCIDENT: ("police incident not notified to CQC", "police incidents not notified to CQC"),
    ABUSE_ALLEGATION: ("allegation of abuse not notified to CQC", "allegations of abuse not notified to CQC"),
    REFERRAL: ("decision to refer with no referral made", "decisions to refer with no referral made"),
    CANDOUR: ("notifiable safety incident without a duty-of-candour notice",
              "notifiable safety incidents without a duty-of-candour notice"),
}
#: The duty each subject breaches, and its regulation.
DUTIES = {
    DEATH: ("notification_overdue", "REG2009-16"), SERIOUS_INJURY: ("notification_overdue", "REG2009-18"),
    POLICE_INCIDENT: ("notification_overdue", "REG2009-18"), ABUSE_ALLEGATION: ("notification_overdue", "REG2009-18"),
    REFERRAL: ("referral_overdue", "RA2014-13"), CANDOUR: ("candour_overdue", "RA2014-20"),
}


@dataclass(frozen=True)
class Breach:
    """A statutory duty not done by its deadline at a location: outstanding (``made`` None) or done
    late. The run counts one while it is outstanding at ``as_of``, or when the run's current
    period holds the day it was made late; it caps the owning domain at not assured there, and no
    waiver, target choice or overlay lifts that."""

    service: str
    #: DEATH, SERIOUS_INJURY, POLICE_INCIDENT, ABUSE_ALLEGATION, REFERRAL or CANDOUR
    subject: str
    #: the records behind it (an incident and the register's record of the same death, say)
    records: tuple[str, ...]
    due: date
    made: date | None = None

    @property
    def duty(self) -> str:
        return DUTIES[self.subject][0]

    @property
    def regulation(self) -> str:
        return DUTIES[self.subject][1]


@dataclass(frozen=True)
class Undetermined:
    """A record whose statutory duty cannot be decided, because a field that decides it was left
    blank: the run asks for the decision and caps the owning domain at partly assured."""

    service: str
    #: what cannot be decided: "allegation", "notification", "candour" or "death"
    question: Literal["allegation", "notification", "candour", "death"]
    record: str


def candour_required(notifiable: bool | None, harm: str | None, serious_injury: bool | None) -> bool | None:
    """Whether an incident is a notifiable safety incident (regulation 20(9)); None when nothing
    recorded decides it.

    The explicit field decides when it is filled in; otherwise a serious injury, or severe or
    fatal harm. A death alone does not decide it: an expected death is not an unintended or
    unexpected incident.
    """
    if notifiable is not None:
        return notifiable
    if serious_injury:
        return True
    if harm is None and serious_injury is None:
        return None
    if harm == "moderate" and serious_injury is None:
        return None  # treatment to prevent lasting harm (regulation 20(9)(b)) may apply: nobody decided
    return harm in ("severe", "fatal")


def incident_notifications(death: bool | None, harm: str | None, serious_injury: bool | None,
                           police: bool | None) -> list[str] | None:
    """The CQC notifications an incident needs (REG2009-16 and 18), by type; None when every
    deciding field is empty."""
    if death is None and harm is None and serious_injury is None and police is None:
        return None
    if harm == "moderate" and serious_injury is None:
        return None  # a serious injury (regulation 18(2)(b)) may need notifying: nobody decided
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
    sent = notified_on(ctx, kind, record_id, notification_id, notification_type)
    return sent is not None and sent <= due


def notified_on(ctx: "Context", kind: str, record_id: str, notification_id: str | None, notification_type: str,
                own: str | None = None) -> date | None:
    """The day CQC was first sent a notification of ``notification_type`` about a record, by
    ``as_of``: the record's own field (``own``, its cqc_notified_at), or a notification record
    linked by the record's notification id or the notification's about_id. None if none by then."""
    days = [ctx.done(own)] if own else []
    days += [ctx.done(sent_at) for (sent_at,) in ctx.rows(
        "SELECT sent_at FROM notification WHERE recipient = 'cqc' AND notification_type = ? "
        "AND (id = ? OR (about_kind = ? AND about_id = ?))",
        [notification_type, notification_id, kind, record_id],
    )]
    return min((day for day in days if day is not None), default=None)


def late(done: date | None, due: date, as_of: date) -> bool:
    """A duty due by ``due`` is breached at ``as_of``: the deadline has passed and it was not done by
    then (``done`` None: not done by ``as_of``)."""
    return as_of > due and (done is None or done > due)
