"""The verdict as terminal tables: per domain and target, escalations, then the commissioner summary.

Only record ids, codes and figures appear: no names of people who use services and no free text.
"""

from __future__ import annotations

from carecheck import hookimpl
from carecheck.reporter_api import Reporter


def tabulate(rows, **options) -> str:
    """A plain-text table. The tabulate package is loaded on first use: most runs print none."""
    from tabulate import tabulate as format_table

    return format_table(rows, **options)


STATUS_WORDS = {
    "recovered": "recovered", "improving": "improving", "not_improving": "not improving",
    "deteriorating": "DETERIORATING", "insufficient_evidence": "insufficient evidence",
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


def _threshold(target: dict) -> str:
    sign = ">=" if target["direction"] == "at_least" else "<="
    return f"{sign} {percent(target['threshold'])}"


def render_table(verdict: dict) -> str:
    overall = verdict["verdict"]
    periods = verdict["periods"]
    lines = [
        f"carecheck: ruleset {verdict['ruleset']['name']}, as of {verdict['as_of']}, "
        f"current period {periods['current'] or '-'}"
        + (f" ({periods['partial']} partial, not counted)" if periods["partial"] else ""),
        f"Internal assurance: {overall['score']} of 4 ({overall['score_label']}), {overall['percentage']}% "
        f"[{overall['score_rule']}{', limited by ' + overall['score_limiter'] if overall['score_limiter'] else ''}]",
        overall["disclaimer"],
        "",
    ]
    rows = []
    for domain in verdict["domains"]:
        rule = domain["score_rule"] + (f", limited by {domain['score_limiter']}" if domain["score_limiter"] else "")
        rows.append((
            domain["title"], "", "", "", STATUS_WORDS[domain["status"]], f"{domain['score']} ({rule})",
        ))
        for target in domain["targets"]:
            rows.append((
                f"- {target['id']}", percent(target["baseline"]), percent(target["current"]), _threshold(target),
                STATUS_WORDS[target["status"]] + waiver_note(target), "",
            ))
    lines.append(tabulate(rows, headers=("domain / target", "baseline", "current", "target", "status", "score")))
    for target in (t for d in verdict["domains"] for t in d["targets"]):
        for row in target["services"]:
            if row["waiver"] and not target["waiver"]:
                lines.append(f"{target['id']} for {row['service']}: {STATUS_WORDS[row['status']]}{waiver_note(row)}")
    for domain in verdict["domains"]:
        lines.append(f"Evidence ({domain['domain']}): {', '.join(domain['evidence_categories']) or 'none'}")
        for warning in domain["warnings"]:
            lines.append(f"Warning ({domain['domain']}): {warning}")

    if verdict["waivers"]:
        lines += ["", "Waivers"]
        lines += [f"  - {w['message']}; approved by {w['approved_by']}: {w['justification']}" for w in verdict["waivers"]]
    for warning in verdict["warnings"]:
        lines.append(f"Warning: {warning}")

    lines += ["", f"Escalations ({len(verdict['escalations'])})"]
    if verdict["escalations"]:
        lines.append(tabulate(
            [(e["id"], e["service"], e["rule"], e["action"], e["owner_role"].replace("_", " "), e["due"], e["status"])
             for e in verdict["escalations"]],
            headers=("id", "service", "rule", "action", "owner", "due", "status"),
            maxcolwidths=[None, 22, 28, 48, 14, None, None],
        ))
    else:
        lines.append("None fired.")

    summary = verdict["commissioner_summary"]
    lines += ["", "Commissioner summary", "", "What has improved:"]
    lines += [
        f"  - {line['title']}: {percent(line['baseline'])} -> {percent(line['current'])} ({STATUS_WORDS[line['status']]})"
        for line in summary["improved"]
    ] or ["  - nothing yet"]
    lines.append("What remains under review:")
    lines += [
        f"  - {line['title']}: {percent(line['current'])} against {percent(line['threshold'])} "
        f"({STATUS_WORDS[line['status']]}: {line['reason']})"
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

    quality = verdict["data_quality"]
    lines += [
        "",
        f"Data quality: {quality['rows_rejected']} rows rejected on import, {quality['dangling_references']} "
        f"references to missing records, {len(quality['low_denominators'])} figures on fewer than "
        f"{quality['min_denominator']} records, {len(quality['stale_sources'])} stale sources.",
        f"Engine: {verdict['audit']['engine']}" + (f" ({verdict['audit']['engine_note']})" if verdict["audit"]["engine_note"] else "")
        + f"; run {verdict['audit']['run_id']}",
    ]
    return "\n".join(lines) + "\n"


class TableReporter(Reporter):
    name = "table"
    description = "Tables for the terminal: targets, escalations, commissioner summary"
    extension = ".txt"

    def render(self, verdict: dict) -> str:
        return render_table(verdict)


@hookimpl
def carecheck_register_reporters(register):
    register(TableReporter())
