"""Rulesets: which domains run, with which parameters, targets, periods and escalation rules.

A ruleset is YAML validated by pydantic with unknown keys refused. Everything a domain plugin
declares (parameters, target thresholds, escalation rules) can be changed here; escalation
triggers are parsed by :mod:`carecheck.domainkit.expressions` and checked against the names the domain
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

from carecheck import plugin_manager

from carecheck.domainkit import expressions
from carecheck.domain_api import Domain, EscalationSpec, TargetSpec
from carecheck.errors import InputError
from carecheck.plugin.domain_checks import framework_problems
from carecheck.domainkit.framework import load_framework
from carecheck.periods import parse_period
from carecheck.yamlfile import YAMLLimitError, parse_yaml

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


class Guardrail(_Strict):
    """A limit on how far an overlay may loosen a value: breaching it caps the domain at not assured."""

    parameter: str | None = Field(default=None, description="domain.parameter the guardrail limits.")
    threshold: str | None = Field(default=None, description="domain.target whose threshold the guardrail limits.")
    kind: Literal["max", "min", "required"] = Field(
        description="max: may not be raised above limit; min: may not be lowered below limit; required: the "
                    "target may not be disabled.")
    limit: float | None = Field(default=None, description="The limit (not for required).")
    protects: list[str] = Field(default_factory=list,
                                description="Targets that carry the breach (default: the guarded target).")

    @property
    def key(self) -> str:
        return f"parameter {self.parameter}" if self.parameter else f"threshold {self.threshold}"


class RulesetModel(_Strict):
    """A carecheck ruleset."""

    extends: str | None = Field(default=None, description="A shipped ruleset's name, or a file (relative to this one), "
                                                          "that this ruleset changes.")
    guardrails: list[Guardrail] = Field(default_factory=list,
                                        description="Limits overlays of this ruleset may not loosen past.")
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
        from carecheck.dates import day_first_value

        return day_first_value(value)


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
    #: (guardrail, the file that declared it)
    guardrails: list[tuple["Guardrail", str]] = field(default_factory=list)
    #: each breached guardrail: {"parameter", "kind", "limit", "value", "file", "domain", "protects", "sentence"}
    breaches: list[dict] = field(default_factory=list)
    #: the file each value came from, in the shape of the merged ruleset
    sources: dict = field(default_factory=dict)


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


def read_chain(path: Path) -> list[tuple[str, bytes, dict]]:
    """The files of an overlay chain, the base first: (label, raw bytes, YAML data). A file that
    cannot be read, or a chain that comes back to a file, is an InputError naming the files."""
    chain: list[tuple[str, bytes, dict]] = []
    seen: list[Path] = []
    current = path
    while True:
        resolved = current.resolve()
        label = str(current)
        if resolved in seen:
            names = " -> ".join(str(p) for p in seen + [resolved])
            raise InputError(f"{label}: extends makes a cycle ({names})")
        seen.append(resolved)
        try:
            raw = current.read_bytes()
            data = parse_yaml(raw.decode("utf-8"))
        except (OSError, UnicodeDecodeError) as error:
            raise InputError(f"{label}: cannot be read ({error})") from None
        except YAMLLimitError as error:
            raise InputError(f"{label}: refused: {error}") from None
        except yaml.YAMLError as error:
            raise InputError(f"{label}: not valid YAML ({str(error).splitlines()[0]})") from None
        if not isinstance(data, dict):
            raise InputError(f"{label}: a ruleset is a YAML mapping of keys")
        chain.append((label, raw, data))
        extends = data.get("extends")
        if not extends:
            return chain[::-1]
        if not isinstance(extends, str):
            raise InputError(f"{label}: extends: give a shipped ruleset's name or a file")
        relative = current.parent / extends
        current = relative if relative.exists() else locate(extends)


def merge_chain(chain: list[tuple[str, bytes, dict]]) -> tuple[dict, dict, list[tuple[dict, str]], list[str]]:
    """The chain's files merged, the base first: mappings merge key by key, anything else is
    replaced. Returns the data, the file each value came from (the same shape), every guardrail
    with the file that declared it, and the problems (an overlay changing an inherited guardrail)."""
    merged: dict = {}
    sources: dict = {}
    guardrails: list[tuple[dict, str]] = []
    problems: list[str] = []

    def merge(into: dict, source_into: dict, data: dict, label: str) -> None:
        for key, value in data.items():
            if isinstance(value, dict) and isinstance(into.get(key), dict):
                merge(into[key], source_into.setdefault(key, {}), value, label)
            else:
                into[key] = value
                source_into[key] = _leaves(value, label)

    for label, _raw, data in chain:
        data = dict(data)
        data.pop("extends", None)
        for guardrail in data.pop("guardrails", None) or []:
            if not isinstance(guardrail, dict):
                problems.append(f"{label}: guardrails: each guardrail is a mapping of keys")
                continue
            key = ("parameter", guardrail.get("parameter")) if guardrail.get("parameter") else (
                "threshold", guardrail.get("threshold"))
            inherited = [(g, f) for g, f in guardrails if (("parameter", g.get("parameter")) if g.get("parameter")
                                                           else ("threshold", g.get("threshold"))) == key]
            if inherited and inherited[0][0] != guardrail:
                problems.append(f"{label}: guardrails: the guardrail on {key[0]} {key[1]} is inherited from "
                                f"{inherited[0][1]} and may not be changed; an overlay may only add guardrails")
                continue
            if not inherited:
                guardrails.append((guardrail, label))
        merge(merged, sources, data, label)
    return merged, sources, guardrails, problems


def _leaves(value: Any, label: str) -> Any:
    if isinstance(value, dict):
        return {key: _leaves(item, label) for key, item in value.items()}
    return label


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
            f"{problem['msg'].removeprefix('Value error, ')}"
            for problem in error.errors()
        ]
    raw = b"".join(raw for _label, raw, _data in chain)
    ruleset = Ruleset(model, label, hashlib.blake2b(raw, digest_size=16).hexdigest())
    ruleset.chain = [{"file": file, "hash": hashlib.blake2b(content, digest_size=16).hexdigest()}
                     for file, content, _data in chain]
    ruleset.guardrails = list(zip(model.guardrails, [file for _g, file in guardrails]))
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
    if not problems:
        problems += _guardrail_breaches(ruleset, available)
    return (None if problems else ruleset), problems


def _blame(sources: dict, location: tuple, default: str) -> str:
    """The file a value at ``location`` came from."""
    node: Any = sources
    for key in location:
        if not isinstance(node, dict) or key not in node:
            break
        node = node[key]
    return node if isinstance(node, str) else default


def _guardrail_breaches(ruleset: Ruleset, available: dict) -> list[str]:
    """Each guardrail checked against the resolved values: a breach is noted on the ruleset and its
    domain (the run caps the domain); a guardrail naming something unknown is a problem."""
    problems = []
    by_name = {resolved.domain.name: resolved for resolved in ruleset.domains}
    for guardrail, declared in ruleset.guardrails:
        where = f"{declared}: guardrails: {guardrail.key}"
        name = guardrail.parameter or guardrail.threshold
        if (guardrail.parameter is None) == (guardrail.threshold is None):
            problems.append(f"{declared}: guardrails: give either parameter or threshold")
            continue
        if (guardrail.kind == "required") != (guardrail.limit is None):
            problems.append(f"{where}: {'required takes no limit' if guardrail.kind == 'required' else 'give a limit'}")
            continue
        if guardrail.kind == "required" and guardrail.parameter:
            problems.append(f"{where}: required applies to a target's threshold, not a parameter")
            continue
        domain_name, _, item = (name or "").partition(".")
        if domain_name not in available:
            problems.append(f"{where}: no domain {domain_name!r}")
            continue
        domain = available[domain_name].item
        if guardrail.parameter and item not in domain.parameters_model.model_fields:
            problems.append(f"{where}: {domain_name} has no parameter {item!r}")
            continue
        if guardrail.threshold and item not in {t.id for t in domain.targets}:
            problems.append(f"{where}: {domain_name} has no target {item!r}")
            continue
        unknown = [t for t in guardrail.protects if t not in {spec.id for spec in domain.targets}]
        if unknown:
            problems.append(f"{where}: protects: {domain_name} has no target {unknown[0]!r}")
            continue
        resolved = by_name.get(domain_name)
        section = "parameters" if guardrail.parameter else "targets"
        set_in = _blame(ruleset.sources, ("domains", domain_name, section, item) + (
            () if guardrail.parameter else ("threshold",)), "the domain's default")
        if resolved is None:
            value = None
        elif guardrail.parameter:
            value = getattr(resolved.params, item)
        else:
            value = resolved.targets[item].threshold if item in resolved.targets else None
        if guardrail.kind == "required":
            breached = value is None
            said = f"target {name} is disabled (in {_blame(ruleset.sources, ('domains', domain_name), ruleset.source)}) " \
                   f"but {declared} requires it"
        elif value is None:
            continue  # the domain or target is off: nothing to loosen
        elif guardrail.kind == "max":
            breached = value > guardrail.limit
            said = f"{name} is {value:g} (set in {set_in}), above the most {declared} allows, {guardrail.limit:g}"
        else:
            breached = value < guardrail.limit
            said = f"{name} is {value:g} (set in {set_in}), below the least {declared} allows, {guardrail.limit:g}"
        if not breached:
            continue
        if resolved is None:  # the whole domain is off: nothing to cap, but the audit says so
            ruleset.breaches.append({"parameter": name, "kind": guardrail.kind, "limit": guardrail.limit,
                                     "value": None, "file": set_in, "declared_in": declared, "domain": domain_name,
                                     "protects": [], "sentence": f"guardrail breached: {said}; {domain_name} is "
                                                                 "not checked at all"})
            continue
        protects = guardrail.protects or ([item] if guardrail.threshold else [t for t in resolved.targets])
        breach = {"parameter": name, "kind": guardrail.kind, "limit": guardrail.limit, "value": value,
                  "file": set_in, "declared_in": declared, "domain": domain_name, "protects": protects,
                  "sentence": f"guardrail breached: {said}; {domain_name} is capped at not assured in every location"}
        ruleset.breaches.append(breach)
        resolved.breaches.append(breach)
    return problems


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
    from carecheck.records import model_for

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
