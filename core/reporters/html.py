"""The HTML evidence pack: one self-contained file to take into a governance meeting.

Rendered with Jinja2 (autoescaping on) from the verdict alone; charts are inline SVG. Nothing is
loaded from the network: no script, style sheet, font or image.
"""

from __future__ import annotations

import re

from markupsafe import Markup, escape

from carecheck import hookimpl
from carecheck.reporter_api import Reporter

from carecheck.verdict.statutory import statutory_sentence
from carecheck.reporters.first_screen import (
    briefs, category_list, category_words, counts_words, location_counts, target_titles,
)
from carecheck.reporters.words import (
    CAP_WORDS, LEVEL_WORDS, STATUS_WORDS, domain_notes, judged_as_of, level_spread, locations_text, percent, rule_words,
)
from carecheck.verdict.levels import LEVELS, rank

#: How each kind of target counts, in words.
KIND_WORDS = {"rate": "the share of units that pass each period", "cadence": "a check expected in every slot"}


def _environment():
    from jinja2 import Environment, PackageLoader, select_autoescape  # only when a pack is written

    env = Environment(loader=PackageLoader("carecheck.reporters", "templates"),
                      autoescape=select_autoescape(["html", "j2"]), trim_blocks=True, lstrip_blocks=True)
    env.filters["percent"] = percent
    env.filters["status"] = lambda s: STATUS_WORDS.get(s, s)
    env.filters["words"] = lambda s: (s or "").replace("_", " ")
    env.filters["fact"] = lambda value: str(value).lower() if isinstance(value, bool) else value
    env.filters["level"] = lambda level: LEVEL_WORDS.get(level, level).lower()
    env.filters["spread"] = lambda levels: level_spread(levels or {}, skip_zero=True).lower() or "none"
    env.filters["domain_notes"] = domain_notes
    env.filters["statutory"] = statutory_sentence
    env.filters["names"] = locations_text
    env.filters["anchor"] = _anchor
    env.filters["level_symbol"] = lambda level: LEVEL_SYMBOLS.get(level, "–")
    env.filters["status_symbol"] = lambda status: STATUS_SYMBOLS.get(status, "")
    env.filters["rule_words"] = rule_words
    env.filters["keep_ids"] = keep_ids
    env.filters["category"] = category_words
    env.filters["categories"] = category_list
    env.filters["kind_words"] = lambda kind: KIND_WORDS.get(kind, kind)
    env.filters["source_words"] = source_words
    env.filters["plugin_words"] = plugin_words
    env.filters["cap_words"] = lambda cap: CAP_WORDS.get(cap, (cap or "").replace("_", " "))
    return env


_ID_LIKE = re.compile(r"[A-Za-z0-9][\w./:]*-[\w./:-]*\d[\w./:-]*|\d[\w./:]*-[\w./:-]*")


def keep_ids(text: str | None) -> Markup:
    """Text with each id, date or period in it (anything with a hyphen and a digit) kept on one line."""
    escaped = str(escape(text or ""))
    return Markup(_ID_LIKE.sub(lambda m: f'<span class="ids">{m.group(0)}</span>', escaped))


#: Symbols beside words, so the pack reads in black and white and never by colour alone.
LEVEL_SYMBOLS = {"not_assured": "✖", "partly_assured": "◐", "assured": "✔", "assured_sustained": "★"}
STATUS_SYMBOLS = {"deteriorating": "▼", "slipping": "▽", "not_improving": "■", "insufficient_evidence": "?", "improving": "▲",
                  "recovered": "●"}
#: Locations beyond which the pack draws no chart per location (each would draw one per target).
LOCATION_CHARTS_UP_TO = 50


def _anchor(name: str) -> str:
    """An HTML id for a location's section."""
    return "loc-" + "".join(c.lower() if c.isalnum() else "-" for c in name)


def plugin_words(plugins: list[dict]) -> str:
    """The plugins a run used: carecheck's own in one entry, each other by name and version."""
    own = [p for p in plugins if p["name"].startswith("carecheck.")]
    others = [f"{p['name']} {p['version']}" for p in plugins if not p["name"].startswith("carecheck.")]
    said = [f"carecheck's own {len(own)} (domains, adapters and formats) {own[0]['version']}"] if own else []
    return "; ".join(said + others) or "none"


def source_words(source: str | None) -> str:
    """Where an open action came from, in words: "oversight_visit VIS-1" is "oversight visit VIS-1"."""
    kind, _, record = (source or "").partition(" ")
    return f"{kind.replace('_', ' ')} {record}".strip() if source else "-"


def _by_location(verdict: dict) -> dict[tuple[str, str], list[dict]]:
    """(location, domain) -> each target there: its status, reason, figures and current failures."""
    current = verdict["periods"]["current"]
    found: dict[tuple[str, str], list[dict]] = {}
    for domain in verdict["domains"]:
        for target in domain["targets"]:
            for row in target["services"]:
                entry = next((p for p in row["periods"] if p["period"] == current), None)
                found.setdefault((row["service"], domain["domain"]), []).append({
                    "id": target["id"], "title": target["title"], "status": row["status"],
                    "judged": row.get("judged", True), "reason": row["reason"], "baseline": row["baseline"],
                    "current": row["current"], "failures": list(entry["failures"]) if entry else [],
                    "periods": row["periods"], "threshold": target["threshold"],
                })
    return found


def _overview(verdict: dict) -> list[dict]:
    """Locations, lowest level first (no level last), then by name."""
    order = {level: rank(level) for level in LEVELS}
    return sorted(verdict.get("locations", []), key=lambda loc: (order.get(loc["level"], 9), loc["service"]))


def _runs_points(verdict: dict, history: list[dict], current_value, threshold: float) -> list[dict]:
    """One point per as-of date (the latest run of that date, this run last), ordered by as-of."""
    latest: dict[str, dict] = {}
    for point in history:  # oldest first: a later run of the same date replaces an earlier one
        latest[point["as_of"]] = {"label": point["as_of"], "value": point["value"]}
    judged = judged_as_of(verdict)
    latest[judged] = {"label": f"{judged} (this run)", "value": current_value}
    points = [latest[day] for day in sorted(latest)]
    for point in points:
        point["met"] = point["value"] is not None and point["value"] >= threshold - 1e-12
        point["partial"] = False
    return points


def _charts(verdict: dict) -> dict[str, dict]:
    from carecheck.reporters.charts import value_chart

    charts = {}
    for domain in verdict["domains"]:
        for target in domain["targets"]:
            points = [{"label": p["period"], "value": p["value"], "met": p["met"], "partial": p["partial"]}
                      for p in target["periods"]]
            charts[target["id"]] = {
                "periods": value_chart(points, target["threshold"], target["baseline"],
                                       f"{target['title']}: value per period against the target",
                                       f"chart-{target['id']}"),
            }
            history = verdict["history"].get(target["id"], [])
            if history:
                runs = _runs_points(verdict, history, target["current"], target["threshold"])
                charts[target["id"]]["runs"] = value_chart(
                    runs, target["threshold"], target["baseline"], f"{target['title']}: current value run by run",
                    f"runs-{target['id']}")
    return charts


def render_html(verdict: dict, expanded: bool = False) -> str:
    """The pack; ``expanded`` writes every details section open (for browsers that print closed
    details empty)."""
    from carecheck.reporters.charts import value_chart

    template = _environment().get_template("pack.html.j2")
    escalations_by_domain: dict[str, list] = {}
    escalations_by_location: dict[str, list] = {}
    for escalation in verdict["escalations"]:
        escalations_by_domain.setdefault(escalation["domain"], []).append(escalation)
        for location in escalation.get("locations") or [escalation["service"]]:
            escalations_by_location.setdefault(location, []).append(escalation)
    targets = _by_location(verdict)
    overview = _overview(verdict)

    def location_chart(service: str, target: dict):
        points = [{"label": p["period"], "value": p["value"], "met": p["met"], "partial": p["partial"]}
                  for p in target["periods"]]
        return value_chart(points, target["threshold"], target["baseline"],
                           f"{target['title']} at {service}: value per period against the target",
                           f"{_anchor(service)}-{target['id']}")

    below, rest = briefs(verdict)
    counts = {loc["service"]: counts_words(*location_counts(verdict, loc)) for loc in overview}
    return template.render(
        v=verdict, charts=_charts(verdict), escalations_by_domain=escalations_by_domain,
        escalations_by_location=escalations_by_location, overview=overview, below=below, rest=rest, counts=counts,
        opened=Markup(" open") if expanded else "",
        targets_at=lambda service, domain: targets.get((service, domain), []),
        titles={d["domain"]: d["title"] for d in verdict["domains"]},
        names={"targets": target_titles(verdict)},
        location_charts=len(overview) <= LOCATION_CHARTS_UP_TO, location_chart=location_chart,
    )


class HTMLReporter(Reporter):
    name = "html"
    description = "A self-contained HTML evidence pack with charts, for governance meetings and inspectors"
    extension = ".html"
    #: Write every details section open (``carecheck run --expanded``).
    expanded = False

    def render(self, verdict: dict) -> str:
        return render_html(verdict, self.expanded)


@hookimpl
def carecheck_register_reporters(register):
    register(HTMLReporter())
