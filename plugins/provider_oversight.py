"""Provider oversight: the seed's third operational example.

Baseline issue: quality assurance visits were irregular and did not consistently challenge poor
audit results. Target: monthly provider oversight visits with clear findings, actions, owner
names and follow-up evidence; previous actions reviewed at each visit; overdue actions taken to
the next governance meeting (the tracker reviewed); quarterly nominated-individual review in
board minutes.
"""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import date, timedelta
from typing import Any, Iterable

from pydantic import Field

from carecheck import hookimpl
from carecheck.domain_api import (
    FAIL, PASS, PENDING, Context, Domain, DomainParameters, EscalationSpec, EvidenceSource, Outcome, OutcomeMeasure, SignalSpec,
    TargetSpec, contains_phrase, feedback_sources, phrase_list, stored_day, word_count,
)


CLOSED = ("completed", "closed")


class OversightParameters(DomainParameters):
    visits_per_month: int = Field(1, ge=1, description="Provider oversight visits expected each month.")
    min_findings_words: int = Field(25, ge=0, description="Visit findings shorter than this count as vague.")
    poor_audit_score: float = Field(60, ge=0, le=100, description="Audit scores below this count as poor.")
    repeated_overdue_visits: int = Field(2, ge=2, description="Consecutive visits at which an action overdue counts as repeated.")
    vague_phrases: list[str] = Field(default_factory=lambda: phrase_list("vague"))
    ni_review_every_days: int = Field(92, ge=28, description="Longest gap between nominated-individual reviews (a quarter).")
    ni_review_item_types: list[str] = Field(default_factory=lambda: ["ni_review", "oversight_review"])
    tracker_review_within_days: int = Field(
        35, ge=1, le=92, description="Days from an action going overdue by which a governance meeting must take it up.")


def _reviewed(entries: str | None) -> dict[str, str]:
    """``ACTION=status`` entries of a visit as {action id: status}."""
    out = {}
    for entry in json.loads(entries) if entries else []:
        action, _, status = entry.partition("=")
        out[action.strip()] = status.strip().lower().replace(" ", "_") or "reviewed"
    return out


class ProviderOversight(Domain):
    name = "provider_oversight"
    title = "Provider oversight"
    description = "Monthly provider visits that challenge, with owned, evidenced actions and quarterly NI review."
    baseline_issue = "Quality assurance visits were irregular and did not consistently challenge poor audit results."
    reads = ("oversight_visit", "improvement_action", "governance_item", "audit", "feedback")
    parameters_model = OversightParameters
    key_questions = ("well_led",)
    quality_statements = ("well_led.governance", "well_led.capable_leaders")
    regulations = ("RA2014-17",)
    targets = (
        TargetSpec(
            "po_monthly_visit", "Provider oversight visit every month", "cadence", 1.0, ("oversight_visit",),
            "Share of calendar months with the expected provider oversight visits.",
            cadence="Provider representative completes a monthly service visit.",
        ),
        TargetSpec(
            "po_action_quality", "Visit actions with owner, deadline and closure evidence", "rate", 1.0,
            ("improvement_action",),
            "Share of actions agreed at visits that have a named owner and a deadline and, once closed, follow-up evidence.",
        ),
        TargetSpec(
            "po_previous_reviewed", "Previous actions reviewed at each visit", "rate", 1.0, ("oversight_visit",),
            "Share of visits (after a service's first) at which every action still open from earlier visits was reviewed.",
        ),
        TargetSpec(
            "po_tracker_reviewed", "Overdue actions taken to governance", "rate", 1.0, ("improvement_action",),
            "Share of improvement actions that went overdue (still open the day after their deadline) that a "
            "governance meeting took up (a governance item citing the action) within {tracker_review_within_days} days "
            "of going overdue; an action is counted in the period in which those days end, when "
            "a miss is known.",
            sentence="{title}: {numerator} of {denominator} overdue actions taken to a governance meeting in time, "
                     "{period}",
            exceptions=True,
        ),
        TargetSpec(
            "po_quarterly_ni_review", "Quarterly nominated-individual review in board minutes", "cadence", 1.0,
            ("governance_item",),
            "Share of months ending within {ni_review_every_days} days (a quarter) of the nominated individual's last "
            "review of oversight "
            "reports in board minutes (judged once for the provider: minutes at the provider's row or at any "
            "location count for all).",
            cadence="Nominated individual reviews oversight reports quarterly (board minutes, an item recording the "
                    "nominated individual's review).",
            scope="provider",
        ),
    )
    signals = (
        SignalSpec("repeated_overdue", "Actions overdue at consecutive visits",
                   "Actions recorded overdue at consecutive visits, the later one this period.",
                   sentence="{n} action{s} recorded overdue at consecutive visits up to {period}"),
        SignalSpec("vague_visit_notes", "Vague visit notes",
                   "Visits this period whose findings are missing, short or use vague phrases.",
                   sentence="{n} visit{s} in {period} with findings missing, short or vague"),
        SignalSpec("poor_audit_no_action", "Poor audits without an improvement decision",
                   "Audits this period with a poor result and no linked improvement action.",
                   sentence="{n} poor audit{s} in {period} with no improvement decision"),
        SignalSpec("closed_without_evidence", "Actions closed without evidence",
                   "Visit actions closed this period with no follow-up evidence.",
                   sentence="{n} visit action{s} closed in {period} with no follow-up evidence"),
        SignalSpec("overdue_actions", "Overdue visit actions", "Visit actions still open past their deadline.",
                   sentence="{n} visit action{s} still open past the deadline"),
    )
    measures = (
        OutcomeMeasure("audit_score_change", "Audit score trend",
                       "Mean audit score (0 to 100) in the window's last period with audit scores, less the mean in "
                       "its first: higher is better; a value needs audit scores in two periods of the window.",
                       direction="at_least", change=True, tolerance=5),
    )
    escalations = (
        EscalationSpec("po_visit_missed", "Monthly visit missed", "po_monthly_visit.has_value and not po_monthly_visit.met",
                       "Increase provider visit frequency: fortnightly visits until three consecutive monthly visits are met",
                       "nominated_individual", 5),
        EscalationSpec("po_overdue_actions", "Overdue actions", "overdue_actions > 0",
                       "Record overdue actions for review at the next governance meeting, each with its owner, the "
                       "reason for delay and a new date", "registered_manager", 10),
        EscalationSpec("po_tracker_not_reviewed", "Overdue actions not taken to governance",
                       "po_tracker_reviewed.has_value and not po_tracker_reviewed.met",
                       "Review the improvement tracker at the next governance meeting: every overdue action, its owner "
                       "and its recovery date", "nominated_individual", 10),
        EscalationSpec("po_repeated_overdue", "Repeated overdue actions", "repeated_overdue > 0",
                       "Assign senior oversight to actions overdue at consecutive visits", "nominated_individual", 5),
        EscalationSpec("po_evidence_before_closure", "Actions without owner, deadline or evidence",
                       "closed_without_evidence > 0 or (po_action_quality.has_value and not po_action_quality.met)",
                       "Require evidence before closure: reopen actions closed without follow-up evidence and name owners "
                       "and deadlines", "nominated_individual", 3),
        EscalationSpec("po_weak_challenge", "Weak challenge", "vague_visit_notes > 0 or poor_audit_no_action > 0",
                       "Assign senior oversight: the nominated individual reviews visit notes and links poor audits to "
                       "improvement decisions", "nominated_individual", 10),
    )
    evidence = (
        EvidenceSource("oversight_visit", "processes", label="provider visit reports"),
        EvidenceSource("improvement_action", "processes", "source_kind = 'oversight_visit'", "service improvement tracker"),
        EvidenceSource("governance_item", "processes", "meeting_type = 'board'", "board minutes"),
        EvidenceSource("audit", "processes", label="audits", supports="result != 'poor'", against="had a poor result"),
        *feedback_sources(staff=("rating >= 3", "rate the service 2 or below out of 5")),
    )

    def _visits(self, ctx: Context, findings_from: date | None = None) -> dict[str, list[tuple]]:
        """Visits by service, oldest first: (day, id, reviewed actions, agreed actions, findings).

        Findings are narrative: they are read only for visits on or after ``findings_from``.
        """
        visits: dict[str, list] = defaultdict(list)
        cutoff = findings_from.isoformat() if findings_from else "9999"
        # A visit after as_of had not happened then.
        for record_id, raw_service, visit_date, reviewed, agreed, findings in ctx.rows(
            "SELECT id, service, visit_date, actions_reviewed, actions_agreed, "
            "CASE WHEN visit_date >= ? THEN findings END FROM oversight_visit WHERE visit_date <= ? "
            "ORDER BY visit_date, id", [cutoff, ctx.as_of.isoformat()]
        ):
            service = ctx.service(raw_service)
            if service is not None:
                agreed_ids = json.loads(agreed) if agreed else []
                visits[service].append((date.fromisoformat(visit_date), record_id, _reviewed(reviewed), agreed_ids, findings))
        return visits

    def _visit_actions(self, ctx: Context, visits: dict[str, list[tuple]]) -> list[tuple]:
        """Actions from visits: those whose source is a visit, and those a visit lists as agreed.

        Only whether closure evidence was recorded is read, not the evidence itself.
        """
        columns = ("id, service, raised_on, owner, due_date, status, completed_on, "
                   "coalesce(closure_evidence, '') != '', source_id")
        actions = list(ctx.rows(f"SELECT {columns} FROM improvement_action WHERE source_kind = 'oversight_visit'"))
        seen = {row[0] for row in actions}
        agreed = sorted({action for rows in visits.values() for visit in rows for action in visit[3]} - seen)
        for start in range(0, len(agreed), 10_000):
            chunk = agreed[start:start + 10_000]
            marks = ", ".join("?" for _ in chunk)
            actions += ctx.rows(f"SELECT {columns} FROM improvement_action WHERE id IN ({marks})", chunk)
        return actions

    def outcomes(self, ctx: Context) -> Iterable[Outcome]:
        params: OversightParameters = ctx.params
        visits = self._visits(ctx)
        if ctx.wants("po_monthly_visit"):
            done = {service: [v[0] for v in rows] for service, rows in visits.items()}
            yield from ctx.cadence("po_monthly_visit", "month", done, params.visits_per_month)
        actions = self._visit_actions(ctx, visits)
        if ctx.wants("po_action_quality"):
            for record_id, raw_service, raised_on, owner, due, status, _completed, evidence, _source in actions:
                service = ctx.service(raw_service)
                raised = date.fromisoformat(raised_on)
                if service is None or raised < ctx.start:
                    continue
                good = bool(owner) and bool(due) and (not _closed_by(ctx, status, _completed) or bool(evidence))
                yield Outcome("po_action_quality", service, raised, record_id, PASS if good else FAIL)
        if ctx.wants("po_previous_reviewed"):
            by_service: dict[str, list[tuple]] = defaultdict(list)
            for row in actions:
                service = ctx.service(row[1])
                if service is not None:
                    by_service[service].append(row)
            for service, service_visits in visits.items():
                for index, (visit_day, visit_id, reviewed, _agreed, _findings) in enumerate(service_visits):
                    if index == 0 or visit_day < ctx.start:
                        continue
                    still_open = [
                        row[0] for row in by_service.get(service, [])
                        if date.fromisoformat(row[2]) < visit_day and not _closed_before(row, visit_day)
                    ]
                    status = PASS if all(action in reviewed for action in still_open) else FAIL
                    yield Outcome("po_previous_reviewed", service, visit_day, visit_id, status)
        if ctx.wants("po_tracker_reviewed"):
            yield from self._tracker_outcomes(ctx, params)
        if ctx.wants("po_quarterly_ni_review"):
            marks = ", ".join("?" for _ in params.ni_review_item_types)
            done: dict[str, list[date]] = defaultdict(list)
            for raw_service, day in ctx.rows(
                f"SELECT service, meeting_date FROM governance_item WHERE meeting_type = 'board' AND item_type IN ({marks})",
                params.ni_review_item_types,
            ):
                service = ctx.service(raw_service)
                if service is not None:
                    done[service].append(ctx.day(day))
            # Checked every month: a review in the board minutes within the last quarter.
            yield from ctx.cadence("po_quarterly_ni_review", "month", done, lookback_days=params.ni_review_every_days)

    def _tracker_outcomes(self, ctx: Context, params: OversightParameters) -> Iterable[Outcome]:
        """Each action that went overdue: passed when a governance item cites it within the days
        allowed from the day it went overdue, pending until then; placed on the last of those days."""
        within = params.tracker_review_within_days
        as_of = ctx.as_of.isoformat()
        # Only the actions still open the day after their deadline are read with their citations
        # (by the action_id index); an action closed on time is never overdue.
        for record_id, raw_service, due, cited in ctx.rows(
            """SELECT a.id, a.service, a.due_date,
                      (SELECT min(g.meeting_date) FROM governance_item g
                        WHERE g.action_id = a.id AND g.meeting_date > a.due_date AND g.meeting_date <= ?)
               FROM improvement_action a
               WHERE a.due_date IS NOT NULL AND a.due_date < ? AND a.due_date >= ?
                 AND coalesce(a.status, '') != 'cancelled'
                 AND (coalesce(a.status, '') NOT IN ('completed', 'closed')
                      OR a.completed_on > a.due_date OR a.completed_on > ?)""",
            [as_of, as_of, (ctx.start - timedelta(days=1)).isoformat(), as_of],
        ):
            service = ctx.service(raw_service)
            if service is None:
                continue
            overdue = date.fromisoformat(due) + timedelta(days=1)
            deadline = overdue + timedelta(days=within - 1)
            if cited is not None and stored_day(cited) <= deadline:
                status = PASS
            elif deadline > ctx.as_of:
                status = PENDING
            else:
                status = FAIL
            yield Outcome("po_tracker_reviewed", service, deadline, record_id, status)

    def signal_values(self, ctx: Context) -> dict[str, dict[str, Any]]:
        """Each signal as the ids of the records behind it."""
        params: OversightParameters = ctx.params
        values: dict[str, dict[str, set]] = defaultdict(lambda: defaultdict(set))
        if ctx.current is None:
            return values
        current = ctx.current
        vague = tuple(p.lower() for p in params.vague_phrases)
        visits = self._visits(ctx, findings_from=current.start)
        for service, service_visits in visits.items():
            for index, (visit_day, visit_id, reviewed, _agreed, findings) in enumerate(service_visits):
                if not current.contains(visit_day):
                    continue
                found = values[service]
                if word_count(findings) < params.min_findings_words or contains_phrase(findings, vague):
                    found["vague_visit_notes"].add(visit_id)
                run = params.repeated_overdue_visits
                if index + 1 >= run:
                    window = [service_visits[i][2] for i in range(index - run + 1, index + 1)]
                    overdue = set.intersection(*({a for a, s in w.items() if s == "overdue"} for w in window))
                    found["repeated_overdue"].update(overdue)
        for record_id, raw_service, raised_on, owner, due, status, completed, evidence, _source in self._visit_actions(ctx, visits):
            service = ctx.service(raw_service)
            if service is None:
                continue
            done_day = stored_day(completed)
            if status in CLOSED and not evidence and done_day is not None and current.contains(done_day):
                values[service]["closed_without_evidence"].add(record_id)
            if not _closed_by(ctx, status, completed) and status != "cancelled" and due and date.fromisoformat(due) < ctx.as_of:
                values[service]["overdue_actions"].add(record_id)
        for record_id, raw_service in ctx.rows(
            """SELECT a.id, a.service FROM audit a
               WHERE a.audit_date >= ? AND a.audit_date < ? AND (a.result = 'poor' OR a.score < ?)
                 AND (a.improvement_action_id IS NULL
                      OR NOT EXISTS (SELECT 1 FROM improvement_action x WHERE x.id = a.improvement_action_id))""",
            [current.start.isoformat(), (current.end + timedelta(days=1)).isoformat(), params.poor_audit_score],
        ):
            service = ctx.service(raw_service)
            if service is not None:
                values[service]["poor_audit_no_action"].add(record_id)
        return values

    def measure_values(self, ctx: Context) -> dict[str, dict[str, float | None]]:
        """The change in mean audit score across the window."""
        if not ctx.window:
            return {}
        by_period: dict[str, dict[int, list[float]]] = defaultdict(lambda: defaultdict(list))
        for raw_service, audit_date, score in ctx.rows(
            "SELECT service, audit_date, score FROM audit WHERE score IS NOT NULL AND audit_date >= ? AND audit_date <= ?",
            [ctx.window[0].start.isoformat(), ctx.window[-1].end.isoformat()],
        ):
            service = ctx.service(raw_service)
            day = stored_day(audit_date)
            index = next((i for i, period in enumerate(ctx.window) if period.contains(day)), None)
            if service is not None and index is not None:
                by_period[service][index].append(score)
        out = {}
        for service, scores in by_period.items():
            if len(scores) >= 2:
                first, last = scores[min(scores)], scores[max(scores)]
                out[service] = {"audit_score_change": round(sum(last) / len(last) - sum(first) / len(first), 6)}
        return out


def _closed_by(ctx: Context, status: str | None, completed: str | None) -> bool:
    """Closed as of the run's date: a closure dated after it had not happened then."""
    return status in CLOSED and (completed is None or ctx.done(completed) is not None)


def _closed_before(action_row: tuple, visit_day: date) -> bool:
    status, completed = action_row[5], action_row[6]
    if status not in CLOSED and status != "cancelled":
        return False
    return completed is None or date.fromisoformat(completed) < visit_day


@hookimpl
def carecheck_register_domains(register):
    register(ProviderOversight())
