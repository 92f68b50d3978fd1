"""Medicines management: missed doses explained, medication errors reviewed quickly, monthly medicines
audits, and staff with repeated errors reassessed.

Baseline issue (a provider's own improvement plan after an inspection found unsafe medicines
practice): doses were missed without a recorded reason, medication errors waited days for review,
the monthly medicines audit lapsed, and the same staff made repeated errors.
"""

from collections import defaultdict

from pydantic import Field

from carecheck.domain_api import (
    FAIL, PASS, PENDING, Domain, DomainParameters, EscalationSpec, EvidenceSource, Outcome, SignalSpec, TargetSpec,
    stored_day,
)

NOT_GIVEN = ("refused", "omitted", "missed")


class MedicinesParameters(DomainParameters):
    error_review_working_days: int = Field(default=1, ge=1, le=10,
                                           description="Working days allowed to review a medication error.")
    repeated_errors: int = Field(default=2, ge=2, description="Errors by one staff member in the current period that "
                                                               "call for a competency reassessment.")
    audit_type: str = Field(default="medication",
                            description="The audit_type of the audit records that are the monthly medicines audit.")


class MedicinesManagement(Domain):
    name = "medicines_management"
    title = "Medicines management"
    description = ("Doses not given have a recorded reason, medication errors are reviewed within one working day, "
                   "the medicines audit is done every month, and staff with repeated errors are reassessed.")
    baseline_issue = ("Doses were missed without a recorded reason, medication errors waited days for review, the "
                      "monthly medicines audit lapsed, and the same staff made repeated errors.")
    reads = ("medication_administration", "audit")
    parameters_model = MedicinesParameters
    targets = (
        TargetSpec("med_reason_recorded", "Doses not given with a recorded reason", "rate", 1.0,
                   ("medication_administration",),
                   "Share of refused, omitted and missed doses whose reason is recorded: no dose goes unexplained.",
                   sentence="{title}: {numerator} of {denominator} in {period}, below {threshold}"),
        TargetSpec("med_error_review_1wd", "Medication errors reviewed within one working day", "rate", 1.0,
                   ("medication_administration",),
                   "Share of medication errors reviewed within the allowed working days (default one)."),
        TargetSpec("med_monthly_audit", "Monthly medicines audit", "cadence", 1.0, ("audit",),
                   "Months in which the medicines audit was done.", cadence="the manager audits medicines monthly"),
    )
    signals = (
        SignalSpec("unexplained_doses", "Doses not given with no reason",
                   "Refused, omitted or missed doses this period with no recorded reason.",
                   sentence="{n} dose{s} not given with no recorded reason in {period}"),
        SignalSpec("repeated_error_staff", "Medication errors by staff with repeated errors",
                   "Errors this period by staff members with at least the repeated_errors number of errors.",
                   sentence="{n} medication error{s} in {period} by staff with repeated errors"),
        SignalSpec("unreviewed_errors", "Medication errors awaiting review",
                   "Medication errors this period past their review time with no review recorded.",
                   sentence="{n} medication error{s} in {period} past review time"),
    )
    escalations = (
        EscalationSpec("med_competency_reassessment", "Reassess medicines competency",
                       "repeated_error_staff > 0",
                       "Reassess the medicines competency of the staff behind the listed errors before they give "
                       "medicines unsupervised again", "registered_manager", 5),
        EscalationSpec("med_unexplained_doses", "Doses not given without a reason",
                       "unexplained_doses > 0",
                       "Check each listed dose with the person and the prescriber, and record the reason",
                       "registered_manager", 1),
        EscalationSpec("med_errors_unreviewed", "Medication errors not reviewed",
                       "unreviewed_errors > 0",
                       "Review each listed error today and report any harm as an incident",
                       "registered_manager", 1),
    )
    evidence = (
        EvidenceSource("medication_administration", "processes", label="medication administration records"),
        EvidenceSource("audit", "processes", where="audit_type = 'medication'", label="medicines audits"),
    )
    key_questions = ("safe",)
    quality_statements = ("safe.medicines_optimisation",)
    regulations = ("RA2014-12", "RA2014-17")

    def outcomes(self, ctx):
        params = ctx.params
        if ctx.wants("med_reason_recorded"):
            for record_id, service, scheduled, reason in ctx.rows(
                "SELECT id, service, scheduled_at, reason FROM medication_administration "
                "WHERE outcome IN ('refused', 'omitted', 'missed') AND scheduled_at >= ?", [ctx.start.isoformat()]
            ):
                yield Outcome("med_reason_recorded", ctx.service(service), ctx.day(scheduled), record_id,
                              PASS if reason else FAIL)
        if ctx.wants("med_error_review_1wd"):
            for record_id, service, scheduled, reviewed in ctx.rows(
                "SELECT id, service, scheduled_at, error_reviewed_at FROM medication_administration "
                "WHERE error = 1 AND scheduled_at >= ?", [ctx.start.isoformat()]
            ):
                day = ctx.day(scheduled)
                due = ctx.working_days.add(day, params.error_review_working_days)
                done = stored_day(reviewed)
                if done is not None and done <= due:
                    status = PASS
                elif done is not None or ctx.as_of > due:
                    status = FAIL
                else:
                    status = PENDING
                yield Outcome("med_error_review_1wd", ctx.service(service), day, record_id, status)
        if ctx.wants("med_monthly_audit"):
            done = defaultdict(list)
            for service, day in ctx.rows("SELECT service, audit_date FROM audit WHERE audit_type = ?",
                                         [params.audit_type]):
                location = ctx.service(service)
                if location is not None:
                    done[location].append(ctx.day(day))
            yield from ctx.cadence("med_monthly_audit", "month", done)

    def signal_values(self, ctx):
        params = ctx.params
        current = ctx.current
        start, end = current.start.isoformat(), current.end.isoformat() + "T24"
        values = defaultdict(lambda: defaultdict(set))
        for record_id, service in ctx.rows(
            "SELECT id, service FROM medication_administration WHERE outcome IN ('refused', 'omitted', 'missed') "
            "AND reason IS NULL AND scheduled_at >= ? AND scheduled_at < ?", [start, end]
        ):
            values[ctx.service(service)]["unexplained_doses"].add(record_id)
        errors_by_staff = defaultdict(list)
        for record_id, service, staff, scheduled, reviewed in ctx.rows(
            "SELECT id, service, staff_id, scheduled_at, error_reviewed_at FROM medication_administration "
            "WHERE error = 1 AND scheduled_at >= ? AND scheduled_at < ?", [start, end]
        ):
            location = ctx.service(service)
            if staff:
                errors_by_staff[(location, staff)].append(record_id)
            due = ctx.working_days.add(ctx.day(scheduled), params.error_review_working_days)
            if reviewed is None and ctx.as_of > due:
                values[location]["unreviewed_errors"].add(record_id)
        for (location, _staff), record_ids in errors_by_staff.items():
            if len(record_ids) >= params.repeated_errors:
                values[location]["repeated_error_staff"].update(record_ids)
        return {location: dict(signals) for location, signals in values.items() if location is not None}
