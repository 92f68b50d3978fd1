"""Incident learning's record targets, one unit per incident: what each incident's review,
learning, governance check, practice observation, care plan review and form come to.

The rules the seed and CQC's inspectors read into "learning that must happen":

- *a review has substance*: it counts only when it records the fields the ruleset's
  ``review_requires`` lists (root cause and immediate controls by default);
- *learning is counted against every reviewed incident*: an improvement action, or a recorded
  decision that none is needed with its rationale; the action is the evidence, the decision only
  excuses its absence;
- *no pending for ever*: "checked at the next governance meeting" has an upper bound
  (``governance_within_days``); past it, the unit fails, and the location's signal says since
  when no meeting was held;
- *supplied fields* (the statutory checks' rule): a field the incident's import never had a column
  for is missing, not blank: the incident is judged without it and the location gets a data gap;
  a supplied field left blank is the record's own failure.
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from datetime import date, timedelta
from typing import Any, Iterator

from carecheck.domain_api import FAIL, PASS, PENDING, Context, Outcome, stored_day

HARM_ORDER = ("none", "low", "moderate", "severe", "fatal")

#: The reason a care plan unit cannot be judged.
NO_PERSON = "no person reference"


def filled(column: str, alias: str = "i") -> str:
    """SQL for 1 when a text column holds more than blanks, else 0 (the text itself is never read)."""
    return f"(nullif(trim({alias}.[{column}]), '') IS NOT NULL)"


class IncidentUnits:
    """Works out the units of incident learning's record targets in one pass over the incidents
    of the evaluated periods, with what each needs looked up by the store's indexes."""

    def __init__(self, ctx: Context, params: Any):
        self.ctx = ctx
        self.params = params
        self._supplied: dict[tuple[int | None, str], bool] = {}
        self.review_deadlines: dict[date, str] = {}
        #: service -> the ids of incidents whose learning check failed with no governance meeting since
        self.unchecked: dict[str, set[str]] = defaultdict(set)
        self.meetings: dict[str, list[date]] = {}

    def supplied(self, import_id: int | None, name: str) -> bool:
        """Whether the incident's import supplied field ``name`` (asked once per import and field)."""
        key = (import_id, name)
        found = self._supplied.get(key)
        if found is None:
            found = self._supplied[key] = self.ctx.supplied("incident", name, import_id)
        return found

    def query(self) -> tuple[str, list[str]]:
        """One row per incident of the evaluated periods, with only what the wanted targets need."""
        ctx, params = self.ctx, self.params
        wants = ctx.wants
        learning = wants("inc_learning_checked") or wants("inc_practice_observed")
        identified = learning or wants("inc_learning_identified")

        def some(wanted: bool, *columns: str) -> list[str]:
            return list(columns) if wanted else [f"NULL AS {column.rsplit(' ', 1)[-1]}" for column in columns]

        columns = [
            "i.id AS id", "i.service AS service", "i.occurred_at AS occurred_at", "i.reviewed_at AS reviewed_at",
            "i.import_id AS import_id",
            # Which required fields are recorded, as bits (field n is bit n): all set is the usual case.
            f"({' + '.join(f'{1 << n} * {filled(name)}' for n, name in enumerate(params.review_requires))}) AS checks"
            if params.review_requires else "NULL AS checks",
            *some(identified,
                  "i.learning_action_id AS action_id",
                  "(SELECT a.raised_on FROM improvement_action a WHERE a.id = i.learning_action_id) AS action_raised",
                  "(SELECT MIN(a.raised_on) FROM improvement_action a WHERE a.source_id = i.id "
                  "AND a.source_kind = 'incident') AS source_raised",
                  "i.learning_decision AS decision", f"{filled('learning_rationale')} AS rationale"),
            *some(learning,
                  "(SELECT MIN(g.meeting_date) FROM governance_item g WHERE g.action_id = i.learning_action_id) "
                  "AS first_check",
                  # When learning was first shared: recorded on the incident, or its first briefing.
                  """coalesce(substr(i.learning_shared_at, 1, 10), nullif(substr(min(
                       coalesce((SELECT MIN(b.held_at) FROM briefing b WHERE b.incident_id = i.id), '9999'),
                       coalesce((SELECT MIN(b.held_at) FROM briefing b WHERE b.learning_action_id = i.learning_action_id),
                                '9999')), 1, 10), '9999')) AS shared"""),
            *some(wants("inc_care_plan_reviewed"),
                  "i.person_id AS person", "lower(i.incident_type) AS incident_type", "i.harm_level AS harm",
                  "(SELECT MIN(r.reviewed_on) FROM care_plan_review r WHERE r.person_id = i.person_id "
                  "AND r.reviewed_on >= substr(i.occurred_at, 1, 10)) AS care_review"),
            *some(wants("inc_reported_promptly"),
                  "i.reported_at AS reported_at", f"{filled('immediate_action')} AS action_taken",
                  # Local wall-clock times, as the form's deadline is read: reported by occurred + N hours
                  # (a date alone is its first moment).
                  f"replace(substr(i.reported_at, 1, 19), 'T', ' ') <= datetime(substr(i.occurred_at, 1, 19), "
                  f"'+{int(params.reported_within_hours)} hours') AS reported_in_time",
                  f"substr(datetime(substr(i.occurred_at, 1, 19), '+{int(params.reported_within_hours)} hours'), 1, 10) "
                  "AS form_due"),
        ]
        base = f"SELECT {', '.join(columns)} FROM incident i WHERE +i.occurred_at >= ?"
        if not learning:
            return f"SELECT base.*, NULL FROM ({base}) base", [ctx.start.isoformat()]
        # The first practice observation on or after the learning was shared, by the incident or its action.
        return f"""
            SELECT base.*, nullif(min(
              coalesce((SELECT MIN(substr(o.observed_at, 1, 10)) FROM practice_observation o
                        WHERE o.incident_id = base.id AND substr(o.observed_at, 1, 10) >= base.shared), '9999'),
              coalesce((SELECT MIN(substr(o.observed_at, 1, 10)) FROM practice_observation o
                        WHERE o.learning_action_id = base.action_id AND substr(o.observed_at, 1, 10) >= base.shared),
                       '9999')), '9999')
            FROM ({base}) base""", [ctx.start.isoformat()]

    def outcomes(self) -> Iterator[Outcome]:
        ctx, params = self.ctx, self.params
        wants = ctx.wants
        want_review, want_identified = wants("inc_review_5wd"), wants("inc_learning_identified")
        want_checked, want_observed = wants("inc_learning_checked"), wants("inc_practice_observed")
        want_care, want_form = wants("inc_care_plan_reviewed"), wants("inc_reported_promptly")
        if want_checked:
            self.meetings = self._meetings()
        sql, args = self.query()
        as_of, as_of_text = ctx.as_of, ctx.as_of.isoformat()
        review_days = params.review_within_working_days
        observe_days = timedelta(days=params.observation_within_days)
        governance_bound = timedelta(days=params.governance_within_days)
        care_days = timedelta(days=params.care_plan_within_days)
        care_harm = set(HARM_ORDER[HARM_ORDER.index(params.care_plan_harm_from):])
        care_types = {code.lower() for code in params.care_plan_types}
        required = params.review_requires
        for (record_id, raw_service, occurred_at, reviewed_at, import_id, review_checks, action_id, action_raised,
             source_raised, decision, has_rationale, first_check, shared_on, person, incident_type, harm,
             care_review, reported_at, has_action_taken, in_time, form_due, observed_on) in ctx.rows(sql, args):
            service = ctx.service(raw_service)
            if service is None:
                continue
            occurred = ctx.day(occurred_at)
            shift = ctx.shift(occurred_at)
            reviewed = self._review(service, import_id, reviewed_at, review_checks, required) if (
                want_review or want_identified) else None
            if want_review:
                deadline = self.review_deadlines.get(occurred)
                if deadline is None:
                    deadline = self.review_deadlines[occurred] = ctx.working_days.add(occurred, review_days).isoformat()
                status = _deadline_status(reviewed.isoformat() if reviewed else None, deadline, as_of_text)
                yield Outcome("inc_review_5wd", service, occurred, record_id, status, shift)
            if want_identified and reviewed is not None:
                status = self._identified(service, import_id, reviewed, action_raised, source_raised, decision,
                                          has_rationale)
                yield Outcome("inc_learning_identified", service, occurred, record_id, status, shift)
            if want_checked and action_id:
                anchor = stored_day(reviewed_at) or stored_day(action_raised) or occurred
                status = self._checked(service, record_id, anchor, first_check, governance_bound)
                yield Outcome("inc_learning_checked", service, occurred, record_id, status, shift)
            if want_observed and shared_on is not None:
                shared = stored_day(shared_on)
                status = _deadline_status(ctx.done(observed_on), shared + observe_days, as_of)
                yield Outcome("inc_practice_observed", service, occurred, record_id, status, shift)
            if want_care and (harm in care_harm or incident_type in care_types):
                if not person:
                    ctx.left_out("inc_care_plan_reviewed", service, record_id, NO_PERSON)
                else:
                    status = _deadline_status(ctx.done(care_review), occurred + care_days, as_of)
                    yield Outcome("inc_care_plan_reviewed", service, occurred, record_id, status, shift)
            if want_form:
                status = self._form(service, import_id, reported_at, has_action_taken, in_time, form_due)
                if status is not None:
                    yield Outcome("inc_reported_promptly", service, occurred, record_id, status, shift)

    def _review(self, service: str, import_id: int | None, reviewed_at: str | None, checks: str | None,
                required: list[str]) -> date | None:
        """The day of the incident's review by as_of, when it counts: every required field recorded,
        or never supplied by the incident's import (then the review counts on its date, with a gap)."""
        reviewed = self.ctx.done(reviewed_at)
        if reviewed is None or not required or checks == (1 << len(required)) - 1:
            return reviewed
        for n, name in enumerate(required):
            if checks & (1 << n):
                continue
            if self.supplied(import_id, name):
                return None
            self.ctx.gap(service, "incident", name)
        return reviewed

    def _identified(self, service: str, import_id: int | None, reviewed: date, action_raised: str | None,
                    source_raised: str | None, decision: str | None, has_rationale: int | None) -> str:
        """Learning identified within learning_within_working_days of the review: an improvement
        action raised by then, or a decision that none is needed, with its rationale."""
        ctx = self.ctx
        deadline = ctx.working_days.add(reviewed, self.params.learning_within_working_days)
        raised = [day for day in (ctx.done(action_raised), ctx.done(source_raised)) if day is not None]
        if raised:
            return PASS if min(raised) <= deadline else FAIL
        if decision == "none_needed" and has_rationale:
            return PASS
        if not self.supplied(import_id, "learning_decision"):
            ctx.gap(service, "incident", "learning_decision")
        return FAIL if ctx.as_of > deadline else PENDING

    def _checked(self, service: str, record_id: str, anchor: date, first_check: str | None,
                 bound: timedelta) -> str:
        """Checked at the first governance meeting on or after the review, held within the bound."""
        ctx = self.ctx
        days = self.meetings.get(service, [])
        index = bisect.bisect_left(days, anchor)  # a meeting on the day of the review is the next one
        next_meeting = days[index] if index < len(days) else None
        latest = anchor + bound
        if next_meeting is None or next_meeting > ctx.as_of:
            if ctx.as_of <= latest:
                return PENDING
            self.unchecked[service].add(record_id)
            return FAIL
        if next_meeting > latest:
            return FAIL
        checked = ctx.done(first_check)
        return PASS if checked is not None and checked <= next_meeting else FAIL

    def _form(self, service: str, import_id: int | None, reported_at: str | None, has_action_taken: int | None,
              in_time: int | None, due: str) -> str | None:
        """The incident form submitted within the hours allowed, with the immediate action recorded
        (None: the import never supplied when forms were submitted, so there is nothing to judge)."""
        ctx = self.ctx
        if not reported_at and not self.supplied(import_id, "reported_at"):
            ctx.gap(service, "incident", "reported_at")
            return None
        action_recorded = bool(has_action_taken)
        if not action_recorded and not self.supplied(import_id, "immediate_action"):
            ctx.gap(service, "incident", "immediate_action")
            action_recorded = True
        if reported_at and ctx.done(reported_at) is not None:
            return PASS if action_recorded and in_time else FAIL
        return FAIL if ctx.as_of > ctx.day(due) else PENDING

    def _meetings(self) -> dict[str, list[date]]:
        ctx = self.ctx
        types = self.params.governance_meeting_types
        marks = ", ".join("?" for _ in types)
        meetings: dict[str, set[date]] = defaultdict(set)
        for raw_service, day in ctx.rows(
            # A meeting whose type was not recorded is still a meeting in the governance minutes.
            f"SELECT DISTINCT service, meeting_date FROM governance_item "
            f"WHERE meeting_type IN ({marks}) OR meeting_type IS NULL",
            types,
        ):
            service = ctx.service(raw_service)
            if service is not None and ctx.done(day) is not None:
                meetings[service].add(ctx.day(day))
        return {service: sorted(days) for service, days in meetings.items()}

    def unchecked_signal(self) -> dict[str, dict[str, Any]]:
        """Each location's incidents whose learning check failed for want of a governance meeting,
        with the day of its last meeting by as_of."""
        out = {}
        for service, records in self.unchecked.items():
            days = self.meetings.get(service, [])
            since = days[-1].isoformat() if days else f"before {self.ctx.start.isoformat()}"
            out[service] = {"records": records, "since": since}
        return out


def _deadline_status(done: date | str | None, deadline: date | str, as_of: date | str) -> str:
    """Pass when done by the deadline; fail when done late or the deadline has passed; else pending.
    All three are dates, or all three ISO date text."""
    if done is not None and done <= as_of:
        return PASS if done <= deadline else FAIL
    return FAIL if as_of > deadline else PENDING
