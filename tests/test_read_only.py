"""A store this process cannot write: run says so in one line and offers --no-save; the reading
commands work without migrating it. (Tests run as root, where permissions do not bind, so the
store's writability is decided by a stand-in; the connection itself is opened read-only.)"""

import json
from pathlib import Path
import sqlite3

import pytest

from carecheck import store


@pytest.fixture
def read_only(monkeypatch, demo_copy):
    monkeypatch.setattr(store, "writable", lambda path: False)
    before = sqlite3.connect(demo_copy).execute("SELECT count(*) FROM runs").fetchone()[0]
    yield demo_copy
    assert sqlite3.connect(demo_copy).execute("SELECT count(*) FROM runs").fetchone()[0] == before


def test_run_on_a_read_only_store_says_so_and_offers_no_save(run_cli, read_only):
    result = run_cli("run", "--db", read_only, "--as-of", "31/08/2026")
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        f"Error: {read_only}: the store is read-only (no write permission on it or its folder); "
        "check without storing the run with carecheck run --no-save")


def test_run_no_save_checks_a_read_only_store_without_storing(run_cli, read_only, demo_copy):
    result = run_cli("run", "--db", read_only, "--as-of", "31/08/2026", "--format", "json", "--no-save")
    assert result.exit_code == 0, result.stderr
    verdict = json.loads(result.stdout)
    assert verdict["as_of"] == "2026-08-31"
    assert {d["domain"] for d in verdict["domains"]} == {
        "safeguarding_recording", "incident_learning", "provider_oversight"}


def test_reading_commands_work_on_a_read_only_store(run_cli, read_only):
    runs = json.loads(run_cli("runs", "--db", read_only, "--json").stdout)
    assert len(runs) == 1
    assert run_cli("records", "--db", read_only).exit_code == 0
    assert run_cli("history", "--db", read_only).exit_code == 0
    report = run_cli("report", runs[0]["run_id"], "--db", read_only, "--format", "json")
    assert report.exit_code == 0 and json.loads(report.stdout)["as_of"] == runs[0]["as_of"]


def test_a_read_only_store_made_by_an_older_carecheck_needs_upgrading(run_cli, read_only):
    con = sqlite3.connect(read_only)
    con.execute("DELETE FROM _sqlite_migrations WHERE name = (SELECT max(name) FROM _sqlite_migrations)")
    con.commit()
    con.close()
    result = run_cli("records", "--db", read_only)
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        f"Error: {read_only}: the store is read-only and was made by an older carecheck; open it once with "
        "write permission (any carecheck command upgrades it)")


def _as_someone_else(demo_copy, tmp_path):
    """The demo store in a folder this test's commands cannot write, and how to run carecheck there
    as a user without write permission (nobody, when the tests run as root)."""
    import os
    import shutil
    import subprocess
    import sys
    import tempfile

    folder = Path(tempfile.mkdtemp(prefix="carecheck-ro-", dir="/tmp"))
    shutil.copy(demo_copy, folder / "demo.db")
    (folder / "demo.db").chmod(0o444)
    folder.chmod(0o555)
    prefix = []
    if os.geteuid() == 0:
        setpriv = shutil.which("setpriv")
        if setpriv is None:
            pytest.skip("running as root without setpriv: no user to lack write permission")
        prefix = [setpriv, "--reuid=65534", "--regid=65534", "--clear-groups"]
        probe = subprocess.run([*prefix, sys.executable, "-c", "import carecheck"], capture_output=True, cwd="/")
        if probe.returncode != 0:
            pytest.skip("the test environment is not readable by another user (nobody cannot import carecheck)")

    def carecheck(*args):
        return subprocess.run([*prefix, sys.executable, "-m", "carecheck", *args, "--db", str(folder / "demo.db")],
                              capture_output=True, text=True, cwd="/", env={**os.environ, "HOME": "/"}, timeout=120)

    return folder, carecheck


def test_a_store_the_user_really_cannot_write_is_read_without_writing(demo_copy, tmp_path):
    import hashlib
    import shutil

    folder, carecheck = _as_someone_else(demo_copy, tmp_path)
    try:
        before = hashlib.sha256((folder / "demo.db").read_bytes()).hexdigest()
        refused = carecheck("run", "--as-of", "31/08/2026")
        assert refused.returncode == 2
        assert refused.stderr.strip().endswith(
            "the store is read-only (no write permission on it or its folder); check without storing the run "
            "with carecheck run --no-save")
        checked = carecheck("run", "--as-of", "31/08/2026", "--no-save", "--format", "json")
        assert checked.returncode == 0, checked.stderr
        assert json.loads(checked.stdout)["as_of"] == "2026-08-31"
        runs = carecheck("runs", "--json")
        assert runs.returncode == 0, runs.stderr
        stored = sqlite3.connect(f"file:{folder / 'demo.db'}?immutable=1", uri=True).execute(
            "SELECT run_id FROM runs").fetchall()
        assert [run["run_id"] for run in json.loads(runs.stdout)] == [row[0] for row in stored]
        assert carecheck("records").returncode == 0
        assert sorted(p.name for p in folder.iterdir()) == ["demo.db"]
        assert hashlib.sha256((folder / "demo.db").read_bytes()).hexdigest() == before
    finally:
        folder.chmod(0o755)
        shutil.rmtree(folder)
