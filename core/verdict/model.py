"""The verdict's JSON shape, as pydantic models: the source of its JSON Schema (docs/verdict.md).

The engine builds the verdict as plain data; tests and ``carecheck run --format json`` check it
against these models, so the documented schema and the output cannot drift apart.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from carecheck.verdict.quality import DataQuality, LeftOut, LowDenominator, StaleSource  # noqa: F401 (part of the model)
from carecheck.verdict.statutory import StatutoryBreach, Undetermined

Status = Literal["recovered", "improving", "not_improving", "slipping", "deteriorating", "insufficient_evidence"]
Level = Literal["not_assured", "partly_assured", "assured", "assured_sustained"]
ReasonCode = Literal["no_records", "stale", "no_events", "carried"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ShiftFigures(_Model):
    numerator: int
    denominator: int
    value: float | None


class PeriodFigures(_Model):
    period: str = Field(description="Period label: 2026-04, 2026-Q2 or 2026-W14.")
    partial: bool = Field(description="The period holding as_of: shown, never counted toward a status.")
    numerator: int
    denominator: int = Field(description="Units whose deadline has passed or that are done; pending units are left out.")
    value: float | None = Field(description="numerator / denominator, or null with no denominator.")
    met: bool | None = Field(description="Whether value meets the threshold; null without a value.")
    pending: int = Field(description="Units not yet due.")
    failures: list[str] = Field(
        description="Record ids behind the failures, or missed checks (pooled: 'SERVICE: check'), capped."
    )
    failures_total: int = Field(description="All failures; the full list stays in the store.")
    shifts: dict[str, ShiftFigures] | None = Field(
        default=None, description="Pooled figures only: by shift (day, night, weekend), where records carry a time."
    )


class StatusFields(_Model):
    status: Status
    baseline: float | None
    current: float | None
    trend: Literal["rising", "falling", "steady"] | None
    reason: str
    reason_code: ReasonCode | None = Field(
        description="Why the target has no value of its own: no_records, stale, no_events, or carried from an earlier period."
    )
    stale_sources: list[str]


class WaiverRef(_Model):
    entry: int
    status: Literal["in_force", "expiring_soon", "expired", "malformed"]
    applies: bool
    expires: str
    justification: str
    approved_by: str


class ServiceTarget(StatusFields):
    service: str
    judged: bool = Field(description="Counted in the location's level: false when not judged (no events) or waived.")
    carried: bool = Field(description="No events in the current period: status and met carried from carried_from.")
    carried_from: str | None
    periods: list[PeriodFigures]
    waiver: WaiverRef | None = Field(description="The waiver covering this target for this service, if any.")


class GuardrailBreach(_Model):
    """A guardrail of the ruleset that an overlay loosened past its limit."""

    parameter: str = Field(description="domain.parameter, or domain.target for a threshold or a required target.")
    kind: Literal["max", "min", "required"]
    limit: float | None
    value: float | None = Field(description="The value the run used (None: the target is disabled).")
    file: str = Field(description="The ruleset file that set the value.")


class Target(StatusFields):
    """A target over every location: ``status`` is the worst status over the locations that judge
    it; ``baseline``, ``current`` and ``trend`` are the pooled figures', kept as context."""

    id: str
    title: str
    kind: Literal["rate", "cadence"]
    threshold: float
    direction: Literal["at_least", "at_most"]
    description: str
    cadence: str | None
    pooled_status: Status = Field(description="The status of the pooled figures: context, never a headline.")
    location_statuses: dict[str, int] = Field(
        description="Locations at each status; 'not_judged' and 'waived' count those that do not judge it."
    )
    periods: list[PeriodFigures] = Field(description="Pooled over services: sums of numerators and denominators.")
    services: list[ServiceTarget]
    waiver: WaiverRef | None = Field(description="A waiver covering this target for every service, if any.")
    guardrail: GuardrailBreach | None = Field(
        default=None, description="The guardrail breach this target carries: its domain is capped at not assured.")
    scope: Literal["location", "provider"] = Field(
        default="location", description="provider (schema 2.4): judged once, from records at the provider's own row "
                                        "or any location, the same result at every location.")


class EvidenceSourceFigures(_Model):
    category: str
    source: str
    kind: str
    records: int
    newest: str | None
    stale: bool


class Reference(_Model):
    id: str
    title: str


class FrameworkMapping(_Model):
    key_questions: list[str]
    quality_statements: list[Reference]
    regulations: list[Reference]


class Domain(_Model):
    domain: str
    title: str
    plugin: str
    baseline_issue: str
    status: Status = Field(description="The worst of its targets' statuses.")
    levels: dict[Level, int] = Field(description="Locations at each level in this domain.")
    evidence_categories: list[str]
    triangulated: bool = Field(description="Evidence from three or more categories.")
    triangulation: list[EvidenceSourceFigures]
    outcome_measures: list[OutcomeMeasureInfo] = Field(
        description="Results for people over time the domain derives: its outcomes evidence.")
    framework: FrameworkMapping
    warnings: list[str]
    waived_targets: int = Field(description="Targets under a waiver for every location in force: shown, not judged.")
    targets: list[Target]


class Escalation(_Model):
    id: str = Field(description="Stable: the same rule, service and period give the same id in every run.")
    rule: str
    title: str
    domain: str
    service: str
    period: str
    trigger: str
    facts: dict[str, Any]
    action: str
    owner_role: str
    detected: str
    due: str
    status: Literal["open", "closed"]
    answered_by: list[str] | None
    locations: list[str] = Field(description="The locations it is about.")
    reason: str = Field(description="Why it fired, in words, with the records behind it; every format shows this.")
    records: list[str] = Field(description="Up to 25 ids of the records behind it (its signals' and its targets' "
                                           "current failures), sorted.")
    records_total: int


class SummaryLine(_Model):
    """A target in the provider roll-up, with the locations that put it in its list."""

    domain: str
    target: str
    title: str
    threshold: float
    status: Status
    reason: str
    locations: list[str]


class LocationSummaryLine(_Model):
    domain: str
    target: str
    title: str
    baseline: float | None
    current: float | None
    threshold: float
    status: Status
    reason: str
    carried: bool


class ControlEscalation(_Model):
    id: str
    domain: str
    service: str
    action: str
    owner_role: str
    due: str
    status: str


class OpenAction(_Model):
    id: str
    service: str
    source: str
    owner: str | None
    owner_role: str | None
    due: str | None
    status: str


class ExtraControls(_Model):
    escalations: list[ControlEscalation]
    open_actions: list[OpenAction]
    open_actions_total: int


class CommissionerSummary(_Model):
    """Met now and below threshold at the baseline (improved), met at both (maintained), or not met
    now or not evidenced (under review); a target is in one list at most, the worst any location
    puts it in."""

    improved: list[SummaryLine]
    maintained: list[SummaryLine]
    under_review: list[SummaryLine]
    extra_controls: ExtraControls


class LocationControls(_Model):
    escalations: list[ControlEscalation]
    open_actions: list[OpenAction]


class LocationSummary(_Model):
    improved: list[LocationSummaryLine]
    maintained: list[LocationSummaryLine]
    under_review: list[LocationSummaryLine]
    extra_controls: LocationControls


class LevelCap(_Model):
    cap: str
    at_most: Level
    breaches: list[StatutoryBreach] | None = Field(default=None, description="statutory_breach: each breach.")
    records: list[str] | None = Field(default=None, description="statutory_undetermined: the undecided records.")


class Corroboration(_Model):
    category: str
    source: str
    supporting: int | None = Field(description="Records in the window that support the targets (null: no rule).")
    total: int | None = Field(description="Records in the window the rule judges: those with its fields filled in.")
    share: float | None
    state: Literal["corroborating", "contradicting", "too_few", "no_rule"]


class SignalFinding(_Model):
    signal: str
    title: str
    value: float | bool
    records: list[str] = Field(description="Up to 25 ids of the records behind it, sorted.")
    sentence: str


class OutcomeMeasureInfo(_Model):
    name: str
    title: str
    description: str = Field(description="How it is computed.")
    direction: Literal["at_least", "at_most"] = Field(description="Which way is better.")
    locations: int = Field(description="Locations with a value in the window.")


class OutcomeTrend(_Model):
    measure: str
    title: str
    baseline: float | None = Field(description="Its value over the first full window (null for a change measure, "
                                                "compared with zero).")
    baseline_window: list[str] | None = Field(description="The first and last period of that window.")
    current: float
    change: float
    numerator: int | None = Field(description="Events the current value counts (repeats), for a share.")
    denominator: int | None
    excess: float | None = Field(description="Events beyond what the baseline share predicts at the current count.")
    worsening: bool


class LocationDomain(_Model):
    domain: str
    status: Status = Field(description="The worst status of the targets judged at this location.")
    level: Level | None
    level_rule: str | None = Field(description="The level rule, or the cap, that set the level.")
    level_caps: list[LevelCap] = Field(description="Every cap that applies.")
    level_reason: str | None = Field(description="Why there is no level (no judged target).")
    evidence_categories: list[str] = Field(description="Categories with evidence at this location in the window.")
    corroboration: list[Corroboration] = Field(
        description="Each evidence source that applies here: whether its records in the window corroborate the targets.")
    outcome_measures: dict[str, float] = Field(description="The domain's outcome measures here, over the window.")
    outcome_trends: list[OutcomeTrend] = Field(
        default_factory=list, description="Each outcome measure here against its first full window (schema 2.3); a "
                                          "worsening one caps the domain at assured and is no outcomes evidence.")
    signals: list[SignalFinding] = Field(description="Every signal with a value here, whether or not a rule uses it.")
    warnings: list[str] = Field(description="Contradicting evidence and every signal with a value, in words.")


class Location(_Model):
    service: str
    service_type: str | None
    level: Level | None = Field(description="The lowest of its domains' levels.")
    level_rule: str | None
    statutory: list[StatutoryBreach] = Field(
        default_factory=list, description="Statutory breaches counted here: outstanding at as_of, or made late in the "
                                          "current period (schema 2.1).")
    undetermined: list[Undetermined] = Field(default_factory=list, description="Records whose duty is undecided.")
    domains: list[LocationDomain]
    warnings: list[str]
    commissioner_summary: LocationSummary


class PluginVersion(_Model):
    name: str
    version: str


class Audit(_Model):
    run_id: str
    generated_at: str
    carecheck_version: str
    python: str
    engine: Literal["durable", "reference"]
    engine_note: str | None
    ruleset_hash: str
    plugins: list[PluginVersion]
    source_freshness: dict[str, str] = Field(description="Newest record date of each record kind in the store.")
    records_read: int = Field(default=0, description="Records of the kinds the run used, in the evaluated periods.")
    skipped_rules: list[str]
    ruleset_chain: list[dict[str, str]] = Field(
        default_factory=list, description="Every file of the ruleset, the base first: each file and its hash.")
    guardrails: str = Field(default="", description="The ruleset's guardrails in words, or that it has none.")
    guardrail_breaches: list[GuardrailBreach] = Field(default_factory=list)
    fleet_run_id: str | None = Field(default=None, description="The fleet run that made this run, if one did.")


class RulesetInfo(_Model):
    name: str
    source: str
    hash: str = Field(description="Of the ruleset's files, as read.")
    version: int
    framework: str
    values_hash: str | None = Field(
        default=None, description="Of its resolved values (schema 2.4): runs with the same name and values_hash are "
                                  "one series in history; a different one is a change of ruleset, which diff names.")
    extends: list[str] = Field(default_factory=list, description="The files of its overlay chain, the base first "
                                                                 "(schema 2.4).")


class Periods(_Model):
    kind: Literal["week", "month", "quarter"]
    evaluated: list[str]
    current: str | None
    partial: str | None
    sustained: int


class ServiceInfo(_Model):
    service: str
    service_type: str | None


class Lowest(_Model):
    level: Level | None
    locations: list[str]


class Overall(_Model):
    levels: dict[Level, int] = Field(description="Locations at each level; every level is present.")
    lowest: Lowest
    status: Status = Field(description="The worst location status of any target.")
    summary: str = Field(description="The provider headline: statutory breaches first, then the locations at the "
                                     "lowest level, by name.")
    statutory: list[StatutoryBreach] = Field(default_factory=list, description="Every statutory breach counted.")
    disclaimer: str


class Scope(_Model):
    services: list[str] = Field(description="--service as given (empty: every location).")
    targets: list[str] = Field(description="--target as given (empty: every target); levels judge only these.")


class WaiverInfo(_Model):
    entry: int
    target: str
    service: str | None
    expires: str
    status: Literal["in_force", "expiring_soon", "expired", "malformed"]
    applies: bool
    justification: str
    approved_by: str
    message: str


class HistoryPoint(_Model):
    run_id: str
    generated_at: str
    as_of: str
    period: str | None
    value: float | None
    status: str


class Verdict(_Model):
    """carecheck's verdict, schema version 2.2: location-first, statutory breaches first (2.0 runs
    read as having none recorded), records a target could not judge counted (2.1 runs read as
    having left none out)."""

    schema_version: Literal["2.0", "2.1", "2.2", "2.3", "2.4"]
    ruleset: RulesetInfo
    as_of: str = Field(description="The date the run was asked for (--as-of, default today).")
    effective_as_of: str | None = Field(
        default=None, description="The date the run was judged as of (schema 2.3): as_of, or, when no record of any "
                                  "kind the ruleset reads falls in the current period, the end of the newest period "
                                  "holding one. Absent before 2.3: as_of.")
    data_end: str | None = Field(
        default=None, description="The newest evidence's day when the run was judged as of it (schema 2.3); null "
                                  "in an ordinary run.")
    scope: Scope
    audit: Audit
    periods: Periods
    services: list[ServiceInfo]
    verdict: Overall
    locations: list[Location]
    domains: list[Domain]
    escalations: list[Escalation]
    commissioner_summary: CommissionerSummary
    waivers: list[WaiverInfo]
    warnings: list[str] = Field(description="Waivers expired, expiring within 14 days or unreadable.")
    record_text: dict[str, str] | None = Field(
        description="Free text of the records behind current-period failures; only with --include-text."
    )
    history: dict[str, list[HistoryPoint]] = Field(
        description="Each target's pooled current value and status in earlier runs of the same ruleset, oldest first."
    )
    data_quality: DataQuality

