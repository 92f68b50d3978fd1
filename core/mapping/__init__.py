"""Mapping files: how a source's columns become a record kind's canonical fields.

A mapping is YAML::

    kind: incident                # optional; must agree with --kind when both are given
    source_system: ExampleCare    # recorded as provenance
    key: [Home, Incident No]      # the column or columns that identify a record (default: the id field)
    date_format: "%d/%m/%Y %H:%M" # optional default for every date field (default: day-first or ISO)
    true_values: [Done]           # extra words read as yes
    false_values: [Not done]      # extra words read as no
    fields:
      service: Home
      occurred_at: {column: "Date of incident", format: "%d/%m/%Y %H:%M"}
      harm_level: {column: Harm, values: {"No harm": none, "Minor": low}}

A field not named under ``fields`` is taken from a column of the same name (case, spaces and
hyphens ignored), so a source that already uses carecheck's names needs no mapping at all.
"""

from __future__ import annotations

import re
import typing
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, Callable

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from carecheck.dates import DateParseError, parse_date, parse_datetime, parse_timestamp
from carecheck.errors import MappingError
from carecheck.records import Record
from carecheck.yamlfile import read_yaml


class Lookup(BaseModel):
    """A field read from a stored record of another kind, found by an id in the row."""

    model_config = ConfigDict(extra="forbid")

    kind: str = Field(description="The record kind to look in (imported earlier).")
    key: list[str] = Field(description="The column (or columns, joined with separator) holding that record's id.")
    field: str = Field(description="The field of the found record to take.")
    ignore_case: bool = Field(default=False, description="Match ids ignoring case.")
    separator: str = Field(default="/", description="Joins a composite key, as the other kind's mapping did.")

    @field_validator("key", mode="before")
    @classmethod
    def _key_list(cls, value):
        return [value] if isinstance(value, str) else value


class FieldMap(BaseModel):
    """How one canonical field is read."""

    model_config = ConfigDict(extra="forbid")

    column: str | None = Field(default=None, description="The source column.")
    columns: list[str] | None = Field(
        default=None, description="Several source columns read as one value (a date and a time): text cells are "
                                  "joined with one space; typed date and time cells are combined. Not with column.")
    format: str | None = Field(default=None, description="strptime format for a date or time field.")
    values: dict[str, Any] = Field(default_factory=dict, description="Local words to canonical values.")
    unmapped: Any = Field(default=None, description="The value for a word values does not list (an enumerated "
                                                     "field only); without it, such a word is not read.")
    lookup: Lookup | None = Field(default=None, description="Read the field from a stored record of another kind, "
                                                            "found by an id in this row. Not with column or columns.")
    default: Any = Field(default=None, description="Value when the column is absent or the cell empty.")

    @model_validator(mode="after")
    def _one_source(self):
        if sum(x is not None for x in (self.column, self.columns, self.lookup)) > 1:
            raise ValueError("give one of column, columns or lookup")
        if self.columns is not None and len(self.columns) < 2:
            raise ValueError("columns needs two or more columns (use column for one)")
        return self


class RowCondition(BaseModel):
    """A condition a row must meet to be read as this kind (cells trimmed, case ignored)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    column: str = Field(description="The source column the condition reads.")
    filled: bool | None = Field(default=None, description="true: the cell has a value; false: it is empty.")
    equals: str | None = Field(default=None, description="The cell equals this word.")
    in_: list[str] | None = Field(default=None, alias="in", description="The cell is one of these words.")

    @model_validator(mode="after")
    def _one_test(self):
        given = [name for name in ("filled", "equals", "in_") if getattr(self, name) is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of filled, equals or in")
        return self

    @field_validator("equals", mode="before")
    @classmethod
    def _word(cls, value):
        return None if value is None else str(value)

    @field_validator("in_", mode="before")
    @classmethod
    def _words(cls, value):
        return [str(v) for v in value] if isinstance(value, list) else value

    def holds(self, cell: Any) -> bool:
        text = "" if cell is None else str(cell).strip().lower()
        if self.filled is not None:
            return bool(text) == self.filled
        if self.equals is not None:
            return text == self.equals.strip().lower()
        return text in {word.strip().lower() for word in self.in_ or ()}


class Mapping(BaseModel):
    """A mapping file."""

    model_config = ConfigDict(extra="forbid")

    kind: str | None = None
    source_system: str | None = None
    key: list[str] | None = None
    key_separator: str = "/"
    date_format: str | None = None
    true_values: list[str] = Field(default_factory=list)
    false_values: list[str] = Field(default_factory=list)
    fields: dict[str, FieldMap] = Field(default_factory=dict)
    only_rows: list[RowCondition] = Field(
        default_factory=list, description="Conditions every row read as this kind must meet; other rows are left out.")
    ignore: list[str] = Field(default_factory=list, description="Columns never matched to a field by name.")

    @field_validator("only_rows", mode="before")
    @classmethod
    def _conditions(cls, value):
        return [value] if isinstance(value, dict) else value

    @field_validator("key", mode="before")
    @classmethod
    def _key_list(cls, value):
        return [value] if isinstance(value, str) else value

    @field_validator("fields", mode="before")
    @classmethod
    def _field_shorthand(cls, value):
        if isinstance(value, dict):
            return {k: {"column": v} if isinstance(v, str) else v for k, v in value.items()}
        return value

    @field_validator("true_values", "false_values", mode="before")
    @classmethod
    def _word_list(cls, value):
        return [str(v) for v in value] if isinstance(value, list) else value


def render_validation_errors(errors: list[dict]) -> str:
    """Pydantic errors as ``key.path: message`` parts, without quoting the input values."""
    parts = []
    for error in errors:
        location = ".".join(str(part) for part in error["loc"]) or "(top level)"
        message = error["msg"].removeprefix("Value error, ")
        parts.append(f"{location}: {message}")
    return "; ".join(parts)


def load_mapping(path: Path) -> Mapping:
    """Read and validate a mapping file."""
    data = read_yaml(path, "mapping file", MappingError)
    if not isinstance(data, dict):
        raise MappingError(f"{path}: a mapping file must be a YAML mapping of keys")
    try:
        return Mapping.model_validate(data)
    except ValidationError as error:
        raise MappingError(f"{path}: {render_validation_errors(error.errors())}") from None


def _normalise(name: str) -> str:
    return name.strip().lower().replace(" ", "_").replace("-", "_")


def _annotation_kind(annotation: Any) -> str:
    """'datetime', 'date', 'bool', 'list' or 'other' for a field's declared type."""
    for candidate in typing.get_args(annotation) or (annotation,):
        origin = typing.get_origin(candidate)
        if origin is typing.Annotated:
            return _annotation_kind(typing.get_args(candidate)[0])
        if candidate is datetime:
            return "datetime"
        if candidate is date:
            return "date"
        if candidate is bool:
            return "bool"
        if origin is list:
            return "list"
    return "other"


@dataclass
class CompiledMapping:
    """A mapping fitted to one source's columns: turns a row into canonical field values."""

    model: type[Record]
    source_system: str | None
    readers: list[tuple[str, Callable[[dict], Any]]]
    #: canonical field -> source column(s) it reads, for messages and docs
    columns_used: dict[str, str]
    #: fields read straight from one column, with no value map, format or default (the fast path reads these itself)
    plain_columns: dict[str, str] = field(default_factory=dict)
    #: (column, condition) pairs every row read as this kind must meet
    conditions: list[tuple[str, "RowCondition"]] = field(default_factory=list)

    def keep(self, row: dict) -> bool:
        """Whether a row is read as this kind (``only_rows``); the others are left out."""
        return all(condition.holds(row.get(column)) for column, condition in self.conditions)

    def transform(self, row: dict) -> tuple[dict[str, Any], list[tuple[str, str]]]:
        """Canonical values for one row, and the fields that could not be read (field, reason)."""
        values: dict[str, Any] = {}
        problems: list[tuple[str, str]] = []
        for name, reader in self.readers:
            try:
                value = reader(row)
            except (DateParseError, ValueError) as error:
                problems.append((name, str(error)))
                continue
            if value is not None and value != "":
                values[name] = value
        return values, problems


def lookups_of(mapping: Mapping | None) -> list[Lookup]:
    """The lookups a mapping makes, in field order."""
    return [spec.lookup for spec in (mapping.fields.values() if mapping else ()) if spec.lookup is not None]


def compile_mapping(
    mapping: Mapping | None, model: type[Record], columns: list[str], source_label: str,
    lookup_values: Callable[[Lookup], dict[str, Any]] | None = None,
) -> CompiledMapping:
    """Fit ``mapping`` (or none) to a source with ``columns``; raise MappingError if it cannot fit.

    The error for a missing required column names the column the mapping expected.
    """
    mapping = mapping or Mapping()
    if mapping.kind and mapping.kind != model.kind:
        raise MappingError(f"{source_label}: the mapping is for kind {mapping.kind!r}, not {model.kind!r}")
    content = model.content_fields()
    for name in mapping.fields:
        if name not in content:
            raise MappingError(
                f"{source_label}: mapping fields.{name}: {model.kind} has no field {name!r}"
            )
    by_normal = {_normalise(column): column for column in columns}
    found = ", ".join(repr(column) for column in columns) or "none"

    def find(name: str) -> str | None:
        """A column the mapping names, matched as automatic matching does (case, spaces, hyphens)."""
        return name if name in columns else by_normal.get(_normalise(name))

    ignored = {_normalise(name) for name in mapping.ignore}
    true_words = {w.strip().lower() for w in mapping.true_values}
    false_words = {w.strip().lower() for w in mapping.false_values}
    conditions = []
    for condition in mapping.only_rows:
        column = find(condition.column)
        if column is None:
            raise MappingError(f"{source_label}: missing column {condition.column!r} named by only_rows "
                               f"(columns found: {found})")
        conditions.append((column, condition))

    readers: list[tuple[str, Callable[[dict], Any]]] = []
    used: dict[str, str] = {}
    plain_columns: dict[str, str] = {}
    required = set(model.required_fields())
    key_columns = mapping.key
    if key_columns:
        missing = [column for column in key_columns if find(column) is None]
        if missing:
            raise MappingError(f"{source_label}: missing key column {missing[0]!r} named by the mapping "
                               f"(columns found: {found})")
        key_columns = [find(column) for column in key_columns]
        readers.append(("id", _key_reader(key_columns, mapping.key_separator)))
        used["id"] = " + ".join(key_columns)

    for name in content:
        if name == "id" and key_columns:
            continue
        spec = mapping.fields.get(name, FieldMap())
        field_kind = _annotation_kind(model.model_fields[name].annotation)
        if spec.lookup is not None:
            lookup = spec.lookup
            missing = [column for column in lookup.key if find(column) is None]
            if missing:
                raise MappingError(f"{source_label}: missing column {missing[0]!r} named by the lookup of field {name} "
                                   f"(columns found: {found})")
            values = lookup_values(lookup) if lookup_values else {}
            readers.append((name, _lookup_reader([find(c) for c in lookup.key], lookup, values)))
            used[name] = f"{lookup.kind}.{lookup.field} by " + " + ".join(lookup.key)
            continue
        if spec.columns is not None:
            missing = [column for column in spec.columns if find(column) is None]
            if missing:
                raise MappingError(f"{source_label}: missing column {missing[0]!r} named by the mapping (field {name}; "
                                   f"columns found: {found})")
            joined = [find(column) for column in spec.columns]
            readers.append((name, _joined_reader(joined, spec, field_kind, mapping.date_format)))
            used[name] = " + ".join(joined)
            continue
        column = spec.column
        if column is not None and find(column) is None:
            if spec.default is None and name in required:
                raise MappingError(f"{source_label}: missing required column {column!r} (field {name}; "
                                   f"columns found: {found})")
            if spec.default is None:
                raise MappingError(f"{source_label}: missing column {column!r} named by the mapping (field {name}; "
                                   f"columns found: {found})")
            column = None
        elif column is not None:
            column = find(column)
        if column is None and name not in mapping.fields and _normalise(name) not in ignored:
            column = by_normal.get(_normalise(name))
        if column is None and spec.default is None:
            source_date = _source_date_reader(model, name, mapping, find, lookup_values)
            if source_date is not None:  # an action with no date of its own: its source record's date
                readers.append((name, source_date))
                used[name] = "the source record's date"
                continue
            if name in required:
                raise MappingError(f"{source_label}: missing required column {name!r} (field {name}; "
                                   f"columns found: {found})")
            continue
        codes = _codes(model.model_fields[name].annotation)
        readers.append((name, _field_reader(column, spec, field_kind, mapping.date_format, true_words, false_words,
                                            codes)))
        used[name] = column or "(default)"
        plain = (column is not None and not spec.values and spec.default is None
                 and not (field_kind in ("date", "datetime") and (spec.format or mapping.date_format))
                 and not (field_kind == "bool" and (true_words or false_words)))
        if plain:
            plain_columns[name] = column
    return CompiledMapping(model, mapping.source_system, readers, used, plain_columns, conditions)


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
    from carecheck.records import KINDS

    return [Lookup(kind=kind, key=["source_id"], field=KINDS[kind].event_field) for kind in SOURCE_KINDS]


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
