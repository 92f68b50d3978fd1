"""The import floor: the same CSV files parsed with the standard csv module and inserted with
sqlite3 executemany, in one transaction, into tables with carecheck's primary keys and indexes.
No validation, no mapping, no history. Run by benchmarks/run.py in a process of its own.

    python floor_import.py SCHEMA_DB TARGET_DB MANIFEST
"""

import csv
import shutil
import sqlite3
import sys
from pathlib import Path

import yaml


def main(schema_db: str, target_db: str, manifest: str) -> None:
    shutil.copy(schema_db, target_db)  # an empty store with carecheck's tables and indexes
    conn = sqlite3.connect(target_db, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    base = Path(manifest).parent
    conn.execute("BEGIN")
    for entry in yaml.safe_load(Path(manifest).read_text()):
        with open(base / entry["path"], newline="", encoding=entry.get("options", {}).get("encoding", "utf-8")) as handle:
            reader = csv.reader(handle)
            header = next(reader)
            columns = ", ".join(f"[{c}]" for c in header)
            marks = ", ".join("?" for _ in header)
            conn.executemany(f"INSERT INTO [{entry['kind']}] ({columns}) VALUES ({marks})", reader)
    conn.execute("COMMIT")
    conn.close()


if __name__ == "__main__":
    main(*sys.argv[1:])
