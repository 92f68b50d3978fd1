"""Escalations and assurance levels through the rule engine (:mod:`carecheck.run.rule_engine`).

For each location, one fact per domain (its signals and current-period target figures, every
field filled in) meets the domains' escalation rules, and one fact per domain (its judged
targets: how many are short, deteriorating, not recovered, and its evidence categories) meets the
level rules of :mod:`carecheck.verdict.levels`. Escalations get stable ids and due dates in working days;
a kind of record that no location has gets one data-gap escalation.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, Iterator

from carecheck.domainkit import expressions
from carecheck.domainkit.statutory import SUBJECTS, Breach

from carecheck.run import rule_engine
from carecheck.ruleset import ResolvedDomain
from carecheck.verdict.levels import (LEVEL_FACT_NAMES, LEVEL_RULES, LEVELS, RECOVERED, DETERIORATING, SLIPPING,
                                      LevelRule)
from carecheck.run.evidence import CONTRADICTING, CORROBORATING, NO_RULE, Triangulation, corroboration
from carecheck.run.location_status import StaleKind, stale_reason
from carecheck.run.outcomes import trend_sentence
from carecheck.run.scope import RunScope, rule_runs
from carecheck.run.tally import DomainFigures, TargetFigures

DATA_GAP = "data_gap"
WORSENING = "outcomes_worsening"
WORSENING_DUE_WORKING_DAYS = 5
DATA_GAP_DUE_WORKING_DAYS = 5


@dataclass(frozen=True)
class Level:
    """A location's domain level, the rule that set it, and every cap that applies."""

    level: str
    rule: str
    caps: tuple[dict, ...]


@dataclass
class Judgement:
    """What the rule engine decided."""

    #: (location, domain) -> its level; a domain with no judged target at a location has none.
    levels: dict[tuple[str, str], Level]
    #: Escalations, sorted by due date, domain, service and rule; each open until answered.
    escalations: list[dict]
    #: Rules left out because a target they name was not computed (``--target``).
    skipped_rules: list[str]
    #: (location, domain) -> its corroboration entries, and each contradiction in words.
    corroboration: dict[tuple[str, str], tuple[list[dict], list[str]]]
    #: (location, domain) -> the statutory breaches counted there (outstanding, or made late in the
    #: current period), as the verdict gives them.
    breaches: dict[tuple[str, str], list[dict]] = field(default_factory=dict)
    #: (location, domain) -> the ids of records whose statutory duty cannot be decided.
    undetermined: dict[tuple[str, str], list[str]] = field(default_factory=dict)


class Judge:
    """Collects each domain's facts and rules as the domains are worked out, then runs the engine."""

    def __init__(self, scope: RunScope, engine):
        self.scope = scope
        self.engine = engine
        self.rules: list[rule_engine.Rule] = []
        self.rule_specs: dict[str, tuple[ResolvedDomain, Any]] = {}
        self.batches: dict[str, list[dict]] = defaultdict(list)
        self.skipped_rules: list[str] = []
        #: kind -> the (domain, target) pairs that need it, for kinds no location has
        self.gaps: dict[str, list[tuple[str, str]]] = defaultdict(list)
        #: (location, domain) -> the figures its level rules read
        self.level_facts: dict[tuple[str, str], tuple] = {}
        #: (location, domain) -> its corroboration entries, and each contradiction in words
        self.corroboration: dict[tuple[str, str], tuple[list[dict], list[str]]] = {}
        #: domain -> location -> signal -> the record ids behind it
        self.signal_ids: dict[str, dict[str, dict[str, list[str]]]] = {}
        #: domain -> location -> signal -> the words its sentence adds
        self.signal_details: dict[str, dict[str, dict[str, dict[str, str]]]] = {}
        #: domain -> target -> location -> the location's target entry
        self.rows: dict[str, dict[str, dict[str, dict]]] = {}
        self.breaches: dict[tuple[str, str], list[dict]] = {}
        self.undetermined: dict[tuple[str, str], list[str]] = {}
        #: (domain, service or None, kind, field or None): evidence a check needed and could not have
        self.field_gaps: set[tuple[str, str | None, str, str | None]] = set()
        #: (domain, location, trend) for each outcome measure getting worse
        self.worsening: list[tuple[str, str, dict]] = []
        #: (domain, location, kind) -> the targets its stopped export leaves stale, and what it stopped at
        self.stale: dict[tuple[str, str, str], tuple[list[str], StaleKind]] = {}

    def add_gap(self, kind: str, domain: str, target: str) -> None:
        self.gaps[kind].append((domain, target))

    def add_domain(self, resolved: ResolvedDomain, targets: dict, figures: list[TargetFigures],
                   domain_figures: DomainFigures, evidence: Triangulation) -> None:
        name = resolved.domain.name
        self._add_duties(name, domain_figures)
        self.signal_ids[name] = domain_figures.signal_ids
        self.signal_details[name] = domain_figures.signal_details
        self.rows[name] = {f.result["id"]: {row["service"]: row for row in f.result["services"]} for f in figures}
        for service, fact in self._service_facts(resolved, domain_figures.signals, [f.result for f in figures]):
            self.batches[service].append(fact)
        for escalation in resolved.escalations:
            rule = f"{name}/{escalation.spec.id}"
            if not rule_runs(resolved, escalation, targets, bool(self.scope.options.targets)):
                self.skipped_rules.append(rule)
                continue
            self.rules.append(rule_engine.Rule(rule, "service_facts", expressions.to_durable(escalation.expression),
                                               (("domain", name),)))
            self.rule_specs[rule] = (resolved, escalation)
        for figure in figures:
            for location in figure.locations:
                for found in location.stale:
                    targets_of, _ = self.stale.setdefault((name, location.service, found.kind), ([], found))
                    targets_of.append(figure.result["id"])
        for index, service in enumerate(self.scope.services):
            judged = [f.locations[index] for f in figures if f.locations[index].judged]
            entries, said = corroboration(self.scope, resolved, evidence, service, all(t.met for t in judged))
            self.corroboration[(service, name)] = (entries, said)
            breaches = len(self.breaches.get((service, name), ()))
            undetermined = len(self.undetermined.get((service, name), ()))
            if not judged and not breaches and not undetermined:
                continue  # no level: every target waived or not judged at this location
            short = sum(1 for t in judged if t.short)
            slipping = sum(1 for t in judged if t.short and t.status == SLIPPING)
            states = [entry["state"] for entry in entries]
            self.level_facts[(service, name)] = (
                ("judged", len(judged)), ("short", short),
                # a slipping target is short, but never counts toward half short (not assured)
                ("share_short", round((short - slipping) / len(judged), 6) if judged else 0.0),
                ("deteriorating", sum(1 for t in judged if t.status == DETERIORATING)),
                ("slipping", slipping),
                ("not_recovered", sum(1 for t in judged if t.status != RECOVERED)),
                ("categories", len(evidence.by_location.get(service, ()))),
                ("contradicting", states.count(CONTRADICTING)), ("corroborating", states.count(CORROBORATING)),
                ("support_rules", len(states) - states.count(NO_RULE)),
                ("guardrail_breaches", len(resolved.breaches)),
                ("statutory_breaches", breaches), ("statutory_undetermined", undetermined),
                ("worsening_outcomes", len(domain_figures.worsening(service))),
            )
            for trend in domain_figures.worsening(service):
                self.worsening.append((name, service, trend))

    def _add_duties(self, name: str, figures: DomainFigures) -> None:
        """A domain's statutory findings, by location: the breaches counted at ``as_of`` (outstanding,
        or made late within the current period) and the undetermined records."""
        current = self.scope.current
        for duty in sorted(figures.duties, key=_duty_order):
            key = (duty.service, name)
            if isinstance(duty, Breach):
                if duty.made is not None and not (current is not None and current.contains(duty.made)):
                    continue  # made late in an earlier period: that run's current period carried it
                self.breaches.setdefault(key, []).append(breach_entry(duty, name))
            elif duty.record not in self.undetermined.get(key, ()):
                self.undetermined.setdefault(key, []).append(duty.record)
        self.field_gaps.update((name, *gap) for gap in figures.gaps)

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
        rules = self.rules + [
            rule_engine.Rule(rule.name, "location_domain", expressions.to_durable(expressions.parse(rule.when, LEVEL_FACT_NAMES)))
            for rule in LEVEL_RULES
        ]
        # Many locations' domains have the same figures: each distinct set meets the rules once.
        distinct = list(dict.fromkeys(self.level_facts.values()))
        level_batch = [{"id": f"lvl|{index}", "kind": "location_domain", **dict(values)}
                       for index, values in enumerate(distinct)]
        fired: dict[int, set[str]] = defaultdict(set)
        escalations = []
        batches = [self.batches[s] for s in self.scope.services] + [level_batch]
        for match in self.engine.evaluate(rule_engine.compile_rules(rules), batches):
            if match.fact_id.startswith("lvl|"):
                fired[int(match.fact_id[4:])].add(match.rule)
            else:
                escalations.append(self._escalation(match.rule, match.fact_id.split("|", 2)[2]))
        by_values = {values: _apply_levels(LEVEL_RULES, fired[index]) for index, values in enumerate(distinct)}
        levels = {key: self._with_duties(key, by_values[values]) for key, values in self.level_facts.items()}
        escalations += [self._data_gap(kind, needed) for kind, needed in self.gaps.items()]
        escalations += [self._field_gap(*gap) for gap in sorted(self.field_gaps, key=lambda g: tuple(x or "" for x in g))]
        escalations += [self._stale_gap(*key, *found) for key, found in sorted(self.stale.items())]
        escalations += self._worsening_escalations()
        escalations.sort(key=lambda e: (e["due"], e["domain"], e["service"], e["rule"]))
        return Judgement(levels, escalations, self.skipped_rules, self.corroboration, self.breaches, self.undetermined)

    def _with_duties(self, key: tuple[str, str], level: Level) -> Level:
        """A level whose statutory caps name what set them: each breach, each undetermined record."""
        caps = []
        for cap in level.caps:
            if cap["cap"] == "statutory_breach":
                cap = {**cap, "breaches": self.breaches.get(key, [])}
            elif cap["cap"] == "statutory_undetermined":
                cap = {**cap, "records": self.undetermined.get(key, [])}
            caps.append(cap)
        return Level(level.level, level.rule, tuple(caps))

    def _domain_title(self, domain: str) -> str:
        return next((r.domain.title for r in self.scope.ruleset.domains if r.domain.name == domain), _words(domain))

    def _target_titles(self, domain: str, targets: list[str]) -> str:
        """Targets by their titles, in quotes: '"Incidents reviewed within five working days"'."""
        specs = {t: spec for r in self.scope.ruleset.domains for t, spec in r.targets.items()}
        return ", ".join(f'"{specs[t].title}"' if t in specs else _words(t) for t in targets)

    def _field_gap(self, domain: str, service: str | None, kind: str, name: str | None) -> dict:
        """One escalation for evidence a check needed and could not have: a field of ``kind`` that
        the imports at a location never supplied, or no ``kind`` records at all."""
        scope = self.scope
        period = scope.current_label or "-"
        where = service or "(provider)"
        digest = hashlib.blake2b(f"{DATA_GAP}|{domain}|{where}|{kind}|{name}|{period}".encode(),
                                 digest_size=5).hexdigest().upper()
        said, field, area = _words(kind), _words(name), self._domain_title(domain)
        if name is None:
            title, trigger = f"No {said} records", f"no {kind} records in scope"
            action = (f"Import the {said} records ({area} checks statutory duties with them), or record that "
                      f"none were kept")
            reason = f"no {said} records at any location in scope, so {area} cannot check the duties that need them"
        else:
            title, trigger = f"{said.capitalize()} field {field} not supplied", f"{kind}.{name} not supplied"
            action = (f"Add the {field} column to the {said} export (or map it), and import it again: the checks "
                      f"that need it are not made meanwhile")
            reason = (f"the {said} records at {where} come from imports with no {field} column, so {area} judged "
                      f"them without it")
        return {
            "id": f"ESC-{digest}", "rule": DATA_GAP, "title": title, "domain": domain, "service": where,
            "period": period, "trigger": trigger, "facts": {"kind": kind, "field": name},
            "action": action, "owner_role": "registered_manager", "detected": scope.as_of.isoformat(),
            "due": scope.working_days.add(scope.as_of, DATA_GAP_DUE_WORKING_DAYS).isoformat(), "status": "open",
            "answered_by": None, "locations": [service] if service else list(scope.services), "reason": reason,
            "records": [], "records_total": 0,
        }

    def _worsening_escalations(self) -> list[dict]:
        """One "continued poor outcomes" escalation per location domain whose outcome measures are
        getting worse, with the figures."""
        scope = self.scope
        period = scope.current_label or "-"
        by_location: dict[tuple[str, str], list[dict]] = defaultdict(list)
        for domain, service, trend in self.worsening:
            by_location[(domain, service)].append(trend)
        out = []
        for (domain, service), trends in sorted(by_location.items()):
            digest = hashlib.blake2b(f"{WORSENING}|{domain}|{service}|{period}".encode(), digest_size=5).hexdigest().upper()
            out.append({
                "id": f"ESC-{digest}", "rule": WORSENING, "title": "Continued poor outcomes", "domain": domain,
                "service": service, "period": period, "trigger": "worsening_outcomes > 0",
                "facts": {"worsening_outcomes": len(trends), "measures": [t["measure"] for t in trends]},
                "action": ("Challenge the service until outcomes improve: review what changed since the earlier "
                           "window, and add controls for the people affected"),
                "owner_role": "nominated_individual", "detected": scope.as_of.isoformat(),
                "due": scope.working_days.add(scope.as_of, WORSENING_DUE_WORKING_DAYS).isoformat(), "status": "open",
                "answered_by": None, "locations": [service], "reason": "; ".join(trend_sentence(t) for t in trends),
                "records": [], "records_total": 0,
            })
        return out

    def _stale_gap(self, domain: str, service: str, kind: str, targets: list[str], found: StaleKind) -> dict:
        """One escalation for a kind whose export looks stopped at a location: the targets that count
        it are not evidenced there until the records come in again."""
        scope = self.scope
        period = scope.current_label or "-"
        digest = hashlib.blake2b(f"{DATA_GAP}|{domain}|{service}|{kind}|stale|{period}".encode(),
                                 digest_size=5).hexdigest().upper()
        return {
            "id": f"ESC-{digest}", "rule": DATA_GAP, "title": f"{_words(kind).capitalize()} records stopped",
            "domain": domain,
            "service": service, "period": period, "trigger": f"no {kind} records in {period} or the period before",
            "facts": {"kind": kind, "targets": targets, "stale": True, "usual_per_period": round(found.rate, 2),
                      "newest": found.newest[:10] if found.newest else None},
            "action": (f"Check the {_words(kind)} export at {service} and import the records since it stopped, or "
                       f"record why none were made: {self._target_titles(domain, targets)} cannot be judged "
                       "meanwhile"),
            "owner_role": "registered_manager", "detected": scope.as_of.isoformat(),
            "due": scope.working_days.add(scope.as_of, DATA_GAP_DUE_WORKING_DAYS).isoformat(), "status": "open",
            "answered_by": None, "locations": [service], "reason": stale_reason(found, service, scope.model.period),
            "records": [], "records_total": 0,
        }

    def _data_gap(self, kind: str, needed: list[tuple[str, str]]) -> dict:
        """One escalation for a kind of record no location in scope has, though targets need it."""
        scope = self.scope
        period = scope.current_label or "-"
        digest = hashlib.blake2b(f"{DATA_GAP}|{kind}|{period}".encode(), digest_size=5).hexdigest().upper()
        locations = list(scope.services)
        targets = [target for _, target in needed]
        return {
            "id": f"ESC-{digest}",
            "rule": DATA_GAP,
            "title": f"No {_words(kind)} records",
            "domain": needed[0][0],
            "service": "(provider)",
            "period": period,
            "trigger": f"no {kind} records at any location in the evaluated periods",
            "facts": {"kind": kind, "targets": targets},
            "action": (f"Import the {_words(kind)} records that {self._target_titles(needed[0][0], targets)} "
                       f"need{'s' if len(targets) == 1 else ''}, or record that none were kept, for {len(locations)} "
                       f"location{'s' if len(locations) != 1 else ''}"),
            "owner_role": "registered_manager",
            "detected": scope.as_of.isoformat(),
            "due": scope.working_days.add(scope.as_of, DATA_GAP_DUE_WORKING_DAYS).isoformat(),
            "status": "open",
            "answered_by": None,
            "locations": locations,
            "reason": (f"no {_words(kind)} records at any of the {len(locations)} "
                       f"location{'s' if len(locations) != 1 else ''} in the evaluated periods, though "
                       f"{self._target_titles(needed[0][0], targets)} need{'s' if len(targets) == 1 else ''} them"),
            "records": [],
            "records_total": 0,
        }

    def _escalation(self, rule: str, service: str) -> dict:
        resolved, escalation = self.rule_specs[rule]
        scope = self.scope
        spec = escalation.spec
        period = scope.current_label or "-"
        digest = hashlib.blake2b(f"{rule}|{service}|{period}".encode(), digest_size=5).hexdigest().upper()
        fact = next(f for f in self.batches[service] if f["domain"] == resolved.domain.name)
        records, total, reason = self._behind(resolved, escalation, service, fact, period)
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
            "locations": [service],
            "reason": reason,
            "records": records,
            "records_total": total,
        }

    def _behind(self, resolved: ResolvedDomain, escalation, service: str, fact: dict, period: str
                ) -> tuple[list[str], int, str]:
        """The record ids behind an escalation (up to 25, sorted), how many there are, and its
        reason in words: each signal its trigger uses that has a value, and each target it names
        that missed in the current period, with their records."""
        domain = resolved.domain.name
        signals = {signal.name: signal for signal in resolved.domain.signals}
        ids = self.signal_ids.get(domain, {}).get(service, {})
        details = self.signal_details.get(domain, {}).get(service, {})
        found: set[str] = set()
        extra = 0
        parts = []
        for name in dict.fromkeys(n.split(".")[0] if n.split(".")[0] in resolved.targets else n
                                  for n in escalation.names):
            if name in signals:
                count = fact.get(name)
                if not count:
                    continue
                behind = ids.get(name, [])
                found.update(behind)
                parts.append(signals[name].say(int(count), period, **details.get(name, {})) + _listed(behind))
            elif name in resolved.targets:
                row = self.rows.get(domain, {}).get(name, {}).get(service)
                current = row["periods"].entry_for(self.scope.current_label) if row else None
                if current is None or current["value"] is None or current["met"]:
                    continue
                failures = list(current["failures"])
                found.update(failures)
                extra += current["failures_total"] - len(failures)
                parts.append(resolved.targets[name].say(current["numerator"], current["denominator"], period)
                             + _listed(failures, current["failures_total"]))
        records = sorted(found)
        return records[:25], len(records) + extra, "; ".join(parts) or escalation.spec.title


def _duty_order(duty) -> tuple:
    if isinstance(duty, Breach):
        return (0, duty.service, duty.due, duty.subject, duty.records)
    return (1, duty.service, duty.question, duty.record)


def breach_entry(breach: Breach, domain: str) -> dict:
    """A breach as the verdict gives it."""
    return {"domain": domain, "service": breach.service, "duty": breach.duty, "subject": breach.subject,
            "regulation": breach.regulation, "what": SUBJECTS[breach.subject][0], "records": list(breach.records),
            "due": breach.due.isoformat(), "made": breach.made.isoformat() if breach.made else None}


def _listed(ids: list[str], total: int | None = None, shown: int = 10) -> str:
    """": A, B and 3 more" for the records behind a sentence (nothing without ids)."""
    if not ids:
        return ""
    ids = sorted(ids)
    total = max(total or 0, len(ids))
    more = total - min(len(ids), shown)
    return ": " + ", ".join(ids[:shown]) + (f" and {more} more" if more else "")


def _apply_levels(rules: tuple[LevelRule, ...], fired: set[str]) -> Level:
    """One base level, lowered to the lowest cap that fired; every cap that fired is listed."""
    by_name = {rule.name: rule for rule in rules}
    base = [by_name[name] for name in fired if by_name[name].role == "base"]
    caps = sorted((by_name[name] for name in fired if by_name[name].role == "cap"), key=lambda r: LEVELS.index(r.level))
    if len(base) != 1:
        raise rule_engine.EngineError(f"level rules gave {len(base)} base levels ({sorted(r.name for r in base)})")
    level, rule = base[0].level, base[0].name
    for cap in caps:
        if LEVELS.index(cap.level) < LEVELS.index(level):
            level, rule = cap.level, cap.name
    return Level(level, rule, tuple({"cap": cap.cap, "at_most": cap.level} for cap in caps))


def _words(code: str | None) -> str:
    """A kind or field in words: "care_plan_review" is "care plan review"."""
    return (code or "").replace("_", " ")
