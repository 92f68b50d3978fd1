"""``carecheck test``: ruleset tests, each a small export with the verdict it must give, and
coverage that cannot be had for free.

A case is a folder holding record files, a ``manifest.yaml`` that imports them (any adapter, with
mappings) and an ``expected.yaml``::

    as_of: 31/08/2026
    ruleset: cqc-recovery            # a shipped ruleset's name, or a file relative to the case
    targets:                         # the current period, per target and location
      inc_review_5wd:
        Oak House: {numerator: 1, denominator: 2, status: not_improving, failing: [I2]}
    escalations:
      fire: [{rule: inc_review_late, location: Oak House}]
      do_not_fire: [{rule: inc_repeat, location: Oak House}]
    levels:
      Oak House: {incident_learning: not_assured}

Coverage counts only what passing cases assert: a target is covered when the cases assert at
least one passing unit of it (a numerator above 0) and one failing unit (a failing id, or a
denominator above the numerator); an escalation rule when one case asserts it fires and another
that it does not; a level rule when a case asserts a level that rule set.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from carecheck.errors import InputError
from carecheck.verdict.levels import LEVELS
from carecheck.yamlfile import read_yaml

STATUSES = ("recovered", "improving", "not_improving", "slipping", "deteriorating", "insufficient_evidence")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ExpectedTarget(_Strict):
    numerator: int | None = None
    denominator: int | None = None
    status: Literal[STATUSES] | None = None  # type: ignore[valid-type]
    failing: list[str] | None = Field(default=None, description="The failing unit ids, in any order.")

    @field_validator("failing", mode="before")
    @classmethod
    def _as_text(cls, value):
        # A day's label (2026-06-10) reads as a date in YAML: it is compared as the verdict's text.
        return [item.isoformat() if isinstance(item, date) else item for item in value] if isinstance(
            value, list) else value


class ExpectedEscalation(_Strict):
    rule: str
    location: str


class ExpectedEscalations(_Strict):
    fire: list[ExpectedEscalation] = Field(default_factory=list)
    do_not_fire: list[ExpectedEscalation] = Field(default_factory=list)


class Expected(_Strict):
    as_of: date
    ruleset: str = "cqc-recovery"
    targets: dict[str, dict[str, ExpectedTarget]] = Field(default_factory=dict)
    escalations: ExpectedEscalations = Field(default_factory=ExpectedEscalations)
    levels: dict[str, dict[str, Literal[LEVELS]]] = Field(default_factory=dict)  # type: ignore[valid-type]

    @field_validator("as_of", mode="before")
    @classmethod
    def _day_first(cls, value):
        from carecheck.dates import day_first_value

        return day_first_value(value)


@dataclass
class CaseResult:
    name: str
    outcome: Literal["passed", "failed", "error"]
    differences: list[str] = field(default_factory=list)
    error: str | None = None
    #: what the case asserted and held, for coverage
    passing_units: set[str] = field(default_factory=set)
    failing_units: set[str] = field(default_factory=set)
    fired: set[str] = field(default_factory=set)
    not_fired: set[str] = field(default_factory=set)
    level_rules: set[str] = field(default_factory=set)
    #: every target, escalation rule and level rule of the domains the case's ruleset enables
    universe: set[str] = field(default_factory=set)


def find_cases(path: Path) -> list[Path]:
    """The case folders under ``path`` (itself, when it is one), in name order."""
    path = Path(path)
    if (path / "expected.yaml").exists():
        return [path]
    cases = sorted(p.parent for p in path.rglob("expected.yaml"))
    if not cases:
        raise InputError(f"{path}: no ruleset test cases here (a case is a folder with an expected.yaml)")
    return cases


def load_expected(case: Path) -> Expected:
    try:
        return Expected.model_validate(read_yaml(case / "expected.yaml", "expected results"))
    except ValidationError as error:
        from carecheck.mapping import render_validation_errors

        raise InputError(f"{case / 'expected.yaml'}: {render_validation_errors(error.errors())}") from None


def run_case(case: Path) -> CaseResult:
    """Import the case into a throwaway store, run its ruleset and compare the verdict."""
    from carecheck.importing.importer import import_source
    from carecheck.importing.manifest import load_manifest
    from carecheck.ruleset import load_ruleset, locate
    from carecheck.run import RunOptions, evaluate
    from carecheck.store import open_store

    name = case.name
    try:
        expected = load_expected(case)
        manifest = case / "manifest.yaml"
        if not manifest.exists():
            raise InputError(f"{case}: no manifest.yaml to import the case's records")
        requests = load_manifest(manifest)
        relative = case / expected.ruleset
        ruleset = load_ruleset(relative if relative.exists() else locate(expected.ruleset))
        with tempfile.TemporaryDirectory(prefix="carecheck-test-") as folder:
            db = open_store(Path(folder) / "case.db", create=True)
            try:
                for request in requests:
                    imported = import_source(db, request)
                    if imported.rows_rejected:
                        reasons = "; ".join(f"row {r.row}: {r.field}: {r.reason}" for r in imported.rejections[:3])
                        raise InputError(f"{request.path}: {imported.rows_rejected} rows rejected ({reasons}): a "
                                         "case's records must all import")
                verdict = evaluate(db, ruleset, RunOptions(as_of=expected.as_of, engine="reference")).verdict
            finally:
                db.close()
    except InputError as error:
        return CaseResult(name, "error", error=str(error))
    result = CaseResult(name, "passed", universe=ruleset_universe(ruleset))
    _compare(verdict, expected, result)
    if result.differences:
        result.outcome = "failed"
    return result


def _compare(verdict: dict, expected: Expected, result: CaseResult) -> None:
    current = verdict["periods"]["current"]
    targets = {t["id"]: (d["domain"], t) for d in verdict["domains"] for t in d["targets"]}
    differences = result.differences
    for target_id, by_location in expected.targets.items():
        if target_id not in targets:
            differences.append(f"target {target_id}: not in the verdict (targets: {', '.join(sorted(targets))})")
            continue
        _domain, target = targets[target_id]
        rows = {row["service"]: row for row in target["services"]}
        for location, want in by_location.items():
            where = f"target {target_id} at {location}"
            row = rows.get(location)
            if row is None:
                differences.append(f"{where}: no such location (locations: {', '.join(sorted(rows))})")
                continue
            period = next((p for p in row["periods"] if p["period"] == current), None) or {}
            got = {"numerator": period.get("numerator"), "denominator": period.get("denominator"),
                   "status": row["status"], "failing": sorted(period.get("failures") or [])}
            before = len(differences)
            for key in ("numerator", "denominator", "status", "failing"):
                wanted = getattr(want, key)
                if wanted is None:
                    continue
                if key == "failing":
                    wanted = sorted(wanted)
                if wanted != got[key]:
                    differences.append(f"{where}: {key} expected {wanted!r}, got {got[key]!r}")
            if len(differences) == before:
                if want.numerator is not None and want.numerator > 0:
                    result.passing_units.add(f"target {target_id}")
                if (want.failing) or (want.denominator is not None and want.numerator is not None
                                      and want.denominator > want.numerator):
                    result.failing_units.add(f"target {target_id}")
    fired = {(e["rule"], e["service"]) for e in verdict["escalations"]}
    domain_of = {e["rule"]: e["domain"] for e in verdict["escalations"]}
    for want in expected.escalations.fire:
        if (want.rule, want.location) in fired:
            result.fired.add(f"escalation {domain_of[want.rule]}/{want.rule}")
        else:
            at = sorted(location for rule, location in fired if rule == want.rule)
            differences.append(f"escalation {want.rule} at {want.location}: expected to fire, did not"
                               + (f" (it fired at {', '.join(at)})" if at else ""))
    for want in expected.escalations.do_not_fire:
        if (want.rule, want.location) in fired:
            differences.append(f"escalation {want.rule} at {want.location}: expected not to fire, fired")
        else:
            result.not_fired.add(want.rule)
    locations = {l["service"]: {d["domain"]: d for d in l["domains"]} for l in verdict["locations"]}
    for location, by_domain in expected.levels.items():
        for domain, level in by_domain.items():
            got = locations.get(location, {}).get(domain)
            if got is None:
                differences.append(f"level of {domain} at {location}: no level in the verdict")
            elif got["level"] != level:
                differences.append(f"level of {domain} at {location}: expected {level}, got {got['level']} "
                                   f"({got.get('level_rule')})")
            else:
                rule = (got.get("level_rule") or "").split(": ")[-1]
                if rule:
                    result.level_rules.add(f"level rule {rule}")


@dataclass
class Coverage:
    covered: list[str]
    uncovered: list[str]

    @property
    def percent(self) -> float:
        total = len(self.covered) + len(self.uncovered)
        # Nothing to cover (every case malformed) is no coverage, never full coverage.
        return 0.0 if total == 0 else round(100 * len(self.covered) / total, 1)


def ruleset_universe(ruleset) -> set[str]:
    """Every target, escalation rule and level rule a resolved ruleset holds."""
    from carecheck.verdict.levels import LEVEL_RULES

    items = {f"level rule {rule.name}" for rule in LEVEL_RULES}
    for resolved in ruleset.domains:
        items |= {f"target {t}" for t in resolved.targets}
        items |= {f"escalation {resolved.domain.name}/{e.spec.id}" for e in resolved.escalations}
    return items


def coverage(results: list[CaseResult], universe: set[str] | None = None) -> Coverage:
    """What the passing cases cover, out of everything their rulesets hold (or ``universe``: a
    named ruleset's, to see what cases a ruleset still lacks)."""
    if universe is None:
        universe = set().union(*(r.universe for r in results)) if results else set()
    passing = [r for r in results if r.outcome == "passed"]
    passed_units = set().union(*(r.passing_units for r in passing)) if passing else set()
    failed_units = set().union(*(r.failing_units for r in passing)) if passing else set()
    fired = set().union(*(r.fired for r in passing)) if passing else set()
    not_fired_rules = set().union(*(r.not_fired for r in passing)) if passing else set()
    levels = set().union(*(r.level_rules for r in passing)) if passing else set()
    covered = set()
    for item in universe:
        if item.startswith("target "):
            if item in passed_units and item in failed_units:
                covered.add(item)
        elif item.startswith("escalation "):
            if item in fired and item.rsplit("/", 1)[1] in not_fired_rules:
                covered.add(item)
        elif item in levels:
            covered.add(item)
    return Coverage(sorted(covered), sorted(universe - covered))


def why_uncovered(item: str, results: list[CaseResult]) -> str:
    passing = [r for r in results if r.outcome == "passed"]
    if item.startswith("target "):
        has_pass = any(item in r.passing_units for r in passing)
        has_fail = any(item in r.failing_units for r in passing)
        missing = [w for w, has in (("a passing unit", has_pass), ("a failing unit", has_fail)) if not has]
        return f"no case asserts {' or '.join(missing)}"
    if item.startswith("escalation "):
        rule = item.rsplit("/", 1)[1]
        has_fire = any(item in r.fired for r in passing)
        has_not = any(rule in r.not_fired for r in passing)
        missing = [w for w, has in (("that it fires", has_fire), ("that it does not fire", has_not)) if not has]
        return f"no case asserts {' or '.join(missing)}"
    return "no case asserts a level it sets"


