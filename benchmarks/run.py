"""carecheck's speed and memory, measured against floors taken in the same run.

    python benchmarks/run.py --records 100000 --records 1000000 --json bench.json
    python benchmarks/run.py --compare HEAD~1 --records 100000   # A/B against a commit (compare.py)

For each size it generates CSV evidence once (a realistic mix, mostly daily notes, for about 300
services over 12 months at 1,000,000 records; fewer services for smaller sizes), then runs each
step in its own process, so its peak memory (resident set) is its own:

1. the import of every file into a fresh store, against a floor: the same files parsed with the
   csv module and inserted with sqlite3 executemany in one transaction into tables with the same
   primary keys and indexes, with no validation; then the import again, unchanged (skipped);
2. ``carecheck run`` with the whole default ruleset, and ``carecheck run --target inc_review_5wd``
   against a floor: hand-written SQL for that target per service and month (the two are run in
   turn five times, and their medians compared: each takes well under a second);
3. ``carecheck demo``, end to end.

Standard library plus carecheck (and the PyYAML and holidays it depends on).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
TARGET = "inc_review_5wd"
TARGET_REPEATS = 5


# Measure carecheck as it runs once installed: with its compiled bytecode cached.
ENV = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}


def measure(command: list[str], label: str) -> tuple[float, float]:
    """Wall time (s) and peak resident set (MB) of one process."""
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=ENV)
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - started
    stderr = process.stderr.read().decode(errors="replace") if process.stderr else ""
    process.stderr.close()
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        raise SystemExit(f"{label} failed with exit code {code}:\n{stderr[-2000:]}")
    return elapsed, usage.ru_maxrss / 1024  # Linux reports kilobytes


def measure_pair(step: list[str], floor: list[str], label: str, times: int = 5) -> tuple[float, float, float]:
    """A short step and its floor, run in turn ``times`` times so both see the machine alike: the
    median wall time of each (one run of under a second is at the mercy of a busy neighbour), and
    the step's highest peak memory."""
    step_s, floor_s, peak = [], [], 0.0
    for _ in range(times):
        elapsed, mb = measure(step, label)
        step_s.append(elapsed)
        peak = max(peak, mb)
        floor_s.append(measure(floor, f"{label} floor")[0])
    return statistics.median(step_s), statistics.median(floor_s), peak


def carecheck(*args: str) -> list[str]:
    return [sys.executable, "-m", "carecheck", *args]


def shape(records: int, folder: Path) -> tuple[int, int]:
    """Services and daily notes per day that give about ``records`` records over 12 months."""
    from carecheck.importing.generator import generate

    services = max(10, round(300 * records / 1_000_000))
    probe = generate(folder / "probe", services=1, months=12, seed=1, notes_per_day=0)
    other = sum(sum(1 for _ in open(p, encoding="cp1252")) - 1 for p in probe.parent.glob("*.csv"))
    shutil.rmtree(probe.parent)
    per_service = records / services
    notes_per_day = max(0, round((per_service - other) / 365))
    return services, notes_per_day


def count_rows(manifest: Path) -> int:
    return sum(sum(1 for _ in open(p, encoding="cp1252")) - 1 for p in manifest.parent.glob("*.csv"))


def one_size(records: int, work: Path, results: list[dict]) -> None:
    folder = work / f"size-{records}"
    folder.mkdir(parents=True, exist_ok=True)
    services, notes = shape(records, folder)
    export = folder / "export"
    subprocess.run(carecheck("generate", "--services", str(services), "--months", "12", "--seed", "1",
                             "--notes-per-day", str(notes), "--start", "2025-09-01", "--out", str(export)),
                   check=True, stdout=subprocess.DEVNULL)
    manifest = export / "manifest.yaml"
    total = count_rows(manifest)
    as_of = "2026-08-31"
    print(f"\n{total:,} records: {services} services, 12 months, {notes} daily notes per service per day")

    store = folder / "carecheck.db"
    for stale in (store, folder / "carecheck.db-wal", folder / "carecheck.db-shm", folder / "schema.db"):
        stale.unlink(missing_ok=True)  # a kept work folder: the import is timed into a fresh store
    import_s, import_mb = measure(carecheck("import", "--manifest", str(manifest), "--db", str(store)), "import")
    reimport_s, _ = measure(carecheck("import", "--manifest", str(manifest), "--db", str(store)), "re-import")

    schema = folder / "schema.db"
    subprocess.run([sys.executable, "-c", f"from carecheck.store import open_store; open_store({str(schema)!r}).close()"],
                   check=True)
    floor_db = folder / "floor.db"
    floor_s, floor_mb = measure([sys.executable, str(HERE / "floor_import.py"), str(schema), str(floor_db), str(manifest)],
                                "import floor")

    verdict = folder / "verdict.json"
    run_s, run_mb = measure(carecheck("run", "--db", str(store), "--as-of", as_of, "--format", "json",
                                      "--output", str(verdict)), "run")
    target_s, target_floor_s, target_mb = measure_pair(
        carecheck("run", "--db", str(store), "--as-of", as_of, "--target", TARGET, "--format", "json",
                  "--output", str(folder / "target.json")),
        [sys.executable, str(HERE / "floor_target.py"), str(store), as_of, str(folder / "floor-target.json")],
        "target run", TARGET_REPEATS,
    )
    entry = {
        "records": total,
        "services": services,
        "import_s": round(import_s, 3),
        "import_floor_s": round(floor_s, 3),
        "import_ratio": round(import_s / floor_s, 2),
        "target_run_s": round(target_s, 3),
        "target_floor_s": round(target_floor_s, 3),
        "target_ratio": round(target_s / target_floor_s, 2),
        "ruleset_run_s": round(run_s, 3),
        "records_per_s": round(total / run_s),
        "import_peak_mb": round(import_mb, 1),
        "run_peak_mb": round(max(run_mb, target_mb), 1),
        "reimport_s": round(reimport_s, 3),
    }
    results.append(entry)
    print(f"import           {import_s:8.2f} s   floor {floor_s:6.2f} s   ratio {entry['import_ratio']:5.2f}   peak {import_mb:6.1f} MB")
    print(f"re-import        {reimport_s:8.2f} s   ({reimport_s / import_s:.1%} of the first import)")
    print(f"run, one target  {target_s:8.2f} s   floor {target_floor_s:6.2f} s   ratio {entry['target_ratio']:5.2f}   "
          f"peak {target_mb:6.1f} MB   (medians of {TARGET_REPEATS})")
    print(f"run, ruleset     {run_s:8.2f} s   {entry['records_per_s']:,} records/s   peak {run_mb:6.1f} MB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, action="append", required=True, help="A size to measure; repeatable.")
    parser.add_argument("--json", type=Path, help="Write the figures here as JSON.")
    parser.add_argument("--workdir", type=Path, help="Keep generated files and stores here (default: a temporary folder).")
    parser.add_argument("--compare", metavar="REF", help="A/B: measure the commit REF (built in a temporary worktree "
                        "and virtual environment) and the working tree alternately (benchmarks/compare.py).")
    parser.add_argument("--rounds", type=int, default=5, help="With --compare: rounds of each step on each side.")
    args = parser.parse_args()
    if args.compare:
        import compare

        work = args.workdir or Path(tempfile.mkdtemp(prefix="carecheck-compare-"))
        work.mkdir(parents=True, exist_ok=True)
        measure(carecheck("--version"), "warm-up")
        try:
            compare.dump(compare.compare(args.compare, args.records, work, args.rounds, measure, shape), args.json)
        finally:
            if not args.workdir:
                shutil.rmtree(work, ignore_errors=True)
        return

    work = args.workdir or Path(tempfile.mkdtemp(prefix="carecheck-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    print(f"carecheck benchmark on {platform.node()} ({os.cpu_count()} cores, Python {platform.python_version()}), "
          f"work folder {work}")
    measure(carecheck("--version"), "warm-up")  # compiles and caches carecheck's bytecode once
    demo_s, demo_mb = measure(carecheck("demo", "--db", str(work / "demo.db")), "demo")
    print(f"demo             {demo_s:8.2f} s   peak {demo_mb:6.1f} MB")
    results: list[dict] = []
    try:
        for records in args.records:
            one_size(records, work, results)
    finally:
        if not args.workdir:
            shutil.rmtree(work, ignore_errors=True)
    payload = {"demo_s": round(demo_s, 3), "sizes": results}
    if args.json:
        args.json.write_text(json.dumps(payload, indent=2) + "\n")
        print(f"\nWrote {args.json}")


if __name__ == "__main__":
    main()
