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

import typing
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, Callable

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from .dates import DateParseError, parse_date, parse_datetime
from .errors import MappingError
from .records import Record
from .yamlfile import read_yaml


class FieldMap(BaseModel):
    """How one canonical field is read."""

    model_config = ConfigDict(extra="forbid")

    column: str | None = Field(default=None, description="The source column.")
    format: str | None = Field(default=None, description="strptime format for a date or time field.")
    values: dict[str, Any] = Field(default_factory=dict, description="Local words to canonical values.")
    default: Any = Field(default=None, description="Value when the column is absent or the cell empty.")


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


def compile_mapping(
    mapping: Mapping | None, model: type[Record], columns: list[str], source_label: str
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
    true_words = {w.strip().lower() for w in mapping.true_values}
    false_words = {w.strip().lower() for w in mapping.false_values}

    readers: list[tuple[str, Callable[[dict], Any]]] = []
    used: dict[str, str] = {}
    plain_columns: dict[str, str] = {}
    required = set(model.required_fields())
    key_columns = mapping.key
    if key_columns:
        missing = [column for column in key_columns if column not in columns]
        if missing:
            raise MappingError(f"{source_label}: missing key column {missing[0]!r} named by the mapping")
        readers.append(("id", _key_reader(key_columns, mapping.key_separator)))
        used["id"] = " + ".join(key_columns)

    for name in content:
        if name == "id" and key_columns:
            continue
        spec = mapping.fields.get(name, FieldMap())
        column = spec.column
        if column is not None and column not in columns:
            if spec.default is None and name in required:
                raise MappingError(f"{source_label}: missing required column {column!r} (field {name})")
            if spec.default is None:
                raise MappingError(f"{source_label}: missing column {column!r} named by the mapping (field {name})")
            column = None
        if column is None and name not in mapping.fields:
            column = by_normal.get(_normalise(name))
        if column is None and spec.default is None:
            if name in required:
                raise MappingError(f"{source_label}: missing required column {name!r} (field {name})")
            continue
        field_kind = _annotation_kind(model.model_fields[name].annotation)
        readers.append((name, _field_reader(column, spec, field_kind, mapping.date_format, true_words, false_words)))
        used[name] = column or "(default)"
        plain = (column is not None and not spec.values and spec.default is None
                 and not (field_kind in ("date", "datetime") and (spec.format or mapping.date_format))
                 and not (field_kind == "bool" and (true_words or false_words)))
        if plain:
            plain_columns[name] = column
    return CompiledMapping(model, mapping.source_system, readers, used, plain_columns)


def _key_reader(key_columns: list[str], separator: str) -> Callable[[dict], Any]:
    def read(row: dict) -> Any:
        parts = [row.get(column) for column in key_columns]
        if any(part is None or str(part).strip() == "" for part in parts):
            return None
        return separator.join(str(part).strip() for part in parts)

    return read


def _field_reader(column, spec: FieldMap, field_kind: str, default_format, true_words, false_words):
    values = {str(k).strip().lower(): v for k, v in spec.values.items()}
    date_format = spec.format or default_format

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
        if field_kind == "bool" and isinstance(value, str):
            word = value.lower()
            if word in true_words:
                return True
            if word in false_words:
                return False
        if date_format and isinstance(value, str):
            if field_kind == "datetime":
                return parse_datetime(value, date_format)
            if field_kind == "date":
                return parse_date(value, date_format)
        return value

    return read
