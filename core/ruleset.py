"""Rulesets: which domains run, with which parameters, targets, periods and escalation rules.

A ruleset is YAML validated by pydantic with unknown keys refused. Everything a domain plugin
declares (parameters, target thresholds, escalation rules) can be changed here; escalation
triggers are parsed by :mod:`carecheck.expressions` and checked against the names the domain
provides, so a typo is an error naming the file, the rule and the position.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from . import expressions, plugin_manager
from .domain_api import Domain, EscalationSpec, TargetSpec
from .errors import InputError
from .domain_checks import framework_problems
from .framework import load_framework
from .periods import parse_period
from .yamlfile import parse_yaml

DEFAULT_RULESET = "cqc-recovery"
OWNER_ROLES = ("registered_manager", "nominated_individual", "safeguarding_lead", "deputy_manager",
               "quality_lead", "provider_representative", "clinical_lead")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TargetConfig(_Strict):
    enabled: bool = True
    threshold: float | None = Field(default=None, ge=0, le=1, description="Share of units that must pass (0 to 1).")


class EscalationConfig(_Strict):
    enabled: bool = True
    title: str | None = None
    when: str | None = Field(default=None, description="Trigger in the ruleset expression language.")
    action: str | None = None
    owner: Literal[OWNER_ROLES] | None = None  # type: ignore[valid-type]
    due_working_days: int | None = Field(default=None, ge=0, le=60)


class DomainConfig(_Strict):
    enabled: bool = True
    parameters: dict[str, Any] = Field(default_factory=dict)
    targets: dict[str, TargetConfig] = Field(default_factory=dict)
    escalations: dict[str, EscalationConfig] = Field(default_factory=dict)


class BaselineConfig(_Strict):
    period: str | None = Field(default=None, description="A named period, e.g. 2026-01.")
    value: float | None = Field(default=None, ge=0, le=1, description="A fixed baseline value.")


class ShiftConfig(_Strict):
    day_starts: int = Field(default=7, ge=0, le=23)
    night_starts: int = Field(default=20, ge=0, le=23)


class RulesetModel(_Strict):
    """A carecheck ruleset."""

    name: str
    description: str = ""
    version: int = 1
    framework: str = "cqc-saf-2023"
    period: Literal["week", "month", "quarter"] = "month"
    baseline: Literal["first"] | BaselineConfig = "first"
    sustained: int = Field(default=3, ge=1, le=24, description="Consecutive periods met that count as recovered.")
    min_denominator: int = Field(default=5, ge=1, description="Denominators below this are flagged in data quality.")
    stale_after_periods: int = Field(default=2, ge=1, description="A source whose newest record is older is stale.")
    corroboration_min_records: int = Field(
        default=5, ge=1, description="Records in the window an evidence source with a supports rule needs to be judged.")
    corroboration_threshold: float = Field(
        default=0.8, ge=0, le=1,
        description="Share of a source's records that must support; below it, while every judged target is met, "
                    "the source contradicts them.")
    domain_time_limit_s: float = Field(
        default=600, gt=0, le=86_400,
        description="A domain still computing after this many seconds stops the run with an error.")
    max_periods: int = Field(default=120, ge=1, le=1200,
                             description="A run over more periods than this is refused (a mistyped date, not a run).")
    start: date | None = Field(default=None, description="First day to evaluate (default: the earliest record).")
    services: list[str] = Field(default_factory=list, description="Services in scope (default: all).")
    shifts: ShiftConfig = Field(default_factory=ShiftConfig)
    closures_file: str | None = Field(default=None, description="Extra closure days, one date a line.")
    domains: dict[str, DomainConfig] = Field(min_length=1)

    @field_validator("start", mode="before")
    @classmethod
    def _day_first(cls, value):
        """A start date written the UK way (01/04/2026), as every date a user writes, or ISO."""
        from .dates import DateParseError, parse_date

        if isinstance(value, str):
            try:
                return parse_date(value)
            except DateParseError as error:
                raise ValueError(str(error)) from None
        return value


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


@dataclass
class Ruleset:
    model: RulesetModel
    source: str
    content_hash: str
    domains: list[ResolvedDomain] = field(default_factory=list)


def trigger_names(domain: Domain, targets: dict[str, TargetSpec]) -> dict[str, expressions.ValueType]:
    """Every name a trigger of ``domain`` may use, with its type."""
    names: dict[str, expressions.ValueType] = {signal.name: signal.type for signal in domain.signals}
    for target in targets:
        names.update({
            f"{target}.value": "number", f"{target}.numerator": "number", f"{target}.denominator": "number",
            f"{target}.met": "bool", f"{target}.has_value": "bool", f"{target}.status": "text",
        })
    return names


def _names_in(expression: expressions.Expr) -> tuple[str, ...]:
    if isinstance(expression, expressions.Compare):
        return (expression.name,)
    if isinstance(expression, expressions.Not):
        return _names_in(expression.item)
    return tuple(dict.fromkeys(n for item in expression.items for n in _names_in(item)))


def locate(name_or_path: str | Path | None) -> Path:
    """A ruleset file from a path or the name of a ruleset shipped with carecheck."""
    from carecheck.rulesets import RULESETS_DIR

    if name_or_path is None:
        name_or_path = DEFAULT_RULESET
    path = Path(name_or_path)
    if path.exists():
        return path
    shipped = RULESETS_DIR / f"{name_or_path}.yaml"
    if shipped.exists():
        return shipped
    known = ", ".join(sorted(p.stem for p in RULESETS_DIR.glob("*.yaml")))
    raise InputError(f"{name_or_path}: no such ruleset file or shipped ruleset (shipped: {known})")


def check_ruleset(path: Path) -> tuple[Ruleset | None, list[str]]:
    """Load and resolve a ruleset; returns it (or None) and every problem found, each with its key path."""
    label = str(path)
    try:
        raw = path.read_bytes()
        data = parse_yaml(raw.decode("utf-8"))
    except (OSError, UnicodeDecodeError) as error:
        return None, [f"{label}: cannot be read ({error})"]
    except yaml.YAMLError as error:
        return None, [f"{label}: not valid YAML ({str(error).splitlines()[0]})"]
    if not isinstance(data, dict):
        return None, [f"{label}: a ruleset is a YAML mapping of keys"]
    try:
        model = RulesetModel.model_validate(data)
    except ValidationError as error:
        return None, [
            f"{label}: {'.'.join(str(p) for p in problem['loc'])}: {problem['msg'].removeprefix('Value error, ')}"
            for problem in error.errors()
        ]
    problems: list[str] = []
    ruleset = Ruleset(model, label, hashlib.blake2b(raw, digest_size=16).hexdigest())
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
    available = plugin_manager.get_domains()
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
            f"{where}.parameters.{'.'.join(str(p) for p in e['loc'])}: {e['msg'].removeprefix('Value error, ')}"
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
            targets[target_id] = replace(spec, threshold=override.threshold) if override.threshold is not None else spec
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
    from .records import model_for

    names = model_for(source.kind).condition_names()
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
