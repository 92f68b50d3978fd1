"""How a mapping reads one field from a source row: a column, split date and time, a lookup into
stored records, joined columns, value maps and day-first dates.
"""

from __future__ import annotations

import re
import typing
from datetime import date, datetime
from typing import Any, Callable

from carecheck.dates import parse_date, parse_datetime, parse_timestamp
from carecheck.mapping.model import FieldMap, Lookup, Mapping


def _key_reader(key_columns: list[str], separator: str) -> Callable[[dict], Any]:
    def read(row: dict) -> Any:
        parts = [row.get(column) for column in key_columns]
        if any(part is None or str(part).strip() == "" for part in parts):
            return None
        return separator.join(str(part).strip() for part in parts)

    return read


def _codes(annotation: Any) -> frozenset[str] | None:
    """The words an enumerated field takes, or None for any other field."""
    if typing.get_origin(annotation) is typing.Literal:
        return frozenset(typing.get_args(annotation))
    for candidate in typing.get_args(annotation) or (annotation,):
        if typing.get_origin(candidate) is typing.Annotated:
            found = _codes(typing.get_args(candidate)[0])
            if found is not None:
                return found
        if typing.get_origin(candidate) is typing.Literal:
            return frozenset(typing.get_args(candidate))
    return None


#: The record kinds an improvement action's source may be, whose event date it can take.
SOURCE_KINDS = ("oversight_visit", "incident", "audit", "safeguarding_concern", "governance_item")


def source_lookups() -> list[Lookup]:
    """What an improvement action with no date of its own looks up: each source kind's event date."""
    from carecheck.records import BUILTIN_KINDS

    return [Lookup(kind=kind, key=["source_id"], field=BUILTIN_KINDS[kind].event_field) for kind in SOURCE_KINDS]


def _source_date_reader(model, name: str, mapping: Mapping, find, lookup_values):
    """For an improvement action whose raised_on no column gives: the event date of the record its
    source_kind and source_id name."""
    if model.kind != "improvement_action" or name != "raised_on" or lookup_values is None:
        return None
    kind_spec, id_spec = mapping.fields.get("source_kind", FieldMap()), mapping.fields.get("source_id", FieldMap())
    id_column = find(id_spec.column or "source_id")
    kind_column = find(kind_spec.column or "source_kind") if kind_spec.default is None else None
    if id_column is None or (kind_column is None and kind_spec.default is None):
        return None
    by_kind = {lookup.kind: lookup_values(lookup) for lookup in source_lookups()}

    def read(row: dict) -> Any:
        kind = kind_spec.default if kind_column is None else row.get(kind_column)
        kind = str(kind).strip().lower().replace(" ", "_") if kind else None
        key = str(row.get(id_column) or "").strip()
        if not kind or not key:
            return None
        found = by_kind.get(kind, {}).get(key)
        if found is None:
            raise ValueError(f"no date of its own, and no {kind} {key!r} in the store to take one from")
        return found[:10]

    return read


def _lookup_reader(columns: list[str], lookup: Lookup, values: dict[str, Any]):
    """A field's value from another kind's stored record, found by the row's key cells."""

    def read(row: dict) -> Any:
        parts = [row.get(column) for column in columns]
        parts = ["" if part is None else str(part).strip() for part in parts]
        if not all(parts):
            return None
        key = lookup.separator.join(parts)
        found = values.get(key.casefold() if lookup.ignore_case else key)
        if found is None:
            raise ValueError(f"no {lookup.kind} {key!r} in the store to take {lookup.field} from")
        return found

    return read


def _joined_reader(columns: list[str], spec: FieldMap, field_kind: str, default_format):
    """One value from several columns: typed date and time cells combined, text cells joined with a
    space. A date with an empty time cell gives a date alone."""
    from datetime import time

    date_format = spec.format or default_format

    def read(row: dict) -> Any:
        cells = [row.get(column) for column in columns]
        cells = [cell.strip() if isinstance(cell, str) else cell for cell in cells]
        filled = [cell for cell in cells if cell is not None and cell != ""]
        if not filled:
            return spec.default
        day = next((c for c in filled if isinstance(c, (date, datetime))), None)
        clock = next((c for c in filled if isinstance(c, time) or (isinstance(c, datetime) and c is not day)), None)
        if day is not None and all(isinstance(c, (date, datetime, time)) for c in filled):
            if clock is None:
                return day.date() if isinstance(day, datetime) else day
            at = clock if isinstance(clock, time) else clock.time()
            return datetime.combine(day if not isinstance(day, datetime) else day.date(), at)
        text = " ".join(c if isinstance(c, str) else c.isoformat() for c in filled)
        if field_kind in ("date", "datetime") and date_format:
            if len(filled) < len(columns) and field_kind == "datetime":
                # The time cell is empty: the date alone, read with the format's date part.
                date_part = date_format.split(" ")[0]
                return parse_date(text, date_part)
            text = _seconds_dropped(text, date_format)
            return parse_datetime(text, date_format) if field_kind == "datetime" else parse_date(text, date_format)
        return text

    return read


_SLASHED = re.compile(r"^\s*(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{2}|\d{4})\b")


def month_first_only(value: Any) -> bool:
    """Whether a date can only be read month-first (04/13/2026): a file that holds one was written
    month-first throughout, and its other dates (04/05/2026) would be misread day-first."""
    if not isinstance(value, str):
        return False
    match = _SLASHED.match(value)
    if not match or not int(match[1]) <= 12 < int(match[2]):
        return False
    year = int(match[3]) + (2000 if len(match[3]) == 2 else 0)
    try:
        date(year, int(match[1]), int(match[2]))  # a real date when read month-first (not 2/30)
    except ValueError:
        return False
    return True


def _seconds_dropped(text: str, fmt: str) -> str:
    """A time with seconds read by a format without them: the seconds are dropped."""
    if "%S" not in fmt and text.count(":") == 2:
        return text.rsplit(":", 1)[0]
    return text


def _field_reader(column, spec: FieldMap, field_kind: str, default_format, true_words, false_words,
                  codes: frozenset[str] | None = None):
    values = {str(k).strip().lower(): v for k, v in spec.values.items()}
    date_format = spec.format or default_format
    unmapped = spec.unmapped

    def read(row: dict) -> Any:
        value = row.get(column) if column is not None else None
        if isinstance(value, str):
            value = value.strip()
        if value is None or value == "":
            return spec.default
        if values:
            key = str(value).strip().lower()
            if key in values:
                value = values[key]
            elif unmapped is not None and codes is not None and key.replace(" ", "_") not in codes:
                value = unmapped
        if field_kind == "bool" and isinstance(value, str):
            word = value.lower()
            if word in true_words:
                return True
            if word in false_words:
                return False
        if date_format and isinstance(value, str):
            if field_kind == "datetime":
                # A format without a time of day reads a date alone, never midnight (night shift).
                return parse_timestamp(value, date_format)
            if field_kind == "date":
                return parse_date(value, date_format)
        return value

    return read
