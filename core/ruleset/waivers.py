"""Waivers: a target exempted, for a time and with a reason, optionally for one service.

::

    - target: po_monthly_visit
      service: Oak House          # optional: every service when left out
      justification: Registered manager on leave; visits resume in October
      approved_by: Nominated individual
      expires: 30/09/2026         # day-first or ISO, inclusive, Europe/London

A waived target is still evaluated and shown as waived; while the waiver is in force it does not
lower the level of the locations it covers. After ``expires`` (judged against ``--as-of``) the
waiver no longer applies and the output says so; one expiring within 14 days is flagged. An
entry whose date cannot be read, like any other problem in the file, is an input error.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from carecheck.dates import DateParseError, parse_date
from carecheck.errors import InputError
from carecheck.mapping import render_validation_errors
from carecheck.yamlfile import read_yaml

EXPIRING_SOON_DAYS = 14


class WaiverEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    target: str = Field(min_length=1)
    service: str | None = None
    justification: str = Field(min_length=1)
    approved_by: str = Field(min_length=1)
    expires: str = Field(description="The last day it applies: DD/MM/YYYY or YYYY-MM-DD, inclusive.")

    @field_validator("expires", mode="before")
    @classmethod
    def _as_text(cls, value):
        # YAML reads 2026-09-30 as a date, 30/09/2026 as text: both are read as dates later.
        return value.isoformat() if isinstance(value, date) else str(value) if value is not None else value

    @field_validator("justification", "approved_by")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be blank")
        return value.strip()


@dataclass
class Waiver:
    index: int
    target: str
    service: str | None  # canonical service name, None for every service
    justification: str
    approved_by: str
    expires: date | None  # None: the date could not be read
    expires_text: str
    status: str  # in_force, expiring_soon, expired

    @property
    def applies(self) -> bool:
        return self.status in ("in_force", "expiring_soon")

    def label(self) -> str:
        return f"waiver {self.index} ({self.target}{' for ' + self.service if self.service else ''})"

    def as_dict(self) -> dict:
        return {
            "entry": self.index, "target": self.target, "service": self.service, "expires": self.expires_text,
            "status": self.status, "applies": self.applies, "justification": self.justification,
            "approved_by": self.approved_by, "message": self.message(),
        }

    def message(self) -> str:
        if self.status == "expired":
            return f"{self.label()} expired on {self.expires_text} and no longer applies"
        if self.status == "expiring_soon":
            return f"{self.label()} expires on {self.expires_text}, within {EXPIRING_SOON_DAYS} days"
        return f"{self.label()} in force until {self.expires_text}"


def load_waivers(path: Path, as_of: date) -> list[Waiver]:
    """Read a waivers file; the status of each entry is judged against ``as_of``."""
    path = Path(path)
    data = read_yaml(path, "waivers file")
    if isinstance(data, dict) and set(data) == {"waivers"}:
        data = data["waivers"]
    if not isinstance(data, list):
        raise InputError(f"{path}: a waivers file is a YAML list of waivers")
    waivers = []
    for index, item in enumerate(data):
        try:
            entry = WaiverEntry.model_validate(item)
        except ValidationError as error:
            raise InputError(f"{path}: waiver {index}: {render_validation_errors(error.errors())}") from None
        try:
            expires = parse_date(entry.expires.strip())  # day-first, as every date a user writes, or ISO
        except DateParseError:
            raise InputError(f"{path}: waiver {index} ({entry.target}): expires {entry.expires!r} is not a date "
                             "(use DD/MM/YYYY or YYYY-MM-DD)") from None
        if as_of > expires:
            status = "expired"
        elif (expires - as_of).days <= EXPIRING_SOON_DAYS:
            status = "expiring_soon"
        else:
            status = "in_force"
        waivers.append(Waiver(index, entry.target, entry.service, entry.justification, entry.approved_by, expires,
                              expires.isoformat(), status))
    return waivers
