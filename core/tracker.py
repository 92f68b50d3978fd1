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

COLUMNS = ["id", "kind", "service", "domain", "target", "trigger", "action", "owner_role", "owner", "due_date", "status"]
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
DOMAIN_OF_SOURCE = {
    "incident": "incident_learning",
    "safeguarding_concern": "safeguarding_recording",
    "oversight_visit": "provider_oversight",
}


def _targets_in(facts: dict) -> str:
    return ", ".join(dict.fromkeys(name.split(".")[0] for name in facts if "." in name))


def tracker_rows(db: Database, verdict: dict) -> list[dict]:
    """The run's escalations, then every open improvement action in the store for its services."""
    rows = [
        {"id": e["id"], "kind": "escalation", "service": e["service"], "domain": e["domain"],
         "target": _targets_in(e["facts"]), "trigger": e["trigger"], "action": e["action"], "owner_role": e["owner_role"],
         "owner": "", "due_date": e["due"], "status": e["status"]}
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
           FROM improvement_action WHERE status NOT IN ('completed', 'closed', 'cancelled')
           ORDER BY due_date IS NULL, due_date, id"""
    ).fetchall():
        service = aliases.get(raw, raw)
        if service not in in_scope:
            continue
        overdue = due is not None and date.fromisoformat(due) < as_of
        rows.append({
            "id": action_id, "kind": "improvement_action", "service": service,
            "domain": DOMAIN_OF_SOURCE.get(source_kind or "", ""), "target": "",
            "trigger": " ".join(p for p in (source_kind, source_id) if p) or (f"escalation {escalation_id}" if escalation_id else ""),
            "action": description or "", "owner_role": owner_role or "", "owner": owner or "",
            "due_date": due or "", "status": "overdue" if overdue else status,
        })
    return rows


def neutralise(value) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def to_csv(rows: list[dict]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for row in rows:
        writer.writerow([neutralise(row[column]) for column in COLUMNS])
    return buffer.getvalue()


def write_xlsx(rows: list[dict], path: Path) -> None:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    book = Workbook()
    sheet = book.active
    sheet.title = "Actions"
    sheet.append(COLUMNS)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for number, row in enumerate(rows, 2):
        for column, name in enumerate(COLUMNS, 1):
            text = "" if row[name] is None else str(row[name])
            cell = sheet.cell(row=number, column=column)
            cell.value = text
            # openpyxl stores any text that starts with "=" as a formula: keep it text, marked as such.
            cell.data_type = "s"
            if text.startswith(FORMULA_STARTS):
                cell.alignment = Alignment(wrap_text=name == "action")
                cell.quotePrefix = True
    widths = {"id": 16, "action": 60, "trigger": 40, "service": 26}
    for column, name in enumerate(COLUMNS, 1):
        sheet.column_dimensions[get_column_letter(column)].width = widths.get(name, 16)
    sheet.freeze_panes = "A2"
    sheet.auto_filter.ref = sheet.dimensions
    book.save(path)
