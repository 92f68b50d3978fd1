"""Two imports and a run started at once, on a fresh store and on a populated one: nothing is lost,
no lock error reaches the user, and nothing exits 3."""

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from builders import STRESS_ATTEMPTS

# Timing-sensitive: never beside another stress loop, always in the system tier.
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("timing")]

SERVICES = "id,service,service_type\nS1,Oak House,residential\nS2,Elm Lodge,nursing\n"
INCIDENTS = "id,service,occurred_at,harm_level,cause\n" + "".join(
    f"I{n},{'Oak House' if n % 2 else 'Elm Lodge'},{1 + n % 28:02d}/0{1 + n % 8}/2026 10:00,none,fall\n"
    for n in range(300))


def _start(*args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "carecheck", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def _together(store: Path, services: Path, incidents: Path) -> list[tuple[int, str]]:
    processes = [
        _start("import", "--db", str(store), "--kind", "service", str(services)),
        _start("import", "--db", str(store), "--kind", "incident", str(incidents)),
        _start("run", "--db", str(store), "--as-of", "30/09/2026", "--format", "json"),
    ]
    errors = [process.communicate(timeout=120)[1] for process in processes]
    return [(process.returncode, error) for process, error in zip(processes, errors)]


def _counts(store: Path) -> tuple[int, int]:
    con = sqlite3.connect(store)
    try:
        return (con.execute("SELECT count(*) FROM service").fetchone()[0],
                con.execute("SELECT count(*) FROM incident").fetchone()[0])
    finally:
        con.close()


@pytest.mark.parametrize("populated", [False, True], ids=["fresh", "populated"])
def test_two_imports_and_a_run_at_once(tmp_path, populated):
    services, incidents = tmp_path / "services.csv", tmp_path / "incidents.csv"
    services.write_text(SERVICES)
    incidents.write_text(INCIDENTS)
    earlier = tmp_path / "earlier.csv"
    earlier.write_text("id,service,occurred_at\nE1,Oak House,01/01/2026 09:00\n")
    for attempt in range(STRESS_ATTEMPTS):
        store = tmp_path / f"store{attempt}.db"
        if populated:
            done = subprocess.run([sys.executable, "-m", "carecheck", "import", "--db", str(store), "--kind",
                                   "incident", str(earlier)], capture_output=True, text=True)
            assert done.returncode == 0, done.stderr
        (services_rc, services_err), (incidents_rc, incidents_err), (run_rc, run_err) = _together(
            store, services, incidents)
        assert (services_rc, incidents_rc) == (0, 0), (attempt, services_err, incidents_err)
        assert _counts(store) == (2, 300 + populated), attempt
        everything = services_err + incidents_err + run_err
        assert "locked" not in everything and "internal error" not in everything, (attempt, everything)
        if populated:
            assert run_rc == 0, (attempt, run_err)
        else:
            # A real race: the run may start before either import has made the store.
            assert run_rc in (0, 2), (attempt, run_err)
            if run_rc == 2:
                assert "no records imported" in run_err or "no evidence store here" in run_err, (attempt, run_err)
