"""Keeping runs in the store: the verdict, every figure, and every failure behind it.

A stored run is one ``runs`` row holding two compressed blobs, each with its uncompressed length
(reading one back stops there: a store is untrusted): the verdict's JSON, which holds every
figure of every period (what ``diff`` compares), and every failure behind them (``failures_z``).
``target_results`` keeps only each target's current period per location, the rows ``history``
and SQL over runs read: a run adds a few kilobytes, not one row per figure and failure.
"""

from __future__ import annotations

import json
import zlib

from typing import TYPE_CHECKING

from sqlite_utils import Database

if TYPE_CHECKING:
    from carecheck.run import RunResult


#: How far a stored verdict kept without its length (runs stored before m016) may inflate.
LEGACY_VERDICT_LIMIT = 1 << 30


def _compressed(verdict: dict) -> tuple[bytes, int]:
    """The verdict's JSON, compressed, and its uncompressed length."""
    from carecheck.verdict.chunks import json_chunks, remember_stored

    compressor = zlib.compressobj(1)  # fast: a run writes one; JSON still shrinks about eightfold
    parts, length = [], 0
    for chunk in json_chunks(verdict):
        encoded = chunk.encode()
        length += len(encoded)
        parts.append(compressor.compress(encoded))
    parts.append(compressor.flush())
    packed = b"".join(parts)
    remember_stored(verdict, packed, length)
    return packed, length


def _inflated(packed: bytes, length: int | None, run_id: str, what: str = "verdict inflates past its") -> bytes:
    """A stored blob, decompressed no further than its recorded length: a store is untrusted."""
    from carecheck.errors import InputError

    limit = length if isinstance(length, int) and length >= 0 else LEGACY_VERDICT_LIMIT
    inflater = zlib.decompressobj()
    try:
        data = inflater.decompress(packed, limit + 1)
    except zlib.error as error:
        raise InputError(f"run {run_id}: its stored {what.split()[0]} is damaged ({error})") from None
    if len(data) > limit or inflater.unconsumed_tail:
        raise InputError(f"run {run_id}: its stored {what} recorded length "
                         f"({limit:,} bytes); the store is damaged or was altered (carecheck doctor)")
    return data


#: Each stored figure row: the columns of ``target_results`` after run_id.
FIGURE_COLUMNS = ("domain", "target", "service", "period", "partial", "numerator", "denominator", "value", "met",
                  "status")
FAILURE_COLUMNS = ("domain", "target", "service", "period", "unit")


def _figure_rows(verdict: dict, only_period: str | None = None):
    """Every figure of a verdict as the columns of ``target_results`` after run_id (only one
    period's with ``only_period``). A fresh verdict's periods are series; a stored one's, lists."""
    for domain in verdict["domains"]:
        for target in domain["targets"]:
            series = [("(provider)", target["status"], target["periods"])] + [
                (s["service"], s["status"], s["periods"]) for s in target["services"]
            ]
            for service, status, periods in series:
                rows = periods.result_rows() if hasattr(periods, "result_rows") else (
                    (p["period"], p["partial"], p["numerator"], p["denominator"], p["value"], p["met"])
                    for p in periods)
                for period, partial, numerator, denominator, value, met in rows:
                    if only_period is None or period == only_period:
                        yield (domain["domain"], target["id"], service, period, int(partial), numerator,
                               denominator, value, None if met is None else int(met), status)


def pack_rows(rows, batch: int = 8192) -> tuple[bytes, int]:
    """Rows as one compressed JSON array of arrays, and its uncompressed length; encoded a batch at
    a time, so a run's hundreds of thousands of failures are never all in memory at once."""
    compressor = zlib.compressobj(6)
    parts, length, taken, first = [], 0, [], True

    def put(text: str) -> None:
        nonlocal length
        encoded = text.encode()
        length += len(encoded)
        parts.append(compressor.compress(encoded))

    put("[")
    for row in rows:
        taken.append(row)
        if len(taken) >= batch:
            put(("" if first else ",") + json.dumps(taken, separators=(",", ":"))[1:-1])
            taken, first = [], False
    if taken:
        put(("" if first else ",") + json.dumps(taken, separators=(",", ":"))[1:-1])
    put("]")
    parts.append(compressor.flush())
    return b"".join(parts), length


def unpack_rows(packed: bytes | None, length: int | None, run_id: str, width: int, noun: str = "figures"
                ) -> list[tuple]:
    """The rows of a blob :func:`pack_rows` made, each checked to be an array of ``width`` plain values."""
    from carecheck.errors import InputError

    if packed is None:
        return []
    try:
        rows = json.loads(_inflated(packed, length, run_id, f"{noun} inflate past their"))
    except ValueError:
        rows = None
    if not isinstance(rows, list):
        raise InputError(f"run {run_id}: its stored {noun} are damaged; the store was altered (carecheck doctor)")
    for number, row in enumerate(rows, 1):
        if not isinstance(row, list) or len(row) != width or any(isinstance(v, (list, dict)) for v in row):
            raise InputError(f"run {run_id}: row {number} of its stored {noun} is damaged; the store was altered "
                             "(carecheck doctor)")
    return [tuple(row) for row in rows]


def save_run(db: Database, result: RunResult, before_commit=None) -> str:
    """Store a fresh run in one transaction, with every failure behind its figures (not only those
    the verdict shows); returns its run id. ``before_commit()`` runs inside the transaction, last:
    if it raises (the report could not be written), the run is not stored."""
    verdict, failures = result.verdict, result.failures
    run_id = verdict["audit"]["run_id"]
    current = verdict["periods"]["current"]
    packed = (*_compressed(verdict), *pack_rows(failures.rows()))
    values_hash = verdict["ruleset"].get("values_hash")
    with db.atomic():
        if values_hash and result.ruleset_values is not None:
            text = json.dumps(result.ruleset_values, sort_keys=True).encode()
            db.conn.execute("INSERT OR IGNORE INTO rulesets VALUES (?, ?, ?, ?, ?, ?)",
                            (values_hash, verdict["ruleset"]["name"], verdict["ruleset"]["version"],
                             json.dumps(verdict["ruleset"].get("extends", [])), zlib.compress(text, 6), len(text)))
        db.conn.execute(
            "INSERT INTO runs (run_id, created_at, as_of, ruleset, ruleset_hash, engine, lowest_level, verdict_z, "
            "verdict_length, failures_z, failures_length, current_period, "
            "carecheck_version, records_read, ruleset_values_hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            # A run moved back to the end of its evidence is a point at that date in the history.
            (run_id, verdict["audit"]["generated_at"], verdict.get("effective_as_of") or verdict["as_of"],
             verdict["ruleset"]["name"],
             verdict["ruleset"]["hash"], verdict["audit"]["engine"], verdict["verdict"]["lowest"]["level"],
             *packed, current, verdict["audit"]["carecheck_version"], verdict["audit"]["records_read"], values_hash),
        )
        # The current period's figures, for history and SQL over runs; the verdict holds every period.
        db.conn.executemany("INSERT INTO target_results VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                            [(run_id, *row) for row in _figure_rows(verdict, current)])
        if before_commit is not None:
            before_commit()
    return run_id


def stored_figures(db: Database, run_id: str) -> list[dict]:
    """Every figure of a stored run, every period (the columns of ``target_results``), from its verdict."""
    return [dict(zip(FIGURE_COLUMNS, row)) for row in _figure_rows(load_run(db, run_id))]


def stored_failures(db: Database, run_id: str) -> list[dict]:
    """Every failure behind a stored run's figures, in the order the run found them."""
    packed, length = db.execute("SELECT failures_z, failures_length FROM runs WHERE run_id = ?", [run_id]).fetchone()
    return [dict(zip(FAILURE_COLUMNS, row))
            for row in unpack_rows(packed, length, run_id, len(FAILURE_COLUMNS), "failures")]


#: The runs of one series: a ruleset name with the hash of its resolved values (a run stored before
#: the hash was kept belongs to every series of its name).
SERIES = "r.ruleset = ? AND (r.ruleset_values_hash IS NULL OR ? IS NULL OR r.ruleset_values_hash = ?)"


def target_history(db: Database, ruleset: str, service: str = "(provider)", values_hash: str | None = None
                   ) -> dict[str, list[dict]]:
    """Each target's current-period value and status in earlier runs of the series (``ruleset``
    with ``values_hash``), oldest first."""
    history: dict[str, list[dict]] = {}
    for run_id, created, as_of, period, target, value, status in db.execute(
        f"""SELECT r.run_id, r.created_at, r.as_of, r.current_period, t.target, t.value, t.status
           FROM runs r JOIN target_results t ON t.run_id = r.run_id AND t.period = r.current_period
           WHERE {SERIES} AND t.service = ? ORDER BY r.created_at, r.rowid""",
        [ruleset, values_hash, values_hash, service],
    ).fetchall():
        history.setdefault(target, []).append(
            {"run_id": run_id, "generated_at": created, "as_of": as_of, "period": period, "value": value, "status": status}
        )
    return history


def load_run(db: Database, run_id: str) -> dict:
    """A stored verdict by run id (or a unique prefix of one)."""
    resolved = _resolve_run_id(db, run_id)
    text, packed, length = db.execute(
        "SELECT verdict, verdict_z, verdict_length FROM runs WHERE run_id = ?", [resolved]
    ).fetchone()
    from carecheck.errors import InputError
    from carecheck.verdict.upgrade import upgraded

    try:
        return upgraded(json.loads(_inflated(packed, length, resolved) if packed is not None else text))
    except (ValueError, TypeError) as error:
        raise InputError(f"run {resolved}: its stored verdict cannot be read ({str(error).splitlines()[0]})") from None


def list_runs(db: Database, last: int | None = None) -> list[dict]:
    """The stored runs, oldest first (the newest ``last`` of them when given)."""
    rows = db.execute(
        """SELECT run_id, created_at, as_of, ruleset, ruleset_hash, carecheck_version, lowest_level, records_read,
                  current_period
           FROM runs ORDER BY created_at DESC, rowid DESC""" + (" LIMIT ?" if last else ""),
        [last] if last else [],
    ).fetchall()
    columns = ["run_id", "created_at", "as_of", "ruleset", "ruleset_hash", "carecheck_version", "lowest_level",
               "records_read", "current_period"]
    return [dict(zip(columns, row)) for row in reversed(rows)]


def series_of(db: Database, ruleset: str | None = None) -> tuple[str, str | None] | None:
    """The series of the newest run (of ``ruleset``, a name, when given): (name, values hash)."""
    row = db.execute("SELECT ruleset, ruleset_values_hash FROM runs" + (" WHERE ruleset = ?" if ruleset else "")
                     + " ORDER BY created_at DESC, rowid DESC LIMIT 1", [ruleset] if ruleset else []).fetchone()
    return (row[0], row[1]) if row else None


def run_rows(db: Database, target: str | None = None, service: str | None = None, last: int | None = None,
             ruleset: str | None = None) -> list[dict]:
    """Each target's current-period value and status, run by run, in one series: the newest run's
    ruleset (or ``ruleset``'s newest) with the same values (oldest first; the newest ``last`` runs
    of the series when given)."""
    series = series_of(db, ruleset)
    if series is None:
        return []
    name, values_hash = series
    sql = f"""SELECT r.run_id, r.created_at, r.as_of, r.ruleset, t.domain, t.target, t.service, t.period, t.numerator,
                    t.denominator, t.value, t.met, t.status
             FROM runs r JOIN target_results t ON t.run_id = r.run_id AND t.period = r.current_period
             WHERE {SERIES}"""
    args: list = [name, values_hash, values_hash]
    if last:
        sql += (f" AND r.run_id IN (SELECT r.run_id FROM runs r WHERE {SERIES} "
                "ORDER BY r.created_at DESC, r.rowid DESC LIMIT ?)")
        args += [name, values_hash, values_hash, last]
    if target:
        sql += " AND t.target = ?"
        args.append(target)
    if service:
        sql += " AND t.service = ?"
        args.append(service)
    sql += " ORDER BY r.created_at, r.rowid, t.domain, t.target, t.service = '(provider)' DESC, t.service"
    columns = ["run_id", "created_at", "as_of", "ruleset", "domain", "target", "service", "period", "numerator",
               "denominator", "value", "met", "status"]
    return [dict(zip(columns, row)) for row in db.execute(sql, args).fetchall()]


DIFF_STATES = ("regressed", "resolved", "new", "still_failing")


def diff_runs(db: Database, run_a: str, run_b: str, all_periods: bool = False) -> dict:
    """What changed from run A to run B, location by location.

    The headline compares, per target and location, A's current period with B's current period
    (even when the two differ):

    - regressed: met in A, not met in B;
    - resolved: not met in A, met in B;
    - new: not met in B, with no value in A;
    - still_failing: not met in both.

    ``changed`` lists, per target, location and period of B's window (its last ``sustained``
    complete periods; every period with ``all_periods``), the periods with a value in both runs
    whose met or not met changed: figures restated by late records. A period A could not judge (its
    units were all pending, or it had none) that B finds not met is restated too: a unit "pending
    until the next meeting" that failed once its bound passed shows here. A closed month that did
    not change is never listed, nor the current period both runs share (the headline has it).
    """
    a, b = _resolve_run_id(db, run_a), _resolve_run_id(db, run_b)
    period_a, period_b = (db.execute("SELECT current_period FROM runs WHERE run_id = ?", [r]).fetchone()[0]
                          for r in (a, b))

    def figures(run_id: str) -> dict[tuple, tuple]:
        return {(f["domain"], f["target"], f["service"], f["period"]): (f["value"], f["met"])
                for f in stored_figures(db, run_id) if not f["partial"] and f["service"] != "(provider)"}

    before, after = figures(a), figures(b)
    headline: dict[str, list[dict]] = {state: [] for state in DIFF_STATES}
    locations = sorted({(d, t, s) for d, t, s, _ in after} | {(d, t, s) for d, t, s, _ in before})
    for domain, target, service in locations:
        old = before.get((domain, target, service, period_a))
        new = after.get((domain, target, service, period_b))
        met_before = old[1] if old else None
        met_after = new[1] if new else None
        if met_after == 0 and met_before == 1:
            state = "regressed"
        elif met_after == 1 and met_before == 0:
            state = "resolved"
        elif met_after == 0 and met_before == 0:
            state = "still_failing"
        elif met_after == 0:
            state = "new"
        else:
            continue
        headline[state].append({"domain": domain, "target": target, "service": service,
                                "before": old[0] if old else None, "after": new[0] if new else None})
    window = None if all_periods else set(_window(db, b))
    changed = []
    for key in sorted(set(before) & set(after)):
        domain, target, service, period = key
        if (window is not None and period not in window) or (period == period_a == period_b):
            continue  # outside B's window, or the current period both runs share (the headline)
        (old_value, old_met), (new_value, new_met) = before[key], after[key]
        if new_met is not None and old_met != new_met and (old_met is not None or not new_met):
            changed.append({"domain": domain, "target": target, "service": service, "period": period,
                            "before": old_value, "after": new_value, "met_before": _met(old_met),
                            "met_after": _met(new_met)})
    return {"run_a": a, "run_b": b, "period_a": period_a, "period_b": period_b, "rulesets": compare_rulesets(db, a, b),
            "counts": {state: len(items) for state, items in headline.items()}, **headline, "changed": changed}


def compare_rulesets(db: Database, run_a: str, run_b: str) -> dict:
    """Whether two runs used the same ruleset (name and resolved values), each run's ruleset, and
    the values that differ (key path, A's value, B's value)."""
    described = {}
    for run_id in (run_a, run_b):
        name, version, values_hash, as_of, file_hash = db.execute(
            "SELECT r.ruleset, s.version, r.ruleset_values_hash, r.as_of, r.ruleset_hash FROM runs r "
            "LEFT JOIN rulesets s ON s.values_hash = r.ruleset_values_hash WHERE r.run_id = ?", [run_id]).fetchone()
        described[run_id] = {"name": name, "version": version, "values_hash": values_hash, "as_of": as_of,
                             "hash": file_hash, "extends": [], "values": None}
        row = db.execute("SELECT extends, values_z, values_length FROM rulesets WHERE values_hash = ?",
                         [values_hash]).fetchone() if values_hash else None
        if row is not None:
            extends, packed, length = row
            described[run_id]["extends"] = json.loads(extends or "[]")
            described[run_id]["values"] = json.loads(_inflated(packed, length, run_id, "ruleset inflates past its"))
    a, b = described[run_a], described[run_b]
    same = a["name"] == b["name"] and (a["values_hash"] == b["values_hash"] or None in (a["values_hash"], b["values_hash"]))
    differences = []
    if a["values"] is not None and b["values"] is not None:
        flat_a, flat_b = _flatten(a["values"]), _flatten(b["values"])
        differences = [{"key": key, "a": flat_a.get(key), "b": flat_b.get(key)}
                       for key in sorted(set(flat_a) | set(flat_b)) if flat_a.get(key) != flat_b.get(key)
                       and key not in ("name", "description")]
    for side in (a, b):
        side.pop("values", None)
    return {"same": same, "a": a, "b": b, "differences": differences}


def _flatten(data, prefix: str = "") -> dict[str, object]:
    if isinstance(data, dict):
        out: dict[str, object] = {}
        for key, value in data.items():
            out.update(_flatten(value, f"{prefix}.{key}" if prefix else str(key)))
        return out
    return {prefix: data}


def _met(value) -> bool | None:
    return None if value is None else bool(value)


def _window(db: Database, run_id: str) -> list[str]:
    """A stored run's window: its last ``sustained`` complete periods."""
    periods = load_run(db, run_id)["periods"]
    evaluated = [p for p in periods["evaluated"] if p != periods["partial"]]
    if periods["current"] in evaluated:
        evaluated = evaluated[: evaluated.index(periods["current"]) + 1]
    return evaluated[-periods["sustained"]:]


def prune_runs(db: Database, keep: int | None = None, before: str | None = None, ruleset: str | None = None,
               dry_run: bool = False) -> list[dict]:
    """Remove stored runs (their verdict, figures and failures) in one transaction; returns those removed.

    A run goes when it meets every condition given: beyond the newest ``keep`` runs of its ruleset,
    made before the day ``before`` (ISO date), of ``ruleset``. The newest run of each ruleset is
    always kept. With ``dry_run``, nothing is removed.
    """
    if keep is None and before is None:
        raise ValueError("prune_runs needs keep or before")
    conditions = ["newest > ?"]
    params: list = [max(keep or 1, 1)]
    if before is not None:
        conditions.append("substr(created_at, 1, 10) < ?")
        params.append(before)
    if ruleset is not None:
        conditions.append("ruleset = ?")
        params.append(ruleset)
    rows = db.execute(
        f"""SELECT run_id, ruleset, created_at, as_of FROM (
              SELECT run_id, ruleset, created_at, as_of, rowid AS seq,
                     ROW_NUMBER() OVER (PARTITION BY ruleset ORDER BY created_at DESC, rowid DESC) AS newest
              FROM runs)
            WHERE {' AND '.join(conditions)} ORDER BY created_at, seq""",
        params,
    ).fetchall()
    removed = [{"run_id": r, "ruleset": name, "created_at": created, "as_of": as_of} for r, name, created, as_of in rows]
    if removed and not dry_run:
        with db.atomic():
            db.conn.execute("CREATE TEMP TABLE IF NOT EXISTS carecheck_prune (run_id TEXT PRIMARY KEY)")
            db.conn.execute("DELETE FROM temp.carecheck_prune")
            db.conn.executemany("INSERT INTO temp.carecheck_prune VALUES (?)", [(r["run_id"],) for r in removed])
            for table in ("target_results", "runs"):
                db.conn.execute(f"DELETE FROM [{table}] WHERE run_id IN (SELECT run_id FROM temp.carecheck_prune)")
    return removed


def _resolve_run_id(db: Database, run_id: str) -> str:
    from carecheck.errors import InputError

    rows = db.execute("SELECT run_id FROM runs WHERE run_id LIKE ? || '%'", [run_id]).fetchall()
    if not rows:
        raise InputError(f"no run {run_id!r} in the store (carecheck history lists them)")
    if len(rows) > 1:
        raise InputError(f"run id {run_id!r} is ambiguous: it starts {len(rows)} runs")
    return rows[0][0]
