"""A Markdown summary that reads well pasted into governance minutes or a board paper."""

from __future__ import annotations

import re

from carecheck import hookimpl
from carecheck.reporter_api import Reporter

from carecheck.reporters.first_screen import briefs, category_list, status_words, target_titles
from carecheck.reporters.words import (
    as_of_words, STATUS_WORDS, level_spread, locations_text, needing_attention, percent, waiver_note,
)


_MARKDOWN = re.compile(r"([\\`*_\[\]|~])")


def md(text, line_start: bool = True) -> str:
    """Text from the records (service names, owners, reasons) as Markdown shows it literally: HTML
    is escaped (a viewer that renders Markdown as HTML never runs it) and Markdown's marks are
    backslashed, on one line. Where a line might start, a block mark is escaped too, by a
    backslash CommonMark takes as an escape ("\\#", "12\\."), never one it would show."""
    escaped = str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    escaped = _MARKDOWN.sub(r"\\\1", escaped).replace("\r", " ").replace("\n", " ")
    if line_start:
        if escaped[:1] in ("#", "-", "+"):
            escaped = "\\" + escaped
        elif found := re.match(r"\d+(?=[.)])", escaped):
            escaped = escaped[:found.end()] + "\\" + escaped[found.end():]
    return escaped


def _cell(text) -> str:
    return md(text, line_start=False)  # a table cell is inline: no block mark to escape


def _table(headers: list[str], rows: list[list]) -> list[str]:
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return lines


def render_markdown(verdict: dict) -> str:
    overall = verdict["verdict"]
    lines = [
        f"# Service recovery assurance: {verdict['ruleset']['name']}",
        "",
        f"As of {as_of_words(verdict)}; current review period {verdict['periods']['current'] or '-'}. "
        f"Services: {', '.join(md(s['service']) for s in verdict['services'])}.",
        "",
        f"**{md(overall['summary'].replace(overall['disclaimer'], '').strip())}** *{md(overall['disclaimer'])}*",
        "",
    ]
    attention = needing_attention(verdict)
    lines += _first_screen(verdict)
    for warning in verdict["warnings"]:
        lines.append(f"> Warning: {md(warning)}")
    if verdict["warnings"]:
        lines.append("")
    lines += ["## Domains", ""]
    lines += _table(
        ["Domain", "Worst location status", "Locations by level", "Evidence categories"],
        [[d["title"], STATUS_WORDS[d["status"]], level_spread(d.get("levels", {}), skip_zero=True) or "none",
          category_list(d["evidence_categories"]) or "none"] for d in verdict["domains"]],
    )
    for domain in verdict["domains"]:
        lines += ["", f"### {domain['title']}", ""]
        lines += _table(
            ["Target", "Worst location status", "Locations", "Pooled baseline", "Pooled current", "Target value"],
            [[t["title"], STATUS_WORDS[t["status"]] + waiver_note(t),
              ", ".join(f"{n} {k.replace('_', ' ')}" for k, n in t.get("location_statuses", {}).items()),
              percent(t["baseline"]), percent(t["current"]), percent(t["threshold"])] for t in domain["targets"]],
        )
    lines += _summary(verdict, attention)
    quality = verdict["data_quality"]
    lines += [
        "", "## Data quality", "",
        f"- Rows rejected on import: {quality['rows_rejected']}",
        f"- References to missing records: {quality['dangling_references']}",
        f"- Figures on fewer than {quality['min_denominator']} records: {len(quality['low_denominators'])}",
        f"- Stale sources: {len(quality['stale_sources'])}",
        "",
        f"*carecheck {verdict['audit']['carecheck_version']}, run {verdict['audit']['run_id']}, "
        f"ruleset hash {verdict['ruleset']['hash']}, engine {verdict['audit']['engine']}.*",
    ]
    return "\n".join(lines) + "\n"


def _first_screen(verdict: dict) -> list[str]:
    """Where to act first: each location below assured with why and what to do, then the rest."""
    below, rest = briefs(verdict)
    lines = ["## Where to act first", ""]
    for brief in below:
        lines += [f"### {md(brief.service)}: {brief.level_words}", "", f"{brief.counts}.", ""]
        if brief.statutory:
            lines += [f"> {md(brief.statutory)}", ""]
        if brief.short:
            lines += ["**Why**", ""]
            lines += [f"- {md(t.domain)}: **{md(t.title)}**, {status_words(t.status)}: {md(t.why)}" for t in brief.short]
            lines.append("")
        if brief.todo:
            lines += ["**What to do**", ""]
            lines += _table(["Action", "Owner", "Due", "Because"], [[e.action, e.owner, e.due, e.why] for e in brief.todo])
            lines.append("")
        else:
            lines += ["No escalation open.", ""]
    if not below:
        lines += ["None: every location is assured or better.", ""]
    if rest:
        lines += ["**At assured or above**", ""]
        lines += [f"- {md(brief.service)}: {brief.level_words}; {brief.counts}" for brief in rest]
        lines.append("")
    return lines


def _summary(verdict: dict, attention: list[dict]) -> list[str]:
    """The commissioner summary, with what the records say where attention is needed, and the waivers."""
    lines: list[str] = []
    summary = verdict["commissioner_summary"]
    lines += ["", "## Commissioner summary", "", "A target is listed where its worst location puts it.", "",
              "**What has improved**", ""]
    lines += [f"- {md(l['title'])}: {md(locations_text(l['locations']))}" for l in summary["improved"]] \
        or ["- Nothing yet."]
    lines += ["", "**What has been maintained**", ""]
    lines += [f"- {md(l['title'])}: {md(locations_text(l['locations']))}" for l in summary["maintained"]] \
        or ["- Nothing."]
    lines += ["", "**What remains under review**", ""]
    lines += [f"- {md(l['title'])} ({STATUS_WORDS[l['status']]}): {md(l['reason'])}" for l in summary["under_review"]] \
        or ["- Nothing."]
    lines += ["", "**What extra controls are in place**", ""]
    controls = summary["extra_controls"]
    if verdict["escalations"]:
        lines += _table(["Escalation", "Service", "Why", "Action", "Owner", "Due", "Status"],
                        [[e["id"], e["service"], e["reason"], e["action"], (e["owner_role"] or "").replace("_", " "), e["due"],
                          e["status"]] for e in verdict["escalations"]])
    if controls["open_actions"]:
        lines += ["", f"Open improvement actions ({controls['open_actions_total']}):", ""]
        lines += _table(["Action", "Service", "Owner", "Due", "Status"],
                        [[a["id"], a["service"], a["owner"] or a["owner_role"] or "not named", a["due"] or "-", a["status"]]
                         for a in controls["open_actions"]])
    titles = {d["domain"]: d["title"] for d in verdict["domains"]}
    notes = [(row["service"], titles.get(domain["domain"], domain["domain"]), warning) for row in attention
             for location in verdict["locations"] if location["service"] == row["service"]
             for domain in location["domains"] for warning in domain.get("warnings", [])]
    if notes:
        lines += ["", "**What the records say at the locations needing attention**", ""]
        lines += [f"- {md(service)} ({md(domain)}): {md(warning)}" for service, domain, warning in notes]
    if not controls["escalations"] and not controls["open_actions"]:
        lines.append("- None.")
    if verdict["waivers"]:
        lines += ["", "## Waivers", ""]
        lines += _table(["Target", "Service", "Expires", "Status", "Approved by", "Justification"],
                        [[target_titles(verdict).get(w["target"], w["target"]), w["service"] or "all", w["expires"],
                          w["status"].replace("_", " "),
                          w["approved_by"], w["justification"]] for w in verdict["waivers"]])
    return lines


class MarkdownReporter(Reporter):
    name = "md"
    description = "A Markdown summary for governance minutes or a board paper"
    extension = ".md"

    def render(self, verdict: dict) -> str:
        return render_markdown(verdict)


@hookimpl
def carecheck_register_reporters(register):
    register(MarkdownReporter())
