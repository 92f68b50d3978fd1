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
            "INSERT INTO runs (run_id, created_at, as_of, ruleset, ruleset_hash, engine, score, percentage, verdict) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (run_id, verdict["audit"]["generated_at"], verdict["as_of"], verdict["ruleset"]["name"],
             verdict["ruleset"]["hash"], verdict["audit"]["engine"], verdict["verdict"]["score"],
             verdict["verdict"]["percentage"], json.dumps(verdict)),
        )
        db.conn.executemany("INSERT INTO target_results VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
        db.conn.executemany(
            "INSERT INTO run_failures VALUES (?, ?, ?, ?, ?, ?)", [(run_id, *failure) for failure in failures]
        )
    return run_id
