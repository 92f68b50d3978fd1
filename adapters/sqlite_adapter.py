"""Read a table, or the result of a read-only query, from another SQLite database."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Iterator

from pydantic import Field, model_validator

from carecheck import hookimpl
from carecheck.adapter_api import Adapter, AdapterOptions, SourceRows
from carecheck.errors import InputError

from .sniff import SQLITE_MAGIC, describe_binary, head


class SQLiteOptions(AdapterOptions):
    table: str | None = Field(default=None, description="The table to read (or give query).")
    query: str | None = Field(default=None, description="A SELECT to read, over a read-only connection (or give table).")

    @model_validator(mode="after")
    def _one_of(self):
        if (self.table is None) == (self.query is None):
            raise ValueError("give exactly one of the options table or query")
        return self


class SQLiteAdapter(Adapter):
    name = "sqlite"
    description = "SQLite databases: a table, or a read-only query (read as a stream)"
    extensions = (".db", ".sqlite", ".sqlite3")
    options_model = SQLiteOptions

    def open(self, path: Path, options: SQLiteOptions) -> SourceRows:
        start = head(path, 16)
        if not start.startswith(SQLITE_MAGIC):
            kind = describe_binary(start) or ("an empty file" if not start else "a text or other file")
            raise InputError(f"{path}: this is {kind}, not a SQLite database")
        conn = sqlite3.connect(f"{Path(path).resolve().as_uri()}?mode=ro", uri=True)
        try:
            conn.execute("PRAGMA trusted_schema = OFF")
            conn.execute("PRAGMA query_only = 1")
            conn.set_authorizer(_reads_only)
            if options.table is not None:
                known = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type IN ('table', 'view')")}
                if options.table not in known:
                    raise InputError(f"{path}: no table named {options.table!r}")
                quoted = '"' + options.table.replace('"', '""') + '"'
                cursor = conn.execute(f"SELECT * FROM {quoted}")
                label = f"{path}:{options.table}"
            else:
                try:
                    cursor = conn.execute(options.query)
                except sqlite3.DatabaseError as error:
                    if "not authorized" in str(error) or "authorization denied" in str(error):
                        raise InputError(f"{path}: option query: only reading is allowed (a SELECT, without "
                                         "ATTACH, PRAGMA, VACUUM or any write)") from None
                    raise InputError(f"{path}: the query failed: {error}") from None
                if cursor.description is None:
                    raise InputError(f"{path}: the query returns no rows (only read-only SELECT queries are allowed)")
                label = f"{path}:query"
            columns = [column[0] for column in cursor.description]
        except BaseException:
            conn.close()
            raise
        return SourceRows(columns, _rows(cursor, columns), label, conn.close)


#: What a vendor's database may be asked: reading, and nothing else (no ATTACH, PRAGMA, VACUUM INTO
#: or write, which ``query_only`` alone does not stop from creating a file elsewhere).
_READING = {sqlite3.SQLITE_SELECT, sqlite3.SQLITE_READ, sqlite3.SQLITE_FUNCTION, sqlite3.SQLITE_RECURSIVE}


def _reads_only(action: int, arg1, arg2, schema, source) -> int:
    if action in _READING:
        return sqlite3.SQLITE_OK
    if action == sqlite3.SQLITE_UPDATE and (arg1 or "").lower() in ("sqlite_master", "sqlite_schema"):
        return sqlite3.SQLITE_OK  # SQLite registering an eponymous table (json_each) on first use; mode=ro holds
    return sqlite3.SQLITE_DENY


def _rows(cursor, columns: list[str]) -> Iterator[tuple[int, dict]]:
    number = 0
    while batch := cursor.fetchmany(2000):
        for values in batch:
            number += 1
            yield number, dict(zip(columns, values))


@hookimpl
def carecheck_register_adapters(register):
    register(SQLiteAdapter())
