"""The verdict's statutory findings: each breach of a duty to notify CQC, refer or give a
duty-of-candour notice, and each record whose duty is undecided, as pydantic models (part of
:mod:`carecheck.verdict.model`) and in words (the headline's and every report's)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from carecheck.domainkit.statutory import SUBJECTS


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


def statutory_sentence(breaches: list[dict], limit: int = 10) -> str:
    """"Statutory: 1 death not notified to CQC at Oak House (INC-0412, due 04/08/2026)." for the
    breaches counted, grouped by location and duty; "" without any."""
    groups: dict[tuple[str, str], list[dict]] = {}
    for breach in breaches:
        groups.setdefault((breach["service"], breach["subject"]), []).append(breach)
    parts = []
    for (service, subject), found in list(groups.items())[:limit]:
        one, several = SUBJECTS[subject]
        cited = "; ".join(
            f"{', '.join(b['records'])}, due {_uk(b['due'])}" + (f", made {_uk(b['made'])}" if b["made"] else "")
            for b in found[:5]) + (f"; and {len(found) - 5} more" if len(found) > 5 else "")
        parts.append(f"{len(found)} {one if len(found) == 1 else several} at {service} ({cited})")
    if len(groups) > limit:
        parts.append(f"and {len(groups) - limit} more")
    return f"Statutory: {'; '.join(parts)}." if parts else ""


def _uk(day: str) -> str:
    return f"{day[8:10]}/{day[5:7]}/{day[:4]}"
