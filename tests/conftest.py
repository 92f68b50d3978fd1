import csv
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from carecheck import plugin_manager
from carecheck.cli import build_cli
from carecheck.store import open_store

REPO = Path(__file__).resolve().parent.parent
SAMPLE = REPO / "examples" / "sample"


def pytest_configure(config):
    sys._called_from_test = True


def pytest_report_header(config):
    from importlib.metadata import version

    return f"SQLite {sqlite3.sqlite_version}, sqlite-utils {version('sqlite-utils')}"


@pytest.fixture(autouse=True)
def _fresh_plugins(monkeypatch, tmp_path):
    monkeypatch.delenv("CARECHECK_LOAD_PLUGINS", raising=False)
    monkeypatch.delenv("CARECHECK_RAISE_ERRORS", raising=False)
    monkeypatch.setenv("CARECHECK_DB", str(tmp_path / "default.db"))
    plugin_manager.reset()
    yield
    plugin_manager.reset()


@pytest.fixture
def db_path(tmp_path):
    return tmp_path / "evidence.db"


@pytest.fixture
def db(db_path):
    store = open_store(db_path)
    yield store
    store.close()


@pytest.fixture
def run_cli():
    """Invoke the CLI; returns the click Result (stdout and stderr kept apart)."""

    def invoke(*args, input=None):
        return CliRunner().invoke(build_cli(), [str(a) for a in args], input=input, catch_exceptions=False)

    return invoke


def write_csv(path: Path, rows: list[list], encoding="utf-8", delimiter=","):
    with open(path, "w", newline="", encoding=encoding) as handle:
        csv.writer(handle, delimiter=delimiter).writerows(rows)
    return path


INCIDENT_HEADER = ["id", "service", "occurred_at", "harm_level", "cause"]


@pytest.fixture
def incidents_csv(tmp_path):
    return write_csv(
        tmp_path / "incidents.csv",
        [
            INCIDENT_HEADER,
            ["I1", "Oak House", "02/04/2026 09:15", "none", "fall"],
            ["I2", "Oak House", "03/04/2026", "low", "fall"],
            ["I3", "Oak House", "2026-04-10T22:05:00", "moderate", "medication"],
        ],
    )


def three_stories(folder: Path) -> Path:
    """The sample of three recovery stories (two services, January to August 2026, seed 7): in
    every home safeguarding recovers and stays recovered, incident learning improves without yet
    meeting its targets, and provider oversight meets its targets then drifts in August. One run,
    as of 31 August 2026, is kept."""
    runner = CliRunner()
    path = folder / "stories.db"
    for args in (["generate", "--services", "2", "--months", "8", "--seed", "7", "--out", str(folder / "export")],
                 ["import", "--manifest", str(folder / "export" / "manifest.yaml"), "--db", str(path)],
                 ["run", "--db", str(path), "--as-of", "2026-08-31", "--engine", "reference", "--format", "json"]):
        result = runner.invoke(build_cli(), args, catch_exceptions=False)
        assert result.exit_code == 0, result.output
    return path


@pytest.fixture(scope="session")
def demo_db(tmp_path_factory):
    """The three stories' evidence store, made once; copy it before changing it."""
    return three_stories(tmp_path_factory.mktemp("stories"))


@pytest.fixture
def register_plugin():
    """Register third-party plugin objects for one test; they are unregistered after it."""
    names = []

    def register(plugin, name):
        plugin_manager.get_plugin_manager().register(plugin, name=name)
        names.append(name)

    yield register
    for name in names:
        plugin_manager.get_plugin_manager().unregister(name=name)


@pytest.fixture
def demo_copy(demo_db, tmp_path):
    import shutil

    path = tmp_path / "demo.db"
    shutil.copy(demo_db, path)
    return path


def _pip(*args, python=None):
    command = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    if python:
        command += ["--python", str(python)]
    subprocess.run(command + list(args), check=True, capture_output=True, text=True)


@pytest.fixture(scope="session")
def wheel(tmp_path_factory):
    """carecheck's wheel, built once per test session from a copy of the working tree."""
    import shutil

    source = tmp_path_factory.mktemp("src") / "carecheck"
    shutil.copytree(REPO, source, ignore=shutil.ignore_patterns(".git", "build", "dist", "*.egg-info", "__pycache__", "*.db"))
    out = tmp_path_factory.mktemp("wheel")
    _pip("wheel", "--no-deps", "--no-build-isolation", "--no-index", "-w", str(out), str(source))
    (built,) = out.glob("carecheck-*.whl")
    return built


def make_venv(venv: Path, wheel: Path) -> Path:
    """A fresh virtual environment with carecheck's wheel installed. It borrows the test
    environment's dependencies (and pip, and setuptools) through a ``.pth`` file rather than
    installing them again: no network is needed."""
    import sysconfig

    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True, capture_output=True, text=True,
    ).stdout.strip()
    parent = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    Path(site, "_borrowed_dependencies.pth").write_text("\n".join(sorted(parent)) + "\n")
    _pip("install", "--no-deps", "--no-index", str(wheel), python=python)
    return venv
