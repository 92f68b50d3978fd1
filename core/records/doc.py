"""Generate ``docs/records.md`` from the record models, so the two cannot drift.

Regenerate with ``python -m carecheck.records.doc docs/records.md``; a test fails when the file
and the models disagree.
"""

from __future__ import annotations

import sys
import typing
from pathlib import Path

from carecheck.records import RECORD_MODELS, Record

HEADER = """# Evidence records

<!-- Generated from carecheck/records.py by `python -m carecheck.records.doc docs/records.md`. Do not edit. -->

Every source carecheck reads ends up as one of these record kinds. A mapping file
(see [mappings.md](mappings.md)) names the source column for each field; a column that already
has the field's name needs no mapping. Dates are read day-first (`03/04/2026` is 3 April 2026) or
as ISO 8601; times without an offset are Europe/London. Yes/no fields read `Y`, `Yes`, `TRUE`, `1`
(and their opposites). Several values in one cell are joined with `;`. A field marked *empty:
unknown* is stored empty when the export leaves it blank, or gives a value that cannot be read (the
record is kept, and the import lists the value as a finding): carecheck never reads it as "no".

Fields marked *free text* may hold personal details: carecheck never quotes them in messages or
reports. Fields marked *refers to* hold the id of another record; a reference that points at no
record is reported as a data-quality finding (`carecheck records`).

## How values are stored

Each kind is a table of the store (SQLite) named after the kind, one column per field. A domain's
SQL (`ctx.rows`) reads them as follows:

| field type | stored as | example |
|---|---|---|
| date | ISO 8601 text `YYYY-MM-DD` | `2026-06-01` |
| date and time | ISO 8601 text in Europe/London time with its UTC offset; a date alone (`YYYY-MM-DD`) when the export gave no time | `2026-06-01T09:00:00+01:00` |
| yes/no | integer `1` or `0` | `1` |
| number, count, score | integer or real | `79.0` |
| one of (a code) | lower-case text, one of the listed values | `moderate` |
| list (ids, aliases) | a JSON array of text | `["S001","Oak"]` |
| text, free text | text | |
| unknown (left blank, or unreadable) | SQL `NULL`: never `0`, `''` or "no" | |

Dates and times therefore compare and sort as text: `occurred_at >= '2026-06-01'` holds for every
time on or after 1 June, and `substr(occurred_at, 1, 10)` is the day. The `service` column holds
the name, id or alias the export used; `ctx.service(raw)` gives the location's canonical name.

Every kind also carries provenance, set on import: `source_row` and `content_hash` are stored with
the record, and its `import_id` leads to the import (`imports` table) that holds `source_file`,
the source system (`source_name`) and the import time. A record's provenance names the latest
import that saw it; the earlier versions of a changed record are in `record_history`.
"""


def _type_name(annotation) -> str:
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        inner, *metadata = typing.get_args(annotation)
        return _type_name(inner)
    if origin is typing.Literal:
        return "one of " + ", ".join(f"`{value}`" for value in typing.get_args(annotation))
    if origin in (typing.Union, getattr(__import__("types"), "UnionType", None)):
        parts = [a for a in typing.get_args(annotation) if a is not type(None)]
        names = [_type_name(part) for part in parts]
        if names == ["date and time", "date"]:
            return "date and time (a date alone when no time is given: its shift is unknown)"
        return " or ".join(names)
    if origin is list:
        return "list of " + _type_name(typing.get_args(annotation)[0])
    names = {"str": "text", "int": "whole number", "float": "number", "bool": "yes/no",
             "date": "date", "datetime": "date and time"}
    return names.get(getattr(annotation, "__name__", str(annotation)), str(annotation))


def _notes(model: type[Record], name: str) -> str:
    info = model.model_fields[name]
    notes = []
    if info.is_required():
        notes.append("**required**")
    elif info.get_default(call_default_factory=True) is None:
        # Nothing stands in for a value the export does not give: empty is unknown, not "no".
        notes.append("empty: unknown")
    extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
    if extra.get("free_text"):
        notes.append("*free text*")
    if "ref" in extra:
        target = extra["ref"]
        notes.append(f"*refers to* the kind named in `{target[1:]}`" if target.startswith("@") else f"*refers to* `{target}`")
    if name == model.event_field:
        notes.append("sets the review period")
    return ", ".join(notes)


def render() -> str:
    lines = [HEADER]
    lines.append("| kind | title | event date |\n|---|---|---|")
    for model in RECORD_MODELS:
        lines.append(f"| [`{model.kind}`](#{model.kind}) | {model.title} | `{model.event_field}` |")
    for model in RECORD_MODELS:
        lines.append("\n" + render_kind(model))
    return "\n".join(lines) + "\n"


def render_kind(model: type[Record]) -> str:
    """One kind's section: its fields, their types, notes and descriptions (a plugin's kind too:
    ``carecheck schema record KIND --markdown``)."""
    lines = [f"## {model.kind}\n\n{model.title}. {(model.__doc__ or '').strip()}\n",
             "| field | type | notes | description |\n|---|---|---|---|"]
    for name in model.content_fields():
        info = model.model_fields[name]
        lines.append(f"| `{name}` | {_type_name(info.annotation)} | {_notes(model, name)} | {info.description or ''} |")
    return "\n".join(lines)


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else None
    text = render()
    if target:
        target.write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
