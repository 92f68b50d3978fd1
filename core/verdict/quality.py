"""The verdict's data quality: what was rejected, left empty, stale, too small to judge or left out
of a target's denominator (part of :mod:`carecheck.verdict.model`)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LowDenominator(_Model):
    domain: str
    target: str
    service: str
    period: str
    denominator: int


class StaleSource(_Model):
    domain: str
    target: str
    source: str


class LeftOut(_Model):
    domain: str
    target: str
    location: str
    reason: str = Field(description="Why the records could not be judged, e.g. no person reference.")
    records: int
    examples: list[str] = Field(description="Up to ten of their record ids.")


class Unattributed(_Model):
    kind: str
    value: str | None = Field(description="The location the records name (null: none named).")
    records: int = Field(description="How many records of the kind in the evaluated periods name it.")


class ProviderOnly(_Model):
    kind: str
    records: int = Field(description="How many records of the kind at the provider's own row in the evaluated periods.")


class DataQuality(_Model):
    rows_rejected: int
    fields_left_empty: int = Field(
        default=0, description="Optional values left empty on import because they could not be read (records kept).")
    implausible_dates: int = Field(
        default=0, description="Records dated before 2000 or after today: stored, never counted in a period.")
    dangling_references: int
    dangling_examples: list[str]
    low_denominators: list[LowDenominator]
    stale_sources: list[StaleSource]
    pending_units: int
    unattributed: list[Unattributed] = Field(
        default_factory=list, description="Records of a kind a target counts that name a location the service "
                                          "register does not know (schema 2.3): judged at no location.")
    provider_only: list[ProviderOnly] = Field(
        default_factory=list, description="Records at the provider's own row (service type provider) of kinds only "
                                          "location-level targets count (schema 2.4): recorded for the provider, "
                                          "judged at no location.")
    left_out: list[LeftOut] = Field(
        default_factory=list, description="Records a target left out of its denominator because it could not judge "
                                          "them (schema 2.2), by target, location and reason.")
    min_denominator: int
    service_register: bool = Field(
        description="False when the store has no service register: each service name in the records is a location "
                    "of unknown type."
    )
