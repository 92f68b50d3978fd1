"""Escalation and scoring through the rule engine (:mod:`carecheck.rule_engine`).

One fact per domain and service (its signals and current-period target figures, every field
filled in) meets the domains' escalation rules; one fact per domain (what the score sees, waived
targets left out) meets the domain scoring rules; a second pass scores the run. Escalations get
stable ids and due dates in working days.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from dataclasses import dataclass
from typing import Any, Iterator

from .. import expressions, rule_engine
from ..ruleset import ResolvedDomain
from ..status import DOMAIN_FACT_NAMES, DOMAIN_SCORE_RULES, RUN_FACT_NAMES, RUN_SCORE_RULES, ScoreRule
from .scope import RunScope, rule_runs
from .tally import TargetFigures


@dataclass(frozen=True)
class Score:
    score: int
    rule: str
    limiter: str | None


@dataclass
class Judgement:
    """What the rule engine decided."""

    domain_scores: dict[str, Score]
    run_score: Score
    percentage: int
    #: Escalations, sorted by due date, domain, service and rule; each open until answered.
    escalations: list[dict]
    #: Rules left out because a target they name was not computed (``--target``).
    skipped_rules: list[str]


class Judge:
    """Collects each domain's facts and rules as the domains are worked out, then runs the engine."""

    def __init__(self, scope: RunScope, engine):
        self.scope = scope
        self.engine = engine
        self.rules: list[rule_engine.Rule] = []
        self.rule_specs: dict[str, tuple[ResolvedDomain, Any]] = {}
        self.batches: dict[str, list[dict]] = defaultdict(list)
        self.domain_facts: list[dict] = []
        self.skipped_rules: list[str] = []

    def add_domain(self, resolved: ResolvedDomain, targets: dict, figures: list[TargetFigures],
                   signals: dict[str, dict], categories: list[str]) -> None:
        name = resolved.domain.name
        for service, fact in self._service_facts(resolved, signals, [f.result for f in figures]):
            self.batches[service].append(fact)
        for escalation in resolved.escalations:
            rule = f"{name}/{escalation.spec.id}"
            if not rule_runs(resolved, escalation, targets, bool(self.scope.options.targets)):
                self.skipped_rules.append(rule)
                continue
            self.rules.append(rule_engine.Rule(rule, "service_facts", expressions.to_durable(escalation.expression),
                                               (("domain", name),)))
            self.rule_specs[rule] = (resolved, escalation)
        scored = [f.scoring for f in figures if f.scoring is not None]
        statuses = [s.status for s in scored]
        not_met = sum(1 for s in scored if not s.met)
        self.domain_facts.append({
            "id": f"domain|{name}", "kind": "domain_verdict",
            "targets": len(scored), "not_met": not_met,
            "deteriorating": statuses.count("deteriorating"),
            "not_recovered": len(statuses) - statuses.count("recovered"),
            "categories": len(categories),
            "share_not_met": round(not_met / len(scored), 6) if scored else 0.0,
        })

    def _service_facts(self, resolved: ResolvedDomain, signals: dict[str, dict[str, Any]],
                       targets: list[dict]) -> Iterator[tuple[str, dict]]:
        """Each service's engine fact for a domain: its signals and its current-period target figures."""
        label = self.scope.current_label
        # The fact keys, and each target's rows by service, once per domain rather than per service.
        keyed = [
            (tuple(expressions.fact_key(f"{target['id']}.{part}")
                   for part in ("value", "numerator", "denominator", "has_value", "met", "status")),
             {row["service"]: row for row in target["services"]})
            for target in targets
        ]
        for service in self.scope.services:
            service_signals = signals.get(service, {})
            fact: dict[str, Any] = {"id": f"svc|{resolved.domain.name}|{service}", "kind": "service_facts",
                                    "domain": resolved.domain.name}
            for signal in resolved.domain.signals:
                value = service_signals.get(signal.name, 0)
                fact[signal.name] = bool(value) if signal.type == "bool" else value
            for (value_key, numerator_key, denominator_key, has_value_key, met_key, status_key), rows in keyed:
                row = rows[service]
                current = row["periods"].entry_for(label)
                value = current["value"] if current else None
                fact[value_key] = value if value is not None else 0
                fact[numerator_key] = current["numerator"] if current else 0
                fact[denominator_key] = current["denominator"] if current else 0
                fact[has_value_key] = value is not None
                fact[met_key] = bool(current and current["met"])
                fact[status_key] = row["status"]
            yield service, fact

    def decide(self) -> Judgement:
        rules = self.rules + _score_rules(DOMAIN_SCORE_RULES, DOMAIN_FACT_NAMES, "domain_verdict")
        definitions = rule_engine.compile_rules(rules)
        fact_batches = [self.batches[s] for s in self.scope.services] + [self.domain_facts]
        fired_by_domain: dict[str, set[str]] = defaultdict(set)
        escalations = []
        for match in self.engine.evaluate(definitions, fact_batches):
            if match.fact_id.startswith("domain|"):
                fired_by_domain[match.fact_id.split("|", 1)[1]].add(match.rule)
            else:
                _, _, service = match.fact_id.split("|", 2)
                escalations.append(self._escalation(match.rule, service))
        domain_scores = {
            fact["id"].split("|", 1)[1]: _apply_scores(DOMAIN_SCORE_RULES, fired_by_domain[fact["id"].split("|", 1)[1]])
            for fact in self.domain_facts
        }
        scores = [s.score for s in domain_scores.values()]
        percentage = round(100 * sum(scores) / (4 * len(scores)))
        run_matches = self.engine.evaluate(
            rule_engine.compile_rules(_score_rules(RUN_SCORE_RULES, RUN_FACT_NAMES, "run_verdict")),
            [[{"id": "run", "kind": "run_verdict", "percentage": percentage, "lowest_domain_score": min(scores)}]],
        )
        run_score = _apply_scores(RUN_SCORE_RULES, {m.rule for m in run_matches})
        escalations.sort(key=lambda e: (e["due"], e["domain"], e["service"], e["rule"]))
        return Judgement(domain_scores, run_score, percentage, escalations, self.skipped_rules)

    def _escalation(self, rule: str, service: str) -> dict:
        resolved, escalation = self.rule_specs[rule]
        scope = self.scope
        spec = escalation.spec
        period = scope.current_label or "-"
        digest = hashlib.blake2b(f"{rule}|{service}|{period}".encode(), digest_size=5).hexdigest().upper()
        fact = next(f for f in self.batches[service] if f["domain"] == resolved.domain.name)
        return {
            "id": f"ESC-{digest}",
            "rule": spec.id,
            "title": spec.title,
            "domain": resolved.domain.name,
            "service": service,
            "period": period,
            "trigger": spec.when,
            "facts": {name: fact[expressions.fact_key(name)] for name in escalation.names},
            "action": spec.action,
            "owner_role": spec.owner,
            "detected": scope.as_of.isoformat(),
            "due": scope.working_days.add(scope.as_of, spec.due_working_days).isoformat(),
            "status": "open",
            "answered_by": None,
        }


def _score_rules(rules: tuple[ScoreRule, ...], names: dict, fact_kind: str) -> list[rule_engine.Rule]:
    return [
        rule_engine.Rule(rule.name, fact_kind, expressions.to_durable(expressions.parse(rule.when, names)))
        for rule in rules
    ]


def _apply_scores(rules: tuple[ScoreRule, ...], fired: set[str]) -> Score:
    """One base score, lowered by the lowest cap that fired."""
    by_name = {rule.name: rule for rule in rules}
    base = [by_name[name] for name in fired if by_name[name].role == "base"]
    caps = [by_name[name] for name in fired if by_name[name].role == "cap"]
    if len(base) != 1:
        raise rule_engine.EngineError(f"scoring rules gave {len(base)} base scores ({sorted(r.name for r in base)})")
    score, rule = base[0].score, base[0].name
    limiter = None
    for cap in sorted(caps, key=lambda r: r.score):
        if cap.score < score:
            score, limiter = cap.score, cap.name
    return Score(score, rule, limiter)
