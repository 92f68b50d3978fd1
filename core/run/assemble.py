"""Building the verdict: plain data matching :mod:`carecheck.verdict`'s schema, from the figures,
the rule engine's judgement and the store's data-quality reads.

The verdict is location-first: each location's level by domain comes first, and the provider
roll-up counts locations and names the lowest; pooled figures are kept as context only.
"""

from __future__ import annotations

import platform
import uuid
from collections import defaultdict
from collections.abc import Mapping
from datetime import date, datetime
from typing import Iterator

from sqlite_utils import Database

from carecheck import __version__

from carecheck.run import rule_engine
from carecheck.dates import LONDON
from carecheck.run.headline import DISCLAIMER, headline
from carecheck.ruleset import ResolvedDomain
from carecheck.verdict.levels import LEVELS, lowest, worst
from carecheck.run import reads
from carecheck.run.judge import Judgement
from carecheck.run.location_status import LocationTarget
from carecheck.run.parallel import DomainWork
from carecheck.run.scope import RunScope
from carecheck.run.outcomes import trend_sentence
from carecheck.run.tally import DataQualityFlags, DomainFigures, TargetFigures

SCHEMA_VERSION = "2.4"


def _breach_fields(breach: dict) -> dict:
    return {key: breach[key] for key in ("parameter", "kind", "limit", "value", "file")}


def guardrails_said(ruleset) -> str:
    """The ruleset's guardrails in words, for the audit."""
    declared = len(ruleset.guardrails)
    if declared == 0 and len(ruleset.chain) <= 1:
        return "the ruleset extends no other and declares no guardrails"
    if declared == 0:
        return "no guardrails are declared along the ruleset's chain"
    breached = len(ruleset.breaches)
    return (f"{declared} guardrail{'s' if declared != 1 else ''}: "
            + (f"{breached} breached" if breached else "none breached"))


def domain_entry(scope: RunScope, resolved: ResolvedDomain, figures: list[TargetFigures], work: DomainWork) -> dict:
    """A domain's part of the verdict, over every location in scope."""
    results = [f.result for f in figures]
    categories = work.evidence.categories
    warnings = []
    if len(categories) <= 1:
        warnings.append(f"evidence from {len(categories)} category at any location: every location's level capped "
                        "at partly assured")
    for source in work.evidence.sources:
        if source["records"] and source["stale"]:
            warnings.append(f"stale source: {source['source']} (newest {source['newest']})")
    protected = {target: _breach_fields(breach) for breach in resolved.breaches for target in breach["protects"]}
    for result in results:
        result["guardrail"] = protected.get(result["id"])
    warnings += [breach["sentence"] for breach in resolved.breaches]
    framework = scope.framework
    return {
        "domain": resolved.domain.name,
        "title": resolved.domain.title,
        "plugin": resolved.plugin,
        "baseline_issue": resolved.domain.baseline_issue,
        "status": worst([t["status"] for t in results]),
        "levels": {},
        "evidence_categories": categories,
        "triangulated": len(categories) >= 3,
        "triangulation": work.evidence.sources,
        "outcome_measures": [
            {"name": m.name, "title": m.title, "description": m.description, "direction": m.direction,
             "locations": sum(1 for values in work.figures.measures.values() if m.name in values)}
            for m in resolved.domain.measures
        ],
        "framework": {
            "key_questions": list(resolved.domain.key_questions),
            "quality_statements": [
                {"id": qs, "title": framework.quality_statements[qs].title}
                for qs in resolved.domain.quality_statements if qs in framework.quality_statements
            ],
            "regulations": [
                {"id": reg, "title": framework.regulations[reg]}
                for reg in resolved.domain.regulations if reg in framework.regulations
            ],
        },
        "warnings": warnings,
        "waived_targets": sum(1 for f in figures if f.waived),
        "targets": results,
    }


def locations(scope: RunScope, domains: list[dict], figures: dict[str, list[TargetFigures]],
              evidence: dict[str, dict[str, list[str]]], domain_figures: dict[str, DomainFigures],
              judgement: Judgement, escalations: list[dict], escalation_controls: list[dict],
              open_actions: list[dict]) -> list[dict]:
    """Each location's levels by domain, its warnings and its commissioner summary."""
    controls: dict[str, list[dict]] = defaultdict(list)
    for escalation, control in zip(escalations, escalation_controls):
        for location in escalation.get("locations") or ():
            controls[location].append(control)
    actions: dict[str, list[dict]] = defaultdict(list)
    for action in open_actions:
        actions[action["service"]].append(action)
    resolved_by_name = {r.domain.name: r for r in scope.ruleset.domains}
    out = []
    for index, (service, service_type) in enumerate(scope.services.items()):
        location_domains = []
        warnings = []
        lines: list[tuple[dict, dict, LocationTarget]] = []
        for domain in domains:
            name = domain["domain"]
            targets = [(f.result, f.locations[index]) for f in figures[name]]
            judged = [t for _, t in targets if t.judged]
            level = judgement.levels.get((service, name))
            entries, contradictions = judgement.corroboration.get((service, name), ([], []))
            signals = _signals(scope, resolved_by_name[name], domain_figures[name], service)
            worsening = domain_figures[name].worsening(service)
            if worsening:
                signals.append({"signal": "continued_poor_outcomes", "title": "Continued poor outcomes",
                                "value": len(worsening), "records": [],
                                "sentence": "; ".join(trend_sentence(t) for t in worsening)})
            location_domains.append({
                "domain": name,
                "status": worst([t.status for t in judged]),
                "level": level.level if level else None,
                "level_rule": level.rule if level else None,
                "level_caps": list(level.caps) if level else [],
                "level_reason": None if level else "no judged target: every target is waived or has no events",
                "evidence_categories": evidence[name].get(service, []),
                "corroboration": entries,
                "outcome_measures": domain_figures[name].measures.get(service, {}),
                "outcome_trends": domain_figures[name].trends.get(service, []),
                "signals": signals,
                "warnings": contradictions + [signal["sentence"] for signal in signals],
            })
            warnings += [t.warning for _, t in targets if t.warning]
            lines += [(domain, result, t) for result, t in targets]
        level = lowest(d["level"] for d in location_domains)
        rule = next((f"{d['domain']}: {d['level_rule']}" for d in location_domains if level and d["level"] == level), None)
        statutory = sorted((breach for domain in domains for breach in judgement.breaches.get((service, domain["domain"]), [])),
                           key=lambda b: (b["due"], b["subject"], b["records"]))
        undetermined = [{"domain": domain["domain"], "records": judgement.undetermined[(service, domain["domain"])]}
                        for domain in domains if (service, domain["domain"]) in judgement.undetermined]
        out.append({
            "service": service, "service_type": service_type, "level": level, "level_rule": rule,
            "statutory": statutory, "undetermined": undetermined,
            "domains": location_domains, "warnings": warnings,
            "commissioner_summary": {
                **_location_lists(lines),
                "extra_controls": {
                    "escalations": controls.get(service, []),
                    "open_actions": actions.get(service, []),
                },
            },
        })
    return out


def _signals(scope: RunScope, resolved: ResolvedDomain, figures: DomainFigures, service: str) -> list[dict]:
    """Every signal with a value at a location, with the records behind it, whether or not an
    escalation uses it."""
    values = figures.signals.get(service, {})
    ids = figures.signal_ids.get(service, {})
    details = figures.signal_details.get(service, {})
    period = scope.current_label or "-"
    out = []
    for spec in resolved.domain.signals:
        value = values.get(spec.name)
        if not value:
            continue
        records = ids.get(spec.name, [])
        count = len(records) if records else int(value)
        shown = ", ".join(records[:10]) + (f" and {len(records) - 10} more" if len(records) > 10 else "")
        out.append({"signal": spec.name, "title": spec.title, "value": value, "records": records[:25],
                    "sentence": spec.say(count, period, **details.get(spec.name, {}))
                    + (f": {shown}" if records else "")})
    return out


class LocationLine(Mapping):
    """A line of a location's commissioner summary: a read-only mapping with the keys of the JSON
    object, read from the target and the location's judgement of it. A verdict holds one per
    target and location (thousands), so nothing is copied."""

    __slots__ = ("_domain", "_result", "_target")
    _KEYS = ("domain", "target", "title", "baseline", "current", "threshold", "status", "reason", "carried")

    def __init__(self, domain: str, result: dict, target: LocationTarget):
        self._domain, self._result, self._target = domain, result, target

    def __getitem__(self, key: str):
        target = self._target
        if key == "domain":
            return self._domain
        if key == "target":
            return self._result["id"]
        if key in ("title", "threshold"):
            return self._result[key]
        if key in ("baseline", "current", "status", "reason"):
            return getattr(target, key)
        if key == "carried":
            return target.carried_from is not None
        raise KeyError(key)

    def __iter__(self) -> Iterator[str]:
        return iter(self._KEYS)

    def __len__(self) -> int:
        return len(self._KEYS)


def _location_lists(lines: list[tuple[dict, dict, LocationTarget]]) -> dict[str, list[LocationLine]]:
    """A location's targets as improved, maintained or under review; a target not judged there
    (no events, or waived) is in none of them."""
    lists: dict[str, list[LocationLine]] = {"improved": [], "maintained": [], "under_review": []}
    for domain, result, target in lines:
        if target.judged:
            lists[_summary_list(target)].append(LocationLine(domain["domain"], result, target))
    return lists


def _summary_list(target: LocationTarget) -> str:
    if target.short:
        return "under_review"
    return "improved" if target.baseline_met is False else "maintained"


#: In the roll-up a target goes to the worst list any location puts it in.
_LIST_ORDER = ("under_review", "improved", "maintained")


def _rollup_lists(domains: list[dict], figures: dict[str, list[TargetFigures]]) -> dict[str, list[dict]]:
    lists: dict[str, list[dict]] = {name: [] for name in _LIST_ORDER}
    for domain in domains:
        for target in figures[domain["domain"]]:
            by_list: dict[str, list[str]] = {}
            for location in target.locations:
                if location.judged:
                    by_list.setdefault(_summary_list(location), []).append(location.service)
            chosen = next((name for name in _LIST_ORDER if name in by_list), None)
            if chosen is None:
                continue
            result = target.result
            lists[chosen].append({
                "domain": domain["domain"], "target": result["id"], "title": result["title"],
                "threshold": result["threshold"], "status": result["status"], "reason": result["reason"],
                "locations": by_list[chosen],
            })
    return lists


def _control(escalation: dict) -> dict:
    return {k: escalation[k] for k in ("id", "domain", "service", "action", "owner_role", "due", "status")}


def verdict(db: Database, scope: RunScope, engine, domains: list[dict], figures: dict[str, list[TargetFigures]],
            evidence: dict[str, dict[str, list[str]]], domain_figures: dict[str, DomainFigures], judgement: Judgement,
            flags: DataQualityFlags, quality: reads.Quality) -> dict:
    ruleset, options = scope.ruleset, scope.options
    escalations = judgement.escalations
    _close_answered(db, escalations)
    open_actions = _open_actions(scope, quality.open_actions)
    # One control entry per escalation, shared by its location's summary and the roll-up.
    escalation_controls = [_control(e) for e in escalations]
    located = locations(scope, domains, figures, evidence, domain_figures, judgement, escalations, escalation_controls,
                        open_actions)
    for domain in domains:
        domain["levels"] = _level_counts(d["level"] for loc in located for d in loc["domains"]
                                         if d["domain"] == domain["domain"])
    levels = _level_counts(loc["level"] for loc in located)
    bottom = lowest(loc["level"] for loc in located)
    at_bottom = [loc["service"] for loc in located if bottom and loc["level"] == bottom]
    status = worst([d["status"] for d in domains])
    statutory = [breach for loc in located for breach in loc["statutory"]]
    return {
        "schema_version": SCHEMA_VERSION,
        "ruleset": {"name": ruleset.model.name, "source": ruleset.source, "hash": ruleset.content_hash,
                    "version": ruleset.model.version, "framework": ruleset.model.framework,
                    "values_hash": ruleset.values_hash, "extends": [step["file"] for step in ruleset.chain[:-1]]},
        "as_of": (scope.requested_as_of or scope.as_of).isoformat(),
        "effective_as_of": scope.as_of.isoformat(),
        "data_end": scope.data_end.isoformat() if scope.data_end else None,
        "scope": {"services": list(options.services), "targets": list(options.targets)},
        "audit": _audit(scope, engine, judgement, quality),
        "periods": {
            "kind": scope.model.period,
            "evaluated": [p.label for p in scope.periods],
            "current": scope.current_label,
            "partial": scope.partial.label if scope.partial else None,
            "sustained": scope.model.sustained,
        },
        "services": [{"service": name, "service_type": kind} for name, kind in scope.services.items()],
        "verdict": {
            "levels": levels,
            "lowest": {"level": bottom, "locations": at_bottom},
            "status": status,
            "summary": headline(located, levels, bottom, at_bottom, escalations, statutory, scope.data_end,
                                flags.unattributed, flags.provider_only, scope.provider),
            "statutory": statutory,
            "disclaimer": DISCLAIMER,
        },
        "locations": located,
        "domains": domains,
        "escalations": escalations,
        "commissioner_summary": {
            **_rollup_lists(domains, figures),
            "extra_controls": {
                "escalations": escalation_controls,
                "open_actions": open_actions[: options.failure_cap],
                "open_actions_total": len(open_actions),
            },
        },
        "waivers": [w.as_dict() for w in scope.waivers],
        "warnings": [breach["sentence"] for breach in ruleset.breaches]
                    + [w.message() for w in scope.waivers if w.status in ("malformed", "expired", "expiring_soon")],
        "record_text": _record_text(db, scope, domains) if options.include_text else None,
        "history": {},
        "data_quality": _data_quality(scope, quality, flags, domain_figures),
    }


def _audit(scope: RunScope, engine, judgement: Judgement, quality: reads.Quality) -> dict:
    """What made this verdict: the run, the carecheck and plugins, the engine, the ruleset's chain
    and guardrails, and how fresh each source was."""
    from carecheck.plugin.inventory import plugin_infos

    ruleset = scope.ruleset
    infos = {info.name: info.version for info in plugin_infos()}
    engine_note = None
    if engine.name == "reference" and not rule_engine.durable_available():
        engine_note = f"durable-rules is not available here ({rule_engine.DURABLE_IMPORT_ERROR}); the reference evaluator ran the rules"
    return {
        "run_id": uuid.uuid4().hex,
        "generated_at": datetime.now(LONDON).isoformat(timespec="seconds"),
        "carecheck_version": __version__,
        "python": platform.python_version(),
        "engine": engine.name,
        "engine_note": engine_note,
        "ruleset_hash": ruleset.content_hash,
        "plugins": [{"name": name, "version": infos.get(name, "unknown")} for name in sorted(infos)],
        "source_freshness": quality.freshness,
        "records_read": quality.records_read,
        "skipped_rules": judgement.skipped_rules,
        "ruleset_chain": list(ruleset.chain),
        "guardrails": guardrails_said(ruleset),
        "guardrail_breaches": [_breach_fields(breach) for breach in ruleset.breaches],
    }


def _data_quality(scope: RunScope, quality: reads.Quality, flags: DataQualityFlags,
                  domain_figures: dict[str, DomainFigures]) -> dict:
    findings = quality.findings
    left_out = [
        {"domain": domain, "target": target, "location": service, "reason": reason, "records": len(ids),
         "examples": sorted(ids)[:10]}
        for domain, figures in domain_figures.items()
        for (target, service, reason), ids in sorted(figures.left_out.items())
    ]
    return {
        "rows_rejected": quality.rejected,
        "fields_left_empty": quality.fields_left_empty,
        "implausible_dates": quality.implausible_dates,
        "dangling_references": len(findings),
        "dangling_examples": [
            f"{f.kind} {f.record_id}: {f.field} -> {f.target_kind} {f.target_id}" for f in findings[:10]
        ],
        "low_denominators": flags.low_denominators,
        "stale_sources": flags.stale_sources,
        "pending_units": flags.pending_units,
        "left_out": left_out,
        "unattributed": flags.unattributed,
        "provider_only": flags.provider_only,
        "min_denominator": scope.model.min_denominator,
        "service_register": scope.registered,
    }


def _level_counts(levels) -> dict[str, int]:
    counts = {level: 0 for level in LEVELS}
    for level in levels:
        if level is not None:
            counts[level] += 1
    return counts


def _close_answered(db: Database, escalations: list[dict]) -> None:
    """An escalation stays open until an improvement action that cites it is closed."""
    by_escalation = reads.actions_citing(db, [e["id"] for e in escalations])
    for escalation in escalations:
        actions = by_escalation.get(escalation["id"], [])
        if actions:
            escalation["answered_by"] = sorted(a for a, _ in actions)
            if any(status in ("completed", "closed") for _, status in actions):
                escalation["status"] = "closed"


def _open_actions(scope: RunScope, rows: list[tuple]) -> list[dict]:
    actions = []
    for action_id, raw, source_kind, source_id, owner, owner_role, due, status in rows:
        service = scope.aliases.get(raw, raw)
        if service not in scope.services:
            continue
        overdue = bool(due) and date.fromisoformat(due) < scope.as_of
        actions.append({"id": action_id, "service": service, "source": f"{source_kind or 'other'} {source_id or ''}".strip(),
                        "owner": owner, "owner_role": owner_role, "due": due,
                        "status": "overdue" if overdue else status or "not recorded"})
    return actions


def _record_text(db: Database, scope: RunScope, domains: list[dict]) -> dict[str, str]:
    """Free text of the records behind current-period failures, for a user who asked for it."""
    wanted: dict[str, set[str]] = defaultdict(set)
    for domain in domains:
        resolved = scope.resolved(domain["domain"])
        for target in domain["targets"]:
            spec = resolved.targets[target["id"]]
            if spec.kind != "rate" or not spec.sources:
                continue
            entry = target["periods"].entry_for(scope.current_label)
            if entry is not None:
                wanted[spec.sources[0]].update(entry["failures"])
    texts: dict[str, str] = {}
    for kind, ids in wanted.items():
        texts.update(reads.free_text(db, kind, ids))
    return texts
