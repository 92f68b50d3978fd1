"""Overlay chains: a ruleset's files from the base to the overlay (extends), merged key by key,
with the file each value came from and any guardrail an overlay loosened.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from carecheck.errors import InputError
from carecheck.ruleset.model import (  # noqa: F401 (used here and re-exported)
    DEFAULT_RULESET,
    OWNER_ROLES,
    BaselineConfig,
    DomainConfig,
    EscalationConfig,
    Guardrail,
    RulesetModel,
    ShiftConfig,
    TargetConfig,
    _Strict,
)
from carecheck.yamlfile import YAMLLimitError, parse_yaml

if TYPE_CHECKING:
    from carecheck.ruleset import Ruleset


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
