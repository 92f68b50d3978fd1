"""Importing one source into the evidence store, all or nothing.

A source is streamed through its adapter and the mapping, each row is validated against its
record kind, and accepted rows are written to a temporary staging table with ``executemany``.
The staged rows are then merged in a few set-based statements: new ids are inserted, changed
rows replace the stored record after the earlier version is copied to ``record_history``, and
unchanged rows are left alone. Everything happens in one transaction, so an error or a crash part
way leaves the store exactly as it was before the file.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Callable

from pydantic import ValidationError
from sqlite_utils import Database

from . import plugin_manager
from .adapter_api import Adapter, RowProblem
from .dates import LONDON
from .errors import InputError
from .mapping import CompiledMapping, Mapping, compile_mapping, load_mapping, render_validation_errors
from .records import Record, model_for
from .store import record_columns, to_column

BATCH_ROWS = 5_000
#: How many rejected rows an import result keeps in memory for display; all go to the store.
SHOWN_REJECTIONS = 50


@dataclass
class ImportRequest:
    path: Path
    kind: str
    adapter: str | None = None
    options: dict[str, Any] = field(default_factory=dict)
    mapping: str | None = None
    source_name: str | None = None


@dataclass
class Rejection:
    row: int
    field: str
    reason: str


@dataclass
class ImportResult:
    path: Path
    kind: str
    adapter: str
    import_id: int | None = None
    skipped: bool = False
    rows_read: int = 0
    rows_accepted: int = 0
    rows_rejected: int = 0
    records_new: int = 0
    records_changed: int = 0
    records_unchanged: int = 0
    rejections: list[Rejection] = field(default_factory=list)


def resolve_adapter(name: str | None, path: Path) -> Adapter:
    adapters = plugin_manager.get_adapters()
    if name is not None:
        if name not in adapters:
            raise InputError(f"unknown adapter {name!r} (available: {', '.join(sorted(adapters))})")
        return adapters[name].item
    suffix = path.suffix.lower()
    for registered in adapters.values():
        if suffix in registered.item.extensions:
            return registered.item
    raise InputError(f"{path}: cannot tell which adapter reads {suffix or 'files without an extension'}; pass --adapter")


def resolve_mapping(value: str | None) -> tuple[Mapping | None, str]:
    """A mapping from a registered name or a path, and a fingerprint of its content."""
    if value is None:
        return None, ""
    registered = plugin_manager.get_mappings()
    path = registered[value].item if value in registered else Path(value)
    mapping = load_mapping(path)
    return mapping, mapping.model_dump_json()


def file_hash(path: Path) -> str:
    digest = hashlib.blake2b(digest_size=20)
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _now() -> str:
    return datetime.now(LONDON).isoformat(timespec="seconds")


def _row_rejection(error: ValidationError, model: type[Record]) -> tuple[str, str]:
    free = model.free_text_fields()
    fields, reasons = [], []
    for problem in error.errors():
        name = str(problem["loc"][0]) if problem["loc"] else "(row)"
        message = problem["msg"].removeprefix("Value error, ")
        if problem["type"] == "missing":
            message = "required value is empty"
        elif problem["type"] == "literal_error" and name not in free and isinstance(problem.get("input"), str):
            message += f" (got {problem['input'][:30]!r})"
        fields.append(name)
        reasons.append(f"{name}: {message}")
    return ", ".join(dict.fromkeys(fields)), "; ".join(reasons)


class _Importer:
    def __init__(self, db: Database, model: type[Record], compiled: CompiledMapping, import_id: int,
                 source_file: str, source_name: str | None, result: ImportResult):
        self.db = db
        self.model = model
        self.compiled = compiled
        self.import_id = import_id
        self.source_file = source_file
        self.source_system = source_name or compiled.source_system
        self.result = result
        self.columns = list(record_columns(model))
        self.content = model.content_fields()
        self.stage = f"stage_{model.kind}"
        self.rejected: list[tuple] = []
        self.accepted: list[tuple] = []
        self.imported_at = _now()

    def reject(self, row: int, field_name: str, reason: str) -> None:
        self.result.rows_rejected += 1
        self.rejected.append((self.import_id, self.source_file, row, field_name, reason))
        if len(self.result.rejections) < SHOWN_REJECTIONS:
            self.result.rejections.append(Rejection(row, field_name, reason))

    def accept(self, row: int, values: dict[str, Any]) -> None:
        try:
            record = self.model.model_validate(values)
        except ValidationError as error:
            self.reject(row, *_row_rejection(error, self.model))
            return
        data = record.model_dump()
        content = tuple(to_column(data[name]) for name in self.content)
        digest = hashlib.blake2b(repr(content).encode(), digest_size=16).hexdigest()
        provenance = {
            "source_system": self.source_system,
            "source_file": self.source_file,
            "source_row": row,
            "imported_at": self.imported_at,
            "content_hash": digest,
            "import_id": self.import_id,
        }
        by_name = dict(zip(self.content, content))
        by_name.update(provenance)
        self.accepted.append(tuple(by_name[name] for name in self.columns) + (row,))
        self.result.rows_accepted += 1

    def flush(self) -> None:
        conn = self.db.conn
        if self.accepted:
            marks = ", ".join("?" for _ in range(len(self.columns) + 1))
            conn.executemany(f"INSERT INTO temp.{self.stage} VALUES ({marks})", self.accepted)
            self.accepted.clear()
        if self.rejected:
            conn.executemany(
                "INSERT INTO rejected_rows (import_id, source_file, row, field, reason) VALUES (?, ?, ?, ?, ?)",
                self.rejected,
            )
            self.rejected.clear()

    def create_stage(self) -> None:
        columns = ", ".join(f"[{name}]" for name in self.columns)
        self.db.conn.execute(f"DROP TABLE IF EXISTS temp.{self.stage}")
        self.db.conn.execute(f"CREATE TEMP TABLE {self.stage} ({columns}, _row INTEGER)")

    def reject_duplicates(self) -> None:
        """A second row with an id already seen in the same file is rejected, naming the first."""
        duplicates = self.db.conn.execute(
            f"""SELECT s._row, first._row FROM temp.{self.stage} s
                JOIN (SELECT id, MIN(_row) AS _row FROM temp.{self.stage} GROUP BY id HAVING COUNT(*) > 1) first
                ON s.id = first.id AND s._row > first._row ORDER BY s._row"""
        ).fetchall()
        for row, first in duplicates:
            self.reject(row, "id", f"id: the same id as row {first}")
            self.result.rows_accepted -= 1
        if duplicates:
            self.db.conn.executemany(
                f"DELETE FROM temp.{self.stage} WHERE _row = ?", [(row,) for row, _ in duplicates]
            )

    def merge(self) -> None:
        conn = self.db.conn
        table = self.model.kind
        (self.result.records_new,) = conn.execute(
            f"SELECT COUNT(*) FROM temp.{self.stage} s WHERE NOT EXISTS (SELECT 1 FROM [{table}] t WHERE t.id = s.id)"
        ).fetchone()
        json_args = ", ".join(f"'{name}', t.[{name}]" for name in self.columns)
        cursor = conn.execute(
            f"""INSERT INTO record_history
                (kind, record_id, content_hash, data, import_id, superseded_at, superseded_by_import)
                SELECT ?, t.id, t.content_hash, json_object({json_args}), t.import_id, ?, ?
                FROM [{table}] t JOIN temp.{self.stage} s ON s.id = t.id
                WHERE s.content_hash IS NOT t.content_hash""",
            (table, self.imported_at, self.import_id),
        )
        self.result.records_changed = cursor.rowcount
        self.result.records_unchanged = (
            self.result.rows_accepted - self.result.records_new - self.result.records_changed
        )
        names = ", ".join(f"[{name}]" for name in self.columns)
        updates = ", ".join(f"[{name}] = excluded.[{name}]" for name in self.columns if name != "id")
        conn.execute(
            f"""INSERT INTO [{table}] ({names}) SELECT {names} FROM temp.{self.stage} WHERE true
                ON CONFLICT(id) DO UPDATE SET {updates}
                WHERE [{table}].content_hash IS NOT excluded.content_hash"""
        )
        conn.execute(f"DROP TABLE temp.{self.stage}")


def import_source(
    db: Database,
    request: ImportRequest,
    *,
    force: bool = False,
    progress: Callable[[int], None] | None = None,
) -> ImportResult:
    """Import one source. Raises InputError (and changes nothing) if the source cannot be used."""
    path = Path(request.path)
    model = model_for(request.kind)
    adapter = resolve_adapter(request.adapter, path)
    result = ImportResult(path=path, kind=model.kind, adapter=adapter.name)
    try:
        options = adapter.parse_options(request.options)
    except ValidationError as error:
        raise InputError(f"{path}: adapter {adapter.name} options: {render_validation_errors(error.errors())}") from None
    mapping, mapping_fingerprint = resolve_mapping(request.mapping)
    if not path.exists():
        raise InputError(f"{path}: no such file")
    if path.is_dir():
        raise InputError(f"{path}: is a folder, not a file")
    fingerprint = json.dumps(
        [model.kind, adapter.name, options.model_dump(), mapping_fingerprint, request.source_name],
        sort_keys=True, default=str,
    )
    options_hash = hashlib.blake2b(fingerprint.encode(), digest_size=20).hexdigest()
    content_hash = file_hash(path)
    if not force:
        previous = db.execute(
            "SELECT id FROM imports WHERE file_hash = ? AND options_hash = ? AND finished_at IS NOT NULL "
            "ORDER BY id DESC LIMIT 1",
            [content_hash, options_hash],
        ).fetchone()
        if previous:
            result.skipped = True
            result.import_id = previous[0]
            return result

    with adapter.open(path, options) as source:
        compiled = compile_mapping(mapping, model, source.columns, str(path))
        with db.atomic():
            cursor = db.conn.execute(
                "INSERT INTO imports (started_at, source_file, source_name, kind, adapter, file_hash, options_hash) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (_now(), source.label, request.source_name, model.kind, adapter.name, content_hash, options_hash),
            )
            result.import_id = cursor.lastrowid
            importer = _Importer(db, model, compiled, result.import_id, source.label, request.source_name, result)
            importer.create_stage()
            for row_number, row in source.rows:
                result.rows_read += 1
                if isinstance(row, RowProblem):
                    importer.reject(row_number, "(row)", str(row))
                else:
                    values, problems = compiled.transform(row)
                    if problems:
                        importer.reject(
                            row_number, ", ".join(f for f, _ in problems), "; ".join(f"{f}: {r}" for f, r in problems)
                        )
                    else:
                        importer.accept(row_number, values)
                if len(importer.accepted) + len(importer.rejected) >= BATCH_ROWS:
                    importer.flush()
                    if progress:
                        progress(result.rows_read)
            importer.flush()
            if result.rows_read == 0:
                raise InputError(f"{path}: the file has a header but no rows")
            importer.reject_duplicates()
            importer.flush()
            importer.merge()
            db.conn.execute(
                """UPDATE imports SET finished_at = ?, rows_read = ?, rows_accepted = ?, rows_rejected = ?,
                   records_new = ?, records_changed = ?, records_unchanged = ? WHERE id = ?""",
                (_now(), result.rows_read, result.rows_accepted, result.rows_rejected, result.records_new,
                 result.records_changed, result.records_unchanged, result.import_id),
            )
    assert result.rows_read == result.rows_accepted + result.rows_rejected
    return result
