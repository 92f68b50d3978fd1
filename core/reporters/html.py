"""The HTML evidence pack: one self-contained file to take into a governance meeting.

Rendered with Jinja2 (autoescaping on) from the verdict alone; charts are inline SVG. Nothing is
loaded from the network: no script, style sheet, font or image.
"""

from __future__ import annotations

from carecheck import hookimpl
from carecheck.reporter_api import Reporter

from .table import LEVEL_WORDS, STATUS_WORDS, domain_notes, level_spread, locations_text, needing_attention, percent


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
    env.filters["names"] = locations_text
    return env


def _charts(verdict: dict) -> dict[str, dict]:
    from .charts import value_chart

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
                current = {"label": f"{verdict['as_of']} (this run)", "value": target["current"],
                           "met": target["current"] is not None and target["current"] >= target["threshold"], "partial": False}
                runs = [{"label": h["as_of"], "value": h["value"],
                         "met": h["value"] is not None and h["value"] >= target["threshold"], "partial": False}
                        for h in history] + [current]
                charts[target["id"]]["runs"] = value_chart(
                    runs, target["threshold"], target["baseline"], f"{target['title']}: current value run by run",
                    f"runs-{target['id']}")
    return charts


def render_html(verdict: dict) -> str:
    template = _environment().get_template("pack.html.j2")
    escalations_by_domain: dict[str, list] = {}
    for escalation in verdict["escalations"]:
        escalations_by_domain.setdefault(escalation["domain"], []).append(escalation)
    return template.render(v=verdict, charts=_charts(verdict), escalations_by_domain=escalations_by_domain,
                           attention=needing_attention(verdict))


class HTMLReporter(Reporter):
    name = "html"
    description = "A self-contained HTML evidence pack with charts, for governance meetings and inspectors"
    extension = ".html"

    def render(self, verdict: dict) -> str:
        return render_html(verdict)


@hookimpl
def carecheck_register_reporters(register):
    register(HTMLReporter())
