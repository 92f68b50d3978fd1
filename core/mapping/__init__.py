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
from carecheck.errors import MappingError, problem_message
from carecheck.records import Record
from carecheck.yamlfile import read_yaml
from carecheck.mapping.readers import (  # noqa: F401 (re-exported)
    _codes, _field_reader, _joined_reader, _key_reader, _lookup_reader, month_first_only, _seconds_dropped, _SLASHED, _source_date_reader, SOURCE_KINDS, source_lookups,
)
from carecheck.mapping.model import FieldMap, Lookup, Mapping, RowCondition  # noqa: F401 (re-exported)










def render_validation_errors(errors: list[dict]) -> str:
    """Pydantic errors as ``key.path: message`` parts, without quoting the input values."""
    parts = []
    for error in errors:
        location = ".".join(str(part) for part in error["loc"]) or "(top level)"
        parts.append(f"{location}: {problem_message(error)}")
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


def _fields_fit(mapping: Mapping, model: type[Record], source_label: str) -> list[str]:
    """The model's content fields, once the mapping is known to be for this kind and its fields."""
    if mapping.kind and mapping.kind != model.kind:
        raise MappingError(f"{source_label}: the mapping is for kind {mapping.kind!r}, not {model.kind!r}")
    content = model.content_fields()
    for name in mapping.fields:
        if name not in content:
            raise MappingError(
                f"{source_label}: mapping fields.{name}: {model.kind} has no field {name!r}"
            )
    return content


def _row_conditions(mapping: Mapping, find, found: str, source_label: str) -> list:
    """The only_rows conditions, each with the column it reads."""
    conditions = []
    for condition in mapping.only_rows:
        column = find(condition.column)
        if column is None:
            raise MappingError(f"{source_label}: missing column {condition.column!r} named by only_rows "
                               f"(columns found: {found})")
        conditions.append((column, condition))
    return conditions


def _several_columns(name: str, spec: FieldMap, field_kind: str, mapping: Mapping, find, found: str,
                     source_label: str, lookup_values) -> tuple[Callable[[dict], Any], str]:
    """A field read through a lookup into stored records, or from several columns joined: its reader
    and what it reads, in words."""
    if spec.lookup is not None:
        lookup = spec.lookup
        missing = [column for column in lookup.key if find(column) is None]
        if missing:
            raise MappingError(f"{source_label}: missing column {missing[0]!r} named by the lookup of field {name} "
                               f"(columns found: {found})")
        values = lookup_values(lookup) if lookup_values else {}
        return (_lookup_reader([find(c) for c in lookup.key], lookup, values),
                f"{lookup.kind}.{lookup.field} by " + " + ".join(lookup.key))
    missing = [column for column in spec.columns if find(column) is None]
    if missing:
        raise MappingError(f"{source_label}: missing column {missing[0]!r} named by the mapping (field {name}; "
                           f"columns found: {found})")
    joined = [find(column) for column in spec.columns]
    return _joined_reader(joined, spec, field_kind, mapping.date_format), " + ".join(joined)


def compile_mapping(
    mapping: Mapping | None, model: type[Record], columns: list[str], source_label: str,
    lookup_values: Callable[[Lookup], dict[str, Any]] | None = None,
) -> CompiledMapping:
    """Fit ``mapping`` (or none) to a source with ``columns``; raise MappingError if it cannot fit.

    The error for a missing required column names the column the mapping expected.
    """
    mapping = mapping or Mapping()
    content = _fields_fit(mapping, model, source_label)
    by_normal = {_normalise(column): column for column in columns}
    found = ", ".join(repr(column) for column in columns) or "none"

    def find(name: str) -> str | None:
        """A column the mapping names, matched as automatic matching does (case, spaces, hyphens)."""
        return name if name in columns else by_normal.get(_normalise(name))

    ignored = {_normalise(name) for name in mapping.ignore}
    true_words = {w.strip().lower() for w in mapping.true_values}
    false_words = {w.strip().lower() for w in mapping.false_values}
    conditions = _row_conditions(mapping, find, found, source_label)

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
        if spec.lookup is not None or spec.columns is not None:
            reader, used[name] = _several_columns(name, spec, field_kind, mapping, find, found, source_label,
                                                  lookup_values)
            readers.append((name, reader))
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






















