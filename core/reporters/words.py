"""What every format says alike: level and status words, percentages, waiver notes, the locations
needing attention and a plain-text table; the formats and the command line share these rather
than one format's module.
"""

from __future__ import annotations

from carecheck.verdict.levels import LEVEL_RULES, LEVELS, NEEDS_ATTENTION, READER_WORDS, rank
from carecheck.verdict.statutory import statutory_sentence


def tabulate(rows, **options) -> str:
    """A plain-text table. The tabulate package is loaded on first use: most runs print none."""
    from tabulate import tabulate as format_table

    return format_table(rows, **options)


STATUS_WORDS = {
    "recovered": "recovered", "improving": "improving", "not_improving": "not improving",
    "slipping": "slipping", "deteriorating": "DETERIORATING", "insufficient_evidence": "insufficient evidence",
}


def percent(value: float | None) -> str:
    if value is None:
        return "-"
    text = f"{100 * value:.1f}".rstrip("0").rstrip(".")
    return f"{text}%"


def waiver_note(item: dict) -> str:
    waiver = item.get("waiver")
    if not waiver:
        return ""
    if waiver["status"] == "expiring_soon":
        return f" [waived until {waiver['expires']}, expiring soon]"
    if waiver["applies"]:
        return f" [waived until {waiver['expires']}]"
    if waiver["status"] == "malformed":
        return " [waiver date unreadable: not applied]"
    return f" [waiver expired {waiver['expires']}]"


def locations_text(names: list[str], shown: int = 10) -> str:
    text = ", ".join(names[:shown])
    return text + (f" and {len(names) - shown} more" if len(names) > shown else "")


LEVEL_WORDS = READER_WORDS


def needing_attention(verdict: dict) -> list[dict]:
    """Locations below assured, lowest first: each with its domains below assured."""
    titles = {d["domain"]: d["title"] for d in verdict["domains"]}
    rows = []
    for location in verdict.get("locations", []):
        if location["level"] not in NEEDS_ATTENTION:
            continue
        below = [
            {"domain": d["domain"], "title": titles.get(d["domain"], d["domain"]), "level": d["level"],
             "status": d["status"], "caps": [c["cap"] for c in d["level_caps"]]}
            for d in location["domains"] if d["level"] in NEEDS_ATTENTION
        ]
        rows.append({"service": location["service"], "level": location["level"], "domains": below,
                     "statutory": statutory_sentence(location.get("statutory", []))})
    rows.sort(key=lambda row: (rank(row["level"]), row["service"]))
    return rows


#: Each level rule in words (the part of its explanation before any colon), by its name and, for
#: a cap, by the short name the verdict's level_caps give.
RULE_WORDS = {rule.name: rule.explanation.split(": ")[0] for rule in LEVEL_RULES}
CAP_WORDS = {rule.cap: RULE_WORDS[rule.name] for rule in LEVEL_RULES if rule.role == "cap"}


def rule_words(rule: str | None, titles: dict[str, str] | None = None) -> str:
    """A level rule in words: "Incident learning: a target is deteriorating, or half or more ..."
    (a location's rule names its domain: "incident_learning: level_not_assured")."""
    if not rule:
        return ""
    domain, _, name = rule.rpartition(": ")
    explained = next((r.explanation for r in LEVEL_RULES if r.name == name), name.replace("_", " "))
    if not domain:
        return explained
    return f"{(titles or {}).get(domain, domain.replace('_', ' ').capitalize())}: {explained}"


def domain_notes(row: dict, statutory: bool = True) -> str:
    """A location's statutory breaches first (unless said apart), then its domains below assured."""
    lead = (row.get("statutory") or "") if statutory else ""
    return (lead + " " if lead else "") + "; ".join(
        f"{d['title']}: {LEVEL_WORDS[d['level']]} ({STATUS_WORDS[d['status']]})"
        + (f", capped: {'; '.join(CAP_WORDS.get(c, c.replace('_', ' ')) for c in d['caps'])}" if d["caps"] else "")
        for d in row["domains"]
    )


def level_spread(levels: dict[str, int], skip_zero: bool = False) -> str:
    return ", ".join(f"{levels.get(level, 0)} {LEVEL_WORDS[level]}" for level in reversed(LEVELS)
                     if levels.get(level, 0) or not skip_zero)


def judged_as_of(verdict: dict) -> str:
    """The date a verdict was judged as of: its ``as_of``, or, when its evidence ended before the
    current period, the end of the newest period holding some (``effective_as_of``, schema 2.3)."""
    return verdict.get("effective_as_of") or verdict["as_of"]


def as_of_words(verdict: dict) -> str:
    """"2026-12-03", or "2026-12-03 (judged as of 2026-08-31)" when the evidence ended before."""
    judged = judged_as_of(verdict)
    return verdict["as_of"] if judged == verdict["as_of"] else f"{verdict['as_of']} (judged as of {judged})"
