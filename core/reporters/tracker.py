"""The action tracker export: escalations and open improvement actions, as registered managers keep them in Excel.

Cells that begin with ``=``, ``+``, ``-``, ``@`` (or a tab or carriage return) are neutralised, so a
spreadsheet never runs text from the records as a formula: in CSV they get a leading apostrophe,
in XLSX they are stored as text with Excel's quote prefix.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import date
from pathlib import Path

from sqlite_utils import Database

COLUMNS = ["id", "kind", "service", "domain", "target", "reason", "action", "owner_role", "owner", "due_date", "status",
           "trigger"]
HEADINGS = {"id": "Id", "kind": "Kind", "service": "Service", "domain": "Domain", "target": "Target",
            "reason": "Why", "action": "Action", "owner_role": "Owner role", "owner": "Owner", "due_date": "Due",
            "status": "Status", "trigger": "Rule (for audit)"}
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
DOMAIN_OF_SOURCE = {
    "incident": "incident_learning",
    "safeguarding_concern": "safeguarding_recording",
    "oversight_visit": "provider_oversight",
}


def _targets_in(facts: dict) -> str:
    return ", ".join(dict.fromkeys(name.split(".")[0] for name in facts if "." in name))


def tracker_rows(db: Database, verdict: dict, include_text: bool = False) -> list[dict]:
    """The run's escalations, then every open improvement action in the store for its services.

    An action's description is free text from the tracker: left out unless ``include_text``.
    """
    rows = [
        {"id": e["id"], "kind": "escalation", "service": e["service"], "domain": _words(e["domain"]),
         "target": _targets_in(e["facts"]), "reason": e.get("reason") or e["title"], "trigger": e["trigger"],
         "action": e["action"], "owner_role": _words(e["owner_role"]), "owner": "", "due_date": e["due"],
         "status": e["status"]}
        for e in verdict["escalations"]
    ]
    aliases = {}
    for service_id, name, alias_json in db.execute("SELECT id, service, aliases FROM service").fetchall():
        for alias in [service_id, name] + (json.loads(alias_json) if alias_json else []):
            aliases[alias] = name
    in_scope = {s["service"] for s in verdict["services"]}
    as_of = date.fromisoformat(verdict["as_of"])
    for action_id, raw, source_kind, source_id, description, owner, owner_role, due, status, escalation_id in db.execute(
        """SELECT id, service, source_kind, source_id, description, owner, owner_role, due_date, status, escalation_id
           FROM improvement_action WHERE coalesce(status, '') NOT IN ('completed', 'closed', 'cancelled')
           ORDER BY due_date IS NULL, due_date, id"""
    ).fetchall():
        service = aliases.get(raw, raw)
        if service not in in_scope:
            continue
        overdue = due is not None and date.fromisoformat(due) < as_of
        source = " ".join(p for p in (_words(source_kind), source_id) if p)
        rows.append({
            "id": action_id, "kind": "improvement action", "service": service,
            "domain": _words(DOMAIN_OF_SOURCE.get(source_kind or "", "")), "target": "",
            "reason": f"from {source}" if source else (f"answers escalation {escalation_id}" if escalation_id else ""),
            "trigger": "", "action": (description or "") if include_text else "(text left out: --include-text)",
            "owner_role": _words(owner_role), "owner": owner or "",
            "due_date": due or "", "status": "overdue" if overdue else status or "not recorded",
        })
    return rows


def _words(code: str | None) -> str:
    """A code as words: nominated_individual -> nominated individual."""
    return (code or "").replace("_", " ")


def neutralise(value) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def to_csv(rows: list[dict]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([HEADINGS[column] for column in COLUMNS])
    for row in rows:
        writer.writerow([neutralise(row[column]) for column in COLUMNS])
    return buffer.getvalue()


#: UK day-first dates, as registered managers read them.
UK_DATE = "DD/MM/YYYY"


def write_xlsx(rows: list[dict], path: Path, by_location: bool = False) -> None:
    """The tracker as a workbook: one sheet, or one sheet per location. Due dates are date cells."""
    from openpyxl import Workbook

    book = Workbook()
    book.remove(book.active)
    if not by_location:
        _sheet(book, "Actions", rows)
    else:
        by_service: dict[str, list[dict]] = {}
        for row in rows:
            by_service.setdefault(row["service"], []).append(row)
        for service in sorted(by_service) or ["Actions"]:
            _sheet(book, _sheet_title(service, book.sheetnames), by_service.get(service, []))
    book.save(path)


def _sheet_title(name: str, taken: list[str]) -> str:
    """A sheet title Excel accepts: at most 31 characters, none of the characters []:*?/ or a
    backslash, and unique."""
    title = "".join("-" if c in "[]:*?/\\" else c for c in name)[:31] or "Location"
    candidate, n = title, 2
    while candidate in taken:
        suffix = f" ({n})"
        candidate, n = title[: 31 - len(suffix)] + suffix, n + 1
    return candidate


def _sheet(book, title: str, rows: list[dict]) -> None:
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    sheet = book.create_sheet(title)
    sheet.append([HEADINGS[column] for column in COLUMNS])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for number, row in enumerate(rows, 2):
        for column, name in enumerate(COLUMNS, 1):
            cell = sheet.cell(row=number, column=column)
            if name == "due_date" and row[name]:
                cell.value = date.fromisoformat(row[name])
                cell.number_format = UK_DATE
                continue
            text = "" if row[name] is None else str(row[name])
            cell.value = text
            # openpyxl stores any text that starts with "=" as a formula: keep it text, marked as such.
            cell.data_type = "s"
            if text.startswith(FORMULA_STARTS):
                cell.alignment = Alignment(wrap_text=name == "action")
                cell.quotePrefix = True
    widths = {"id": 16, "action": 60, "reason": 60, "trigger": 40, "service": 26}
    for column, name in enumerate(COLUMNS, 1):
        sheet.column_dimensions[get_column_letter(column)].width = widths.get(name, 16)
    sheet.freeze_panes = "A2"
    sheet.auto_filter.ref = sheet.dimensions
