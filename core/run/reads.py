"""Every SQL statement a run issues, outside the domains' own: the failure sink, the newest records,
the evidence figures, data quality, the actions that answer escalations, and records' free text.

Dates and times are stored as ISO text, so ranges compare as text.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Iterable, Iterator

from sqlite_utils import Database

from carecheck.store.references import dangling_references
from carecheck.store import registry_of

#: The temporary table naming a forked worker's share of the services (see :func:`only_share`).
SHARE_TABLE = "temp.carecheck_share"


class FailureSink:
    """Every failure behind the figures, for the stored run's failures, kept on disk as it comes,
    so memory does not grow with the number of failing records.

    The failures go to a private temporary file through a connection of the sink's own: the run's
    connection is read-only (``PRAGMA query_only``) while a domain's outcomes stream on it, and
    a write there between two steps of the domain's query could abort it. A stored run's
    failures are read back from the file once (:meth:`rows`).
    """

    BATCH = 2_000

    def __init__(self, db: Database):
        import tempfile
        import weakref

        self.db = db
        self.pending: list[tuple] = []
        handle, self.path = tempfile.mkstemp(prefix="carecheck-failures-", suffix=".db")
        os.close(handle)
        self.conn = sqlite3.connect(self.path, check_same_thread=False)
        # Written once and read once, in order, and thrown away: no journal, a small cache.
        self.conn.executescript("PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF; PRAGMA cache_size = -256; "
                                "CREATE TABLE failures (domain TEXT, target TEXT, service TEXT, period TEXT, unit TEXT)")
        self._finalizer = weakref.finalize(self, _remove_sink, self.conn, self.path)

    def add(self, failure: tuple) -> None:
        self.pending.append(failure)
        if len(self.pending) >= self.BATCH:
            self.flush()

    def extend(self, failures: Iterable[tuple]) -> None:
        for failure in failures:
            self.add(failure)

    def flush(self) -> None:
        if self.pending:
            with self.conn:
                self.conn.executemany("INSERT INTO failures VALUES (?, ?, ?, ?, ?)", self.pending)
            self.pending = []

    def rows(self) -> Iterator[tuple]:
        """Every failure as (domain, target, service, period, unit), in the order they came."""
        self.flush()
        return self.conn.execute("SELECT domain, target, service, period, unit FROM failures ORDER BY rowid")

    def close(self) -> None:
        self._finalizer()


def _remove_sink(conn: sqlite3.Connection, path: str) -> None:
    conn.close()
    try:
        os.unlink(path)
    except OSError:
        pass


class ListSink(list):
    """A forked worker's failures, kept in memory and sent back to the parent's :class:`FailureSink`."""

    def add(self, failure: tuple) -> None:
        self.append(failure)


def store_path(db: Database) -> str:
    """The store's file ("" for a store in memory)."""
    return next(row[2] for row in db.execute("PRAGMA database_list").fetchall() if row[1] == "main")


def read_only(path: str, registry, check_same_thread: bool = True) -> Database:
    """A second, read-only connection to the run's store, knowing the same record kinds."""
    from carecheck.store import read_only_connection

    db = Database(read_only_connection(path, check_same_thread), execute_plugins=False)
    db.carecheck_registry = registry  # type: ignore[attr-defined]
    return db


def only_share(db: Database, raw_names: list[str]) -> None:
    """Make the domains' queries on this connection read one share of the services' records.

    SQLite looks a table name up in the temporary schema first, so a temporary view named after
    each record kind, holding only the share's rows, stands in for the table in every query a
    domain writes (reached by the service index), and each worker reads its share, not the store.
    """
    db.execute(f"CREATE TABLE {SHARE_TABLE} (raw TEXT PRIMARY KEY)")
    db.conn.executemany(f"INSERT OR IGNORE INTO {SHARE_TABLE} VALUES (?)", [(name,) for name in raw_names])
    for kind in registry_of(db).kinds:
        if kind != "service":  # the register stays whole: services are matched by their aliases
            db.execute(f"CREATE TEMP VIEW [{kind}] AS SELECT * FROM main.[{kind}] "
                       f"WHERE service IN (SELECT raw FROM {SHARE_TABLE})")


def presence(db: Database, kinds: Iterable[str], first: date, as_of: date) -> dict[str, dict[str, tuple[str, int]]]:
    """For each kind, each raw service name's newest record time (or date) from ``first`` to
    ``as_of``, and how many records it has then: which locations have records of the kind in the
    evaluated periods, and how recent.

    A record dated after ``as_of`` never makes a source look fresh. The (service, event) index
    answers without reading the records.
    """
    params = [first.isoformat(), (as_of + timedelta(days=1)).isoformat()]
    found: dict[str, dict[str, tuple[str, int]]] = {}
    for kind in sorted(kinds):
        field_name = registry_of(db).kinds[kind].event_field
        # "+" keeps the planner on the (service, event) index, which covers the query, rather than
        # the event index, which would need every row read.
        rows = db.execute(f"SELECT service, MAX([{field_name}]), COUNT(*) FROM [{kind}] WHERE +[{field_name}] >= ? "
                          f"AND +[{field_name}] < ? GROUP BY service", params).fetchall()
        found[kind] = {service: (newest, count) for service, newest, count in rows}
    return found


def counts_by_period(db: Database, kind: str, raw_names: list[str], periods, as_of: date
                     ) -> dict[str, tuple[list[int], str]]:
    """Each of ``raw_names``' count of ``kind`` records in each of ``periods`` up to ``as_of``, and
    its newest record time: how often a location usually records the kind, for staleness (a record
    dated after ``as_of`` never makes a source look fresh). One pass over the (service, event)
    index; each period's count is a sum of comparisons, so SQLite never sorts the records."""
    bounds = [p.start.isoformat() for p in periods] + [(min(periods[-1].end, as_of) + timedelta(days=1)).isoformat()]
    sums = ", ".join("SUM(ev >= ? AND ev < ?)" for _ in periods)
    args = [value for index in range(len(periods)) for value in (bounds[index], bounds[index + 1])]
    field_name = registry_of(db).kinds[kind].event_field
    found: dict[str, tuple[list[int], str]] = {}
    for start in range(0, len(raw_names), 500):  # SQLite's limit on parameters, with room to spare
        names = raw_names[start:start + 500]
        marks = ", ".join("?" for _ in names)
        rows = db.execute(
            f"SELECT service, MAX(ev), {sums} FROM "
            f"(SELECT service, [{field_name}] AS ev FROM [{kind}] WHERE service IN ({marks}) "
            f"AND +[{field_name}] >= ? AND +[{field_name}] < ?) GROUP BY service",
            [*args, *names, bounds[0], bounds[-1]]).fetchall()
        found.update({row[0]: ([count or 0 for count in row[2:]], row[1]) for row in rows})
    return found


def holds_any(db: Database, kinds: Iterable[str], raw_names: list[str], first: date, last: date) -> bool:
    """Whether any record of ``kinds`` names one of ``raw_names`` (a location's names) and is dated
    from ``first`` to ``last``: one index seek per kind, stopping at the first found."""
    marks = ", ".join("?" for _ in raw_names)
    bounds = [first.isoformat(), (last + timedelta(days=1)).isoformat()]
    for kind in sorted(kinds):
        field_name = registry_of(db).kinds[kind].event_field
        if db.execute(f"SELECT 1 FROM [{kind}] WHERE service IN ({marks}) AND [{field_name}] >= ? "
                      f"AND [{field_name}] < ? LIMIT 1", [*raw_names, *bounds]).fetchone():
            return True
    return False


def earliest_by_service(ctx, kind: str, field_name: str) -> dict[str, date]:
    """Each in-scope location's earliest record of ``kind`` in the store (any date), through a
    domain's context (the kind is one it reads): where a measure's look-back can first be filled."""
    earliest: dict[str, date] = {}
    for raw, first in ctx.rows(f"SELECT service, MIN([{field_name}]) FROM [{kind}] WHERE [{field_name}] >= "
                               f"'2000-01-01' GROUP BY service"):
        service = ctx.service(raw)
        if service is not None and first:
            day = date.fromisoformat(first[:10])
            earliest[service] = min(earliest.get(service, day), day)
    return earliest


def supplied_fields(db: Database, kinds: Iterable[str]) -> dict[str, dict[int, frozenset[str]]]:
    """kind -> import id -> the fields that import's source supplied. An import stored before
    carecheck recorded them supplied a field when at least one of its records has a value for it
    (one scan of the kind's table, for such imports only)."""
    registry = registry_of(db)
    found: dict[str, dict[int, frozenset[str]]] = {}
    legacy: dict[str, list[int]] = defaultdict(list)
    wanted = sorted(set(kinds) & set(registry.kinds))
    if not wanted:
        return found
    marks = ", ".join("?" for _ in wanted)
    for import_id, kind, supplied in db.execute(
            f"SELECT id, kind, supplied_fields FROM imports WHERE kind IN ({marks})", wanted).fetchall():
        if supplied is None:
            legacy[kind].append(import_id)
            continue
        try:
            names = json.loads(supplied)
        except ValueError:
            names = None
        if isinstance(names, list):
            found.setdefault(kind, {})[import_id] = frozenset(str(name) for name in names)
        else:
            legacy[kind].append(import_id)
    for kind, ids in legacy.items():
        fields = [name for name in registry.kinds[kind].model_fields if name != "id"]
        checks = ", ".join(f"max([{name}] IS NOT NULL)" for name in fields)
        id_marks = ", ".join("?" for _ in ids)
        for import_id, *has in db.execute(
                f"SELECT import_id, {checks} FROM [{kind}] WHERE import_id IN ({id_marks}) GROUP BY import_id",
                ids).fetchall():
            found.setdefault(kind, {})[import_id] = frozenset(
                ["id"] + [name for name, value in zip(fields, has) if value])
    return found


def holds_records(db: Database) -> bool:
    """Whether the store holds any record besides the service register."""
    return any(db.execute(f"SELECT 1 FROM [{kind}] LIMIT 1").fetchone() for kind in registry_of(db).kinds if kind != "service")


def source_figures(db: Database, kind: str, sources: list[tuple], first: date, as_of: date,
                   window: tuple[date, date]) -> list[list[tuple[str, int, str | None, int, int, int]]]:
    """(raw service, records, newest, in window, supporting, judged) per service for each of a
    kind's evidence sources, in one scan of the records from ``first`` to ``as_of``.

    ``window`` is the first and last day of the window. ``sources`` are (source, support) pairs,
    ``support`` the SQL of a ``supports`` rule (the records it judges, those that support) or
    None; supporting and judged count the window's records (0 without a rule).
    """
    field_name = registry_of(db).kinds[kind].event_field
    columns = []
    in_window = (f"[{field_name}] >= '{window[0].isoformat()}' "
                 f"AND [{field_name}] < '{(window[1] + timedelta(days=1)).isoformat()}'")
    for source, support in sources:
        test = source.where or "1"
        columns += [f"SUM(CASE WHEN ({test}) THEN 1 ELSE 0 END)", f"MAX(CASE WHEN ({test}) THEN [{field_name}] END)",
                    f"SUM(CASE WHEN ({test}) AND {in_window} THEN 1 ELSE 0 END)"]
        if support is None:
            columns += ["0", "0"]
        else:
            judged = f"({test}) AND {in_window} AND ({support[0]})"
            columns += [f"SUM(CASE WHEN {judged} AND ({support[1]}) THEN 1 ELSE 0 END)",
                        f"SUM(CASE WHEN {judged} THEN 1 ELSE 0 END)"]
    # The range covers most rows, so "+" keeps the planner on a scan in service order (for GROUP
    # BY) rather than the event-date index. The answer is one JSON row: a row at a time would take
    # the GIL back for each service.
    names = ", ".join(f"c{i}" for i in range(5 * len(sources)))
    inner = (f"SELECT service, {', '.join(f'{column} AS c{i}' for i, column in enumerate(columns))} "
             f"FROM [{kind}] WHERE +[{field_name}] >= ? AND +[{field_name}] < ? GROUP BY service")
    params = [first.isoformat(), (as_of + timedelta(days=1)).isoformat()]
    try:
        (packed,) = db.execute(f"SELECT json_group_array(json_array(service, {names})) FROM ({inner})",
                               params).fetchone()
        rows = json.loads(packed)
    except sqlite3.OperationalError as error:
        if "json" not in str(error):
            raise
        rows = db.execute(inner, params).fetchall()  # an SQLite built without its JSON functions
    return [[(row[0], *row[1 + 5 * i: 6 + 5 * i]) for row in rows] for i in range(len(sources))]


@dataclass
class Quality:
    """What the store says about the evidence itself, read alongside the run."""

    findings: list
    rejected: int
    #: The newest record time (or date) of each kind that holds records.
    freshness: dict[str, str]
    #: (id, raw service, source kind, source id, owner, owner role, due date, status) of open actions.
    open_actions: list[tuple]
    #: Records of the ``used`` kinds in the evaluated periods.
    records_read: int = 0
    #: Optional values left empty on import because they could not be read.
    fields_left_empty: int = 0
    #: Records of the used kinds dated before 2000 or after today: stored, never counted.
    implausible_dates: int = 0


def quality_reads(db: Database, used: set[str], first: date, as_of: date) -> Quality:
    """Dangling references of the ``used`` kinds, rejected rows, each kind's newest record, the open
    improvement actions, and how many records of the used kinds the evaluated periods hold."""
    findings = dangling_references(db, used)
    records_read = 0
    for kind in sorted(used):
        if kind in registry_of(db).kinds and kind != "service":
            field_name = registry_of(db).kinds[kind].event_field
            (count,) = db.execute(f"SELECT COUNT(*) FROM [{kind}] WHERE [{field_name}] >= ? AND [{field_name}] < ?",
                                  [first.isoformat(), (as_of + timedelta(days=1)).isoformat()]).fetchone()
            records_read += count
    (rejected,) = db.execute("SELECT COUNT(*) FROM rejected_rows").fetchone()
    (left_empty,) = db.execute("SELECT COUNT(*) FROM field_findings").fetchone()
    freshness = {}
    implausible = 0
    latest = (as_of + timedelta(days=1)).isoformat()
    for kind, model in registry_of(db).kinds.items():
        # A record dated after as-of never makes a kind look fresh.
        (newest,) = db.execute(f"SELECT MAX([{model.event_field}]) FROM [{kind}] WHERE [{model.event_field}] < ?",
                               [latest]).fetchone()  # indexed
        if kind != "service" and kind in used:
            (count,) = db.execute(f"SELECT COUNT(*) FROM [{kind}] WHERE [{model.event_field}] < '2000-01-01' "
                                  f"OR [{model.event_field}] >= ?", [_tomorrow()]).fetchone()
            implausible += count
        if newest and kind != "service":
            freshness[kind] = newest
    actions = db.execute(
        """SELECT id, service, source_kind, source_id, owner, owner_role, due_date, status FROM improvement_action
           WHERE coalesce(status, '') NOT IN ('completed', 'closed', 'cancelled')
           ORDER BY due_date IS NULL, due_date, id"""
    ).fetchall()
    return Quality(findings, rejected, freshness, actions, records_read, left_empty, implausible)


def _tomorrow() -> str:
    from datetime import datetime

    from carecheck.dates import LONDON

    return (datetime.now(LONDON).date() + timedelta(days=1)).isoformat()


def actions_citing(db: Database, escalation_ids: list[str]) -> dict[str, list[tuple[str, str]]]:
    """The improvement actions that cite each escalation: id -> [(action id, status)]."""
    if not escalation_ids:
        return {}
    marks = ", ".join("?" for _ in escalation_ids)
    rows = db.execute(
        f"SELECT escalation_id, id, status FROM improvement_action WHERE escalation_id IN ({marks})", escalation_ids,
    ).fetchall()
    by_escalation: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for escalation_id, action_id, status in rows:
        by_escalation[escalation_id].append((action_id, status))
    return by_escalation


def free_text(db: Database, kind: str, ids: set[str]) -> dict[str, str]:
    """The free-text fields of ``kind``'s records ``ids``, each record's joined and cut to 500
    characters: only for a user who asked for them."""
    fields = sorted(registry_of(db).kinds[kind].free_text_fields())
    if not fields or not ids:
        return {}
    columns = ", ".join(f"[{f}]" for f in fields)
    marks = ", ".join("?" for _ in ids)
    texts = {}
    for row in db.execute(f"SELECT id, {columns} FROM [{kind}] WHERE id IN ({marks})", sorted(ids)).fetchall():
        parts = [f"{name}: {value}" for name, value in zip(fields, row[1:]) if value]
        if parts:
            texts[row[0]] = " | ".join(parts)[:500]
    return texts
