"""The benchmark script still runs end to end (on a tiny size) and writes the JSON it promises."""

import json
import sqlite3
import subprocess
import sys

from builders import REPO

import pytest

pytestmark = pytest.mark.slow

KEYS = {"records", "services", "import_s", "import_floor_s", "import_ratio", "target_run_s", "target_floor_s",
        "target_ratio", "ruleset_run_s", "records_per_s", "import_peak_mb", "run_peak_mb", "reimport_s"}


def bench(out, workdir):
    return subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "run.py"), "--records", "8000", "--json", str(out),
         "--workdir", str(workdir)],
        capture_output=True, text=True, timeout=600,
    )


def test_benchmark_script_writes_its_figures(tmp_path):
    out = tmp_path / "bench.json"
    done = bench(out, tmp_path / "work")
    assert done.returncode == 0, done.stderr[-2000:]
    figures = json.loads(out.read_text())
    assert set(figures) == {"demo_s", "sizes"}
    (size,) = figures["sizes"]
    assert set(size) == KEYS
    assert size["records"] > 5_000 and size["services"] == 10
    assert size["import_ratio"] > 0 and size["reimport_s"] < size["import_s"]
    for line in ("import ", "re-import", "run, one target", "run, ruleset", "demo"):
        assert line in done.stdout

    # Again in the same work folder: the import is timed into a fresh store, not the last one
    # (which would make it a re-import). The store keeps its runs: one whole ruleset, five of one target.
    again = bench(out, tmp_path / "work")
    assert again.returncode == 0, again.stderr[-2000:]
    store = sqlite3.connect(tmp_path / "work" / "size-8000" / "carecheck.db")
    assert store.execute("SELECT COUNT(*) FROM runs").fetchone() == (6,)
    store.close()
