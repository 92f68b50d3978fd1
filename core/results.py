"""Keeping runs in the store: the verdict, every figure, and every failure behind it."""

from __future__ import annotations

import json

from sqlite_utils import Database


def save_run(db: Database, verdict: dict, failures: list[tuple[str, str, str, str, str]]) -> str:
    """Store a run in one transaction; returns its run id."""
    run_id = verdict["audit"]["run_id"]
    rows = []
    for domain in verdict["domains"]:
        for target in domain["targets"]:
            series = [("(provider)", target["status"], target["periods"])] + [
                (s["service"], s["status"], s["periods"]) for s in target["services"]
            ]
            for service, status, periods in series:
                for entry in periods:
                    rows.append((
                        run_id, domain["domain"], target["id"], service, entry["period"], int(entry["partial"]),
                        entry["numerator"], entry["denominator"], entry["value"],
                        None if entry["met"] is None else int(entry["met"]), status,
                    ))
    with db.atomic():
        db.conn.execute(
            "INSERT INTO runs (run_id, created_at, as_of, ruleset, ruleset_hash, engine, score, percentage, verdict, "
            "current_period) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (run_id, verdict["audit"]["generated_at"], verdict["as_of"], verdict["ruleset"]["name"],
             verdict["ruleset"]["hash"], verdict["audit"]["engine"], verdict["verdict"]["score"],
             verdict["verdict"]["percentage"], json.dumps(verdict), verdict["periods"]["current"]),
        )
        db.conn.executemany("INSERT INTO target_results VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
        db.conn.executemany(
            "INSERT INTO run_failures VALUES (?, ?, ?, ?, ?, ?)", [(run_id, *failure) for failure in failures]
        )
    return run_id


def target_history(db: Database, ruleset: str, service: str = "(provider)") -> dict[str, list[dict]]:
    """Each target's current-period value and status in earlier runs of ``ruleset``, oldest first."""
    history: dict[str, list[dict]] = {}
    for run_id, created, as_of, period, target, value, status in db.execute(
        """SELECT r.run_id, r.created_at, r.as_of, r.current_period, t.target, t.value, t.status
           FROM runs r JOIN target_results t ON t.run_id = r.run_id AND t.period = r.current_period
           WHERE r.ruleset = ? AND t.service = ? ORDER BY r.created_at, r.rowid""",
        [ruleset, service],
    ).fetchall():
        history.setdefault(target, []).append(
            {"run_id": run_id, "generated_at": created, "as_of": as_of, "period": period, "value": value, "status": status}
        )
    return history


def load_run(db: Database, run_id: str) -> dict:
    """A stored verdict by run id (or a unique prefix of one)."""
    from .errors import InputError

    rows = db.execute("SELECT run_id, verdict FROM runs WHERE run_id LIKE ? || '%'", [run_id]).fetchall()
    if not rows:
        raise InputError(f"no run {run_id!r} in the store (carecheck history lists them)")
    if len(rows) > 1:
        raise InputError(f"run id {run_id!r} is ambiguous: it starts {len(rows)} runs")
    return json.loads(rows[0][1])
