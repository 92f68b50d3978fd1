"""Stored verdicts of an earlier schema, read in the shape today's reports expect.

Runs are kept for years; ``carecheck report`` must still render one stored before verdicts became
location-first (schema 1.0). Its scores are dropped, never shown: they imitated the scoring CQC
is removing. It has no location levels, and says so.
"""

from __future__ import annotations

from collections import Counter

from carecheck.verdict.levels import LEVELS

_SCORE_KEYS = ("score", "score_label", "percentage", "score_rule", "score_limiter")


def upgraded(verdict: dict) -> dict:
    """``verdict`` in the 2.0 shape (in place); a 2.0 verdict is returned as it is."""
    if verdict.get("schema_version") != "1.0":
        return verdict
    overall = verdict["verdict"]
    for key in _SCORE_KEYS:
        overall.pop(key, None)
    overall["levels"] = dict.fromkeys(LEVELS, 0)
    overall["lowest"] = {"level": None, "locations": []}
    statuses = ", ".join(f"{d['title']} {d['status'].replace('_', ' ')}" for d in verdict["domains"])
    overall["summary"] = (f"Stored by an earlier carecheck (verdict schema 1.0), before location levels: {statuses}. "
                          f"{overall['disclaimer']}")
    verdict.setdefault("scope", {"services": [], "targets": []})
    verdict.setdefault("locations", [])
    for domain in verdict["domains"]:
        for key in _SCORE_KEYS:
            domain.pop(key, None)
        domain["levels"] = dict.fromkeys(LEVELS, 0)
        domain.setdefault("outcome_measures", [])
        for target in domain["targets"]:
            target.setdefault("pooled_status", target["status"])
            target.setdefault("location_statuses", dict(sorted(Counter(s["status"] for s in target["services"]).items())))
            target.setdefault("reason_code", None)
            for row in target["services"]:
                row.update({"reason_code": None, "judged": True, "carried": False, "carried_from": None, **row})
    for escalation in verdict["escalations"]:
        escalation.setdefault("locations", [escalation["service"]])
        escalation.setdefault("reason", escalation["title"])
        escalation.setdefault("records", [])
        escalation.setdefault("records_total", 0)
    summary = verdict["commissioner_summary"]
    summary.setdefault("maintained", [])
    for line in summary["improved"] + summary["under_review"]:
        line.setdefault("locations", [])
    verdict["data_quality"].setdefault("service_register", True)
    verdict["warnings"] = ["stored with verdict schema 1.0, before verdicts were location-first: no location levels",
                           *verdict.get("warnings", [])]
    return verdict
