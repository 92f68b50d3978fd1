"""Safeguarding concerns against incidents: the nominated individual's comparison of the two logs.

An incident of a type that suggests abuse or neglect (``unexplained_injury`` or ``abuse`` by
default), or one the reporter flagged as a safeguarding matter, should meet a safeguarding concern
for the same person within a couple of days, before or after it. One that does not, once that time
has passed, is a signal: the concern may never have been raised.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Iterator

from carecheck.domain_api import Context


def incidents_without_concern(ctx: Context, params: Any) -> Iterator[tuple[str, str]]:
    """(service, incident id) for each incident of the current period that suggests abuse or neglect
    and has no safeguarding concern for the same person (or, with no person recorded, at the same
    location) raised within ``concern_after_incident_days`` of it, by as_of."""
    current = ctx.current
    if current is None:
        return
    types = [code.lower() for code in params.concern_incident_types]
    marks = ", ".join("?" for _ in types) or "NULL"
    days = timedelta(days=params.concern_after_incident_days)
    as_of_end = (ctx.as_of + timedelta(days=1)).isoformat()
    for record_id, raw_service, person, occurred_at in list(ctx.rows(
        f"""SELECT id, service, person_id, occurred_at FROM incident
            WHERE occurred_at >= ? AND occurred_at < ?
              AND (safeguarding_flag = 1 OR lower(incident_type) IN ({marks}))""",
        [current.start.isoformat(), (current.end + timedelta(days=1)).isoformat(), *types],
    )):
        service = ctx.service(raw_service)
        occurred = ctx.day(occurred_at)
        if service is None or ctx.as_of <= occurred + days:
            continue  # the concern may still come
        window = [(occurred - days).isoformat(), min((occurred + days + timedelta(days=1)).isoformat(), as_of_end)]
        if person:
            found = ctx.rows("SELECT 1 FROM safeguarding_concern WHERE person_id = ? AND raised_at >= ? "
                             "AND raised_at < ? LIMIT 1", [person, *window])
            if next(found, None) is not None:
                continue
        elif any(ctx.service(raw) == service for (raw,) in ctx.rows(
                "SELECT service FROM safeguarding_concern WHERE raised_at >= ? AND raised_at < ?", window)):
            continue
        yield service, record_id
