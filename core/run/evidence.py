"""Triangulation and corroboration of a domain's evidence.

- Triangulation: which of CQC's evidence categories supplied a domain's evidence in the evaluated
  periods, and each evidence source's record count and freshness; and, for each location, the
  categories that supplied its evidence in the window (the last ``sustained`` complete periods).
  Outcomes come from the domain's outcome measures, never from records.
- Corroboration: for each evidence source with a ``supports`` rule, the share of a location's
  records in the window that support the domain's targets (feedback saying the person feels safe),
  leaving out records whose fields in the rule are empty.

A source counts only for the locations whose type uses its category (the framework says which).
Records at the provider's own row of a kind a provider-level target judges (board minutes, the
nominated individual's reviews) are evidence for every location.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from sqlite_utils import Database

from carecheck.dates import stored_day
from carecheck.ruleset import ResolvedDomain
from carecheck.run import reads
from carecheck.run.scope import RunScope

OUTCOMES = "outcomes"
CORROBORATING, CONTRADICTING, TOO_FEW, NO_RULE = "corroborating", "contradicting", "too_few", "no_rule"


@dataclass
class Triangulation:
    #: Categories with evidence at any location in the evaluated periods, in the framework's order.
    categories: list[str]
    #: Each source's record count, newest record and staleness.
    sources: list[dict]
    #: Each location's categories with evidence in the window, in the framework's order.
    by_location: dict[str, list[str]]
    #: Each location's (source index, supporting, judged) in the window, for sources with a rule.
    support: dict[str, dict[int, tuple[int, int]]] = field(default_factory=dict)
    #: The corroboration entry of each source without a rule, shared by every location.
    no_rule: dict[int, dict] = field(default_factory=dict)

    def credit_outcomes(self, scope: RunScope, measures: dict[str, dict[str, float]]) -> None:
        """Outcomes evidence where a location has an outcome measure's value and its type uses
        the outcomes category."""
        order = scope.framework.evidence_categories
        for location, values in measures.items():
            if values and location in self.by_location and \
                    OUTCOMES in scope.framework.categories_for(scope.services.get(location)):
                found = set(self.by_location[location]) | {OUTCOMES}
                self.by_location[location] = [c for c in order if c in found]
        if any(OUTCOMES in categories for categories in self.by_location.values()) and OUTCOMES not in self.categories:
            self.categories = [c for c in order if c in set(self.categories) | {OUTCOMES}]


def triangulation(db: Database, scope: RunScope, resolved: ResolvedDomain) -> Triangulation:
    """A domain's triangulation, read through ``db`` (the run's connection, or one of its own
    alongside)."""
    by_kind: dict[str, list] = defaultdict(list)
    for index, source in enumerate(resolved.domain.evidence):
        if source.kind in scope.registry.kinds:
            by_kind[source.kind].append((index, source))
    figures = {}
    first = scope.periods[0].start
    for kind, kind_sources in by_kind.items():
        pairs = [(source, resolved.supports.get(index)) for index, source in kind_sources]
        for (index, _), rows in zip(kind_sources, reads.source_figures(db, kind, pairs, first, scope.as_of,
                                                                        (scope.window_start, scope.window_end))):
            figures[index] = rows
    sources = []
    categories: set[str] = set()
    in_window: dict[str, set[str]] = defaultdict(set)
    support: dict[str, dict[int, tuple[int, int]]] = defaultdict(dict)
    provider_kinds = {kind for spec in resolved.targets.values() if spec.scope == "provider" for kind in spec.sources}
    for index, source in enumerate(resolved.domain.evidence):
        if source.kind not in scope.registry.kinds:
            continue
        count, newest = 0, None
        for raw, n, latest, recent, supporting, judged in figures[index]:
            service = scope.aliases.get(raw, raw)
            if not n:
                continue
            if service is not None and service == scope.provider and source.kind in provider_kinds:
                locations = [name for name, kind in scope.services.items()
                             if source.category in scope.framework.categories_for(kind)]
            elif service in scope.services and \
                    source.category in scope.framework.categories_for(scope.services[service]):
                locations = [service]
            else:
                continue
            if not locations:
                continue
            count += n
            newest = max(newest, latest) if newest else latest
            for location in locations:
                if recent:
                    in_window[location].add(source.category)
                if index in resolved.supports:
                    before = support[location].get(index, (0, 0))
                    support[location][index] = (before[0] + (supporting or 0), before[1] + (judged or 0))
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
        dict(support),
    )


def corroboration(scope: RunScope, resolved: ResolvedDomain, evidence: Triangulation, location: str,
                  all_met: bool) -> tuple[list[dict], list[str]]:
    """Each evidence source that applies to ``location``'s type, and whether its records in the
    window corroborate the domain's targets there.

    A source with a rule and at least ``corroboration_min_records`` judged records corroborates
    when the share that support reaches ``corroboration_threshold``, or when it falls short while
    some judged target is not met (the two agree); it contradicts when it falls short while every
    judged target is met. Returns the entries, and each contradiction in words with its figures.
    """
    model = scope.model
    said = []
    applies = scope.framework.categories_for(scope.services.get(location))
    counts = evidence.support.get(location, {})
    entries = []
    for index, source in enumerate(resolved.domain.evidence):
        if source.kind not in scope.registry.kinds or source.category not in applies:
            continue
        if index not in resolved.supports:
            # The same for every location: one read-only entry shared by all (hundreds of locations).
            entry = evidence.no_rule.get(index)
            if entry is None:
                entry = evidence.no_rule[index] = {
                    "category": source.category, "source": source.label or source.kind, "supporting": None,
                    "total": None, "share": None, "state": NO_RULE}
            entries.append(entry)
            continue
        entry = {"category": source.category, "source": source.label or source.kind, "supporting": None,
                 "total": None, "share": None, "state": NO_RULE}
        if index in resolved.supports:
            supporting, total = counts.get(index, (0, 0))
            share = round(supporting / total, 6) if total else None
            if total < model.corroboration_min_records:
                state = TOO_FEW
            elif share >= model.corroboration_threshold - 1e-12 or not all_met:
                state = CORROBORATING
            else:
                state = CONTRADICTING
            entry.update(supporting=supporting, total=total, share=share, state=state)
            if state == CONTRADICTING:
                said.append(f"records meet every judged target, but {total - supporting} of {total} "
                            f"{entry['source']} in the window {source.against or 'do not support them'}")
        entries.append(entry)
    return entries, said
