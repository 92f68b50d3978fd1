import sqlite3
import sys

import pytest
from click.testing import CliRunner

from carecheck import plugin_manager
from carecheck.cli import build_cli
from carecheck.store import open_store

from builders import INCIDENT_HEADER, REPO, pip_install, three_stories, write_csv


def pytest_configure(config):
    sys._called_from_test = True


def pytest_report_header(config):
    from importlib.metadata import version

    return f"SQLite {sqlite3.sqlite_version}, sqlite-utils {version('sqlite-utils')}"


@pytest.fixture(autouse=True)
def _fresh_plugins(monkeypatch, tmp_path):
    monkeypatch.delenv("CARECHECK_LOAD_PLUGINS", raising=False)
    # A bug met in a CLI test raises with its traceback; the tests of the error path itself unset this.
    monkeypatch.setenv("CARECHECK_RAISE_ERRORS", "1")
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


@pytest.fixture(scope="session")
def wheel(tmp_path_factory):
    """carecheck's wheel, built once per test session from a copy of the working tree."""
    import shutil

    source = tmp_path_factory.mktemp("src") / "carecheck"
    shutil.copytree(REPO, source, ignore=shutil.ignore_patterns(".git", "build", "dist", "*.egg-info", "__pycache__", "*.db"))
    out = tmp_path_factory.mktemp("wheel")
    pip_install("wheel", "--no-deps", "--no-build-isolation", "--no-index", "-w", str(out), str(source))
    (built,) = out.glob("carecheck-*.whl")
    return built
