"""Recovery statuses of a target, and the assurance-level rules of a location's domain.

Every rule here is stated in docs/verdict.md. Statuses are computed in Python from the per-period
figures; levels are rules in the ruleset trigger language, run by the rule engine like the
escalation rules, so the rule that set each level can be named in the output.
"""

from __future__ import annotations

from dataclasses import dataclass

RECOVERED = "recovered"
IMPROVING = "improving"
NOT_IMPROVING = "not_improving"
DETERIORATING = "deteriorating"
SLIPPING = "slipping"
INSUFFICIENT = "insufficient_evidence"

#: Worst first: a domain's status is the worst of its targets'.
SEVERITY = (DETERIORATING, SLIPPING, NOT_IMPROVING, INSUFFICIENT, IMPROVING, RECOVERED)


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
    threshold: float | None = None,
) -> SeriesStatus:
    """Status of one target's complete periods (oldest first), as docs/verdict.md states it.

    ``periods`` are entries with ``period``, ``value`` and ``met`` (and ``numerator`` and
    ``denominator`` for a rate, with ``threshold``: a miss by one unit after recovery is slipping);
    partial periods are not passed.
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
    if (not current_entry["met"] and threshold is not None and len(earlier) == sustained
            and all(p["met"] for p in earlier) and _one_unit_short(current_entry, threshold, direction)):
        return SeriesStatus(SLIPPING, baseline, current, trend,
                            "missed by one unit after being recovered: one more on time would have met it")
    if not current_entry["met"] and any(p["met"] for p in earlier):
        return SeriesStatus(DETERIORATING, baseline, current, trend, "missed after being met earlier in the window")
    if baseline is not None and better(current, baseline, direction):
        return SeriesStatus(IMPROVING, baseline, current, trend, "better than the baseline, not yet sustained")
    return SeriesStatus(NOT_IMPROVING, baseline, current, trend, "no better than the baseline")


def _one_unit_short(entry, threshold: float, direction: str) -> bool:
    """Whether one more unit met would have met the target in this period, when some were met (a
    period in which nothing was met, a missed monthly visit or 0 of 6 reviews, is never a slip)."""
    numerator, denominator = entry.get("numerator"), entry.get("denominator")
    if not denominator or (direction == "at_least" and not numerator):
        return False
    moved = numerator + 1 if direction == "at_least" else numerator - 1
    value = moved / denominator
    return value >= threshold - 1e-12 if direction == "at_least" else value <= threshold + 1e-12


#: Assurance levels, lowest first. Names, never numbers, and never CQC's rating words: carecheck's
#: levels are the provider's internal assurance, not a rating prediction.
NOT_ASSURED = "not_assured"
PARTLY_ASSURED = "partly_assured"
ASSURED = "assured"
ASSURED_SUSTAINED = "assured_sustained"
LEVELS = (NOT_ASSURED, PARTLY_ASSURED, ASSURED, ASSURED_SUSTAINED)
LEVEL_WORDS = {NOT_ASSURED: "not assured", PARTLY_ASSURED: "partly assured", ASSURED: "assured",
               ASSURED_SUSTAINED: "assured and sustained"}


#: The words readers see for a level in the reports and the fleet's overview: names, never
#: numbers, never CQC rating words; the lowest in capitals, so it stands out in plain text.
READER_WORDS = {NOT_ASSURED: "NOT ASSURED", PARTLY_ASSURED: "partly assured", ASSURED: "assured",
                ASSURED_SUSTAINED: "assured and sustained", None: "no level"}
#: Levels below which a location needs attention.
NEEDS_ATTENTION = (NOT_ASSURED, PARTLY_ASSURED)


def rank(level: str | None) -> int:
    """A level's place, lowest first; no level sorts after every level."""
    return LEVELS.index(level) if level in LEVELS else len(LEVELS)


def lowest(levels) -> str | None:
    """The lowest of some levels (None among them ignored); None when there is none."""
    known = [level for level in levels if level is not None]
    return min(known, key=LEVELS.index) if known else None


@dataclass(frozen=True)
class LevelRule:
    name: str
    level: str
    #: "base" rules set a level (exactly one fires); "cap" rules set the most it can be
    role: str
    when: str
    explanation: str

    @property
    def cap(self) -> str:
        """A cap's short name, as the verdict's level_caps give it."""
        return self.name.removeprefix("cap_")


#: The figures of one location's domain that the level rules read (judged targets only).
LEVEL_FACT_NAMES = {
    # share_short leaves slipping targets out: one slip alone never makes a location not assured
    "judged": "number", "short": "number", "share_short": "number", "deteriorating": "number",
    "slipping": "number",
    "not_recovered": "number", "categories": "number",
    # evidence sources with a supports rule: contradicting, corroborating, and how many there are
    "contradicting": "number", "corroborating": "number", "support_rules": "number",
    # guardrails of the ruleset that its overlay loosened past their limits, for this domain
    "guardrail_breaches": "number",
    # statutory duties this domain owns at the location: breaches counted at as_of, and records
    # whose duty cannot be decided
    "statutory_breaches": "number", "statutory_undetermined": "number",
    # outcome measures getting worse at the location against their first full window
    "worsening_outcomes": "number",
}
LEVEL_RULES = (
    LevelRule("level_not_assured", NOT_ASSURED, "base", "deteriorating > 0 or share_short >= 0.5",
              "a target is deteriorating, or half or more of the judged targets are not met or not evidenced"),
    LevelRule("level_partly_assured", PARTLY_ASSURED, "base", "deteriorating == 0 and share_short < 0.5 and short > 0",
              "some judged targets (fewer than half) are not met or not evidenced, none deteriorating"),
    LevelRule("level_assured", ASSURED, "base",
              "short == 0 and deteriorating == 0 and (not_recovered > 0 or categories < 3 "
              "or (support_rules > 0 and corroborating == 0))",
              "every judged target is met"),
    LevelRule("level_assured_sustained", ASSURED_SUSTAINED, "base",
              "short == 0 and deteriorating == 0 and not_recovered == 0 and categories >= 3 "
              "and (support_rules == 0 or corroborating > 0)",
              "every judged target is recovered, with evidence from three or more categories in the window, "
              "corroborated by at least one source with a supports rule (where the domain has one)"),
    LevelRule("cap_single_category", PARTLY_ASSURED, "cap", "categories <= 1",
              "evidence from one category or none: at most partly assured"),
    LevelRule("cap_contradicting_evidence", PARTLY_ASSURED, "cap", "contradicting > 0",
              "an evidence source contradicts targets that are all met: at most partly assured"),
    LevelRule("cap_guardrail", NOT_ASSURED, "cap", "guardrail_breaches > 0",
              "the ruleset loosens a guarded value past its guardrail: not assured, whatever the figures"),
    LevelRule("cap_statutory_breach", NOT_ASSURED, "cap", "statutory_breaches > 0",
              "a statutory notification, referral or duty-of-candour notice is overdue, or was made late in the "
              "current period: not assured, whatever the figures"),
    LevelRule("cap_worsening_outcomes", ASSURED, "cap", "worsening_outcomes > 0",
              "an outcome measure is getting worse against the location's first full window (more repeat "
              "incidents or concerns, falling audit scores): never assured and sustained while results for people "
              "get worse"),
    LevelRule("cap_statutory_undetermined", PARTLY_ASSURED, "cap", "statutory_undetermined > 0",
              "a record in the window leaves a statutory duty undecided (a blank allegation, harm or injury "
              "field): at most partly assured until it is decided"),
)
