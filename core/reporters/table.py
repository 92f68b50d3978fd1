"""The verdict as terminal tables: the provider headline and the locations needing attention first,
then each domain's targets rolled up over locations, escalations and the commissioner summary.

Only record ids, codes and figures appear: no names of people who use services and no free text.
"""

from __future__ import annotations

from carecheck import hookimpl
from carecheck.reporter_api import Reporter
from carecheck.reporters.first_screen import briefs, category_list, status_words, target_titles
from carecheck.reporters.words import (as_of_words, STATUS_WORDS, level_spread, locations_text,
                                       needing_attention, percent, tabulate, waiver_note)


def _threshold(target: dict) -> str:
    sign = ">=" if target["direction"] == "at_least" else "<="
    return f"{sign} {percent(target['threshold'])}"


def render_table(verdict: dict) -> str:
    attention = needing_attention(verdict)
    lines = _heading(verdict, attention) + _targets(verdict) + _notes(verdict, attention)
    lines += _escalations(verdict) + _commissioner(verdict["commissioner_summary"]) + _footer(verdict)
    return "\n".join(lines) + "\n"


def _heading(verdict: dict, attention: list[dict]) -> list[str]:
    """The run, the headline and the locations needing attention."""
    overall = verdict["verdict"]
    periods = verdict["periods"]
    lines = [
        f"carecheck: ruleset {verdict['ruleset']['name']}, as of {as_of_words(verdict)}, "
        f"current period {periods['current'] or '-'}"
        + (f" ({periods['partial']} partial, not counted)" if periods["partial"] else ""),
        overall["summary"],
        "",
    ]
    below, rest = briefs(verdict)
    lines.append(f"Where to act first: {len(below)} of {len(verdict.get('locations', []))} locations below assured")
    for brief in below:
        lines.append(f"{brief.service}: {brief.level_words} ({brief.counts})")
        # Said whole: a wrapped cell would break the sentence and its record ids.
        if brief.statutory:
            lines.append(f"  {brief.statutory}")
        if brief.short:
            lines.append("  Why:")
            lines += [f"  - {t.domain}: {t.title}, {status_words(t.status)}: {t.why}" for t in brief.short]
        if brief.todo:
            lines.append("  What to do:")
            lines += ["    " + line for line in tabulate(
                [(e.action, e.owner, e.due) for e in brief.todo], headers=("action", "owner", "due"),
                maxcolwidths=[70, 22, None]).splitlines()]
        else:
            lines.append("  No escalation open.")
    if not below:
        lines.append("None: every location is assured or better.")
    if rest:
        lines.append("At assured or above:")
        lines += [f"  {brief.service}: {brief.level_words}; {brief.counts}" for brief in rest]
    lines.append("")
    return lines


def _targets(verdict: dict) -> list[str]:
    """Each domain and target, pooled, with the worst location's status."""
    lines = []
    rows = []
    for domain in verdict["domains"]:
        rows.append((domain["title"], "", "", "", STATUS_WORDS[domain["status"]],
                     level_spread(domain.get("levels", {}), skip_zero=True)))
        for target in domain["targets"]:
            counts = target.get("location_statuses", {})
            rows.append((
                f"- {target['title']}", percent(target["baseline"]), percent(target["current"]), _threshold(target),
                STATUS_WORDS[target["status"]] + waiver_note(target),
                ", ".join(f"{n} {key.replace('_', ' ')}" for key, n in counts.items()),
            ))
    lines.append(tabulate(rows, headers=("domain / target", "pooled baseline", "pooled current", "target",
                                         "worst location status", "locations"), maxcolwidths=[44] + [None] * 4 + [48]))
    return lines


def _notes(verdict: dict, attention: list[dict]) -> list[str]:
    """Waived locations, evidence, warnings and notes, the disclaimer and the waivers."""
    overall = verdict["verdict"]
    lines = []
    for target in (t for d in verdict["domains"] for t in d["targets"]):
        for row in target["services"]:
            if row["waiver"] and not target["waiver"]:
                lines.append(f"{target['title']} for {row['service']}: {STATUS_WORDS[row['status']]}{waiver_note(row)}")
    titles = {d["domain"]: d["title"] for d in verdict["domains"]}
    for domain in verdict["domains"]:
        lines.append(f"Evidence ({domain['title']}): {category_list(domain['evidence_categories']) or 'none'}")
        for warning in domain["warnings"]:
            if warning not in verdict["warnings"]:  # said once, at the foot, with the run's own warnings
                lines.append(f"Warning ({domain['title']}): {warning}")
    for location in verdict.get("locations", []):
        for warning in location["warnings"]:
            lines.append(f"Note ({location['service']}): {warning}")
    for row in attention:  # what the records say at the locations needing attention
        location = next(loc for loc in verdict["locations"] if loc["service"] == row["service"])
        for domain in location["domains"]:
            for warning in domain.get("warnings", []):
                lines.append(f"Note ({location['service']}, {titles.get(domain['domain'], domain['domain'])}): {warning}")
    lines.append(overall["disclaimer"])

    if verdict["waivers"]:
        lines += ["", "Waivers"]
        named = target_titles(verdict)
        lines += [f"  - {named.get(w['target'], w['target'])}: {w['message']}; approved by {w['approved_by']}: "
                  f"{w['justification']}" for w in verdict["waivers"]]
    for warning in verdict["warnings"]:
        lines.append(f"Warning: {warning}")
    return lines


def _escalations(verdict: dict) -> list[str]:
    lines = []
    lines += ["", f"Escalations ({len(verdict['escalations'])})"]
    if verdict["escalations"]:
        lines.append(tabulate(
            [(e["id"], e["service"], e["reason"], e["action"], (e["owner_role"] or "").replace("_", " "), e["due"], e["status"])
             for e in verdict["escalations"]],
            headers=("id", "service", "why", "action", "owner", "due", "status"),
            maxcolwidths=[None, 22, 44, 40, 14, None, None],
        ))
    else:
        lines.append("None fired.")
    return lines


def _commissioner(summary: dict) -> list[str]:
    """What has improved, been maintained, remains under review, and the extra controls."""
    lines = []
    lines += ["", "Commissioner summary (a target is listed where its worst location puts it)", "",
              "What has improved:"]
    lines += [f"  - {line['title']}: {locations_text(line['locations'])}" for line in summary["improved"]] \
        or ["  - nothing yet"]
    lines.append("What has been maintained:")
    lines += [f"  - {line['title']}: {locations_text(line['locations'])}" for line in summary["maintained"]] \
        or ["  - nothing"]
    lines.append("What remains under review:")
    lines += [
        f"  - {line['title']} ({STATUS_WORDS[line['status']]}): {line['reason']}"
        for line in summary["under_review"]
    ] or ["  - nothing"]
    controls = summary["extra_controls"]
    lines.append("What extra controls are in place:")
    lines += [
        f"  - {c['id']} {c['service']}: {c['action']} (owner {c['owner_role'].replace('_', ' ')}, due {c['due']}, {c['status']})"
        for c in controls["escalations"]
    ]
    lines += [
        f"  - action {a['id']} {a['service']}: owner {a['owner'] or a['owner_role'] or 'not named'}, "
        f"due {a['due'] or 'no deadline'} ({a['status']})"
        for a in controls["open_actions"]
    ]
    if controls["open_actions_total"] > len(controls["open_actions"]):
        lines.append(f"  - ... and {controls['open_actions_total'] - len(controls['open_actions'])} more open actions")
    if not controls["escalations"] and not controls["open_actions"]:
        lines.append("  - none")
    return lines


def _footer(verdict: dict) -> list[str]:
    """Data quality and the engine."""
    lines = []
    quality = verdict["data_quality"]
    lines += [
        "",
        f"Data quality: {quality['rows_rejected']} rows rejected on import, {quality.get('fields_left_empty', 0)} "
        f"unreadable optional values left empty, {quality['dangling_references']} "
        f"references to missing records, {len(quality['low_denominators'])} figures on fewer than "
        f"{quality['min_denominator']} records, {len(quality['stale_sources'])} stale sources.",
        f"Engine: {verdict['audit']['engine']}" + (f" ({verdict['audit']['engine_note']})" if verdict["audit"]["engine_note"] else "")
        + f"; run {verdict['audit']['run_id']}",
    ]
    return lines


class TableReporter(Reporter):
    name = "table"
    description = "Tables for the terminal: locations needing attention, targets, escalations, commissioner summary"
    extension = ".txt"

    def render(self, verdict: dict) -> str:
        return render_table(verdict)


@hookimpl
def carecheck_register_reporters(register):
    register(TableReporter())
