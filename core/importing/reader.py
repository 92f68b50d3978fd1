"""Reading a source's rows into batches of column values, rejections and findings: in this process,
or in a forked reader that streams batches through a pipe while the parent writes (a big file).
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Iterator

from pydantic import ValidationError

from carecheck.adapter_api import Adapter, RowProblem
from carecheck.dates import LONDON
from carecheck.errors import InputError
from carecheck.mapping import (
    CompiledMapping,
    month_first_only,
)
from carecheck.records import Record
from carecheck.records.fastrows import Fallback, FastRows
from carecheck.store import to_column

BATCH_ROWS = 5_000
#: Event dates before this are implausible for the evidence of a care service today.
EARLIEST = "2000-01-01"
#: Distinct values of a text field an import summary shows.
VALUES_SHOWN = 10


#: Fields whose values an import summary never lists: ids, and the names of people.
PEOPLE_AND_IDS = ("id", "service", "owner", "registered_manager", "visitor")


@dataclass
class Rejection:
    row: int
    field: str
    reason: str


class _OneField:
    """A validation error cut down to one field's problems, for its reason."""

    def __init__(self, errors: list[dict]):
        self._errors = errors

    def errors(self) -> list[dict]:
        return self._errors


def _only(error: ValidationError, name: str) -> _OneField:
    return _OneField([e for e in error.errors() if e["loc"] and str(e["loc"][0]) == name])


def _is_date(annotation) -> bool:
    import typing
    from datetime import date

    for candidate in typing.get_args(annotation) or (annotation,):
        if typing.get_origin(candidate) is typing.Annotated:
            if _is_date(typing.get_args(candidate)[0]):
                return True
        elif isinstance(candidate, type) and issubclass(candidate, date):
            return True
    return False


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


@dataclass
class _Batch:
    """What the reading half hands the writing half: accepted rows and rejected rows."""

    accepted: list[tuple]
    rejected: list[tuple]
    rejections: list[Rejection]
    rows_read: int
    rows_rejected: int
    rows_left_out: int = 0
    #: (import id, source file, row, field, reason) of optional values left empty
    findings: list[tuple] = field(default_factory=list)
    #: field -> distinct values seen (up to VALUES_SHOWN + 1), for the import summary
    values: dict[str, set] = field(default_factory=dict)
    #: rows whose id held invisible characters or another Unicode form, cleaned
    ids_cleaned: int = 0
    #: (import id, source file, row, field, reason) of rows kept with an implausible event date
    flags: list[tuple] = field(default_factory=list)


class _Reader:
    """The reading half of an import: rows to column values (or rejections), in batches.

    It touches no database, so it can run in a forked process while the writer inserts.
    """

    def __init__(self, model: type[Record], compiled: CompiledMapping, import_id: int, source_file: str):
        self.model = model
        self.compiled = compiled
        self.import_id = import_id
        self.source_file = source_file
        self.content = model.content_fields()
        self.dates = {name for name in self.content if _is_date(model.model_fields[name].annotation)}
        self.required = set(model.required_fields())
        self.event_index = self.content.index(model.event_field)
        self.latest = (datetime.now(LONDON).date() + timedelta(days=1)).isoformat()
        used = compiled.columns_used.get("id")
        self.id_column = used if used and " + " not in used and used != "(default)" else None
        # The words of short text and code fields (not ids, people or free text), so a user can check
        # them against a domain's words ("Medicine" against "medication").
        refs = set(model.references()) | model.free_text_fields()
        self.watched = [(i, name) for i, name in enumerate(self.content)
                        if name not in refs and name not in PEOPLE_AND_IDS and not name.endswith(("_id", "_by"))
                        and model.condition_names().get(name) == "text"]
        self.seen: dict[str, set] = {name: set() for _, name in self.watched}
        self.conditions = bool(compiled.conditions)
        fast = FastRows(model, dict(compiled.readers), compiled.plain_columns)
        self.fast = fast if fast.usable else None
        self._new_batch()

    def _new_batch(self) -> None:
        self.accepted: list[tuple] = []
        self.rejected: list[tuple] = []
        self.rejections: list[Rejection] = []
        self.rows_read = 0
        self.rows_rejected = 0
        self.rows_left_out = 0
        self.findings: list[tuple] = []
        self.ids_cleaned = 0
        self.flags: list[tuple] = []

    def take(self) -> _Batch:
        batch = _Batch(self.accepted, self.rejected, self.rejections, self.rows_read, self.rows_rejected,
                       self.rows_left_out, self.findings,
                       {name: set(seen) for name, seen in self.seen.items() if seen}, self.ids_cleaned,
                       self.flags)
        self._new_batch()
        return batch

    def reject(self, row: int, field_name: str, reason: str) -> None:
        self.rows_rejected += 1
        self.rejected.append((self.import_id, self.source_file, row, field_name, reason))
        self.rejections.append(Rejection(row, field_name, reason))

    def _month_first(self, row_number: int, row: dict, fields) -> None:
        """Refuse the whole file when a date field holds a value only month-first reading allows."""
        for name in fields:
            column = self.compiled.columns_used.get(name)
            value = row.get(column) if column else None
            if name in self.dates and month_first_only(value):
                raise InputError(
                    f"{self.source_file}: row {row_number}: column {column!r} holds {value.strip()!r}, a date "
                    f"only month-first reading allows, so the file's other dates would be misread day-first; "
                    f"add date_format: \"%m/%d/%Y\" to the mapping (or format: on the field)")

    def _left_empty(self, row_number: int, name: str, reason: str) -> None:
        """An optional value that cannot be read: the field stays empty, the record is kept."""
        self.findings.append((self.import_id, self.source_file, row_number, name, reason))

    def _slow(self, row_number: int, row: dict) -> tuple | None:
        values, problems = self.compiled.transform(row)
        if problems:
            self._month_first(row_number, row, [f for f, _ in problems])
            required = [(f, r) for f, r in problems if f in self.required]
            if required:
                self.reject(row_number, ", ".join(f for f, _ in problems), "; ".join(f"{f}: {r}" for f, r in problems))
                return None
            for name, reason in problems:
                self._left_empty(row_number, name, reason)
        for _ in range(len(self.content)):  # each pass leaves at least one more optional field empty
            try:
                record = self.model.model_validate(values)
                break
            except ValidationError as error:
                self._month_first(row_number, row, [str(e["loc"][0]) for e in error.errors() if e["loc"]])
                bad = {str(e["loc"][0]) for e in error.errors() if e["loc"]}
                if not bad or bad & self.required or not bad <= set(values):
                    self.reject(row_number, *_row_rejection(error, self.model))
                    return None
                for name in sorted(bad):
                    _, reason = _row_rejection(_only(error, name), self.model)
                    self._left_empty(row_number, name, reason.removeprefix(f"{name}: "))
                    del values[name]
        else:  # never reached: each pass empties a field, and there are only so many
            self.reject(row_number, "(row)", "its values could not be read")
            return None
        data = record.model_dump()
        return tuple(to_column(data[name]) for name in self.content)

    def read(self, row_number: int, row) -> None:
        self.rows_read += 1
        if isinstance(row, RowProblem):
            self.reject(row_number, "(row)", str(row))
            return
        if self.conditions and not self.compiled.keep(row):
            self.rows_left_out += 1  # a row of another kind in the same export (only_rows)
            return
        content = None
        if self.fast is not None:
            try:
                content = self.fast(row)
            except Fallback:
                content = None
        if content is None:
            content = self._slow(row_number, row)
            if content is None:
                return
        event = content[self.event_index]
        if event is not None and (event < EARLIEST or event[:10] > self.latest):
            # Stored, but never a review period's evidence nor its freshness: flagged instead.
            self.flags.append((self.import_id, self.source_file, row_number, self.model.event_field,
                               f"an implausible event date ({event[:10]}): before 2000 or after the import"))
        raw_id = row.get(self.id_column) if self.id_column else None
        if raw_id.__class__ is str and not raw_id.isascii() and raw_id.strip() != content[0]:
            self.ids_cleaned += 1
        for index, name in self.watched:
            value = content[index]
            seen = self.seen[name]
            if value is not None and len(seen) <= VALUES_SHOWN:
                seen.add(value)
        # A signed 64-bit integer: compact in the store, and JSON-safe in record_history.
        digest = int.from_bytes(hashlib.blake2b(repr(content).encode(), digest_size=8).digest(), "big", signed=True)
        self.accepted.append(content + (row_number, digest, self.import_id))

    def full(self) -> bool:
        return len(self.accepted) + len(self.rejected) >= BATCH_ROWS

    def batches(self, rows) -> Iterator[_Batch]:
        for row_number, row in rows:
            self.read(row_number, row)
            if self.full():
                yield self.take()
        yield self.take()


#: Sources bigger than this are read in a forked process while the store is written.
PIPELINE_BYTES = 4 << 20


def _forked_batches(reader: _Reader, rows) -> Iterator[_Batch]:
    """Batches read in a forked child and sent over a pipe, so reading and writing overlap on two cores."""
    import multiprocessing

    context = multiprocessing.get_context("fork")
    receive, send = context.Pipe(duplex=False)

    parent = os.getpid()

    def child() -> None:
        # The child's copy of the reading end would keep the pipe open after the parent died, and
        # a full pipe would then block it for ever: with it closed, a gone parent is a broken pipe.
        receive.close()
        code = 0
        try:
            for batch in reader.batches(rows):
                if os.getppid() != parent:
                    raise SystemExit(1)  # the parent was killed and this child re-parented
                send.send(batch)
            send.send(None)
        except BaseException as error:  # noqa: BLE001 - handed to the parent, which raises it
            try:
                send.send(error)
            except Exception:
                send.send(RuntimeError(f"{type(error).__name__}: {error}"))
            code = 1
        finally:
            send.close()
            os._exit(code)  # never run the parent's finalizers (its SQLite connection) in the child

    process = context.Process(target=child, daemon=True)
    process.start()
    send.close()
    try:
        while True:
            item = receive.recv()
            if item is None:
                break
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        receive.close()
        if process.is_alive():
            process.terminate()
        process.join()


def _batches(reader: _Reader, source, path: Path, adapter: Adapter) -> Iterator[_Batch]:
    import multiprocessing

    forkable = getattr(adapter, "fork_safe", False) and "fork" in multiprocessing.get_all_start_methods()
    if forkable and path.stat().st_size > PIPELINE_BYTES:
        return _forked_batches(reader, source.rows)
    return reader.batches(source.rows)
