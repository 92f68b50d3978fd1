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
import sqlite3
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Callable

from pydantic import ValidationError
from sqlite_utils import Database

from carecheck import plugin_manager
from carecheck.adapter_api import Adapter
from carecheck.dates import LONDON
from carecheck.errors import InputError
from carecheck.mapping import (
    Mapping, compile_mapping, load_mapping, render_validation_errors,
)
from carecheck.records import Record
from carecheck.store import cached_bank_holidays, record_columns, registry_of
from carecheck.importing.reader import _Batch, _batches, _Reader, Rejection, VALUES_SHOWN

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
class ImportResult:
    path: Path
    kind: str
    adapter: str
    import_id: int | None = None
    skipped: bool = False
    rows_read: int = 0
    rows_accepted: int = 0
    rows_rejected: int = 0
    #: Rows of another kind in the same export, left out by the mapping's only_rows.
    rows_left_out: int = 0
    #: Accepted rows with an optional field left empty because its value could not be read.
    rows_with_findings: int = 0
    #: field -> how many of its values were left empty
    fields_left_empty: dict[str, int] = field(default_factory=dict)
    #: field -> distinct values seen in its short text or code field (up to VALUES_SHOWN + 1)
    values_seen: dict[str, set] = field(default_factory=dict)
    #: Rows whose id held invisible characters (zero-width, bidirectional marks, a BOM) or another
    #: Unicode form, cleaned before it was compared or stored.
    ids_cleaned: int = 0
    #: Rows kept with an implausible event date (before 2000, or after the import's clock): flagged,
    #: and never counted in a review period.
    implausible_dates: int = 0
    records_new: int = 0
    records_changed: int = 0
    records_unchanged: int = 0
    rejections: list[Rejection] = field(default_factory=list)
    #: A location the records name that the service register does not know -> the rows naming it
    unknown_locations: dict[str, list[int]] = field(default_factory=dict)


def _unknown_locations(db: Database, model: type[Record], import_id: int) -> dict[str, list[int]]:
    """The locations this import's records name that the service register does not know (by id,
    name or alias), each with the rows naming it: such records are judged at no location."""
    if model.kind == "service" or "service" not in model.model_fields:
        return {}
    known: set[str] = set()
    for service_id, name, alias_json in db.execute("SELECT id, service, aliases FROM service").fetchall():
        known.update([service_id, name, *(json.loads(alias_json) if alias_json else [])])
    if not known:
        return {}  # no register: every name the records give is a location of its own
    table = model.kind
    # The (service, event) index answers which names there are; rows are read for unknown ones only.
    unknown = [value for (value,) in db.execute(f"SELECT DISTINCT service FROM [{table}]").fetchall()
               if value is not None and value not in known]
    found = {}
    for value in sorted(unknown):
        rows = [row for (row,) in db.execute(
            f"SELECT source_row FROM [{table}] WHERE service = ? AND import_id = ? ORDER BY source_row",
            [value, import_id]).fetchall()]
        if rows:
            found[value] = rows
    return found


def resolve_adapter(name: str | None, path: Path, registry=None) -> Adapter:
    adapters = (registry or plugin_manager.registry()).adapters
    if name is not None:
        if name not in adapters:
            raise InputError(f"unknown adapter {name!r} (available: {', '.join(sorted(adapters))})")
        return adapters[name].item
    suffix = path.suffix.lower()
    for registered in adapters.values():
        if suffix in registered.item.extensions:
            return registered.item
    raise InputError(f"{path}: cannot tell which adapter reads {suffix or 'files without an extension'}; pass --adapter")


def resolve_mapping(value: str | None, registry=None) -> tuple[Mapping | None, str]:
    """A mapping from a registered name or a path, and a fingerprint of its content."""
    if value is None:
        return None, ""
    registered = (registry or plugin_manager.registry()).mappings
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






def _lookup_id(lookup) -> str:
    return f"{lookup.kind}.{lookup.field}.{lookup.ignore_case}"


def _check_lookup(lookup, kinds) -> None:
    if lookup.kind not in kinds:
        raise InputError(f"mapping lookup: unknown record kind {lookup.kind!r}")
    if lookup.field not in kinds[lookup.kind].content_fields():
        raise InputError(f"mapping lookup: {lookup.kind} has no field {lookup.field!r}")


def _looked_up(db: Database, lookup) -> dict[str, Any]:
    """The stored records a lookup reads: id (casefolded when asked) -> the field."""
    _check_lookup(lookup, registry_of(db).kinds)
    rows = db.execute(f"SELECT id, [{lookup.field}] FROM [{lookup.kind}]").fetchall()
    return {(key.casefold() if lookup.ignore_case else key): value for key, value in rows if value is not None}


def _lookup_digest(db: Database, mapping: Mapping | None) -> str:
    """A digest of the stored records a mapping's lookups read, worked out by SQLite, so an
    unchanged file whose looked-up records are unchanged is still skipped cheaply."""
    from carecheck.mapping import lookups_of

    digest = hashlib.blake2b(digest_size=16)
    for lookup in lookups_of(mapping):
        _check_lookup(lookup, registry_of(db).kinds)
        (text,) = db.execute(
            f"SELECT group_concat(id || char(31) || coalesce([{lookup.field}], ''), char(30)) "
            f"FROM (SELECT id, [{lookup.field}] FROM [{lookup.kind}] ORDER BY id)").fetchone()
        digest.update(f"{_lookup_id(lookup)}\x1d{text or ''}\x1c".encode())
    return digest.hexdigest()










class _Writer:
    """The writing half of an import: batches into the record table, on the store's connection.

    Into an empty table rows are plain inserts. Into one that holds records every row is an
    upsert: a temporary trigger copies the earlier version of a changed record into
    ``record_history`` as the upsert replaces it, and a second one stops a row whose id this same
    import has already written, so the batch is redone without it and the row rejected.
    """

    DUPLICATE = "carecheck: duplicate id in one import"

    def __init__(self, db: Database, model: type[Record], import_id: int, source_file: str, result: ImportResult):
        self.db = db
        self.model = model
        self.import_id = import_id
        self.source_file = source_file
        self.result = result
        self.columns = list(record_columns(model))
        self.row_index = len(model.content_fields())  # where source_row sits in an accepted tuple
        self.imported_at = _now()

    def prepare(self) -> None:
        conn = self.db.conn
        table = self.model.kind
        (self.count_before,) = conn.execute(f"SELECT COUNT(*) FROM [{table}]").fetchone()
        names = ", ".join(f"[{name}]" for name in self.columns)
        marks = ", ".join("?" for _ in self.columns)
        self.triggers = self.count_before > 0
        if not self.triggers:
            # Into an empty table nothing can change: plain inserts, and the primary key catches a
            # repeated id. (Triggers would make SQLite keep a statement journal for every row.)
            self.upsert = f"INSERT INTO [{table}] ({names}) VALUES ({marks})"
            return
        json_args = ", ".join(f"'{name}', OLD.[{name}]" for name in self.columns)
        conn.execute("DROP TRIGGER IF EXISTS temp.carecheck_keep_history")
        conn.execute("DROP TRIGGER IF EXISTS temp.carecheck_same_import")
        conn.execute(
            f"""CREATE TEMP TRIGGER carecheck_keep_history BEFORE UPDATE ON main.[{table}]
                WHEN OLD.content_hash IS NOT NEW.content_hash
                BEGIN
                  INSERT INTO record_history
                    (kind, record_id, content_hash, data, import_id, superseded_at, superseded_by_import)
                  VALUES ('{table}', OLD.id, OLD.content_hash, json_object({json_args}), OLD.import_id,
                          '{self.imported_at}', {int(self.import_id)});
                END"""
        )
        conn.execute(
            f"""CREATE TEMP TRIGGER carecheck_same_import BEFORE UPDATE ON main.[{table}]
                WHEN OLD.import_id = NEW.import_id
                BEGIN SELECT RAISE(ABORT, '{self.DUPLICATE}'); END"""
        )
        updates = ", ".join(f"[{name}] = excluded.[{name}]" for name in self.columns if name != "id")
        # An unchanged record is updated too, so its provenance names the latest import that saw it.
        self.upsert = f"INSERT INTO [{table}] ({names}) VALUES ({marks}) ON CONFLICT(id) DO UPDATE SET {updates}"

    def write(self, batch: _Batch) -> None:
        result = self.result
        result.rows_read += batch.rows_read
        result.rows_rejected += batch.rows_rejected
        result.rows_left_out += batch.rows_left_out
        result.ids_cleaned += batch.ids_cleaned
        result.implausible_dates += len(batch.flags)
        if batch.flags:
            self.db.conn.executemany(
                "INSERT INTO field_findings (import_id, source_file, row, field, reason) VALUES (?, ?, ?, ?, ?)",
                batch.flags)
        for name, seen in batch.values.items():
            into = result.values_seen.setdefault(name, set())
            for value in seen:
                if len(into) > VALUES_SHOWN:
                    break
                into.add(value)
        if batch.findings:
            result.rows_with_findings += len({finding[2] for finding in batch.findings})
            for finding in batch.findings:
                result.fields_left_empty[finding[3]] = result.fields_left_empty.get(finding[3], 0) + 1
            self.db.conn.executemany(
                "INSERT INTO field_findings (import_id, source_file, row, field, reason) VALUES (?, ?, ?, ?, ?)",
                batch.findings)
        result.rows_accepted += len(batch.accepted)
        result.rejections.extend(batch.rejections[: max(0, SHOWN_REJECTIONS - len(result.rejections))])
        rejected = list(batch.rejected)
        conn = self.db.conn
        if batch.accepted:
            first_in_batch: dict[str, int] = {}
            keep = []
            for item in batch.accepted:  # a second row with the same id in this batch
                record_id = item[0]
                if record_id in first_in_batch:
                    self._duplicate(rejected, item[self.row_index], first_in_batch[record_id])
                else:
                    first_in_batch[record_id] = item[self.row_index]
                    keep.append(item)
            conn.execute("SAVEPOINT carecheck_batch")
            try:
                conn.executemany(self.upsert, keep)
            except sqlite3.IntegrityError as error:
                if self.DUPLICATE not in str(error) and "UNIQUE constraint failed" not in str(error):
                    raise
                # An id this import wrote in an earlier batch: reject its later rows and redo the batch.
                conn.execute("ROLLBACK TO carecheck_batch")
                earlier = self._written_earlier(list(first_in_batch))
                fresh = []
                for item in keep:
                    if item[0] in earlier:
                        self._duplicate(rejected, item[self.row_index], earlier[item[0]])
                    else:
                        fresh.append(item)
                conn.executemany(self.upsert, fresh)
            conn.execute("RELEASE carecheck_batch")
        if rejected:
            conn.executemany(
                "INSERT INTO rejected_rows (import_id, source_file, row, field, reason) VALUES (?, ?, ?, ?, ?)",
                rejected,
            )

    def _duplicate(self, rejected: list[tuple], row: int, first: int) -> None:
        reason = f"id: the same id as row {first}"
        rejected.append((self.import_id, self.source_file, row, "id", reason))
        self.result.rows_rejected += 1
        self.result.rows_accepted -= 1
        if len(self.result.rejections) < SHOWN_REJECTIONS:
            self.result.rejections.append(Rejection(row, "id", reason))

    def _written_earlier(self, ids: list[str]) -> dict[str, int]:
        found: dict[str, int] = {}
        for start in range(0, len(ids), 30_000):
            chunk = ids[start:start + 30_000]
            marks = ", ".join("?" for _ in chunk)
            found.update(self.db.conn.execute(
                f"SELECT id, source_row FROM [{self.model.kind}] WHERE import_id = ? AND id IN ({marks})",
                [self.import_id, *chunk]).fetchall())
        return found

    def finish(self) -> None:
        conn = self.db.conn
        if self.triggers:
            conn.execute("DROP TRIGGER temp.carecheck_keep_history")
            conn.execute("DROP TRIGGER temp.carecheck_same_import")
        (changed,) = conn.execute(
            "SELECT COUNT(*) FROM record_history WHERE superseded_by_import = ?", [self.import_id]
        ).fetchone()
        (count_after,) = conn.execute(f"SELECT COUNT(*) FROM [{self.model.kind}]").fetchone()
        self.result.records_changed = changed
        self.result.records_new = count_after - self.count_before
        self.result.records_unchanged = self.result.rows_accepted - self.result.records_new - changed
        self.result.rejections.sort(key=lambda r: r.row)


def _keep_calendar(db: Database, model: type[Record]) -> None:
    """Keep the bank holidays of the years the kind's records cover (and the next), so a run need not
    load the holidays package: the event-date index answers the range at once."""
    first, last = db.conn.execute(f"SELECT MIN([{model.event_field}]), MAX([{model.event_field}]) FROM [{model.kind}]").fetchone()
    if not first:
        return
    holidays_for = cached_bank_holidays(db)
    for year in range(int(first[:4]), int(last[:4]) + 2):
        holidays_for(year)


def import_source(
    db: Database,
    request: ImportRequest,
    *,
    force: bool = False,
    progress: Callable[[int], None] | None = None,
) -> ImportResult:
    """Import one source. Raises InputError (and changes nothing) if the source cannot be used."""
    path = Path(request.path)
    registry = registry_of(db)
    model = registry.model_for(request.kind)
    adapter = resolve_adapter(request.adapter, path, registry)
    result = ImportResult(path=path, kind=model.kind, adapter=adapter.name)
    try:
        options = adapter.parse_options(request.options)
    except ValidationError as error:
        raise InputError(f"{path}: adapter {adapter.name} options: {render_validation_errors(error.errors())}") from None
    mapping, mapping_fingerprint = resolve_mapping(request.mapping, registry)
    lookup_digest = _lookup_digest(db, mapping)
    if not path.exists():
        raise InputError(f"{path}: no such file")
    if path.is_dir():
        raise InputError(f"{path}: is a folder, not a file")
    # The looked-up records are part of what the file means: a corrected visit date in the store
    # reaches the actions that look it up on their next import.
    fingerprint = json.dumps(
        [model.kind, adapter.name, options.model_dump(), mapping_fingerprint, request.source_name, lookup_digest],
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

    plugin = registry_of(db).adapters[adapter.name].plugin
    with plugin_manager.plugin_code(plugin, f"adapter {adapter.name!r}"), adapter.open(path, options) as source:
        looked_up: dict[str, dict[str, Any]] = {}

        def lookup_values(lookup) -> dict[str, Any]:
            key = _lookup_id(lookup)
            if key not in looked_up:
                looked_up[key] = _looked_up(db, lookup)
            return looked_up[key]

        compiled = compile_mapping(mapping, model, source.columns, str(path), lookup_values)
        with db.atomic():
            cursor = db.conn.execute(
                "INSERT INTO imports (started_at, source_file, source_name, kind, adapter, file_hash, options_hash, "
                "supplied_fields) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (_now(), source.label, request.source_name or compiled.source_system, model.kind, adapter.name,
                 content_hash, options_hash, json.dumps(sorted(compiled.columns_used))),
            )
            result.import_id = cursor.lastrowid
            reader = _Reader(model, compiled, result.import_id, source.label)
            writer = _Writer(db, model, result.import_id, source.label, result)
            writer.prepare()
            for batch in _batches(reader, source, path, adapter):
                writer.write(batch)
                if progress:
                    progress(result.rows_read)
            writer.finish()
            result.unknown_locations = _unknown_locations(db, model, result.import_id)
            _keep_calendar(db, model)
            db.conn.execute(
                """UPDATE imports SET finished_at = ?, rows_read = ?, rows_accepted = ?, rows_rejected = ?,
                   rows_left_out = ?, records_new = ?, records_changed = ?, records_unchanged = ? WHERE id = ?""",
                (_now(), result.rows_read, result.rows_accepted, result.rows_rejected, result.rows_left_out,
                 result.records_new, result.records_changed, result.records_unchanged, result.import_id),
            )
    assert result.rows_read == result.rows_accepted + result.rows_rejected + result.rows_left_out
    return result
