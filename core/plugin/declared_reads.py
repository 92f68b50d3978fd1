"""A domain sees the store read-only, and only the record kinds it declares in ``reads``.

While a domain's own code runs, an SQLite authorizer on the connection refuses any write and any
table outside its ``reads`` (schema-qualified names included), and ``PRAGMA query_only`` is on.
Under ``--workers`` a kind is a temporary view holding one worker's share of the services: reading
the view is allowed, reading the table behind it by its ``main.`` name is not.

The authorizer alone is not enough: SQLite 3.40 never asks it about the undeclared table in
``FULL JOIN ... USING``, ``JOIN ... USING`` or ``NATURAL JOIN`` when no column of it is named. So
before a statement of ``Context.rows`` runs, :meth:`DeclaredReads.vet` reads its ``EXPLAIN``
program: every table or index it opens must belong to a declared kind (by root page), and every
virtual table it opens must be ``json_each`` or ``json_tree``; the authorizer stays as a second
layer. SQLite asks the authorizer only while it prepares a statement, and a statement's program is
vetted once per run, so this costs a run nothing it can measure. The core's own reads while a domain runs (bank holidays fetched for
the working days a domain counts) pass through :func:`core_statements`; the core writes nothing
on the connection then (the failure sink has a connection of its own).
"""

from __future__ import annotations

import re
import sqlite3
from contextlib import contextmanager
from typing import Iterator

from carecheck.errors import CarecheckError

# Tables SQLite itself reads while it prepares a statement (the schema; json_each's first use).
_SCHEMA = {"sqlite_master", "sqlite_schema", "sqlite_temp_master", "sqlite_temp_schema"}
_TABLE_FUNCTIONS = {"json_each", "json_tree"}
_ALWAYS = {sqlite3.SQLITE_SELECT, sqlite3.SQLITE_FUNCTION, sqlite3.SQLITE_RECURSIVE}

_VERBS = {"SQLITE_INSERT": "write to", "SQLITE_DELETE": "write to", "SQLITE_UPDATE": "write to"}
_ACTIONS = {getattr(sqlite3, name): _VERBS.get(name, name.removeprefix("SQLITE_").lower().replace("_", " "))
            for name in ("SQLITE_INSERT", "SQLITE_UPDATE", "SQLITE_DELETE", "SQLITE_CREATE_TABLE",
                         "SQLITE_CREATE_TEMP_TABLE", "SQLITE_CREATE_VIEW", "SQLITE_CREATE_TEMP_VIEW",
                         "SQLITE_CREATE_INDEX", "SQLITE_CREATE_TEMP_INDEX", "SQLITE_CREATE_TRIGGER",
                         "SQLITE_CREATE_TEMP_TRIGGER", "SQLITE_DROP_TABLE", "SQLITE_DROP_TEMP_TABLE",
                         "SQLITE_DROP_VIEW", "SQLITE_DROP_INDEX", "SQLITE_DROP_TRIGGER", "SQLITE_PRAGMA",
                         "SQLITE_ATTACH", "SQLITE_DETACH", "SQLITE_TRANSACTION", "SQLITE_SAVEPOINT",
                         "SQLITE_ALTER_TABLE", "SQLITE_ANALYZE", "SQLITE_REINDEX", "SQLITE_CREATE_VTABLE",
                         "SQLITE_DROP_VTABLE") if hasattr(sqlite3, name)}


_VIEW_WRITE = re.compile(r"cannot modify (\S+) because it is a view")


class UndeclaredAccess(CarecheckError):
    """A domain wrote to the store or read a table outside its ``reads``."""


class DeclaredReads:
    """The authorizer for one domain on one connection (see the module's docstring)."""

    def __init__(self, conn: sqlite3.Connection, domain: str, plugin: str, reads: tuple[str, ...]):
        self.conn = conn
        self.domain = domain
        self.plugin = plugin
        self.reads = {kind.lower() for kind in reads}
        self.views = {row[0].lower() for row in conn.execute(
            "SELECT name FROM temp.sqlite_master WHERE type = 'view'")}
        self.tables = self.views | {row[0].lower() for row in conn.execute(
            "SELECT name FROM main.sqlite_master WHERE type IN ('table', 'view')")}
        self.active = False
        self.refused: str | None = None
        self.pages: dict[tuple[int, int], str] = {}
        allowed_tables = self.reads | {"carecheck_share"}
        self.allowed: set[tuple[int, int]] = set()
        for database, schema in ((0, "main"), (1, "temp")):
            for kind, name, table, page in conn.execute(
                    f"SELECT type, name, tbl_name, rootpage FROM {schema}.sqlite_master WHERE rootpage > 0"):
                self.pages[(database, page)] = table if kind == "index" else name
                if (table or "").lower() in allowed_tables and (database == 0 or table.lower() in self.views
                                                                or table.lower() == "carecheck_share"):
                    self.allowed.add((database, page))
        self.virtual: set[str] = set()
        self.vetted: set[str] = set()

    def _learn_table_functions(self) -> None:
        """The virtual tables a domain may open (json_each, json_tree), as their EXPLAIN shows them."""
        self.active = False
        learned = set()
        try:
            for function in _TABLE_FUNCTIONS:
                for row in self.conn.execute(f"EXPLAIN SELECT * FROM {function}('[]')"):
                    if row[1] == "VOpen":
                        learned.add(row[5])
        finally:
            self.active = True
        self.virtual = learned

    def vet(self, sql: str, params: list) -> None:
        """Refuse a statement whose program opens a table, index or virtual table outside the
        domain's reads (see the module's docstring); once per statement text."""
        if sql in self.vetted or sql.lstrip()[:7].upper() == "EXPLAIN":
            return
        for attempt in (1, 2):
            try:
                program = self.conn.execute(f"EXPLAIN {sql}", params).fetchall()
            except sqlite3.DatabaseError:
                if self.refused is not None:
                    raise self.error() from None
                return  # the statement itself fails when it runs, with SQLite's own message
            unknown = self._check_program(program)
            if not unknown:
                break
            # A virtual table's handle changes when SQLite reloads the schema: learn json_each's
            # and json_tree's again, and look at a fresh program once more.
            self._learn_table_functions()
            if attempt == 2:
                self._refuse("read a virtual table other than json_each or json_tree (a pragma or another "
                             "table-valued function): a domain reads only its record kinds")
                raise self.error()
        self.vetted.add(sql)

    def _check_program(self, program: list) -> bool:
        """Refuse a program opening a table or index outside the reads, or writing; say whether it
        opens a virtual table not known to be json_each or json_tree."""
        unknown = False
        for _address, opcode, _p1, p2, p3, p4, *_rest in program:
            if opcode in ("OpenRead", "ReopenIdx"):
                if (p3, p2) not in self.allowed:
                    where = {0: "main", 1: "temp"}.get(p3, "an attached database")
                    name = self.pages.get((p3, p2), f"page {p2}")
                    self._refuse(f"read table {where}.{name}, which is not in its reads "
                                 f"({', '.join(sorted(self.reads)) or 'none'})")
                    raise self.error()
            elif opcode == "OpenWrite":
                self._refuse("write to the store: a domain only reads the store")
                raise self.error()
            elif opcode == "VOpen" and p4 not in self.virtual:
                unknown = True
        return unknown

    def __call__(self, action: int, arg1: str | None, arg2: str | None, schema: str | None,
                 source: str | None) -> int:
        if not self.active or action in _ALWAYS:
            return sqlite3.SQLITE_OK
        if action == sqlite3.SQLITE_READ:
            table = (arg1 or "").lower()
            if table in _SCHEMA or table in _TABLE_FUNCTIONS or (schema is None and table not in self.tables):
                # No schema: a WITH table, or (count(*)) a real table SQLite reads no column of.
                return sqlite3.SQLITE_OK
            via = (source or "").lower()
            if via in self.views and via in self.reads:
                return sqlite3.SQLITE_OK  # the columns behind a worker's view of a declared kind
            if table in self.reads and not (schema == "main" and table in self.views):
                return sqlite3.SQLITE_OK
            whole = " (every service's records, not this worker's share)" if table in self.views & self.reads else ""
            return self._refuse(f"read table {schema or 'main'}.{arg1}{whole}, which is not in its reads "
                                f"({', '.join(sorted(self.reads)) or 'none'})")
        if (arg1 or "").lower() in _SCHEMA:
            if action == sqlite3.SQLITE_UPDATE:
                return sqlite3.SQLITE_OK  # SQLite registering json_each on its first use; query_only stops writes
            # Asked first when a statement would create or drop a table, view, index or trigger.
            return self._refuse("change the store's schema: a domain only reads the store")
        what = _ACTIONS.get(action, f"action {action}")
        return self._refuse(f"{what}{' ' + arg1 if arg1 else ''}: a domain only reads the store")

    def _refuse(self, what: str) -> int:
        if self.refused is None:
            self.refused = what
        return sqlite3.SQLITE_DENY

    def error(self) -> UndeclaredAccess:
        return UndeclaredAccess(f"domain {self.domain!r} of plugin {self.plugin} tried to {self.refused}")


_GUARDS: dict[int, DeclaredReads] = {}


class declared_reads:
    """Run a domain's code under its declared view of the store (see the module's docstring)."""

    def __init__(self, conn: sqlite3.Connection, domain: str, plugin: str, reads: tuple[str, ...]):
        self.conn = conn
        self.guard = DeclaredReads(conn, domain, plugin, reads)

    def __enter__(self) -> DeclaredReads:
        self.conn.execute("PRAGMA query_only = 1")
        self.conn.set_authorizer(self.guard)
        _GUARDS[id(self.conn)] = self.guard
        self.guard.active = True
        return self.guard

    def __exit__(self, kind, error, tb) -> None:
        guard = self.guard
        release(self.conn)
        view = _VIEW_WRITE.search(str(error)) if isinstance(error, sqlite3.OperationalError) else None
        if view and guard.refused is None:
            # A worker's kinds are views, which SQLite refuses to change before asking the authorizer.
            guard.refused = f"write to {view.group(1)}: a domain only reads the store"
        if guard.refused is not None and (error is None or isinstance(error, sqlite3.DatabaseError)):
            # Without an error, the domain caught SQLite's refusal itself: its figures may lack
            # what it could not read, so the run still stops.
            raise guard.error() from error


def vet(conn: sqlite3.Connection, sql: str, params: list) -> None:
    """Vet a domain's statement on ``conn`` if a domain's guard is on it (see :meth:`DeclaredReads.vet`)."""
    guard = _GUARDS.get(id(conn))
    if guard is not None and guard.active:
        guard.vet(sql, params)


def release(conn: sqlite3.Connection) -> None:
    """Take a domain's guard off the connection, if it is still on; safe to call twice (a run calls it
    again once the time limit is off, as the limit's alarm may have cut the guard's own exit short)."""
    guard = _GUARDS.pop(id(conn), None)
    if guard is None:
        return
    guard.active = False
    conn.set_authorizer(None)
    conn.execute("PRAGMA query_only = 0")


@contextmanager
def core_statements(conn: sqlite3.Connection) -> Iterator[None]:
    """The core's own reads while a domain runs on the same connection: not the domain's. (The core
    never writes on it then: ``query_only`` stays on, and a write between two steps of the
    domain's query could abort it.)"""
    guard = _GUARDS.get(id(conn))
    if guard is None:
        yield
        return
    guard.active = False
    try:
        yield
    finally:
        guard.active = True


def guarding(conn: sqlite3.Connection) -> bool:
    """Whether a domain's code is running on ``conn`` (so it must not be written)."""
    return id(conn) in _GUARDS
