"""The verdict as terminal tables: the provider headline and the locations needing attention first,
then each domain's targets rolled up over locations, escalations and the commissioner summary.

Only record ids, codes and figures appear: no names of people who use services and no free text.
"""

from __future__ import annotations

from carecheck import hookimpl
from carecheck.reporter_api import Reporter
from carecheck.reporters.words import (LEVEL_WORDS, as_of_words, STATUS_WORDS, domain_notes, level_spread, locations_text,
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
    lines.append(f"Locations needing attention ({len(attention)} of {len(verdict.get('locations', []))})")
    # Said whole, before the table: a wrapped cell would break the sentence and its record ids.
    lines += [row["statutory"] for row in attention if row["statutory"]]
    if attention:
        lines.append(tabulate([(row["service"], LEVEL_WORDS[row["level"]], domain_notes(row, statutory=False))
                               for row in attention],
                              headers=("location", "level", "domains below assured"), maxcolwidths=[28, None, 70]))
    else:
        lines.append("None: every location is assured or better.")
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
                f"- {target['id']}", percent(target["baseline"]), percent(target["current"]), _threshold(target),
                STATUS_WORDS[target["status"]] + waiver_note(target),
                ", ".join(f"{n} {key.replace('_', ' ')}" for key, n in counts.items()),
            ))
    lines.append(tabulate(rows, headers=("domain / target", "pooled baseline", "pooled current", "target",
                                         "worst location status", "locations"), maxcolwidths=[None] * 5 + [48]))
    return lines


def _notes(verdict: dict, attention: list[dict]) -> list[str]:
    """Waived locations, evidence, warnings and notes, the disclaimer and the waivers."""
    overall = verdict["verdict"]
    lines = []
    for target in (t for d in verdict["domains"] for t in d["targets"]):
        for row in target["services"]:
            if row["waiver"] and not target["waiver"]:
                lines.append(f"{target['id']} for {row['service']}: {STATUS_WORDS[row['status']]}{waiver_note(row)}")
    for domain in verdict["domains"]:
        lines.append(f"Evidence ({domain['domain']}): {', '.join(domain['evidence_categories']) or 'none'}")
        for warning in domain["warnings"]:
            lines.append(f"Warning ({domain['domain']}): {warning}")
    for location in verdict.get("locations", []):
        for warning in location["warnings"]:
            lines.append(f"Note ({location['service']}): {warning}")
    for row in attention:  # what the records say at the locations needing attention
        location = next(loc for loc in verdict["locations"] if loc["service"] == row["service"])
        for domain in location["domains"]:
            for warning in domain.get("warnings", []):
                lines.append(f"Note ({location['service']}, {domain['domain']}): {warning}")
    lines.append(overall["disclaimer"])

    if verdict["waivers"]:
        lines += ["", "Waivers"]
        lines += [f"  - {w['message']}; approved by {w['approved_by']}: {w['justification']}" for w in verdict["waivers"]]
    for warning in verdict["warnings"]:
        lines.append(f"Warning: {warning}")
    return lines


def _escalations(verdict: dict) -> list[str]:
    lines = []
    lines += ["", f"Escalations ({len(verdict['escalations'])})"]
    if verdict["escalations"]:
        lines.append(tabulate(
            [(e["id"], e["service"], e["reason"], e["action"], e["owner_role"].replace("_", " "), e["due"], e["status"])
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
