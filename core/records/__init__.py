"""The canonical evidence records carecheck reads, one pydantic model per kind, and the registry
of the kinds this process knows.

Every adapter and mapping ends in these models: whatever a record system calls a column,
carecheck stores and reasons over these fields. Field metadata (``json_schema_extra``) says
which fields are free text (never quoted in messages or outputs) and which refer to another
record by id, so reference checks and the generated ``docs/records.md`` come from one place.

``model`` holds the base model and how fields are read, ``kinds`` carecheck's own kinds,
``fastrows`` the fast path that validates rows without building models, ``references`` the
checks of references between records and ``doc`` the generated reference page.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Mapping

from carecheck.records.kinds import (  # noqa: F401 (re-exported: carecheck.records names every kind)
    RECORD_MODELS, AuditResult, Briefing, CarePlanReview, DailyNote, Death, Feedback, GovernanceActivity, GovernanceItem, ImprovementAction,
    INCIDENT_CAUSES, INCIDENT_TYPES, Incident, Notification, OversightVisit, PracticeObservation, SafeguardingConcern, Service, Supervision,
)
from carecheck.records.model import (  # noqa: F401 (re-exported: the field types plugins' kinds use)
    FALSE_WORDS, MAX_FREE_TEXT, MAX_TEXT, TRUE_WORDS, ActionStatus, Code, Count, Day, FreeText, HarmLevel, IdList,
    MaybeYesNo, Record, Text, Timestamp, YesNo, clean_text, free_text, ref,
)

#: carecheck's own kinds.
BUILTIN_KINDS: Mapping[str, type[Record]] = MappingProxyType({model.kind: model for model in RECORD_MODELS})
