"""A/B: carecheck at a commit (A) against the working tree (B), measured alternately on one machine.

    python benchmarks/run.py --compare HEAD~1 --records 100000

The machine's speed drifts from hour to hour, so a budget is a ratio of two figures measured in
the same run. A is built from its commit in a temporary git worktree and virtual environment (kept
in the work folder, so a second comparison against the same commit reuses it); B is the carecheck
that runs this script. Each side generates its evidence with its own generator (same services,
months, seed and notes per day) and imports it with its own carecheck, so a commit that cannot read
the newer generator's output is still measured fairly. Then, for each round, each step runs on A
and then on B (the order alternating between rounds):

- ``start``: ``carecheck --version``;
- ``import``: every file into a fresh store;
- ``ruleset``: ``carecheck run`` with the whole default ruleset (stored, as a user's run is);
- ``target``: ``carecheck run --target inc_review_5wd``.

It prints the median of each figure on each side and the ratio B/A.
"""

from __future__ import annotations

import json
import shutil
import statistics
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
AS_OF = "2026-08-31"
TARGET = "inc_review_5wd"


def build(ref: str, work: Path) -> Path:
    """The Python of a virtual environment with carecheck installed from commit ``ref``."""
    commit = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--verify", f"{ref}^{{commit}}"],
                            capture_output=True, text=True)
    if commit.returncode != 0:
        raise SystemExit(f"--compare {ref}: not a commit of this repository")
    sha = commit.stdout.strip()
    place = work / f"ref-{sha[:12]}"
    python = place / "venv" / "bin" / "python"
    if (place / "installed").exists():
        return python
    shutil.rmtree(place, ignore_errors=True)
    place.mkdir(parents=True)
    subprocess.run(["git", "-C", str(REPO), "worktree", "add", "--detach", str(place / "src"), sha],
                   check=True, capture_output=True)
    try:
        subprocess.run([sys.executable, "-m", "venv", str(place / "venv")], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                        str(place / "src")], check=True)
    finally:
        # The installed package is a copy: the worktree is no longer needed.
        subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force", str(place / "src")],
                       capture_output=True)
    (place / "installed").write_text(sha + "\n")
    print(f"built {ref} ({sha[:12]}) in {place}")
    return python


def prepare(python: Path, side: Path, services: int, notes: int) -> Path:
    """This side's evidence, made by its own generator; returns the manifest."""
    export = side / "export"
    if not (export / "manifest.yaml").exists():
        subprocess.run([str(python), "-m", "carecheck", "generate", "--services", str(services), "--months", "12",
                        "--seed", "1", "--notes-per-day", str(notes), "--start", "2025-09-01", "--out", str(export)],
                       check=True, stdout=subprocess.DEVNULL)
    return export / "manifest.yaml"


def compare(ref: str, sizes: list[int], work: Path, rounds: int, measure, shape) -> dict:
    a_python = build(ref, work)
    b_python = Path(sys.executable)
    results = {}
    for records in sizes:
        folder = work / f"compare-{records}"
        folder.mkdir(parents=True, exist_ok=True)
        services, notes = shape(records, folder)
        sides = {"A": (a_python, folder / "A"), "B": (b_python, folder / "B")}
        manifests = {}
        for name, (python, side) in sides.items():
            side.mkdir(exist_ok=True)
            manifests[name] = prepare(python, side, services, notes)
        figures: dict[str, dict[str, list[float]]] = {name: {} for name in sides}
        print(f"\n{records:,} records ({services} services): A = {ref}, B = working tree, {rounds} rounds")
        for number in range(rounds):
            order = list(sides) if number % 2 == 0 else list(reversed(sides))
            for name in order:
                python, side = sides[name]
                run = [str(python), "-m", "carecheck"]
                store = side / "carecheck.db"
                for stale in (store, Path(f"{store}-wal"), Path(f"{store}-shm")):
                    stale.unlink(missing_ok=True)
                steps = {
                    "start": run + ["--version"],
                    "import": run + ["import", "--manifest", str(manifests[name]), "--db", str(store)],
                    "ruleset": run + ["run", "--db", str(store), "--as-of", AS_OF, "--format", "json", "--output",
                                      str(side / "verdict.json")],
                    "target": run + ["run", "--db", str(store), "--as-of", AS_OF, "--target", TARGET, "--format",
                                     "json", "--output", str(side / "target.json")],
                }
                for step, command in steps.items():
                    seconds, megabytes = measure(command, f"{name} {step}")
                    figures[name].setdefault(f"{step}_s", []).append(seconds)
                    figures[name].setdefault(f"{step}_mb", []).append(megabytes)
        table = {}
        for key in figures["A"]:
            a, b = statistics.median(figures["A"][key]), statistics.median(figures["B"][key])
            table[key] = {"A": round(a, 3), "B": round(b, 3), "ratio": round(b / a, 3) if a else None}
            unit = "s" if key.endswith("_s") else "MB"
            print(f"{key:12} A {a:9.3f} {unit:2}  B {b:9.3f} {unit:2}  B/A {b / a if a else float('nan'):6.3f}")
        results[str(records)] = table
    return {"ref": ref, "rounds": rounds, "sizes": results,
            "ref_commit": (work / f"ref-{_short(ref)}" / "installed").read_text().strip()
            if (work / f"ref-{_short(ref)}" / "installed").exists() else None}


def _short(ref: str) -> str:
    sha = subprocess.run(["git", "-C", str(REPO), "rev-parse", f"{ref}^{{commit}}"], capture_output=True,
                         text=True).stdout.strip()
    return sha[:12]


def dump(payload: dict, path: Path | None) -> None:
    if path:
        path.write_text(json.dumps(payload, indent=2) + "\n")
        print(f"\nWrote {path}")

