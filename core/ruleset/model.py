"""A ruleset as users write it: the pydantic models of its keys (domains, targets, escalations,
baseline, shifts, guardrails), unknown keys refused.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

DEFAULT_RULESET = "cqc-recovery"


OWNER_ROLES = ("registered_manager", "nominated_individual", "safeguarding_lead", "deputy_manager",
               "quality_lead", "provider_representative", "clinical_lead")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TargetConfig(_Strict):
    enabled: bool = True
    threshold: float | None = Field(default=None, ge=0, le=1, description="Share of units that must pass (0 to 1).")
    scope: Literal["location", "provider"] | None = Field(
        default=None, description="location: judged at each location; provider: judged once from records at the "
                                  "provider's own row or any location, the result applying to every location.")


class EscalationConfig(_Strict):
    enabled: bool = True
    title: str | None = None
    when: str | None = Field(default=None, description="Trigger in the ruleset expression language.")
    action: str | None = None
    owner: Literal[OWNER_ROLES] | None = None  # type: ignore[valid-type]
    due_working_days: int | None = Field(default=None, ge=0, le=60)


class DomainConfig(_Strict):
    enabled: bool = True
    parameters: dict[str, Any] = Field(default_factory=dict)
    targets: dict[str, TargetConfig] = Field(default_factory=dict)
    escalations: dict[str, EscalationConfig] = Field(default_factory=dict)


class BaselineConfig(_Strict):
    period: str | None = Field(default=None, description="A named period, e.g. 2026-01.")
    value: float | None = Field(default=None, ge=0, le=1, description="A fixed baseline value.")


class ShiftConfig(_Strict):
    day_starts: int = Field(default=7, ge=0, le=23)
    night_starts: int = Field(default=20, ge=0, le=23)


class Guardrail(_Strict):
    """A limit on how far an overlay may loosen a value: breaching it caps the domain at not assured."""

    parameter: str | None = Field(default=None, description="domain.parameter the guardrail limits.")
    threshold: str | None = Field(default=None, description="domain.target whose threshold the guardrail limits.")
    kind: Literal["max", "min", "required"] = Field(
        description="max: may not be raised above limit; min: may not be lowered below limit; required: the "
                    "target may not be disabled.")
    limit: float | None = Field(default=None, description="The limit (not for required).")
    protects: list[str] = Field(default_factory=list,
                                description="Targets that carry the breach (default: the guarded target).")

    @property
    def key(self) -> str:
        return f"parameter {self.parameter}" if self.parameter else f"threshold {self.threshold}"


class RulesetModel(_Strict):
    """A carecheck ruleset."""

    extends: str | None = Field(default=None, description="A shipped ruleset's name, or a file (relative to this one), "
                                                          "that this ruleset changes.")
    guardrails: list[Guardrail] = Field(default_factory=list,
                                        description="Limits overlays of this ruleset may not loosen past.")
    name: str
    description: str = ""
    version: int = 1
    framework: str = "cqc-saf-2023"
    period: Literal["week", "month", "quarter"] = "month"
    baseline: Literal["first"] | BaselineConfig = "first"
    sustained: int = Field(default=3, ge=1, le=24, description="Consecutive periods met that count as recovered.")
    min_denominator: int = Field(default=5, ge=1, description="Denominators below this are flagged in data quality.")
    stale_after_periods: int = Field(
        default=2, ge=1, description="An evidence source (triangulation) whose newest record is older is shown as stale.")
    stale_rate_periods: int = Field(
        default=6, ge=1, le=60,
        description="Rate targets: the complete periods (at most) over which a location's usual count of a kind is "
                    "taken, ending with the last before the current one that holds a record of it.")
    stale_min_periods: int = Field(
        default=3, ge=1, le=60,
        description="Rate targets: with fewer periods than this to take the usual count from, a kind is never stale "
                    "by rate at the location.")
    stale_probability: float = Field(
        default=0.05, gt=0, lt=1,
        description="Rate targets: a period with no record of a kind is unexpectedly empty when, at the location's "
                    "usual count a period (λ), e^-λ is below this (about three or more a period at 0.05); the "
                    "current period and the one before both unexpectedly empty make the target stale there.")
    corroboration_min_records: int = Field(
        default=5, ge=1, description="Records in the window an evidence source with a supports rule needs to be judged.")
    corroboration_threshold: float = Field(
        default=0.8, ge=0, le=1,
        description="Share of a source's records that must support; below it, while every judged target is met, "
                    "the source contradicts them.")
    domain_time_limit_s: float = Field(
        default=600, gt=0, le=86_400,
        description="A domain still computing after this many seconds stops the run with an error.")
    max_periods: int = Field(default=120, ge=1, le=1200,
                             description="A run over more periods than this is refused (a mistyped date, not a run).")
    start: date | None = Field(default=None, description="First day to evaluate (default: the earliest record).")
    services: list[str] = Field(default_factory=list, description="Services in scope (default: all).")
    shifts: ShiftConfig = Field(default_factory=ShiftConfig)
    closures_file: str | None = Field(default=None, description="Extra closure days, one date a line.")
    domains: dict[str, DomainConfig] = Field(min_length=1)

    @field_validator("start", mode="before")
    @classmethod
    def _day_first(cls, value):
        """A start date written the UK way (01/04/2026), as every date a user writes, or ISO."""
        from carecheck.dates import day_first_value

        return day_first_value(value)
