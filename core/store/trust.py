"""What a file must be before carecheck treats it as an evidence store.

Stores come from other people (a vendor's nightly copy, a fleet's folder of providers), so a store
is untrusted input. Before a command runs any statement of its own on one:

- the file is identified from its header, without SQLite writing anything: a carecheck store
  carries :data:`APPLICATION_ID`; an older carecheck store (made before the id existed) is
  recognised by carecheck's own tables and stamped on its first write; the fleet database carries
  :data:`FLEET_APPLICATION_ID`; anything else is refused, byte-identical and with its mode unchanged;
- its schema is compared with what carecheck itself creates (:func:`schema_findings`): a trigger,
  a view, a virtual table, a generated or retyped column, or an expression or partial index that
  carecheck did not make stops the command, naming the object. SQLite runs a store's triggers and
  evaluates its generated columns and index expressions with the rights of whoever opens it.

Every connection carecheck makes to a store also sets ``PRAGMA trusted_schema = OFF``.
"""

from __future__ import annotations

import os
import sqlite3
import stat
from dataclasses import dataclass
from pathlib import Path

from carecheck.errors import InputError

#: ``PRAGMA application_id`` of a carecheck evidence store ("ccst").
APPLICATION_ID = 0x63637374
#: ``PRAGMA application_id`` of a fleet database ("ccfl").
FLEET_APPLICATION_ID = 0x6363666C
SQLITE_MAGIC = b"SQLite format 3\x00"
#: The first bytes of a write-ahead log (either byte order).
WAL_MAGICS = (b"\x37\x7f\x06\x82", b"\x37\x7f\x06\x83")

# What identify() says a file is.
NEW = "new"                  # no file there
EMPTY = "empty"              # a file of no bytes (SQLite reads it as an empty database)
STORE = "store"              # a carecheck store carrying the application id
OLDER_STORE = "older store"  # a carecheck store made before the application id, known by its tables
FLEET = "fleet database"
OTHER_SQLITE = "other SQLite"
NOT_SQLITE = "not SQLite"


def header(path: Path | str, size: int = 100) -> bytes:
    """The first bytes of a file, read without following a FIFO's writer or a device's stream."""
    descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    try:
        if not stat.S_ISREG(os.fstat(descriptor).st_mode):
            return b""
        return os.read(descriptor, size)
    finally:
        os.close(descriptor)


def application_id(head: bytes) -> int:
    return int.from_bytes(head[68:72], "big") if len(head) >= 72 else 0


def is_sqlite(path: Path | str) -> bool:
    try:
        return header(path, 16).startswith(SQLITE_MAGIC)
    except OSError:
        return False


def identify(path: Path | str) -> str:
    """What the file at ``path`` is (one of the constants above), read without changing it."""
    path = Path(path)
    try:
        head = header(path)
    except FileNotFoundError:
        return NEW
    except IsADirectoryError:
        return NOT_SQLITE
    except OSError as error:
        raise InputError(f"{path}: cannot be read ({error.strerror})") from None
    if not head:
        return EMPTY if path.is_file() else NOT_SQLITE
    if not head.startswith(SQLITE_MAGIC):
        return NOT_SQLITE
    found = application_id(head)
    if found == APPLICATION_ID:
        return STORE
    if found == FLEET_APPLICATION_ID:
        return FLEET
    if found == 0 and _has_store_tables(path):
        return OLDER_STORE
    return OTHER_SQLITE


def _has_store_tables(path: Path) -> bool:
    """An older carecheck store: carecheck's migrations recorded in it, and its own tables."""
    names = _table_names(path, "immutable=1")
    if names is not None and not _looks_like_store(names) and Path(f"{path}-wal").exists():
        # The tables may be only in the write-ahead log, which an immutable read ignores; a
        # read-only open with the log there makes no file.
        names = _table_names(path, "mode=ro") if Path(f"{path}-shm").exists() else names
    return bool(names) and _looks_like_store(names)


def _looks_like_store(names: set[str]) -> bool:
    return {"_sqlite_migrations", "imports", "runs"} <= names


def _table_names(path: Path, mode: str) -> set[str] | None:
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?{mode}", uri=True)
    except sqlite3.Error:
        return None
    try:
        conn.execute("PRAGMA trusted_schema = OFF")
        names = {row[0] for row in conn.execute("SELECT name FROM sqlite_schema WHERE type = 'table'")}
        if "_sqlite_migrations" in names and not conn.execute(
                "SELECT 1 FROM _sqlite_migrations WHERE migration_set = 'carecheck' LIMIT 1").fetchone():
            names.discard("_sqlite_migrations")
        return names
    except sqlite3.Error:
        return None
    finally:
        conn.close()


WHAT = {
    EMPTY: "an empty file",
    FLEET: "a carecheck fleet database, not an evidence store",
    OTHER_SQLITE: "a SQLite database that is not a carecheck store",
    NOT_SQLITE: "not a carecheck store (not a SQLite database)",
}


def require_store(path: Path | str, *, create: bool = False) -> str:
    """The file's identity, or an :class:`InputError` in one line when carecheck must not touch it.
    ``create``: a new path (or an empty file) may become a store."""
    kind = identify(path)
    if kind in (STORE, OLDER_STORE) or (create and kind in (NEW, EMPTY)):
        return kind
    if kind == NEW:
        demo = Path(path).with_name("carecheck-demo.db")
        if demo.exists():  # the demo keeps its store beside the default one
            raise InputError(f"{path}: no evidence store here; the demo's store is {demo.name}: pass --db {demo.name}")
        raise InputError(f"{path}: no evidence store here; import records first (carecheck import) or pass --db")
    if kind == EMPTY:
        raise InputError(f"{path}: no evidence store here (an empty file); import records first (carecheck import)")
    raise InputError(f"{path}: is {WHAT[kind]}; carecheck leaves it unchanged")


# -- the schema --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Finding:
    """One thing in a store's schema that carecheck did not make."""

    blocking: bool
    text: str


@dataclass
class ExpectedSchema:
    tables: dict[str, dict[str, str]]       # table: {column: declared type}
    indexes: set[tuple[str, tuple[str, ...]]]  # (table, columns)


_EXPECTED: dict[tuple[str, ...], ExpectedSchema] = {}


def expected_schema(registry) -> ExpectedSchema:
    """The schema carecheck creates for the record kinds this process knows, built once in memory
    by the same migrations and table sync a new store gets."""
    from sqlite_utils import Database

    from carecheck.store.migrations import migrations
    key = tuple(sorted(registry.kinds))
    if key in _EXPECTED:
        return _EXPECTED[key]
    from carecheck.store.schema import sync_record_tables

    db = Database(memory=True, execute_plugins=False)
    tables: dict[str, dict[str, str]] = {}
    indexes: set[tuple[str, tuple[str, ...]]] = set()

    def seen() -> None:
        for name in db.table_names():
            tables.setdefault(name, {}).update(
                {row[1]: (row[2] or "").upper() for row in db.execute(f"PRAGMA table_xinfo([{name}])")})
            indexes.update((name, tuple(index.columns)) for index in db[name].indexes)

    try:
        # Step by step: a store an earlier carecheck made (not yet migrated by a command that only
        # reads) holds what an earlier migration made and a later one removed.
        for migration in migrations.pending(db):
            migrations.apply(db, stop_before=migration.name)
            seen()
        migrations.apply(db)
        sync_record_tables(db, registry)
        seen()
    finally:
        db.close()
    _EXPECTED[key] = ExpectedSchema(tables, indexes)
    return _EXPECTED[key]


def _sqlite_own(name: str) -> bool:
    return name == "sqlite_sequence" or name.startswith(("sqlite_stat", "sqlite_autoindex_"))


def schema_findings(conn: sqlite3.Connection, registry) -> list[Finding]:
    """Every object in the store's schema that carecheck would not have made (see the module's
    docstring); reads only ``sqlite_schema`` and the schema pragmas."""
    expected = expected_schema(registry)
    objects = conn.execute("SELECT type, name, tbl_name, sql FROM main.sqlite_schema").fetchall()
    tables = {name for kind, name, _t, _s in objects if kind == "table"}
    plugin_kinds: set[str] = set()
    if "plugin_kinds" in tables:
        columns = {row[1] for row in conn.execute("PRAGMA main.table_xinfo(plugin_kinds)")}
        if "kind" in columns:
            plugin_kinds = {row[0] for row in conn.execute("SELECT kind FROM main.plugin_kinds") if isinstance(row[0], str)}
    findings: list[Finding] = []
    for kind, name, table, sql in objects:
        if _sqlite_own(name):
            continue
        if kind in ("trigger", "view"):
            findings.append(Finding(True, f"{kind} {name!r} (carecheck makes no {kind}s; a store's {kind}s would run "
                                          "when carecheck reads or writes it)"))
        elif kind == "table":
            findings.extend(_table_findings(conn, name, sql or "", expected, plugin_kinds))
        elif kind == "index" and sql:
            findings.extend(_index_findings(conn, name, table, expected))
    return findings


def _table_findings(conn, name: str, sql: str, expected: ExpectedSchema, plugin_kinds: set[str]) -> list[Finding]:
    if sql.lstrip()[:14].upper().startswith("CREATE VIRTUAL"):
        return [Finding(True, f"virtual table {name!r} (carecheck makes none)")]
    found = []
    wanted = expected.tables.get(name)
    for _cid, column, declared, _notnull, _default, _pk, hidden in conn.execute(f"PRAGMA main.table_xinfo([{name}])"):
        if hidden in (2, 3):
            found.append(Finding(True, f"generated column {name}.{column} (carecheck makes none; its expression "
                                       "would run as the store is read)"))
        elif wanted is not None and column in wanted and (declared or "").upper() != wanted[column]:
            found.append(Finding(True, f"column {name}.{column} is {declared or 'untyped'}, not "
                                       f"{wanted[column] or 'untyped'} as carecheck makes it"))
        elif wanted is not None and column not in wanted:
            found.append(Finding(False, f"column {name}.{column} is not one carecheck makes; it is never read"))
    if wanted is None and name not in plugin_kinds:
        found.append(Finding(False, f"table {name!r} is not one carecheck makes; it is never read"))
    return found


def _index_findings(conn, name: str, table: str, expected: ExpectedSchema) -> list[Finding]:
    columns = conn.execute(f"PRAGMA main.index_xinfo([{name}])").fetchall()
    if any(row[1] == -2 for row in columns):
        return [Finding(True, f"expression index {name!r} on {table} (carecheck makes none; its expression "
                              "would run as the store is written)")]
    listed = {row[1]: row for row in conn.execute(f"PRAGMA main.index_list([{table}])")}
    if name in listed and listed[name][4]:
        return [Finding(True, f"partial index {name!r} on {table} (carecheck makes none)")]
    keys = tuple(row[2] for row in columns if row[5])  # the key columns, not the rowid
    if (table, keys) in expected.indexes:
        return []
    return [Finding(False, f"index {name!r} on {table} ({', '.join(keys)}) is not one carecheck makes; kept")]


def check_schema(conn: sqlite3.Connection, path: Path | str, notes: list[str] | None = None, registry=None) -> None:
    """Stop with one line naming the first object carecheck did not make; notes for the harmless ones."""
    if registry is None:
        from carecheck import plugin_manager

        registry = plugin_manager.registry()
    findings = schema_findings(conn, registry)
    for finding in findings:
        if finding.blocking:
            raise InputError(f"{path}: the store holds a {finding.text}; carecheck will not open it "
                             f"(carecheck doctor {path} lists every finding)")
    if notes is not None:
        notes.extend(f"{path}: {finding.text}" for finding in findings if not finding.blocking)


def untrusted(conn: sqlite3.Connection) -> sqlite3.Connection:
    """A connection that will not run functions a store's schema names on its own (views,
    triggers, defaults, generated columns): ``trusted_schema`` off."""
    conn.execute("PRAGMA trusted_schema = OFF")
    return conn
