"""A mapping file as users write it: which column (or columns, or lookup) gives each field, value
maps, date formats and which rows a shared export holds; unknown keys refused.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator


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
