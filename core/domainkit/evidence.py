"""How a domain says which records count as which kind of evidence (CQC's evidence categories):
part of the domain authors' API, imported from :mod:`carecheck.domain_api`."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class EvidenceSource:
    """Records of ``kind`` (optionally only those matching an SQL ``where``) count as ``category``.

    Records of a process and its handling (logs, visit reports, trackers, audits, minutes) are
    ``processes``; ``outcomes`` come from a domain's :class:`OutcomeMeasure`, never from records.
    """

    kind: str
    category: str
    where: str | None = None
    label: str | None = None
    #: A condition in the trigger language over the record's own fields that a record meets when
    #: it corroborates the domain's targets (feedback ``feels_safe == true``). Records with any of
    #: its fields empty are left out.
    supports: str | None = None
    #: What a record that does not support says, for the verdict ("say the person does not feel safe").
    against: str | None = None
