"""What a fleet run costs against checking the stores one by one.

    python benchmarks/fleet.py --providers 200 --json benchmarks/fleet-results.json

Generates ``--providers`` stores (``--services`` homes over ``--months`` months each: about 20,000
records at the defaults, 9 and 12), then measures, each on its own fresh copy of the stores:

1. a serial in-process loop: the fleet's own task function over every store, one after another,
   reading alongside on a second thread as ``carecheck run`` does (so it uses a little more than
   one core); this is the goal's baseline. The same loop reading in turn, as the fleet's tasks do
   (their workers have the other cores), is measured too and reported beside it;
2. a serial loop of ``carecheck run`` commands, one process per store;
3. ``carecheck fleet run`` on a local Dask cluster of ``--workers`` processes;
4. one larger store (``--large-services`` homes, about 100,000 records at the default 46), checked
   three times in-process, from which the JSON works out what ``--estimate-providers`` such stores
   cost on ``--estimate-workers`` workers.

A shared machine's speed drifts by a tenth or more from one minute to the next, so the in-process
loop and the fleet run are measured in ``--rounds`` rounds, each the loop and then the fleet run
back to back, and the round with the median ratio is the headline; every round is in the JSON.

The fleet's overhead per store is (workers x wall time - the sum of its task times) / stores, with
the cluster's start and stop measured and reported apart. Goals on a 2-core machine: the fleet's
wall time at most 0.6x the serial in-process loop, and overhead under 50 ms per store.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

AS_OF = "2026-12-31"


def _make_store(args: tuple[Path, int, int, int]) -> None:
    folder, number, services, months = args
    export = folder / f"export-{number}"
    subprocess.run([sys.executable, "-m", "carecheck", "generate", "--services", str(services), "--months",
                    str(months), "--seed", str(number), "--out", str(export)], check=True, capture_output=True)
    subprocess.run([sys.executable, "-m", "carecheck", "import", "--manifest", str(export / "manifest.yaml"),
                    "--db", str(folder / "stores" / f"provider-{number:04d}.db")], check=True, capture_output=True)
    shutil.rmtree(export)


def generate(folder: Path, providers: int, services: int, months: int) -> tuple[Path, int]:
    """Each provider from its own seed, made on every core at once."""
    from concurrent.futures import ThreadPoolExecutor

    stores = folder / "stores"
    stores.mkdir(parents=True)
    with ThreadPoolExecutor(os.cpu_count() or 1) as pool:  # each job is two child processes
        list(pool.map(_make_store, [(folder, n, services, months) for n in range(1, providers + 1)]))
    return stores, _records(stores / "provider-0001.db")


def _records(store: Path) -> int:
    import sqlite3

    con = sqlite3.connect(store)
    tables = {r[0] for r in con.execute("SELECT kind FROM imports")}
    records = sum(con.execute(f"SELECT COUNT(*) FROM [{t}]").fetchone()[0] for t in tables)
    con.close()
    return records


def serial_in_process(stores: Path, read_alongside: bool = True) -> tuple[float, float]:
    from carecheck import fleet
    from carecheck.ruleset import locate, read_chain

    path = locate(None)
    chain = read_chain(path)
    fleet_id = fleet.fleet_run_id()
    fleet.warm_worker()  # as each of the fleet's workers is, before its wall time starts
    started = time.perf_counter()
    tasks = 0.0
    for store in sorted(stores.glob("*.db")):
        result = fleet.check_store(fleet.StoreJob(str(store), store.stem), chain, str(path), date.fromisoformat(AS_OF),
                                   [], False, fleet_id, read_alongside=read_alongside)
        assert result.error is None, result.error
        tasks += result.seconds
    return time.perf_counter() - started, tasks


def large_store(folder: Path, services: int, months: int) -> dict:
    """A store of a large provider, checked three times on fresh copies; the median check."""
    from carecheck import fleet
    from carecheck.ruleset import locate, read_chain

    made = folder / "large"
    (made / "stores").mkdir(parents=True)
    _make_store((made, 0, services, months))
    store = made / "stores" / "provider-0000.db"
    records = _records(store)
    path = locate(None)
    chain = read_chain(path)
    fleet.warm_worker()
    checks = []
    for number in range(3):
        copy = made / f"copy-{number}.db"
        shutil.copy(store, copy)
        os.sync()
        result = fleet.check_store(fleet.StoreJob(str(copy), "large"), chain, str(path), date.fromisoformat(AS_OF), [],
                                   False, fleet.fleet_run_id())
        assert result.error is None, result.error
        checks.append(round(result.seconds, 3))
    shutil.rmtree(made)
    return {"services": services, "records": records, "check_s": sorted(checks)[1], "checks_s": checks}


def serial_commands(stores: Path) -> float:
    started = time.perf_counter()
    for store in sorted(stores.glob("*.db")):
        subprocess.run([sys.executable, "-m", "carecheck", "run", "--db", str(store), "--as-of", AS_OF, "--format",
                        "json", "--output", os.devnull], check=False, capture_output=True)
    return time.perf_counter() - started


def fleet_run(stores: Path, workers: int, folder: Path) -> dict:
    started = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "carecheck", "fleet", "run", "--stores", str(stores / "*.db"),
                             "--as-of", AS_OF, "--local-workers", str(workers), "--format", "json",
                             "--fleet-db", str(folder / "fleet.db")], capture_output=True, text=True)
    whole = time.perf_counter() - started
    if result.returncode not in (0, 1):
        raise SystemExit(f"fleet run failed: {result.stderr}")
    audit = json.loads(result.stdout)["audit"]
    return {**audit, "command_s": round(whole, 3)}


def _copy(stores: Path, to: Path) -> Path:
    """A fresh copy, on disk before the clock starts: a gigabyte of the copy's writes still being
    flushed would slow the measured run's own writes (each store's run is saved and synced)."""
    if to.exists():
        shutil.rmtree(to)
    shutil.copytree(stores, to)
    os.sync()
    return to


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--providers", type=int, default=200)
    parser.add_argument("--services", type=int, default=9)
    parser.add_argument("--months", type=int, default=12)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--large-services", type=int, default=46)
    parser.add_argument("--estimate-providers", type=int, default=10_000)
    parser.add_argument("--estimate-workers", type=int, default=32)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="carecheck-fleet-bench-") as name:
        folder = Path(name)
        made = time.perf_counter()
        stores, records = generate(folder / "made", args.providers, args.services, args.months)
        print(f"{args.providers} stores of about {records:,} records each made in {time.perf_counter() - made:.0f} s")
        commands_s = serial_commands(_copy(stores, folder / "commands"))
        shutil.rmtree(folder / "commands")
        print(f"serial carecheck run    {commands_s:8.2f} s   ({1000 * commands_s / args.providers:.0f} ms a store)")
        rounds = []
        for number in range(1, args.rounds + 1):
            loop_s, tasks_s = serial_in_process(_copy(stores, folder / "in_process"))
            in_turn_s, _ = serial_in_process(_copy(stores, folder / "in_process"), read_alongside=False)
            audit = fleet_run(_copy(stores, folder / "fleet"), args.workers, folder)
            wall = audit["wall_s"]
            overhead_ms = 1000 * (audit["workers"] * wall - audit["tasks_s"]) / args.providers
            rounds.append({
                "serial_in_process_s": round(loop_s, 3), "serial_task_s": round(tasks_s, 3),
                "serial_in_turn_s": round(in_turn_s, 3), "fleet_ratio_to_in_turn": round(wall / in_turn_s, 3),
                "fleet_wall_s": wall,
                "fleet_tasks_s": audit["tasks_s"], "fleet_ratio": round(wall / loop_s, 3),
                "overhead_ms_per_store": round(overhead_ms, 1), "cluster_start_s": audit["cluster_start_s"],
                "fleet_command_s": audit["command_s"], "workers": audit["workers"],
            })
            print(f"round {number}: serial in-process loop {loop_s:6.2f} s ({1000 * loop_s / args.providers:.0f} ms a "
                  f"store; reading in turn {in_turn_s:6.2f} s); fleet run ({audit['workers']} workers) {wall:6.2f} s = {wall / loop_s:.2f}x, overhead "
                  f"{overhead_ms:.1f} ms a store; cluster start {audit['cluster_start_s']:.2f} s, whole command "
                  f"{audit['command_s']:.2f} s")
        median = sorted(rounds, key=lambda r: r["fleet_ratio"])[len(rounds) // 2]
        figures = {
            "machine": f"{platform.node()} ({os.cpu_count()} cores, Python {platform.python_version()})",
            "providers": args.providers, "records_per_store": records, "serial_commands_s": round(commands_s, 3),
            **median,
            "fleet_ratio_range": [min(r["fleet_ratio"] for r in rounds), max(r["fleet_ratio"] for r in rounds)],
            "rounds": rounds,
            "goals": {"fleet_ratio_at_most": 0.6, "overhead_ms_under": 50},
        }
        large = large_store(folder, args.large_services, args.months)
        # On a cluster each worker shares its machine as the local cluster's workers share this one:
        # a task runs as much slower than it does alone as the median round's tasks did.
        contention = median["fleet_tasks_s"] / median["serial_task_s"]
        task_s = large["check_s"] * contention + median["overhead_ms_per_store"] / 1000
        figures["estimate"] = {
            "providers": args.estimate_providers, "records_per_store": large["records"],
            "workers": args.estimate_workers, "store_check_s": large["check_s"], "checks_s": large["checks_s"],
            "contention": round(contention, 3), "task_s": round(task_s, 3),
            "wall_minutes": round(args.estimate_providers * task_s / args.estimate_workers / 60, 1),
        }
        print(f"a store of {large['records']:,} records checks in {large['check_s']:.2f} s; "
              f"{args.estimate_providers:,} such stores on {args.estimate_workers} workers: about "
              f"{figures['estimate']['wall_minutes']} minutes plus the cluster's start")
        figures["goals_met"] = figures["fleet_ratio"] <= 0.6 and figures["overhead_ms_per_store"] < 50
        print(f"median round: {median['fleet_ratio']:.2f}x the in-process loop (rounds "
              f"{figures['fleet_ratio_range'][0]:.2f} to {figures['fleet_ratio_range'][1]:.2f}), overhead "
              f"{median['overhead_ms_per_store']:.1f} ms a store; goals met: {figures['goals_met']}")
        if args.json:
            args.json.write_text(json.dumps(figures, indent=2) + "\n")
            print(f"Wrote {args.json}")


if __name__ == "__main__":
    main()
