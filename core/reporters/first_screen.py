"""What the first screen of every format says, in words: after the top lines, each location below
assured, lowest first, with why (its statutory breaches, and each short target in numbers with its
period and baseline) and what to do (its open escalations: action, owner, due date); then the
locations at assured or above, one line each, with their open escalations and overdue actions
counted. HTML, markdown and table say it in the same order.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from carecheck.reporters.words import LEVEL_WORDS, STATUS_WORDS, judged_as_of, percent
from carecheck.verdict.levels import NEEDS_ATTENTION, rank
from carecheck.verdict.statutory import statutory_sentence


@dataclass
class ShortTarget:
    domain: str
    title: str
    status: str
    #: "0 of 6 in 2026-08, against at least 95% (baseline 50%)", or why it is not evidenced.
    why: str


@dataclass
class Todo:
    """An open escalation: what to do, by whom, by when, and why."""

    title: str
    action: str
    owner: str
    due: str
    why: str


@dataclass
class Brief:
    service: str
    level: str | None
    statutory: str = ""
    short: list[ShortTarget] = field(default_factory=list)
    todo: list[Todo] = field(default_factory=list)
    escalations_open: int = 0
    overdue_actions: int = 0

    @property
    def level_words(self) -> str:
        return LEVEL_WORDS.get(self.level, "no judged target") if self.level else "no judged target"

    @property
    def counts(self) -> str:
        """"2 escalations open, 1 overdue action": said beside every level."""
        return counts_words(self.escalations_open, self.overdue_actions)


def counts_words(escalations_open: int, overdue_actions: int) -> str:
    return (f"{escalations_open} escalation{'s' if escalations_open != 1 else ''} open, "
            f"{overdue_actions} overdue action{'s' if overdue_actions != 1 else ''}")


def owner_words(role: str | None) -> str:
    return (role or "not named").replace("_", " ")


def location_counts(verdict: dict, location: dict) -> tuple[int, int]:
    """A location's open escalations and its open improvement actions past their deadline."""
    controls = location.get("commissioner_summary", {}).get("extra_controls", {})
    opened = sum(1 for e in verdict.get("escalations", []) if e["status"] == "open"
                 and location["service"] in (e.get("locations") or [e["service"]]))
    today = judged_as_of(verdict)
    overdue = sum(1 for a in controls.get("open_actions", []) if a.get("due") and a["due"] < today)
    return opened, overdue


def _short_targets(verdict: dict, service: str) -> list[ShortTarget]:
    """The judged targets at ``service`` whose current (or carried) period missed, or which are not
    evidenced, worst first."""
    current = verdict["periods"]["current"]
    found = []
    for domain in verdict["domains"]:
        for target in domain["targets"]:
            row = next((r for r in target["services"] if r["service"] == service), None)
            if row is None or not row.get("judged", True):
                continue
            label = row.get("carried_from") or current
            entry = next((p for p in row["periods"] if p["period"] == label), None)
            if row["status"] == "insufficient_evidence":
                why = row["reason"]
            elif entry is not None and entry.get("met") is False:
                sign = "at least" if target["direction"] == "at_least" else "at most"
                why = (f"{entry['numerator']} of {entry['denominator']} in {entry['period']}, against {sign} "
                       f"{percent(target['threshold'])} (baseline {percent(row['baseline'])})")
                if row.get("carried_from"):
                    why += f"; nothing to count in {current}"
            else:
                continue
            found.append(ShortTarget(domain["title"], target["title"], row["status"], why))
    found.sort(key=lambda t: _STATUS_ORDER.get(t.status, 9))
    return found


_STATUS_ORDER = {"deteriorating": 0, "slipping": 1, "not_improving": 2, "insufficient_evidence": 3, "improving": 4}


def briefs(verdict: dict) -> tuple[list[Brief], list[Brief]]:
    """The locations below assured, lowest first (then by name), each with why and what to do; and
    the others, by name, each with its counts."""
    below, rest = [], []
    for location in verdict.get("locations", []):
        opened, overdue = location_counts(verdict, location)
        brief = Brief(location["service"], location["level"], statutory_sentence(location.get("statutory", [])),
                      escalations_open=opened, overdue_actions=overdue)
        if location["level"] in NEEDS_ATTENTION or location.get("statutory"):
            brief.short = _short_targets(verdict, location["service"])
            brief.todo = [
                Todo(e["title"], e["action"], owner_words(e.get("owner_role")), e["due"], e["reason"])
                for e in verdict.get("escalations", []) if e["status"] == "open"
                and location["service"] in (e.get("locations") or [e["service"]])
            ]
            below.append(brief)
        else:
            rest.append(brief)
    below.sort(key=lambda b: (rank(b.level) if b.level else 9, b.service))
    rest.sort(key=lambda b: b.service)
    return below, rest


def status_words(status: str) -> str:
    return STATUS_WORDS.get(status, status.replace("_", " "))


def category_words(name: str) -> str:
    """An evidence category in words: "people's experience", "staff feedback"."""
    return {"people_experience": "people's experience"}.get(name, (name or "").replace("_", " "))


def category_list(names: list[str]) -> str:
    return ", ".join(category_words(name) for name in names or [])


def target_titles(verdict: dict) -> dict[str, str]:
    """Each target id -> its title."""
    return {t["id"]: t["title"] for d in verdict["domains"] for t in d["targets"]}
