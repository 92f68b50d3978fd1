"""The single-target floor: hand-written SQL for "incidents reviewed within five working days",
per service and month, with the same England and Wales bank holidays. Run by benchmarks/run.py
in a process of its own.

    python floor_target.py DB AS_OF OUT.json
"""

import json
import sqlite3
import sys
from datetime import date, timedelta

import holidays


def main(db: str, as_of: str, out: str) -> None:
    conn = sqlite3.connect(db)
    first, last = conn.execute("SELECT MIN(substr(occurred_at, 1, 10)), MAX(substr(occurred_at, 1, 10)) FROM incident").fetchone()
    start, end = date.fromisoformat(first), date.fromisoformat(last) + timedelta(days=30)
    closed = set()
    for year in range(start.year, end.year + 1):
        closed |= set(holidays.country_holidays("GB", subdiv="ENG", years=year))
    conn.execute("CREATE TEMP TABLE workdays (day TEXT PRIMARY KEY)")
    day = start
    while day <= end:
        if day.weekday() < 5 and day not in closed:
            conn.execute("INSERT INTO workdays VALUES (?)", (day.isoformat(),))
        day += timedelta(days=1)
    rows = conn.execute(
        """WITH due AS (
               SELECT i.service, substr(i.occurred_at, 1, 7) AS month, substr(i.reviewed_at, 1, 10) AS reviewed,
                      (SELECT w.day FROM workdays w WHERE w.day > substr(i.occurred_at, 1, 10)
                       ORDER BY w.day LIMIT 1 OFFSET 4) AS deadline
               FROM incident i)
           SELECT service, month,
                  SUM(reviewed IS NOT NULL AND reviewed <= :as_of AND reviewed <= deadline) AS numerator,
                  SUM((reviewed IS NOT NULL AND reviewed <= :as_of) OR :as_of > deadline) AS denominator
           FROM due GROUP BY service, month ORDER BY service, month""",
        {"as_of": as_of},
    ).fetchall()
    with open(out, "w") as handle:
        json.dump(rows, handle)


if __name__ == "__main__":
    main(*sys.argv[1:])
