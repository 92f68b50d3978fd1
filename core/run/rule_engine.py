"""The rule engine: durable-rules behind one module, and a pure-Python reference evaluator.

This is the only module that imports ``durable``. It runs the safe subset of the stock
durable-rules 2.0.28 release (see the project's notes on its traps):

- rules are durable-rules' declarative definitions (dicts), compiled from ruleset triggers;
- every rule is a single-fact condition with a positive discriminator (``kind``); no joins
  between facts, so none of the unsafe non-equality joins; the compiler refuses anything else;
- facts only, never events, so every matching rule fires, not just the first;
- a Host subclass with its background timer threads off, actions bound by name and wrapped so
  their errors surface instead of being swallowed;
- a fresh ruleset name per evaluation and one session per batch, deleted afterwards, so two runs
  in one process never see each other's facts and memory does not add up;
- a catch-all rule, so a fact that matches nothing is not an error.

The reference evaluator interprets the same compiled definitions in Python. CI runs every
ruleset through both and requires identical results. Where durable-rules cannot be imported
(Python 3.13 and later), carecheck uses the reference evaluator and says so.
"""

from __future__ import annotations

import copy
import itertools
import uuid
from dataclasses import dataclass, field
from typing import Any

from carecheck.errors import CarecheckError

try:  # durable-rules does not import on Python 3.13+ (PyEval_CallObject was removed)
    from durable import engine as _durable_engine
    import durable_rules_engine as _durable_c

    DURABLE_IMPORT_ERROR: str | None = None
except Exception as _error:  # pragma: no cover - depends on the interpreter
    _durable_engine = None
    _durable_c = None
    DURABLE_IMPORT_ERROR = f"{type(_error).__name__}: {_error}"

CATCH_ALL = "__catch_all__"
RESERVED_KEYS = frozenset({"id", "sid", "$s", "label", "chart", "kind"})
SAFE_OPERATORS = frozenset({"$and", "$or", "$lt", "$lte", "$gt", "$gte", "$neq"})
MAX_FACT_PROPERTIES = 255


class RuleCompileError(ValueError):
    """A rule uses a construct the engine cannot run safely."""


@dataclass(frozen=True)
class Rule:
    """One rule: a condition over one fact of ``fact_kind`` whose ``match`` fields are equal."""

    name: str
    fact_kind: str
    condition: dict
    match: tuple[tuple[str, Any], ...] = ()


@dataclass(frozen=True)
class Match:
    rule: str
    fact_id: str


def _check_condition(rule: str, node: Any) -> None:
    if not isinstance(node, dict) or len(node) != 1:
        raise RuleCompileError(f"rule {rule}: a condition must be one operator or one field")
    (key, value), = node.items()
    if key in ("$and", "$or"):
        if not isinstance(value, list) or not value:
            raise RuleCompileError(f"rule {rule}: {key} needs a list of conditions")
        for item in value:
            _check_condition(rule, item)
        return
    if key.startswith("$"):
        if key not in SAFE_OPERATORS:
            raise RuleCompileError(f"rule {rule}: operator {key} is not allowed")
        if not isinstance(value, dict) or len(value) != 1:
            raise RuleCompileError(f"rule {rule}: {key} compares one field")
        (field_name, operand), = value.items()
        _check_field(rule, field_name, operand)
        return
    _check_field(rule, key, value)


def _check_field(rule: str, field_name: str, operand: Any) -> None:
    if field_name in RESERVED_KEYS or field_name.startswith("$"):
        raise RuleCompileError(f"rule {rule}: {field_name!r} is reserved by the engine")
    if isinstance(operand, (dict, list)):
        # A dict here would refer to another fact: a join, which the stock release can crash on.
        raise RuleCompileError(f"rule {rule}: conditions may only compare a field with a value (no joins)")
    if operand is None or not isinstance(operand, (bool, int, float, str)):
        raise RuleCompileError(f"rule {rule}: compare with a number, text or true/false")


def compile_rules(rules: list[Rule]) -> dict[str, dict]:
    """durable-rules definitions for ``rules``, plus one catch-all per fact kind."""
    definitions: dict[str, dict] = {}
    for rule in rules:
        if rule.name in definitions or rule.name.startswith(CATCH_ALL):
            raise RuleCompileError(f"rule {rule.name}: the name is used twice")
        _check_condition(rule.name, rule.condition)
        terms = [{"kind": rule.fact_kind}] + [{k: v} for k, v in rule.match] + [rule.condition]
        for term in terms[1:-1]:
            _check_condition(rule.name, term)
        definitions[rule.name] = {"all": [{"m": {"$and": terms}}], "run": rule.name}
    for kind in sorted({rule.fact_kind for rule in rules}):
        definitions[f"{CATCH_ALL}{kind}"] = {"all": [{"m": {"kind": kind}}], "run": f"{CATCH_ALL}{kind}"}
    return definitions


def check_fact(fact: dict) -> None:
    if len(fact) > MAX_FACT_PROPERTIES:
        raise RuleCompileError(f"fact {fact.get('id')}: {len(fact)} properties, the engine takes at most 255")
    for key, value in fact.items():
        if value is None or isinstance(value, (dict, list)):
            raise RuleCompileError(f"fact {fact.get('id')}: {key} must be a number, text or true/false")


# ---------------------------------------------------------------------------------------------
# Reference evaluator
# ---------------------------------------------------------------------------------------------


def _same_type(left: Any, right: Any) -> bool:
    if isinstance(left, bool) or isinstance(right, bool):
        return isinstance(left, bool) and isinstance(right, bool)
    if isinstance(left, (int, float)) and isinstance(right, (int, float)):
        return True
    return type(left) is type(right)


_COMPARE = {
    "$lt": lambda a, b: a < b, "$lte": lambda a, b: a <= b, "$gt": lambda a, b: a > b,
    "$gte": lambda a, b: a >= b, "$neq": lambda a, b: a != b,
}


def _holds(node: dict, fact: dict) -> bool:
    (key, value), = node.items()
    if key == "$and":
        return all(_holds(item, fact) for item in value)
    if key == "$or":
        return any(_holds(item, fact) for item in value)
    if key in _COMPARE:
        (field_name, operand), = value.items()
        actual = fact.get(field_name)
        return field_name in fact and _same_type(actual, operand) and _COMPARE[key](actual, operand)
    return key in fact and _same_type(fact[key], value) and fact[key] == value


class ReferenceEngine:
    """Interprets compiled definitions in plain Python: the engine of record where durable-rules is absent."""

    name = "reference"

    def evaluate(self, definitions: dict[str, dict], batches: list[list[dict]]) -> list[Match]:
        matches = []
        for batch in batches:
            for fact in batch:
                check_fact(fact)
                for rule_name, definition in definitions.items():
                    if rule_name.startswith(CATCH_ALL):
                        continue
                    if _holds(definition["all"][0]["m"], fact):
                        matches.append(Match(rule_name, str(fact["id"])))
        return sorted(matches, key=lambda m: (m.fact_id, m.rule))


# ---------------------------------------------------------------------------------------------
# durable-rules
# ---------------------------------------------------------------------------------------------


class EngineError(CarecheckError):
    """The rule engine refused or failed on the ruleset's rules (a ruleset's level or escalation
    rules are the user's to fix): one line, exit 2."""


@dataclass
class _Sink:
    matches: list[Match] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


if _durable_engine is not None:

    class _BatchHost(_durable_engine.Host):
        """A Host with no background threads, whose actions record matches and never swallow errors."""

        def __init__(self, definitions: dict, sink: _Sink):
            self._sink = sink  # get_action() runs during registration and needs it
            super().__init__()
            self.register_rulesets(definitions)

        def _run(self):  # no dispatcher or timer threads in batch use
            pass

        def get_action(self, action_name):
            sink = self._sink
            catch_all = action_name.startswith(CATCH_ALL)

            def run(c):  # exactly one parameter: two would make durable-rules treat it as async
                if catch_all:
                    return
                try:
                    sink.matches.append(Match(action_name, str(c.m["id"])))
                except Exception as error:  # noqa: BLE001 - durable-rules would swallow it
                    sink.errors.append(f"{action_name}: {type(error).__name__}: {error}")

            return run


class DurableEngine:
    """Runs compiled definitions in durable-rules, one session per batch."""

    name = "durable"
    _counter = itertools.count()

    def __init__(self) -> None:
        if _durable_engine is None:
            raise EngineError(f"durable-rules cannot be imported here ({DURABLE_IMPORT_ERROR})")

    def evaluate(self, definitions: dict[str, dict], batches: list[list[dict]]) -> list[Match]:
        if not definitions:
            # A domain with no escalation rules: durable-rules refuses facts no rule could match.
            return []
        ruleset = f"carecheck_{uuid.uuid4().hex[:12]}_{next(self._counter)}"
        sink = _Sink()
        host = _BatchHost({ruleset: copy.deepcopy(definitions)}, sink)
        try:
            for index, batch in enumerate(batches):
                if not batch:
                    continue
                sid = str(index)
                facts = []
                for fact in batch:
                    check_fact(fact)
                    facts.append(dict(fact, sid=sid))
                try:
                    host.assert_facts(ruleset, facts)
                except _durable_engine.MessageNotHandledException:
                    # No rule tests these facts at all (a domain whose rules name none of its own
                    # signals or targets, or none): durable-rules says so rather than matching nothing.
                    continue
                state = host.get_state(ruleset, sid)
                if state.get("exception"):
                    raise EngineError(f"a rule action failed: {str(state['exception']).splitlines()[-1]}")
                host.delete_state(ruleset, sid)
        finally:
            _free(host, ruleset)
        if sink.errors:
            raise EngineError("; ".join(sink.errors))
        # durable-rules fires an "$or" once for each alternative that holds; a rule matches a fact once.
        return sorted(set(sink.matches), key=lambda m: (m.fact_id, m.rule))


def _free(host, ruleset: str) -> None:
    """Give the C ruleset's memory back: the stock release never frees rulesets itself."""
    try:
        handle = host.get_ruleset(ruleset)._handle
        _durable_c.delete_ruleset(handle)
    except Exception:  # noqa: BLE001 - freeing is best effort
        pass


def durable_available() -> bool:
    return _durable_engine is not None


def get_engine(name: str = "auto"):
    """``durable`` where it imports, else ``reference``; ``reference`` or ``durable`` to choose."""
    if name == "reference" or (name == "auto" and not durable_available()):
        return ReferenceEngine()
    if name == "durable" and not durable_available():
        from carecheck.errors import InputError

        raise InputError(f"--engine durable: durable-rules cannot be loaded here ({DURABLE_IMPORT_ERROR}); the "
                         "reference engine is available: --engine reference (or auto)")
    if name in ("auto", "durable"):
        return DurableEngine()
    raise ValueError(f"unknown engine {name!r}")
