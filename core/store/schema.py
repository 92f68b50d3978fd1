"""The record tables: each kind's columns from its model, created or given new columns as models
gain fields, with the names the store keeps for its own tables.
"""

from __future__ import annotations

import json
import typing
from datetime import date, datetime
from typing import Any

from sqlite_utils import Database

from carecheck.errors import InputError
from carecheck.records import Record
from carecheck.records.model import to_column  # noqa: F401 (re-exported: how the store keeps a value)


def column_type(annotation: Any) -> type:
    """The SQLite column type for a model field: dates and lists are stored as text."""
    for candidate in typing.get_args(annotation) or (annotation,):
        if typing.get_origin(candidate) is typing.Annotated:
            return column_type(typing.get_args(candidate)[0])
        if candidate is bool or candidate is int:
            return int
        if candidate is float:
            return float
    return str


def record_columns(model: type[Record]) -> dict[str, type]:
    """A record table's columns: the content fields, then source_row, content_hash and import_id."""
    columns = {name: column_type(model.model_fields[name].annotation) for name in model.content_fields()}
    columns.update({"source_row": int, "content_hash": int, "import_id": int})
    return columns


#: The store's own tables: no plugin's record kind may take these names.
STORE_TABLES = frozenset({
    "imports", "rejected_rows", "record_history", "runs", "target_results", "run_failures", "bank_holidays",
    "field_findings", "id_clashes", "plugin_kinds", "waivers", "actions", "store_info", "rulesets",
})


def is_reserved_kind(kind: str) -> bool:
    """Whether a plugin's record kind may not take this name: the store's own tables, SQLite's, and
    carecheck's temporary ones (carecheck's own kinds are refused separately)."""
    return kind in STORE_TABLES or kind.startswith(("sqlite_", "_", "carecheck_"))


def sync_record_tables(db: Database, registry) -> None:
    """Create each record kind's table, or add the columns its model has gained.

    A plugin's kind is also noted in ``plugin_kinds``, so its records stay known (and listed as
    kept without a plugin) once the plugin is uninstalled; a field whose type differs from the
    column the store holds is an error naming it, never a silent conversion.
    """
    for model in registry.kinds.values():
        table = db[model.kind]
        columns = record_columns(model)
        plugin = registry.kind_plugins.get(model.kind)
        if plugin is not None:
            if is_reserved_kind(model.kind):
                raise InputError(f"record kind {model.kind!r} of plugin {plugin}: the name is reserved for the store")
            stored = table.columns_dict if table.exists() else {}
            for name, kind in columns.items():
                if name in stored and stored[name] is not kind:
                    raise InputError(
                        f"record kind {model.kind!r} of plugin {plugin}: field {name!r} is now {kind.__name__} but "
                        f"the store holds it as {stored[name].__name__}; keep the field's type, or give the new "
                        "field a new name")
        if not table.exists():
            with db.atomic():
                table.create(columns, pk="id")
        existing = set(table.columns_dict)
        for name, kind in columns.items():
            if name not in existing:
                table.add_column(name, kind)
        if plugin is not None:
            with db.atomic():
                db.execute("INSERT INTO plugin_kinds (kind, plugin, title) VALUES (?, ?, ?) ON CONFLICT (kind) "
                           "DO UPDATE SET plugin = excluded.plugin, title = excluded.title",
                           [model.kind, plugin, model.title])
        # Indexes for the service with its event date (a location's records, its newest record),
        # the event date (periods), and every reference to another record.
        wanted = [["service", model.event_field], [model.event_field]] + [
            [name] for name in model.references() if column_type(model.model_fields[name].annotation) is not list
            and "list" not in str(model.model_fields[name].annotation)
        ] + [list(columns_) for columns_ in model.indexes]
        have = {tuple(index.columns) for index in table.indexes}
        for columns_ in wanted:
            if tuple(columns_) not in have:
                table.create_index(columns_, if_not_exists=True)


