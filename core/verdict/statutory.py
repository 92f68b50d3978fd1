"""The verdict's statutory findings, as pydantic models (part of :mod:`carecheck.verdict.model`):
each breach of a duty to notify CQC, refer or give a duty-of-candour notice, and each record whose
duty is undecided."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class StatutoryBreach(_Strict):
    domain: str = Field(description="The domain that owns the duty.")
    service: str
    duty: Literal["notification_overdue", "referral_overdue", "candour_overdue"]
    subject: str = Field(description="death, serious_injury, police_incident, abuse_allegation, referral or candour.")
    regulation: str = Field(description="The regulation's code, e.g. REG2009-16.")
    what: str = Field(description="The breach in words.")
    records: list[str] = Field(description="The records behind it.")
    due: str = Field(description="The last day the duty could be done on time.")
    made: str | None = Field(description="When it was done, late; null while outstanding at as_of.")


class Undetermined(_Strict):
    domain: str
    records: list[str] = Field(description="Records whose statutory duty cannot be decided: a deciding field is blank.")
