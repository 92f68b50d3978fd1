"""Rulesets: which domains run, with which parameters, targets, periods and escalation rules.

A ruleset is YAML validated by pydantic with unknown keys refused. Everything a domain plugin
declares (parameters, target thresholds, escalation rules) can be changed here; escalation
triggers are parsed by :mod:`carecheck.domainkit.expressions` and checked against the names the domain
provides, so a typo is an error naming the file, the rule and the position.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from carecheck import plugin_manager

from carecheck.domainkit import expressions
from carecheck.domainkit.wording import fill
from carecheck.domain_api import Domain, EscalationSpec, TargetSpec
from carecheck.errors import InputError, problem_message
from carecheck.plugin.domain_checks import framework_problems, trigger_names  # noqa: F401 (re-exported)
from carecheck.domainkit.framework import load_framework
from carecheck.periods import parse_period
from carecheck.yamlfile import YAMLLimitError, parse_yaml
from carecheck.ruleset.model import (  # noqa: F401 (re-exported)
    BaselineConfig, DEFAULT_RULESET, DomainConfig, EscalationConfig, Guardrail, OWNER_ROLES, RulesetModel, ShiftConfig, _Strict, TargetConfig,
)
from carecheck.ruleset.chain import _blame, _guardrail_breaches, _leaves, locate, merge_chain, read_chain  # noqa: F401 (re-exported)



















@dataclass
class ResolvedEscalation:
    spec: EscalationSpec
    expression: expressions.Expr
    names: tuple[str, ...]


@dataclass
class ResolvedDomain:
    domain: Domain
    plugin: str
    params: Any
    targets: dict[str, TargetSpec]
    escalations: list[ResolvedEscalation]
    #: Evidence source index -> (SQL for the records it judges: its fields filled in, SQL for
    #: those that support), for the sources with a ``supports`` rule.
    supports: dict[int, tuple[str, str]] = field(default_factory=dict)
    #: The ruleset's guardrails this domain's values breach (see :attr:`Ruleset.breaches`).
    breaches: list[dict] = field(default_factory=list)


@dataclass
class Ruleset:
    model: RulesetModel
    source: str
    content_hash: str
    domains: list[ResolvedDomain] = field(default_factory=list)
    #: every file of an overlay chain, the base first: {"file", "hash"}
    chain: list[dict] = field(default_factory=list)
    #: the resolved values (the merged ruleset, as JSON data) and their hash: a run's series
    values: dict = field(default_factory=dict)
    values_hash: str | None = None
    #: (guardrail, the file that declared it)
    guardrails: list[tuple["Guardrail", str]] = field(default_factory=list)
    #: each breached guardrail: {"parameter", "kind", "limit", "value", "file", "domain", "protects", "sentence"}
    breaches: list[dict] = field(default_factory=list)
    #: the file each value came from, in the shape of the merged ruleset
    sources: dict = field(default_factory=dict)


def _names_in(expression: expressions.Expr) -> tuple[str, ...]:
    if isinstance(expression, expressions.Compare):
        return (expression.name,)
    if isinstance(expression, expressions.Not):
        return _names_in(expression.item)
    return tuple(dict.fromkeys(n for item in expression.items for n in _names_in(item)))










def check_ruleset(path: Path) -> tuple[Ruleset | None, list[str]]:
    """Load and resolve a ruleset (with the rulesets it extends); returns it (or None) and every
    problem found, each with its file and key path."""
    try:
        chain = read_chain(path)
    except InputError as error:
        return None, [str(error)]
    return check_chain(chain, str(path))


def check_chain(chain: list[tuple[str, bytes, dict]], label: str) -> tuple[Ruleset | None, list[str]]:
    """Resolve a ruleset from its chain of files already read (:func:`read_chain`): how a fleet's
    workers get the ruleset as data, with no copies of the files."""
    data, sources, guardrails, problems = merge_chain(chain)
    if problems:
        return None, problems
    data["guardrails"] = [guardrail for guardrail, _file in guardrails]
    try:
        model = RulesetModel.model_validate(data)
    except ValidationError as error:
        return None, [
            f"{_blame(sources, problem['loc'], label)}: {'.'.join(str(p) for p in problem['loc'])}: "
            f"{problem_message(problem)}"
            for problem in error.errors()
        ]
    raw = b"".join(raw for _label, raw, _data in chain)
    ruleset = Ruleset(model, label, hashlib.blake2b(raw, digest_size=16).hexdigest())
    ruleset.chain = [{"file": file, "hash": hashlib.blake2b(content, digest_size=16).hexdigest()}
                     for file, content, _data in chain]
    ruleset.guardrails = list(zip(model.guardrails, [file for _g, file in guardrails]))
    ruleset.values = model.model_dump(mode="json")
    ruleset.values_hash = hashlib.blake2b(json.dumps(ruleset.values, sort_keys=True).encode(),
                                          digest_size=16).hexdigest()
    ruleset.sources = sources
    framework = None
    try:
        framework = load_framework(model.framework)
    except InputError as error:
        problems.append(f"{label}: framework: {error}")
    if isinstance(model.baseline, BaselineConfig):
        if (model.baseline.period is None) == (model.baseline.value is None):
            problems.append(f"{label}: baseline: give either period or value")
        elif model.baseline.period is not None:
            try:
                parse_period(model.baseline.period, model.period)
            except ValueError as error:
                problems.append(f"{label}: baseline.period: {error}")
    if model.closures_file:
        from carecheck.dates import WorkingDays

        closures = Path(model.closures_file)
        if not closures.is_absolute():
            closures = Path(label).parent / closures
        try:
            WorkingDays.from_file(closures)  # read now, so validate reports it and a run never meets it first
        except InputError as error:
            problems.append(f"{label}: closures_file: {error}")
    available = plugin_manager.registry().domains
    failed = {failure.plugin for failure in plugin_manager.failures()}
    for name, config in model.domains.items():
        if not config.enabled:
            continue
        where = f"{label}: domains.{name}"
        if name not in available:
            hint = f"; plugins that failed to load: {', '.join(sorted(failed))}" if failed else ""
            problems.append(f"{where}: no domain plugin provides {name!r} (installed: {', '.join(sorted(available))}){hint}")
            continue
        registered = available[name]
        resolved, domain_problems = _resolve_domain(registered.item, registered.plugin, config, where)
        problems += domain_problems
        if framework is not None:
            problems += [f"{where}: plugin {registered.plugin}: {problem} in framework {framework.id}"
                         for problem in framework_problems(registered.item, [framework])]
        if resolved:
            ruleset.domains.append(resolved)
    if not ruleset.domains and not problems:
        problems.append(f"{label}: domains: no domain is enabled")
    if not problems:
        problems += _guardrail_breaches(ruleset, available)
    return (None if problems else ruleset), problems






def _resolve_domain(domain: Domain, plugin: str, config: DomainConfig, where: str):
    problems: list[str] = []
    replaced = domain.parameters_model.replaced
    problems += [f"{where}.parameters.{key}: {replaced[key]}" for key in config.parameters if key in replaced]
    try:
        params = domain.parameters_model.model_validate(
            {key: value for key, value in config.parameters.items() if key not in replaced})
    except ValidationError as error:
        params = None
        problems += [
            f"{where}.parameters.{'.'.join(str(p) for p in e['loc'])}: {problem_message(e)}"
            for e in error.errors()
        ]
    declared = {target.id: target for target in domain.targets}
    targets: dict[str, TargetSpec] = {}
    for target_id in config.targets:
        if target_id not in declared:
            problems.append(f"{where}.targets.{target_id}: {domain.name} has no target {target_id!r}")
    for target_id, spec in declared.items():
        override = config.targets.get(target_id, TargetConfig())
        if override.enabled:
            changes = {key: value for key, value in (("threshold", override.threshold), ("scope", override.scope))
                       if value is not None}
            # Titles and descriptions say the ruleset's values ("within three working days").
            changes.update(title=fill(spec.title, params, words=True), description=fill(spec.description, params),
                           cadence=fill(spec.cadence, params, words=True), sentence=fill(spec.sentence, params))
            targets[target_id] = replace(spec, **changes)
    names = trigger_names(domain, targets)
    defaults = {spec.id: spec for spec in domain.escalations}
    escalations: list[ResolvedEscalation] = []
    for rule_id in list(defaults) + [r for r in config.escalations if r not in defaults]:
        override = config.escalations.get(rule_id, EscalationConfig())
        if not override.enabled:
            continue
        base = defaults.get(rule_id)
        values = {k: v for k, v in override.model_dump().items() if v is not None and k != "enabled"}
        if base is None:
            missing = [k for k in ("when", "action", "owner", "due_working_days") if k not in values]
            if missing:
                problems.append(f"{where}.escalations.{rule_id}: a new rule needs {', '.join(missing)}")
                continue
            spec = EscalationSpec(id=rule_id, title=values.get("title", rule_id), when=values["when"],
                                  action=values["action"], owner=values["owner"],
                                  due_working_days=values["due_working_days"])
        else:
            spec = replace(base, **values)
        spec = replace(spec, title=fill(spec.title, params, words=True), action=fill(spec.action, params, words=True))
        try:
            expression = expressions.parse(spec.when, names)
        except expressions.ExpressionError as error:
            problems.append(f"{where}.escalations.{rule_id}.when: rule {rule_id}: {error}")
            continue
        escalations.append(ResolvedEscalation(spec, expression, _names_in(expression)))
    supports = {}
    for index, source in enumerate(domain.evidence):
        if source.supports is None:
            continue
        try:
            supports[index] = support_sql(source)
        except (expressions.ExpressionError, InputError) as error:
            problems.append(f"{where}: evidence source {source.label or source.kind!r}: supports: {error}")
    if problems:
        return None, problems
    return ResolvedDomain(domain, plugin, params, targets, escalations, supports), []


def support_sql(source) -> tuple[str, str]:
    """SQL for the records a source's ``supports`` rule judges (every field it names filled in),
    and for those that support; an unknown kind or field is an error naming it."""
    from carecheck import plugin_manager

    names = plugin_manager.registry().model_for(source.kind).condition_names()
    expression = expressions.parse(source.supports, names)
    filled = " AND ".join(f"[{name}] IS NOT NULL" + (f" AND [{name}] <> ''" if names[name] == "text" else "")
                          for name in expressions.names_in(expression))
    return filled, expressions.to_sql(expression)


def load_ruleset(name_or_path: str | Path | None = None) -> Ruleset:
    """Load a ruleset; raises InputError listing every problem on one line."""
    ruleset, problems = check_ruleset(locate(name_or_path))
    if problems:
        raise InputError("; ".join(problems))
    assert ruleset is not None
    return ruleset
