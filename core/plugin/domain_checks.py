"""What a domain declares, checked when its plugin loads: a mistake is an error naming the plugin,
the attribute, the bad value and the valid choices, never a declaration silently dropped.

Framework references (key questions, quality statements, regulations) are checked against every
framework file carecheck ships here, and against the ruleset's chosen framework when a ruleset
enables the domain (:func:`framework_problems`).
"""

from __future__ import annotations

import difflib
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Iterable

from carecheck.domainkit import expressions
from carecheck.errors import PluginError
from carecheck.domainkit.framework import FRAMEWORK_DIR, Framework, load_framework

if TYPE_CHECKING:
    from carecheck.domain_api import Domain, TargetSpec
    from carecheck.plugin.registry import Registry

TARGET_KINDS = ("rate", "cadence")
DIRECTIONS = ("at_least", "at_most")
SIGNAL_TYPES = ("number", "bool")


@lru_cache(maxsize=1)
def shipped_frameworks() -> tuple[Framework, ...]:
    return tuple(load_framework(path.stem) for path in sorted(FRAMEWORK_DIR.glob("*.yaml")))


def _choices(values: Iterable[str], given: str | None = None) -> str:
    """Every valid choice, the nearest to ``given`` first when one is close."""
    values = sorted(set(values))
    near = difflib.get_close_matches(given, values, n=1) if given else []
    return (f"did you mean {near[0]!r}? " if near else "") + ", ".join(values)


def trigger_names(domain: "Domain", targets: dict[str, "TargetSpec"]) -> dict[str, expressions.ValueType]:
    """Every name a trigger of ``domain`` may use, with its type."""
    names: dict[str, expressions.ValueType] = {signal.name: signal.type for signal in domain.signals}
    for target in targets:
        names.update({
            f"{target}.value": "number", f"{target}.numerator": "number", f"{target}.denominator": "number",
            f"{target}.met": "bool", f"{target}.has_value": "bool", f"{target}.status": "text",
        })
    return names


def framework_problems(domain: "Domain", frameworks: Iterable[Framework]) -> list[str]:
    """The domain's framework references that none of ``frameworks`` knows."""
    frameworks = list(frameworks)
    problems = []
    for attribute, known_in in (("key_questions", lambda f: f.key_questions),
                                ("quality_statements", lambda f: f.quality_statements),
                                ("regulations", lambda f: f.regulations)):
        known = {key for framework in frameworks for key in known_in(framework)}
        for value in getattr(domain, attribute):
            if value not in known:
                problems.append(f"{attribute}: unknown {attribute[:-1].replace('_', ' ')} {value!r} "
                                f"(known: {_choices(known, value)})")
    return problems


def domain_problems(domain: "Domain", registry: "Registry") -> list[str]:
    """Every mistake in what the domain declares, each as ``attribute: what is wrong (choices)``."""
    problems: list[str] = []
    kinds = set(registry.kinds)
    for kind in domain.reads:
        if kind not in kinds:
            problems.append(f"reads: unknown record kind {kind!r} (known: {_choices(kinds, kind)})")
    categories = {c for framework in shipped_frameworks() for c in framework.evidence_categories}
    for source in domain.evidence:
        label = f"evidence source {source.label or source.kind!r}"
        if source.category not in categories:
            problems.append(f"evidence: {label}: unknown category {source.category!r} (known: {_choices(categories, source.category)})")
        if source.category == "outcomes":
            problems.append(f"evidence: {label}: category 'outcomes' comes from the domain's measures, "
                            "never from records (declare an OutcomeMeasure)")
        if source.kind not in kinds:
            problems.append(f"evidence: {label}: unknown record kind {source.kind!r} (known: {_choices(kinds, source.kind)})")
        elif source.kind not in domain.reads:
            problems.append(f"evidence: {label}: record kind {source.kind!r} is not in reads ({', '.join(domain.reads)})")
        elif source.supports is not None:
            try:
                expressions.parse(source.supports, registry.model_for(source.kind).condition_names())
            except expressions.ExpressionError as error:
                problems.append(f"evidence: {label}: supports: {error}")
    target_ids = [target.id for target in domain.targets]
    for target in domain.targets:
        where = f"targets: {target.id}"
        if target.kind not in TARGET_KINDS:
            problems.append(f"{where}: unknown kind {target.kind!r} (known: {', '.join(TARGET_KINDS)})")
        if target.direction not in DIRECTIONS:
            problems.append(f"{where}: unknown direction {target.direction!r} (known: {', '.join(DIRECTIONS)})")
        if not 0 <= target.threshold <= 1:
            problems.append(f"{where}: threshold {target.threshold!r} is not a share between 0 and 1")
        for kind in target.sources:
            if kind not in domain.reads:
                problems.append(f"{where}: source {kind!r} is not in reads ({', '.join(domain.reads)})")
    if len(set(target_ids)) != len(target_ids):
        problems.append(f"targets: an id is used twice ({', '.join(target_ids)})")
    for signal in domain.signals:
        if signal.type not in SIGNAL_TYPES:
            problems.append(f"signals: {signal.name}: unknown type {signal.type!r} (known: {', '.join(SIGNAL_TYPES)})")
    names = trigger_names(domain, {target.id: target for target in domain.targets})
    for escalation in domain.escalations:
        try:
            expressions.parse(escalation.when, names)
        except expressions.ExpressionError as error:
            problems.append(f"escalations: {escalation.id}: when: {error}")
    problems += framework_problems(domain, shipped_frameworks())
    return problems


def checked_domain(domain: Any, plugin: str, registry: "Registry") -> Any:
    """The domain, or a :class:`PluginError` naming the plugin and every mistake (its record kinds
    checked against ``registry``)."""
    problems = domain_problems(domain, registry)
    if problems:
        raise PluginError(f"domain {domain.name!r}: " + "; ".join(problems))
    return domain
