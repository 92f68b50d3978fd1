"""Triangulation: which of CQC's evidence categories supplied a domain's evidence in the evaluated
periods, and each evidence source's record count and freshness; and, for each location, the
categories that supplied its evidence in the window (the last ``sustained`` complete periods).

A source counts only for the locations whose type uses its category (the framework says which).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from sqlite_utils import Database

from ..dates import stored_day
from ..records import KINDS
from ..ruleset import ResolvedDomain
from . import reads
from .scope import RunScope


@dataclass
class Triangulation:
    #: Categories with evidence at any location in the evaluated periods, in the framework's order.
    categories: list[str]
    #: Each source's record count, newest record and staleness.
    sources: list[dict]
    #: Each location's categories with evidence in the window, in the framework's order.
    by_location: dict[str, list[str]]


def triangulation(db: Database, scope: RunScope, resolved: ResolvedDomain) -> Triangulation:
    """A domain's triangulation, read through ``db`` (the run's connection, or one of its own
    alongside)."""
    by_kind: dict[str, list] = defaultdict(list)
    for source in resolved.domain.evidence:
        if source.kind in KINDS:
            by_kind[source.kind].append(source)
    figures = {}
    first = scope.periods[0].start
    for kind, kind_sources in by_kind.items():
        for source, rows in zip(kind_sources, reads.source_figures(db, kind, kind_sources, first, scope.as_of)):
            figures[id(source)] = rows
    sources = []
    categories: set[str] = set()
    window_start = scope.window_start.isoformat()
    in_window: dict[str, set[str]] = defaultdict(set)
    for source in resolved.domain.evidence:
        if source.kind not in KINDS:
            continue
        count, newest = 0, None
        for raw, n, latest in figures[id(source)]:
            service = scope.aliases.get(raw, raw)
            if not n or service not in scope.services:
                continue
            if source.category not in scope.framework.categories_for(scope.services[service]):
                continue
            count += n
            newest = max(newest, latest) if newest else latest
            if latest and latest[:10] >= window_start:
                in_window[service].add(source.category)
        if count:
            categories.add(source.category)
        sources.append({
            "category": source.category, "source": source.label or source.kind, "kind": source.kind,
            "records": count, "newest": newest[:10] if newest else None,
            "stale": newest is None or stored_day(newest) < scope.stale_cutoff,
        })
    order = scope.framework.evidence_categories
    return Triangulation(
        [c for c in order if c in categories], sources,
        {service: [c for c in order if c in in_window.get(service, ())] for service in scope.services},
    )
