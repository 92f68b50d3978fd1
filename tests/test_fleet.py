"""``carecheck fleet run``: many providers' stores checked as Dask tasks give each provider the
verdict ``carecheck run`` gives; a bad store is one named failure; a lost worker loses no store;
an existing cluster is used when named."""

import json
import os
import shutil
import signal
import stat
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

# One worker runs the fleet tests in turn: their twelve stores are made once, and two Dask clusters
# never compete for the same cores.
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("fleet")]

pytest.importorskip("dask.distributed")

PROVIDERS = 12
AS_OF = "30/04/2026"


@pytest.fixture(scope="module")
def stores(tmp_path_factory):
    """Twelve generated providers' stores (two homes, four months each, each its own seed)."""
    from click.testing import CliRunner

    from carecheck.cli import build_cli

    root = tmp_path_factory.mktemp("fleet")
    (root / "stores").mkdir()
    runner = CliRunner()
    for number in range(1, PROVIDERS + 1):
        export = root / f"export-{number}"
        for args in (["generate", "--services", "2", "--months", "4", "--seed", str(number), "--out", str(export)],
                     ["import", "--manifest", str(export / "manifest.yaml"), "--db",
                      str(root / "stores" / f"provider-{number:02d}.db")]):
            result = runner.invoke(build_cli(), args)
            assert result.exit_code == 0, result.output
    return root / "stores"


def _copy(stores, to):
    shutil.copytree(stores, to)
    return to


def _carecheck(*args, cwd, timeout=300):
    env = {key: value for key, value in os.environ.items() if not key.startswith("CARECHECK_")}
    return subprocess.run([sys.executable, "-m", "carecheck", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, env=env, timeout=timeout)


def _stored_verdict(store: Path, run_id: str | None = None) -> dict:
    con = sqlite3.connect(store)
    run_id = run_id or con.execute("SELECT run_id FROM runs ORDER BY created_at DESC, rowid DESC").fetchone()[0]
    con.close()
    result = _carecheck("report", run_id, "--db", store, "--format", "json", cwd=store.parent)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def _comparable(verdict: dict) -> dict:
    """A verdict without what differs between two runs of the same check: its id, its times and
    the fleet run's id."""
    audit = verdict["audit"]
    for key in ("run_id", "generated_at", "fleet_run_id"):
        audit.pop(key, None)
    verdict.pop("history", None)
    return verdict


def test_a_fleet_gives_each_provider_the_verdict_carecheck_run_gives(stores, tmp_path):
    fleet_stores = _copy(stores, tmp_path / "fleet")
    single_stores = _copy(stores, tmp_path / "single")
    result = _carecheck("fleet", "run", "--stores", fleet_stores / "*.db", "--as-of", AS_OF, "--local-workers", 2,
                        "--format", "json", "--fleet-db", tmp_path / "fleet.db", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    view = json.loads(result.stdout)
    assert view["audit"]["stores"] == PROVIDERS and view["audit"]["failed"] == 0
    assert result.stderr.strip().startswith(f"{PROVIDERS} stores in ")
    # Daily notes every day to the end of April: every store's evidence runs to the run's date.
    assert {store["newest_evidence"] for store in view["stores"]} == {"2026-04-30"}
    assert all(store["data_end"] is None for store in view["stores"])
    # Every store was closed before the cluster stopped: its write-ahead log folded back in.
    assert sorted(p.name for p in fleet_stores.iterdir()) == [f"provider-{n:02d}.db" for n in range(1, PROVIDERS + 1)]
    for number in range(1, PROVIDERS + 1):
        name = f"provider-{number:02d}.db"
        single = _carecheck("run", "--db", single_stores / name, "--as-of", AS_OF, "--format", "json", cwd=tmp_path)
        assert single.returncode == 0, single.stderr
        fleet_verdict = _stored_verdict(fleet_stores / name)
        assert fleet_verdict["audit"]["fleet_run_id"] == view["fleet_run_id"]
        assert _comparable(fleet_verdict) == _comparable(json.loads(single.stdout)), name
    # The fleet database: one row per provider, location, domain and target, and the audit.
    con = sqlite3.connect(tmp_path / "fleet.db")
    assert con.execute("SELECT COUNT(DISTINCT provider) FROM fleet_results").fetchone() == (PROVIDERS,)
    # Two homes, 18 targets each, per provider.
    assert con.execute("SELECT COUNT(*) FROM fleet_results").fetchone() == (PROVIDERS * 2 * 18,)
    assert con.execute("SELECT stores, failed, workers FROM fleet_runs").fetchone() == (PROVIDERS, 0, 2)


def test_one_corrupt_store_among_ten_is_one_named_failure(stores, tmp_path):
    some = tmp_path / "some"
    some.mkdir()
    for number in range(1, 10):
        shutil.copy(stores / f"provider-{number:02d}.db", some)
    (some / "provider-broken.db").write_bytes(b"this is not an SQLite database" * 100)
    result = _carecheck("fleet", "run", "--stores", some / "*.db", "--as-of", AS_OF, "--local-workers", 2,
                        "--format", "json", "--fleet-db", tmp_path / "fleet.db", cwd=tmp_path)
    assert result.returncode == 2
    view = json.loads(result.stdout)
    assert [f["provider"] for f in view["failures"]] == ["provider-broken"]
    assert view["failures"][0]["error"] == (f"{some / 'provider-broken.db'}: is not a carecheck store (not a SQLite "
                                            "database); carecheck leaves it unchanged")
    con = sqlite3.connect(tmp_path / "fleet.db")
    assert con.execute("SELECT COUNT(*) FROM fleet_stores WHERE error IS NULL").fetchone() == (9,)
    assert con.execute("SELECT COUNT(DISTINCT provider) FROM fleet_results").fetchone() == (9,)


def test_a_worker_killed_mid_run_loses_no_store(stores, tmp_path):
    import psutil

    fleet_stores = _copy(stores, tmp_path / "fleet")
    env = {key: value for key, value in os.environ.items() if not key.startswith("CARECHECK_")}
    command = [sys.executable, "-m", "carecheck", "fleet", "run", "--stores", str(fleet_stores / "*.db"),
               "--as-of", AS_OF, "--local-workers", "2", "--format", "json", "--fleet-db", str(tmp_path / "fleet.db")]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path, env=env)
    parent = psutil.Process(process.pid)
    killed = None
    deadline = time.monotonic() + 60
    while killed is None and time.monotonic() < deadline and process.poll() is None:
        # A worker has started a task once its store's write-ahead log appears.
        busy = list(fleet_stores.glob("*.db-wal"))
        # Dask's worker processes (started by their nannies through multiprocessing's spawn).
        workers = []
        for child in parent.children(recursive=True):
            try:
                if "spawn_main" in " ".join(child.cmdline()):
                    workers.append(child)
            except psutil.Error:
                continue
        if busy and len(workers) >= 2:
            killed = workers[-1]
            killed.send_signal(signal.SIGKILL)
        time.sleep(0.05)
    stdout, stderr = process.communicate(timeout=300)
    assert killed is not None, "no worker was running to kill"
    assert process.returncode == 0, stderr
    view = json.loads(stdout)
    assert view["audit"]["failed"] == 0
    assert sorted(s["provider"] for s in view["stores"] if s["run_id"]) == [
        f"provider-{n:02d}" for n in range(1, PROVIDERS + 1)]


def test_an_existing_scheduler_and_workers_are_used(stores, tmp_path):
    scheduler_file = tmp_path / "scheduler.json"
    dask = Path(sys.executable).parent / "dask"
    processes = [subprocess.Popen([str(dask), "scheduler", "--host", "127.0.0.1", "--port", "0",
                                   "--scheduler-file", str(scheduler_file), "--no-dashboard"],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
    try:
        deadline = time.monotonic() + 60
        while not scheduler_file.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        address = json.loads(scheduler_file.read_text())["address"]
        # One worker started as docs/fleet.md advises, one with Dask's defaults (its profiler on).
        for profiler in ("False", "True"):
            processes.append(subprocess.Popen([str(dask), "worker", address, "--nworkers", "1", "--nthreads", "1",
                                               "--no-dashboard"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                              env={**os.environ, "DASK_DISTRIBUTED__WORKER__PROFILE__ENABLED": profiler}))
        from dask.distributed import Client

        with Client(address, timeout="60s") as client:
            client.wait_for_workers(2, timeout=60)
        some = tmp_path / "some"
        some.mkdir()
        for number in range(1, 5):
            shutil.copy(stores / f"provider-{number:02d}.db", some)
        result = _carecheck("fleet", "run", "--stores", some / "*.db", "--as-of", AS_OF, "--scheduler", address,
                            "--format", "json", "--fleet-db", tmp_path / "fleet.db", cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        view = json.loads(result.stdout)
        assert view["audit"]["scheduler"] == address and view["audit"]["workers"] == 2
        assert view["audit"]["stores"] == 4 and view["audit"]["failed"] == 0
        assert "Note: 1 worker(s) run Dask's profiler" in result.stderr
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()


def test_read_only_stores_are_never_written(stores, tmp_path):
    import hashlib

    some = tmp_path / "some"
    some.mkdir()
    for number in (1, 2):
        shutil.copy(stores / f"provider-{number:02d}.db", some)
    before = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in some.iterdir()}
    result = _carecheck("fleet", "run", "--stores", some / "*.db", "--as-of", AS_OF, "--local-workers", 1,
                        "--read-only-stores", "--format", "html", "--output", tmp_path / "fleet.html",
                        "--packs", tmp_path / "packs", "--fleet-db", tmp_path / "fleet.db", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in some.iterdir()} == before
    page = (tmp_path / "fleet.html").read_text()
    assert "<script" not in page and "provider-01" in page and "Fleet overview" in page
    assert "<a href='packs/provider-01.html'>provider-01</a>" in page
    assert "<script" not in (tmp_path / "packs" / "provider-01.html").read_text()
    con = sqlite3.connect(tmp_path / "fleet.db")
    assert con.execute("SELECT COUNT(DISTINCT provider) FROM fleet_results").fetchone() == (2,)


def test_stores_from_a_csv_name_providers_and_send_their_waivers(stores, tmp_path):
    for number in (1, 2):
        shutil.copy(stores / f"provider-{number:02d}.db", tmp_path / f"p{number}.db")
    (tmp_path / "waivers.yaml").write_text(
        "- target: po_monthly_visit\n  justification: Area manager on leave\n  approved_by: Nominated individual\n"
        "  expires: 2026-12-31\n")
    (tmp_path / "providers.csv").write_text("store,provider,waivers\np1.db,Acme Care,waivers.yaml\np2.db,Birch Homes,\n")
    result = _carecheck("fleet", "run", "--stores-from", tmp_path / "providers.csv", "--as-of", AS_OF,
                        "--local-workers", 1, "--format", "json", "--fleet-db", tmp_path / "fleet.db", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    view = json.loads(result.stdout)
    assert sorted(s["provider"] for s in view["stores"]) == ["Acme Care", "Birch Homes"]
    waived = {w["target"] for w in _stored_verdict(tmp_path / "p1.db")["waivers"]}
    assert waived == {"po_monthly_visit"}
    assert _stored_verdict(tmp_path / "p2.db")["waivers"] == []


def test_stores_from_a_csv_with_an_unknown_column_is_refused(tmp_path):
    (tmp_path / "providers.csv").write_text("store,owner\np1.db,x\n")
    result = _carecheck("fleet", "run", "--stores-from", tmp_path / "providers.csv", "--as-of", AS_OF, cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip() == (
        f"Error: {tmp_path / 'providers.csv'}: unknown column 'owner' (columns: store, provider, waivers)")


def test_a_terminal_sees_progress_and_the_final_rate(stores, tmp_path):
    import pty

    some = tmp_path / "some"
    some.mkdir()
    for number in (1, 2, 3):
        shutil.copy(stores / f"provider-{number:02d}.db", some)
    shutil.copy(stores / "provider-04.db", some / "provider-04.db")
    (some / "provider-04.db").write_bytes(b"not a store")
    leader, follower = pty.openpty()
    env = {key: value for key, value in os.environ.items() if not key.startswith("CARECHECK_")}
    process = subprocess.Popen([sys.executable, "-m", "carecheck", "fleet", "run", "--stores", str(some / "*.db"),
                                "--as-of", AS_OF, "--local-workers", "1", "--format", "json", "--fleet-db",
                                str(tmp_path / "fleet.db")], stdout=subprocess.PIPE, stderr=follower, cwd=tmp_path,
                               env=env)
    os.close(follower)
    seen = b""
    while True:
        try:
            chunk = os.read(leader, 4096)
        except OSError:  # the terminal's other end closed: the command is done
            break
        if not chunk:
            break
        seen += chunk
    process.communicate(timeout=300)
    os.close(leader)
    assert process.returncode == 2
    shown = seen.decode().replace("\r\n", "\n").split("\r")
    # One line per finished store, redrawn in place; the corrupt store counted as failed.
    assert shown[1].startswith("1/4 stores done, ") and "3 running or waiting" in shown[1]
    assert shown[4].startswith("4/4 stores done, 1 failed, 0 running or waiting\n")
    assert "4 stores in " in shown[4] and "stores/s), 1 failed; results in " in shown[4]


def test_a_fleet_never_replaces_evidence_and_gives_each_provider_its_own_pack(stores, tmp_path):
    """-o naming a store is refused before the fleet starts; the fleet's own database in the stores
    folder is skipped; a planted symlink is a failed row; two providers whose names make the same
    file name get their own packs; the fleet's outputs are owner-only."""
    folder = _copy(stores, tmp_path / "stores")
    victim = folder / "provider-01.db"
    before = victim.read_bytes()
    refused = _carecheck("fleet", "run", "--stores", folder / "*.db", "--as-of", AS_OF, "--local-workers", 1,
                         "-o", victim, "--fleet-db", folder / "fleet.db", cwd=tmp_path)
    assert refused.returncode == 2
    assert refused.stderr.strip().splitlines() == [
        f"Error: {victim}: is the evidence store this command reads; write the overview to another file"]
    assert victim.read_bytes() == before and not (folder / "fleet.db").exists()
    secret = tmp_path / "secret.txt"
    secret.write_text("not a store\n")
    os.chmod(secret, 0o644)
    (folder / "planted.db").symlink_to(secret)
    listing = tmp_path / "providers.csv"
    trapped = folder / "provider-03.db"
    con = sqlite3.connect(trapped)
    con.execute("CREATE TRIGGER wipe AFTER INSERT ON runs BEGIN DELETE FROM incident; END")
    con.commit()
    (incidents,) = con.execute("SELECT count(*) FROM incident").fetchone()
    con.close()
    listing.write_text("store,provider\nstores/provider-01.db,Oak House\nstores/provider-02.db,Oak-House\n"
                       "stores/planted.db,Planted\nstores/fleet.db,Fleet\nstores/provider-03.db,Trapped\n",
                       encoding="utf-8")
    for attempt in range(2):  # the second run finds its own fleet database among the listed stores
        result = _carecheck("fleet", "run", "--stores-from", listing, "--as-of", AS_OF, "--local-workers", 1,
                            "--format", "html", "-o", tmp_path / "fleet.html", "--packs", tmp_path / "packs",
                            "--fleet-db", folder / "fleet.db", cwd=tmp_path)
        assert result.returncode == 2, result.stderr  # the planted link is a failed row
        assert "Port" not in result.stderr
    assert f"Note: {folder / 'fleet.db'}: a fleet database, not a provider's store; skipped" in result.stderr
    assert secret.read_text() == "not a store\n" and stat.S_IMODE(secret.stat().st_mode) == 0o644
    packs = sorted((tmp_path / "packs").iterdir())
    assert len(packs) == 2 and all(p.name.startswith("Oak-House") for p in packs)
    overview = (tmp_path / "fleet.html").read_text()
    for pack in packs:
        assert f"href='packs/{pack.name}'" in overview
        assert stat.S_IMODE(pack.stat().st_mode) == 0o600
    assert "is a symbolic link" in overview
    assert "the store holds a trigger &#x27;wipe&#x27;" in overview
    con = sqlite3.connect(trapped)
    assert con.execute("SELECT count(*) FROM incident").fetchone() == (incidents,)
    con.close()
    for output in (tmp_path / "fleet.html", folder / "fleet.db"):
        assert stat.S_IMODE(output.stat().st_mode) == 0o600
    con = sqlite3.connect(folder / "fleet.db")
    assert con.execute("PRAGMA application_id").fetchone()[0] == 0x6363666C
    assert con.execute("SELECT count(*) FROM fleet_runs").fetchone()[0] == 2
    con.close()


def test_two_fleets_run_at_once_on_one_machine_without_a_port_warning(stores, tmp_path):
    """A local cluster binds no fixed port: two fleets (two teams, or two test processes) at once
    both finish, and neither warns that a port was taken."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("CARECHECK_")}
    processes = []
    for name in ("a", "b"):
        folder = tmp_path / name
        folder.mkdir()
        for number in (1, 2):
            shutil.copy(stores / f"provider-{number:02d}.db", folder)
        processes.append(subprocess.Popen(
            [sys.executable, "-m", "carecheck", "fleet", "run", "--stores", str(folder / "*.db"), "--as-of", AS_OF,
             "--local-workers", "1", "--format", "json", "--fleet-db", str(folder / "fleet.db")],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=folder, env=env))
    for process in processes:
        out, err = process.communicate(timeout=300)
        assert process.returncode == 0, err
        assert "port" not in err.lower() and "8787" not in err, err
        assert json.loads(out)["audit"]["stores"] == 2
