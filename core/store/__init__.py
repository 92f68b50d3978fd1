"""The evidence store: one SQLite file, opened through sqlite-utils.

It holds personal data, so it is created readable and writable by its owner only. It runs in WAL
mode with a busy timeout, so a report can read while an import writes.
"""

from __future__ import annotations

import json
import os
from contextlib import contextmanager
import sqlite3
import stat
import typing
from datetime import date, datetime
from pathlib import Path
from typing import Any, Callable, Iterator

from sqlite_utils import Database

from carecheck.store import trust as store_trust
from carecheck.plugin.declared_reads import core_statements, guarding
from carecheck.errors import InputError
from carecheck.store.migrations import migrations
from carecheck.records import BUILTIN_KINDS, Record
from carecheck.store.schema import (  # noqa: F401 (re-exported)
    STORE_TABLES, column_type, is_reserved_kind, record_columns, sync_record_tables, to_column,
)

DEFAULT_DB = "carecheck.db"
#: How long a command waits for another to release the store (``carecheck --busy-timeout``).
BUSY_TIMEOUT_S = 30.0


#: What opening stores said to the user (a store's permissions tightened); the CLI shows them.
NOTES: list[str] = []


def _create_private(path: Path) -> None:
    if not path.parent.exists():
        raise InputError(f"{path}: the folder {path.parent} does not exist")
    try:
        descriptor = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY | os.O_NOFOLLOW, 0o600)
    except FileExistsError:
        return  # an empty file, identified as such: narrowed when it is opened
    except PermissionError:
        raise InputError(f"{path}: permission denied") from None
    os.close(descriptor)


def _owner_only(path: Path) -> None:
    """An existing store holds personal data: group and other permission bits are removed (never
    a bit added, so a read-only store stays read-only). Done on the opened file, after checking
    that the opened file is a store, so a symlink swapped in meanwhile is never changed."""
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError:
        return  # not ours to change: reading it is still allowed
    try:
        status = os.fstat(descriptor)
        head = os.pread(descriptor, 100, 0)
        if not stat.S_ISREG(status.st_mode) or (head and not head.startswith(store_trust.SQLITE_MAGIC)) or \
                store_trust.application_id(head) not in (0, store_trust.APPLICATION_ID):
            return
        mode = status.st_mode & 0o777
        if mode & 0o077:
            os.fchmod(descriptor, mode & 0o700)
            NOTES.append(f"{path}: permissions were {mode:o}; now {mode & 0o700:o}, readable by its owner only "
                         "(the store holds personal data)")
    except OSError:
        pass
    finally:
        os.close(descriptor)


def registry_of(db: Database):
    """The registry the store was opened with (the plugin manager's, for a connection made elsewhere)."""
    found = getattr(db, "carecheck_registry", None)
    if found is None:
        from carecheck import plugin_manager

        found = plugin_manager.registry()
    return found


def open_store(path: str | Path = DEFAULT_DB, create: bool = True, registry=None) -> Database:
    """Open the evidence store at ``path`` and bring its schema up to date; with ``create``, a new
    path (or an empty file) becomes a new store. Anything that is not a carecheck store, or a store
    whose schema holds what carecheck did not make, is refused before any statement writes to it
    (:mod:`carecheck.store.trust`)."""
    path = Path(path)
    if path.is_dir():
        raise InputError(f"{path}: is a folder, not a carecheck database")
    kind = store_trust.require_store(path, create=create)
    if kind == store_trust.NEW:
        _create_private(path)
    _owner_only(path)
    if registry is None:
        from carecheck import plugin_manager

        registry = plugin_manager.registry()
    try:
        db = Database(path, execute_plugins=False)  # the store runs no third-party sqlite-utils plugins
        db.carecheck_registry = registry  # type: ignore[attr-defined]
        store_trust.untrusted(db.conn)
        db.conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
        with _schema_lock(path):
            store_trust.check_schema(db.conn, path, NOTES, registry)
            if db.conn.execute("PRAGMA application_id").fetchone()[0] != store_trust.APPLICATION_ID:
                db.conn.execute(f"PRAGMA application_id = {store_trust.APPLICATION_ID}")
            db.conn.execute("PRAGMA journal_mode = WAL")
            db.conn.execute("PRAGMA synchronous = NORMAL")
            migrations.apply(db)
            sync_record_tables(db, registry)
    except sqlite3.OperationalError as error:
        if is_busy(error):
            raise StoreBusy(path) from None
        if damaged(error):
            raise InputError(damage_message(path, error)) from None
        raise InputError(f"{path}: not a carecheck database ({error})") from None
    except sqlite3.DatabaseError as error:
        if damaged(error):
            raise InputError(damage_message(path, error)) from None
        raise InputError(f"{path}: not a carecheck database ({error})") from None
    return db


def is_busy(error: BaseException) -> bool:
    """Whether an SQLite error means another connection held the store past the busy timeout."""
    return isinstance(error, sqlite3.OperationalError) and ("locked" in str(error) or "busy" in str(error))


class StoreBusy(InputError):
    """Another command held the store for the whole busy timeout."""

    def __init__(self, path: Path | str | None) -> None:
        where = f"{path}: " if path else ""
        super().__init__(f"{where}the store stayed busy with another carecheck command for {BUSY_TIMEOUT_S:g} s; "
                         "try again when it ends, or wait longer with carecheck --busy-timeout SECONDS")


#: Descriptors held for :func:`_schema_lock`, kept open for the process's life: closing any
#: descriptor of a file drops every POSIX lock the process holds on it, SQLite's own included.
_LOCK_DESCRIPTORS: dict[str, int] = {}


@contextmanager
def _schema_lock(path: Path) -> Iterator[None]:
    """One process at a time creates or migrates a store: two first imports started together would
    otherwise both create the same tables. An advisory ``flock`` on the file itself, which SQLite's
    own (``fcntl`` byte-range) locks ignore; waits up to the busy timeout."""
    try:
        import fcntl
    except ImportError:  # Windows: SQLite's busy timeout alone
        yield
        return
    import time

    key = str(path.resolve())
    descriptor = _LOCK_DESCRIPTORS.get(key)
    if descriptor is None:
        descriptor = _LOCK_DESCRIPTORS[key] = os.open(path, os.O_RDONLY)
    deadline = time.monotonic() + BUSY_TIMEOUT_S
    while True:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
            break
        except BlockingIOError:
            if time.monotonic() > deadline:
                raise StoreBusy(path) from None
            time.sleep(0.02)
    try:
        yield
    finally:
        fcntl.flock(descriptor, fcntl.LOCK_UN)


def writable(path: str | Path) -> bool:
    """Whether this process may write the store: the file, and its folder unless the journal files
    a WAL store needs are there already and writable."""
    path = Path(path)
    journals = [Path(f"{path}{suffix}") for suffix in ("-wal", "-shm")]
    folder = os.access(path.parent, os.W_OK | os.X_OK) or all(
        journal.exists() and os.access(journal, os.W_OK) for journal in journals)
    return os.access(path, os.W_OK) and folder


def read_only_connection(path: str | Path, check_same_thread: bool = True, immutable: bool = False) -> sqlite3.Connection:
    """A connection that only reads the store, whether or not this process may write it.
    ``immutable``: not even its -wal and -shm files are made (a store on a network filesystem)."""
    path = Path(path)
    if immutable:
        return store_trust.untrusted(sqlite3.connect(f"{path.resolve().as_uri()}?immutable=1", uri=True,
                                                     check_same_thread=check_same_thread))
    # SQLite reads a WAL store read-only only through its -wal and -shm files. With neither there, no
    # writer has the store open (a writer keeps both), and a folder we cannot write cannot get them:
    # the file is read as immutable, which needs neither (docs/security.md says what that assumes).
    journals = all(Path(f"{path}{suffix}").exists() for suffix in ("-wal", "-shm"))
    mode = "mode=ro" if journals or writable(path) else "immutable=1"
    return store_trust.untrusted(sqlite3.connect(f"{path.resolve().as_uri()}?{mode}", uri=True,
                                                 check_same_thread=check_same_thread))


def open_read_only(path: str | Path, immutable: bool = False, registry=None) -> Database:
    """A store this process cannot write, opened for reading without migrating: refused in one line
    when its schema is older than this carecheck's (a writable command upgrades it)."""
    path = Path(path)
    store_trust.require_store(path)
    try:
        db = Database(read_only_connection(path, immutable=immutable), execute_plugins=False)
        db.immutable = immutable  # type: ignore[attr-defined]
        if registry is None:
            from carecheck import plugin_manager

            registry = plugin_manager.registry()
        db.carecheck_registry = registry  # type: ignore[attr-defined]
        db.conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
        try:
            store_trust.check_schema(db.conn, path, NOTES, registry)
        except InputError:
            db.close()
            raise
        behind = [m.name for m in migrations.pending(db)]  # reads only (sqlite-utils promises so)
    except sqlite3.DatabaseError as error:
        raise InputError(f"{path}: the store is read-only and cannot be read ({error})") from None
    behind = behind or [
        model.kind for model in BUILTIN_KINDS.values()
        if not db[model.kind].exists() or set(record_columns(model)) - set(db[model.kind].columns_dict)]
    if behind:
        db.close()
        raise InputError(f"{path}: the store is read-only and was made by an older carecheck; open it once "
                         "with write permission (any carecheck command upgrades it)")
    return db


@contextmanager
def using_store(path: str | Path = DEFAULT_DB, *, create: bool = False, read_only_ok: bool = False,
                read_only_hint: str = "", registry=None) -> Iterator[Database]:
    """The evidence store at ``path``, closed when the block ends.

    Only ``create`` (an import) makes a new store: any other command given a path that holds no
    store stops with an input error, so a mistyped ``--db`` never leaves an empty store behind.
    """
    if Path(path).is_dir():
        raise InputError(f"{path}: is a folder, not a carecheck database")
    store_trust.require_store(path, create=create)
    if Path(path).exists() and not writable(path):
        if not read_only_ok:
            raise InputError(f"{path}: the store is read-only (no write permission on it or its folder){read_only_hint}")
        db = open_read_only(path, registry=registry)
    else:
        db = open_store(path, create=create, registry=registry)
    try:
        yield db
    except sqlite3.DatabaseError as error:
        if isinstance(error, sqlite3.OperationalError) and not damaged(error):
            raise
        raise InputError(damage_message(path, error)) from None
    finally:
        db.close()


def damaged(error: BaseException) -> bool:
    """Whether an SQLite error means the file itself is damaged (not busy, not interrupted)."""
    text = str(error).lower()
    return isinstance(error, sqlite3.DatabaseError) and any(
        word in text for word in ("malformed", "corrupt", "not a database", "disk i/o error", "database or disk is full"))


def damage_message(path: str | Path, error: BaseException) -> str:
    text = str(error).splitlines()[0] if str(error) else type(error).__name__
    if "full" in text.lower():
        return f"{path}: the disk is full ({text}); nothing was stored: free some space and run again"
    return (f"{path}: the store is damaged ({text}); recover what it holds with: sqlite3 {path} '.recover', "
            f"and see carecheck doctor {path}")


DEMO_MAKER = "carecheck demo"


def mark_made_by(db: Database, maker: str) -> None:
    """Record which command made the store (``carecheck demo`` replaces only a store it made)."""
    with db.atomic():
        db.execute("INSERT INTO store_info (key, value) VALUES ('made_by', ?) "
                   "ON CONFLICT (key) DO UPDATE SET value = excluded.value", [maker])


def is_demo_store(path: str | Path) -> bool:
    """Whether ``path`` holds a store ``carecheck demo`` made: it says so in ``store_info``, or
    (a store made before that was recorded) every one of its imports came from the demo's
    generated export, which the demo writes in a folder named ``.carecheck-demo-*``. Read without
    changing the file."""
    path = Path(path)
    if store_trust.identify(path) not in (store_trust.STORE, store_trust.OLDER_STORE):
        return False
    try:
        conn = read_only_connection(path, immutable=not Path(f"{path}-wal").exists())
    except sqlite3.Error:
        return False
    try:
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_schema WHERE type = 'table'")}
        if "store_info" in tables:
            made = conn.execute("SELECT value FROM store_info WHERE key = 'made_by'").fetchone()
            if made is not None:
                return made[0] == DEMO_MAKER
        sources = [row[0] or "" for row in conn.execute("SELECT source_file FROM imports")]
        return bool(sources) and all(any(part.startswith(".carecheck-demo-") for part in Path(source).parts)
                                     for source in sources)
    except sqlite3.Error:
        return False
    finally:
        conn.close()


def discard_unused_store(path: str | Path) -> None:
    """Remove a store this process just created if no import finished into it."""
    path = Path(path)
    if not path.exists():
        return
    try:
        conn = sqlite3.connect(path)
        try:
            (finished,) = conn.execute("SELECT COUNT(*) FROM imports WHERE finished_at IS NOT NULL").fetchone()
        finally:
            conn.close()
    except sqlite3.Error:
        return  # not a store carecheck can read: leave it alone
    if finished == 0:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
















def cached_bank_holidays(db: Database) -> Callable[[int], frozenset[date]]:
    """Bank holidays by year, kept in the store the first time the ``holidays`` package gives them.

    The cache is keyed by the package's version, so an upgrade (a new bank holiday announced)
    refreshes it.
    """
    from importlib.metadata import version

    from carecheck.dates import bank_holidays

    source = f"holidays {version('holidays')} GB-ENG"
    known: dict[int, frozenset[date]] = {}

    def holidays_for(year: int) -> frozenset[date]:
        if year in known:
            return known[year]
        with core_statements(db.conn):  # asked for by a domain's working days, done by the core
            rows = db.execute("SELECT day FROM bank_holidays WHERE source = ? AND year = ?", [source, year]).fetchall()
            if rows:
                days = frozenset(date.fromisoformat(day) for (day,) in rows)
            else:
                days = bank_holidays(year)
                try:
                    if guarding(db.conn):
                        raise sqlite3.OperationalError("read-only while a domain runs")
                    with db.atomic():
                        db.conn.executemany("INSERT OR IGNORE INTO bank_holidays VALUES (?, ?, ?)",
                                            [(source, year, day.isoformat()) for day in sorted(days)])
                except sqlite3.OperationalError:
                    pass  # read-only (a worker, or a domain running): use the days without keeping them
        known[year] = days
        return days

    return holidays_for
