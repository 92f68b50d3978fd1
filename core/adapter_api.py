"""What an adapter is: something that turns one source (a file, a table, a query) into rows.

Adapters stream: a source is read row by row, so memory stays flat whatever its size (a JSON
array, which has to be parsed whole, is the documented exception). An adapter reports problems
with the file as :class:`~carecheck.errors.InputError` naming the file; problems with single
rows are left to the importer, which rejects the row and goes on.

This module is the whole API for adapter authors (``__all__``); docs/plugins/adapter-tutorial.md
builds an adapter with it.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, ClassVar, Iterator

from pydantic import BaseModel, ConfigDict, Field

from carecheck.errors import InputError

__all__ = ["Adapter", "AdapterOptions", "SourceRows", "RowProblem", "InputError", "Field"]


class RowProblem(str):
    """Yielded instead of a row's cells when an adapter cannot read that row.

    The importer rejects the row with this text as the reason and goes on with the next one.
    """


class AdapterOptions(BaseModel):
    """Options an adapter accepts (``--option key=value`` or a manifest entry's ``options``)."""

    model_config = ConfigDict(extra="forbid")


@dataclass
class SourceRows:
    """An open source: its column names and an iterator of ``(row_number, {column: value})``.

    ``row_number`` is the number a person would look for in the source: the line in a CSV or
    JSON Lines file (the header is line 1), the row in a spreadsheet, the position in a table.

    ``columns`` must be complete when :meth:`Adapter.open` returns, before any row is read: the
    mapping is checked against it first (a mapped column the source lacks is refused before a
    row is imported). A source that cannot know every column before reading (JSON Lines) gives
    those of its first row, as carecheck's JSON adapter does.
    """

    columns: list[str]
    rows: Iterator[tuple[int, dict[str, Any]]]
    label: str
    close: Callable[[], None] = field(default=lambda: None)

    def __enter__(self) -> "SourceRows":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class Adapter(ABC):
    """Base class for adapters. Subclasses set the class attributes and implement :meth:`open`."""

    #: Name users give to ``--adapter``.
    name: ClassVar[str]
    #: One line shown by ``carecheck plugins``.
    description: ClassVar[str] = ""
    #: File name endings this adapter reads by default, lower case with the dot (``.csv``).
    extensions: ClassVar[tuple[str, ...]] = ()
    #: The pydantic model of the adapter's options.
    options_model: ClassVar[type[AdapterOptions]] = AdapterOptions
    #: True when an open source can be read in a forked process (a plain file, no connection):
    #: large sources are then read while the store is written.
    fork_safe: ClassVar[bool] = False

    def describe_options(self) -> list[dict[str, Any]]:
        """Each option this adapter takes: its name, type, default and help."""
        schema = self.options_model.model_json_schema()
        out = []
        for name, info in self.options_model.model_fields.items():
            prop = schema.get("properties", {}).get(name, {})
            kind = prop.get("type") or " or ".join(p.get("type", "?") for p in prop.get("anyOf", []) if p.get("type") != "null")
            out.append({"name": name, "type": kind or "text", "default": info.get_default(call_default_factory=True),
                        "help": info.description or ""})
        return out

    def parse_options(self, options: dict[str, Any] | None) -> AdapterOptions:
        return self.options_model.model_validate(options or {})

    @abstractmethod
    def open(self, path: Path, options: AdapterOptions) -> SourceRows:
        """Open ``path`` and return its rows. Raise ``InputError`` for a file that cannot be read."""
