"""Recovery statuses of a target, and the scoring rules of domains and runs.

Every rule here is stated in docs/verdict.md. Statuses are computed in Python from the per-period
figures; scores are rules in the ruleset trigger language, run by the rule engine like the
escalation rules, so the rule that set each score can be named in the output.
"""

from __future__ import annotations

from dataclasses import dataclass

RECOVERED = "recovered"
IMPROVING = "improving"
NOT_IMPROVING = "not_improving"
DETERIORATING = "deteriorating"
INSUFFICIENT = "insufficient_evidence"

#: Worst first: a domain's status is the worst of its targets'.
SEVERITY = (DETERIORATING, NOT_IMPROVING, INSUFFICIENT, IMPROVING, RECOVERED)


def worst(statuses: list[str]) -> str:
    return min(statuses, key=SEVERITY.index) if statuses else INSUFFICIENT


@dataclass
class SeriesStatus:
    status: str
    baseline: float | None
    current: float | None
    trend: str | None
    reason: str


def better(value: float, than: float, direction: str) -> bool:
    return value > than if direction == "at_least" else value < than


def series_status(
    periods: list[dict],
    *,
    direction: str,
    sustained: int,
    baseline_rule: str | dict,
    stale: bool,
) -> SeriesStatus:
    """Status of one target's complete periods (oldest first), as docs/verdict.md states it.

    ``periods`` are entries with ``period``, ``value`` and ``met``; partial periods are not passed.
    """
    valued = [p for p in periods if p["value"] is not None]
    if isinstance(baseline_rule, dict) and baseline_rule.get("value") is not None:
        baseline = baseline_rule["value"]
    elif isinstance(baseline_rule, dict):
        named = [p for p in periods if p["period"] == baseline_rule.get("period")]
        baseline = named[0]["value"] if named else None
    else:
        baseline = valued[0]["value"] if valued else None
    current_entry = periods[-1] if periods else None
    current = current_entry["value"] if current_entry else None
    trend = None
    if current is not None and len(valued) >= 2:
        previous = valued[-2]["value"]
        trend = "steady" if abs(current - previous) < 1e-9 else ("rising" if current > previous else "falling")
    if current is None:
        return SeriesStatus(INSUFFICIENT, baseline, None, trend, "no value in the current period")
    if stale:
        return SeriesStatus(INSUFFICIENT, baseline, current, trend, "a source it needs is stale")
    last = valued[-sustained:]
    if len(last) == sustained and all(p["met"] for p in last):
        return SeriesStatus(RECOVERED, baseline, current, trend, f"met in the last {sustained} periods with a value")
    earlier = valued[-(sustained + 1):-1]
    if not current_entry["met"] and any(p["met"] for p in earlier):
        return SeriesStatus(DETERIORATING, baseline, current, trend, "missed after being met earlier in the window")
    if baseline is not None and better(current, baseline, direction):
        return SeriesStatus(IMPROVING, baseline, current, trend, "better than the baseline, not yet sustained")
    return SeriesStatus(NOT_IMPROVING, baseline, current, trend, "no better than the baseline")


@dataclass(frozen=True)
class ScoreRule:
    name: str
    score: int
    #: "base" rules set a score (they are exclusive); "cap" rules limit it
    role: str
    when: str
    explanation: str


DOMAIN_FACT_NAMES = {
    "targets": "number", "not_met": "number", "deteriorating": "number", "not_recovered": "number",
    "categories": "number", "share_not_met": "number",
}
DOMAIN_SCORE_RULES = (
    ScoreRule("domain_score_1", 1, "base", "deteriorating > 0 or share_not_met >= 0.5",
              "a target is deteriorating, or half or more are not met in the current period"),
    ScoreRule("domain_score_2", 2, "base", "deteriorating == 0 and share_not_met < 0.5 and not_met > 0",
              "some targets are not met in the current period"),
    ScoreRule("domain_score_3", 3, "base", "not_met == 0 and (not_recovered > 0 or categories < 3)",
              "every target is met in the current period"),
    ScoreRule("domain_score_4", 4, "base", "not_met == 0 and not_recovered == 0 and categories >= 3",
              "every target is recovered, with evidence from three or more categories"),
    ScoreRule("domain_cap_single_category", 2, "cap", "categories <= 1",
              "evidence from a single category caps the domain at 2"),
)
RUN_FACT_NAMES = {"percentage": "number", "lowest_domain_score": "number"}
RUN_SCORE_RULES = (
    ScoreRule("run_band_4", 4, "base", "percentage >= 88", "88% or more"),
    ScoreRule("run_band_3", 3, "base", "percentage >= 63 and percentage < 88", "63% to 87%"),
    ScoreRule("run_band_2", 2, "base", "percentage >= 39 and percentage < 63", "39% to 62%"),
    ScoreRule("run_band_1", 1, "base", "percentage < 39", "38% or less"),
    ScoreRule("run_cap_domain_scored_1", 2, "cap", "lowest_domain_score <= 1",
              "a domain scored 1 caps the run at 2"),
)
SCORE_LABELS = {1: "significant shortfalls", 2: "some shortfalls", 3: "good", 4: "exceptional"}
