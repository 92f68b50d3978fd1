"""The statutory duties the built-in domains own, found over the evaluated periods up to as_of.

Incident learning owns CQC notifications of incidents and deaths (regulations 16 and 18 of the
Registration Regulations 2009) and the duty of candour (regulation 20 of the 2014 Regulations);
safeguarding recording owns notifications of allegations of abuse (regulation 18) and referrals
to the local authority (regulation 13). Each finding is a :class:`Breach` (the duty was due
before as_of and not done by its deadline) or an :class:`Undetermined` record (a field that
decides the duty was supplied but left blank). Three rules hold throughout:

- *as of honesty*: a notification, notice or referral dated after as_of was not done then;
- *no evidence is not a breach*: with no notification records at any location and no
  ``cqc_notified_at`` column, notifications are not checked (one data gap asks for them); with no
  death records at all, one provider-level data gap asks for the register of deaths;
- *supplied fields*: a field the record's import never had a column for is not blank but
  missing: the record is judged on the fields it has, and the location gets one data gap for it.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any, Iterator

from carecheck.domain_api import (
    ABUSE_ALLEGATION, CANDOUR, DEATH, REFERRAL, Breach, Context, Undetermined, candour_required, incident_notifications,
    late, notification_due,
)


def _flag(value) -> bool | None:
    """A stored yes/no (1, 0 or NULL) as True, False or None (unknown)."""
    return None if value is None else bool(value)


class _Duties:
    kind = ""

    def __init__(self, ctx: Context, params: Any):
        self.ctx = ctx
        self.params = params
        self.found_list: list[Breach | Undetermined] = []
        window = ctx.window[0].start if ctx.window else ctx.start
        self.window_start = window
        self._notifications: bool | None = None
        self._supplied: dict[tuple, bool] = {}

    def rows(self, sql: str, event: str) -> Iterator[tuple]:
        ctx = self.ctx
        return ctx.rows(f"{sql} WHERE +{event} >= ? AND {event} < ?",
                        [ctx.start.isoformat(), (ctx.as_of + timedelta(days=1)).isoformat()])

    def unsupplied(self, service: str, import_id: int | None, *names: str) -> list[str]:
        """The fields of ``names`` the record's import did not supply, each reported as a gap."""
        missing = [name for name in names if not self.has(import_id, name)]
        for name in missing:
            self.ctx.gap(service, self.kind, name)
        return missing

    def has(self, import_id: int | None, name: str) -> bool:
        """Whether the record's import supplied field ``name`` (asked once per import and field:
        a store has few imports and many records)."""
        key = (self.kind, import_id, name)
        found = self._supplied.get(key)
        if found is None:
            found = self._supplied[key] = self.ctx.supplied(self.kind, name, import_id)
        return found

    def notified(self, kind: str, record_id: str, notification_id: str | None, subject: str,
                 own: str | None) -> date | None:
        """The first day CQC was notified of ``subject`` about a record by as_of: its own
        cqc_notified_at, or a notification record linked either way (read once, into memory:
        one query per record would cost more than the whole check)."""
        by_id, by_about = self.ctx.cached("carecheck.cqc_notifications", self._cqc_notifications)
        days = [self.ctx.done(own) if own else None, by_about.get((kind, record_id, subject))]
        if notification_id is not None:
            days.append(by_id.get((notification_id, subject)))
        return min((day for day in days if day is not None), default=None)

    def _cqc_notifications(self) -> tuple[dict, dict]:
        by_id: dict[tuple[str, str], date] = {}
        by_about: dict[tuple[str, str, str], date] = {}
        for record_id, subject, about_kind, about_id, sent_at in self.ctx.rows(
                "SELECT id, notification_type, about_kind, about_id, sent_at FROM notification WHERE recipient = 'cqc'"):
            sent = self.ctx.done(sent_at)
            if sent is None:
                continue  # sent after as_of: not yet, as of then
            by_id[(record_id, subject)] = sent
            if about_kind and about_id:
                key = (about_kind, about_id, subject)
                by_about[key] = min(sent, by_about.get(key, sent))
        return by_id, by_about

    def notifications_evidenced(self, service: str, import_id: int | None) -> bool:
        """Whether a notification can be checked: the record has a cqc_notified_at column, or the
        store has notification records at some location. Without either, one data gap."""
        if self._notifications is None:
            self._notifications = any(True for _ in self.ctx.rows("SELECT 1 FROM notification LIMIT 1"))
        if self._notifications or self.has(import_id, "cqc_notified_at"):
            return True
        self.ctx.gap(None, "notification")
        return False

    def undetermined(self, service: str, question: str, record: str, day: date) -> None:
        if day >= self.window_start:
            self.found_list.append(Undetermined(service, question, record))

    def breach_if_late(self, service: str, subject: str, records: tuple[str, ...], due: date,
                       made: date | None) -> None:
        if late(made, due, self.ctx.as_of):
            self.found_list.append(Breach(service, subject, records, due, made))


class IncidentDuties(_Duties):
    """Regulations 16 and 18 (notifications) and 20 (candour) over incidents, and regulation 16 over
    the register of deaths; a death in both is counted once, by person (else by incident)."""

    kind = "incident"

    def found(self) -> list[Breach | Undetermined]:
        ctx = self.ctx
        deaths: dict[tuple, dict] = {}
        for (record_id, raw_service, occurred_at, reported_at, person, harm, police, serious, death, notifiable,
             candour_at, notification_id, own, import_id) in self.rows(
                "SELECT id, service, occurred_at, reported_at, person_id, harm_level, police_involved, serious_injury, "
                "death, notifiable_safety_incident, duty_of_candour_at, notification_id, cqc_notified_at, import_id "
                "FROM incident", "occurred_at"):
            service = ctx.service(raw_service)
            if service is None:
                continue
            occurred = ctx.day(occurred_at)
            flags = {"harm_level": harm, "police_involved": _flag(police), "serious_injury": _flag(serious),
                     "death": _flag(death), "notifiable_safety_incident": _flag(notifiable)}
            missing = set(self.unsupplied(service, import_id, "harm_level", "police_involved", "serious_injury", "death"))
            if not self.has(import_id, "notifiable_safety_incident"):
                missing.add("notifiable_safety_incident")
            self._candour(service, record_id, occurred, ctx.day(reported_at), flags, missing, candour_at, import_id)
            needed = self._needed(service, record_id, occurred, flags, missing)
            own = own if self.has(import_id, "cqc_notified_at") else None
            for subject in needed:
                if subject == DEATH:
                    key = ("person", person) if person else ("incident", record_id)
                    deaths[key] = {"service": service, "records": [record_id], "day": occurred,
                                   "notified": [(notification_id, "incident", record_id, own)], "import": import_id}
                elif self.notifications_evidenced(service, import_id):
                    made = self.notified("incident", record_id, notification_id, subject, own)
                    self.breach_if_late(service, subject, (record_id,),
                                        notification_due(occurred, self.params.notification_within_days), made)
        self._register_of_deaths(deaths)
        for death in deaths.values():
            if not self.notifications_evidenced(death["service"], death["import"]):
                continue
            made = min((day for day in (self.notified(kind, record, link, DEATH, own)
                                        for link, kind, record, own in death["notified"]) if day is not None),
                       default=None)
            self.breach_if_late(death["service"], DEATH, tuple(sorted(death["records"])),
                                notification_due(death["day"], self.params.notification_within_days), made)
        return self.found_list

    def _candour(self, service: str, record_id: str, occurred: date, reported: date | None, flags: dict,
                 missing: set[str], candour_at: str | None, import_id: int | None) -> None:
        required = candour_required(flags["notifiable_safety_incident"], flags["harm_level"], flags["serious_injury"])
        if required is None:
            deciding = {"notifiable_safety_incident", "serious_injury", "harm_level"}
            if "notifiable_safety_incident" in missing:
                self.ctx.gap(service, self.kind, "notifiable_safety_incident")
            if {name for name in deciding if flags[name] is None} - missing:
                self.undetermined(service, "candour", record_id, occurred)
                return
            required = False  # nothing that decides it was supplied: judged on what there is (gaps said)
        if not required or self.unsupplied(service, import_id, "duty_of_candour_at"):
            return
        # From when the provider became aware: the form's submission, else the incident itself.
        aware = reported if reported is not None and reported >= occurred else occurred
        due = self.ctx.working_days.add(aware, self.params.candour_within_working_days)
        self.breach_if_late(service, CANDOUR, (record_id,), due, self.ctx.done(candour_at))

    def _needed(self, service: str, record_id: str, occurred: date, flags: dict, missing: set[str]) -> list[str]:
        needed = incident_notifications(flags["death"], flags["harm_level"], flags["serious_injury"],
                                        flags["police_involved"])
        if needed is not None:
            return needed
        blank = {name for name, value in flags.items() if value is None} - missing - {"notifiable_safety_incident"}
        if blank:
            self.undetermined(service, "notification", record_id, occurred)
            return []
        # Every deciding field left empty was never supplied: judge on the fields there are.
        known = {name: (value if name not in missing else False) for name, value in flags.items()}
        if known["harm_level"] is False:
            known["harm_level"] = None
        return incident_notifications(known["death"], known["harm_level"], known["serious_injury"],
                                      known["police_involved"]) or []

    def _register_of_deaths(self, deaths: dict[tuple, dict]) -> None:
        """The register of deaths joins the incident log's deaths: regulation 16 covers every death
        while the service was provided or that may have resulted from it, expected ones included."""
        ctx = self.ctx
        self.kind = "death"
        try:
            if not any(True for _ in ctx.rows("SELECT 1 FROM death LIMIT 1")):
                ctx.gap(None, "death")
                return
            for (record_id, raw_service, died_at, person, during, incident_id, own, notification_id,
                 import_id) in self.rows("SELECT id, service, died_at, person_id, during_service, incident_id, "
                                         "cqc_notified_at, notification_id, import_id FROM death", "died_at"):
                service = ctx.service(raw_service)
                if service is None:
                    continue
                died = ctx.day(died_at)
                key = ("person", person) if person else ("incident", incident_id) if incident_id else ("death", record_id)
                known = deaths.get(key)
                if known is None and during != "yes":
                    if during == "no":
                        continue
                    if during == "unknown" or not self.unsupplied(service, import_id, "during_service"):
                        self.undetermined(service, "death", record_id, died)
                        continue
                own = own if self.has(import_id, "cqc_notified_at") else None
                entry = deaths.setdefault(key, {"service": service, "records": [], "day": died, "notified": [],
                                                "import": import_id})
                entry["records"].append(record_id)
                entry["day"] = min(entry["day"], died)
                entry["notified"].append((notification_id, "death", record_id, own))
        finally:
            self.kind = "incident"


class ConcernDuties(_Duties):
    """Regulation 18 (notifying allegations of abuse) and regulation 13 (making the referral a
    decision to refer calls for) over safeguarding concerns."""

    kind = "safeguarding_concern"

    def found(self) -> list[Breach | Undetermined]:
        ctx, params = self.ctx, self.params
        for (record_id, raw_service, raised_at, allegation, decision, decision_at, referral_at, notification_id, own,
             import_id) in self.rows(
                "SELECT id, service, raised_at, is_allegation_of_abuse, manager_decision, manager_decision_at, "
                "referral_at, notification_id, cqc_notified_at, import_id FROM safeguarding_concern", "raised_at"):
            service = ctx.service(raw_service)
            if service is None:
                continue
            raised = ctx.day(raised_at)
            if allegation is None:
                if not self.unsupplied(service, import_id, "is_allegation_of_abuse"):
                    self.undetermined(service, "allegation", record_id, raised)
            elif allegation and self.notifications_evidenced(service, import_id):
                own = own if self.has(import_id, "cqc_notified_at") else None
                made = self.notified(self.kind, record_id, notification_id, ABUSE_ALLEGATION, own)
                self.breach_if_late(service, ABUSE_ALLEGATION, (record_id,),
                                    notification_due(raised, params.notification_within_days), made)
            decided = ctx.done(decision_at) if decision_at else raised
            if decision == "refer" and decided is not None and not self.unsupplied(service, import_id, "referral_at"):
                self.breach_if_late(service, REFERRAL, (record_id,),
                                    decided + timedelta(days=params.referral_within_days), ctx.done(referral_at))
        return self.found_list
