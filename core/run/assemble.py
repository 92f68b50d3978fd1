"""Building the verdict: plain data matching :mod:`carecheck.verdict`'s schema, from the figures,
the rule engine's judgement and the store's data-quality reads.
"""

from __future__ import annotations

import platform
import uuid
from collections import defaultdict
from datetime import date, datetime

from sqlite_utils import Database

from .. import __version__, plugin_manager, rule_engine
from ..dates import LONDON
from ..ruleset import ResolvedDomain
from ..status import SCORE_LABELS, worst
from . import reads
from .judge import Judgement
from .parallel import DomainWork
from .scope import RunScope
from .tally import DataQualityFlags, TargetFigures

SCHEMA_VERSION = "1.0"
DISCLAIMER = "This is the provider's internal assurance, not a CQC rating."


def domain_entry(scope: RunScope, resolved: ResolvedDomain, figures: list[TargetFigures], work: DomainWork) -> dict:
    """A domain's part of the verdict, without its score (which the judgement adds)."""
    results = [f.result for f in figures]
    warnings = []
    if len(work.categories) <= 1:
        warnings.append(f"evidence from {len(work.categories)} category: assurance capped at 2")
    for source in work.sources:
        if source["records"] and source["stale"]:
            warnings.append(f"stale source: {source['source']} (newest {source['newest']})")
    framework = scope.framework
    return {
        "domain": resolved.domain.name,
        "title": resolved.domain.title,
        "plugin": resolved.plugin,
        "baseline_issue": resolved.domain.baseline_issue,
        "status": worst([t["status"] for t in results]),
        "evidence_categories": work.categories,
        "triangulated": len(work.categories) >= 3,
        "triangulation": work.sources,
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
        "waived_targets": sum(1 for f in figures if f.scoring is None),
        "targets": results,
    }


def verdict(db: Database, scope: RunScope, engine, domains: list[dict], judgement: Judgement,
            flags: DataQualityFlags, quality: reads.Quality) -> dict:
    ruleset, options = scope.ruleset, scope.options
    for domain in domains:
        score = judgement.domain_scores[domain["domain"]]
        domain["score"], domain["score_rule"], domain["score_limiter"] = score.score, score.rule, score.limiter
        domain["score_label"] = SCORE_LABELS[score.score]
    escalations = judgement.escalations
    _close_answered(db, escalations)
    improved, under_review = [], []
    for domain in domains:
        for target in domain["targets"]:
            line = _summary_line(domain, target)
            (improved if target["status"] in ("recovered", "improving") else under_review).append(line)
    open_actions = _open_actions(scope, quality.open_actions)
    findings = quality.findings
    infos = {info.name: info.version for info in plugin_manager.plugin_infos()}
    engine_note = None
    if engine.name == "reference" and not rule_engine.durable_available():
        engine_note = f"durable-rules is not available here ({rule_engine.DURABLE_IMPORT_ERROR}); the reference evaluator ran the rules"
    score, percentage = judgement.run_score, judgement.percentage
    return {
        "schema_version": SCHEMA_VERSION,
        "ruleset": {"name": ruleset.model.name, "source": ruleset.source, "hash": ruleset.content_hash,
                    "version": ruleset.model.version, "framework": ruleset.model.framework},
        "as_of": scope.as_of.isoformat(),
        "audit": {
            "run_id": uuid.uuid4().hex,
            "generated_at": datetime.now(LONDON).isoformat(timespec="seconds"),
            "carecheck_version": __version__,
            "python": platform.python_version(),
            "engine": engine.name,
            "engine_note": engine_note,
            "ruleset_hash": ruleset.content_hash,
            "plugins": [{"name": name, "version": infos.get(name, "unknown")} for name in sorted(infos)],
            "source_freshness": quality.freshness,
            "skipped_rules": judgement.skipped_rules,
        },
        "periods": {
            "kind": scope.model.period,
            "evaluated": [p.label for p in scope.periods],
            "current": scope.current_label,
            "partial": scope.partial.label if scope.partial else None,
            "sustained": scope.model.sustained,
        },
        "services": [{"service": name, "service_type": kind} for name, kind in scope.services.items()],
        "verdict": {
            "score": score.score, "score_label": SCORE_LABELS[score.score], "percentage": percentage,
            "score_rule": score.rule, "score_limiter": score.limiter, "status": worst([d["status"] for d in domains]),
            "summary": _summary(domains, escalations, score.score, percentage), "disclaimer": DISCLAIMER,
        },
        "domains": domains,
        "escalations": escalations,
        "commissioner_summary": {
            "improved": improved,
            "under_review": under_review,
            "extra_controls": {
                "escalations": [
                    {k: e[k] for k in ("id", "domain", "service", "action", "owner_role", "due", "status")}
                    for e in escalations
                ],
                "open_actions": open_actions[: options.failure_cap],
                "open_actions_total": len(open_actions),
            },
        },
        "waivers": [w.as_dict() for w in scope.waivers],
        "warnings": [w.message() for w in scope.waivers if w.status in ("malformed", "expired", "expiring_soon")],
        "record_text": _record_text(db, scope, domains) if options.include_text else None,
        "history": {},
        "data_quality": {
            "rows_rejected": quality.rejected,
            "dangling_references": len(findings),
            "dangling_examples": [
                f"{f.kind} {f.record_id}: {f.field} -> {f.target_kind} {f.target_id}" for f in findings[:10]
            ],
            "low_denominators": flags.low_denominators,
            "stale_sources": flags.stale_sources,
            "pending_units": flags.pending_units,
            "min_denominator": scope.model.min_denominator,
        },
    }


def _summary(domains: list[dict], escalations: list[dict], score: int, percentage: int) -> str:
    waived = sum(d["waived_targets"] for d in domains)
    return (
        f"Internal assurance score {score} of 4 ({SCORE_LABELS[score]}), {percentage}%, over {len(domains)} "
        f"domain{'s' if len(domains) != 1 else ''}: "
        + ", ".join(f"{d['title']} {d['status'].replace('_', ' ')}" for d in domains)
        + f". {len([e for e in escalations if e['status'] == 'open'])} escalations open."
        + (f" {waived} target{'s' if waived != 1 else ''} waived." if waived else "")
        + f" {DISCLAIMER}"
    )


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
                        "owner": owner, "owner_role": owner_role, "due": due, "status": "overdue" if overdue else status})
    return actions


def _summary_line(domain: dict, target: dict) -> dict:
    return {
        "domain": domain["domain"], "target": target["id"], "title": target["title"],
        "baseline": target["baseline"], "current": target["current"], "threshold": target["threshold"],
        "status": target["status"], "reason": target["reason"],
    }


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
