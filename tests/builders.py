"""Shared builders for tests: hand-built evidence (records validated by their models and written
straight to the store), sample files, a test domain and adapter, and virtual environments. Test
modules import these from here, never from one another or from conftest."""

import csv
import subprocess
import sys
from datetime import date
from pathlib import Path

import os

from carecheck import hookimpl
from carecheck.adapter_api import Adapter, SourceRows

from carecheck.store import registry_of
from carecheck.store import record_columns, to_column


def add(db, kind: str, **fields) -> None:
    model = registry_of(db).model_for(kind)
    record = model.model_validate(fields)
    data = record.model_dump()
    columns = [c for c in record_columns(model) if c != "import_id"]
    db[kind].insert({c: to_column(data[c]) for c in columns if c in data})


def ruleset_file(tmp_path: Path, text: str, name: str = "ruleset.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def one_domain(domain: str, start: date, extra: str = "") -> str:
    return f"name: test-{domain}\nstart: {start.isoformat()}\nsustained: 2\ndomains:\n  {domain}:\n    enabled: true\n{extra}"


#: Attempts of each stress loop (kills, commands at once): a few by default, 20 in CI (.ci/run).
STRESS_ATTEMPTS = int(os.environ.get("CARECHECK_STRESS_ATTEMPTS", "3"))

REPO = Path(__file__).resolve().parent.parent
SAMPLE = REPO / "examples" / "sample"


def write_csv(path: Path, rows: list[list], encoding="utf-8", delimiter=","):
    with open(path, "w", newline="", encoding=encoding) as handle:
        csv.writer(handle, delimiter=delimiter).writerows(rows)
    return path


INCIDENT_HEADER = ["id", "service", "occurred_at", "harm_level", "cause"]


def demo_store_in(folder: Path) -> Path:
    """The demo's store (four homes, January to August 2026, runs as of July and August)."""
    from click.testing import CliRunner

    from carecheck.cli import build_cli

    path = folder / "demo.db"
    result = CliRunner().invoke(build_cli(), ["demo", "--db", str(path), "--format", "json"])
    assert result.exit_code == 0, result.output
    return path


def three_stories(folder: Path) -> Path:
    """The sample of three recovery stories (two services, January to August 2026, seed 7): in
    every home safeguarding recovers and stays recovered, incident learning improves without yet
    meeting its targets, and provider oversight meets its targets then drifts in August. One run,
    as of 31 August 2026, is kept."""
    from click.testing import CliRunner

    from carecheck.cli import build_cli

    runner = CliRunner()
    path = folder / "stories.db"
    for args in (["generate", "--services", "2", "--months", "8", "--seed", "7", "--out", str(folder / "export")],
                 ["import", "--manifest", str(folder / "export" / "manifest.yaml"), "--db", str(path)],
                 ["run", "--db", str(path), "--as-of", "2026-08-31", "--engine", "reference", "--format", "json"]):
        result = runner.invoke(build_cli(), args, catch_exceptions=False)
        assert result.exit_code == 0, result.output
    return path


class PipeAdapter(Adapter):
    name = "pipe"
    description = "pipe-separated test files"
    extensions = (".pipe",)

    def open(self, path, options):
        lines = Path(path).read_text().splitlines()
        columns = lines[0].split("|")
        rows = ((n, dict(zip(columns, line.split("|")))) for n, line in enumerate(lines[1:], 2))
        return SourceRows(columns, rows, str(path))


def medicines_plugin():
    from carecheck.domain_api import PASS, FAIL, PENDING, Domain, EscalationSpec, Outcome, SignalSpec, TargetSpec
    from carecheck.dates import stored_day

    class Medicines(Domain):
        name = "medicines_review"
        title = "Medication incidents reviewed quickly"
        reads = ("incident",)
        targets = (TargetSpec("med_review_2wd", "Medication incidents reviewed in two working days", "rate", 0.9,
                              ("incident",), "Share reviewed within two working days."),)
        signals = (SignalSpec("unreviewed", "Unreviewed medication incidents", "Count this period."),)
        escalations = (EscalationSpec("med_unreviewed", "Unreviewed", "unreviewed > 0", "Review them today",
                                      "registered_manager", 1),)

        def outcomes(self, ctx):
            for record_id, service, occurred, reviewed in ctx.rows(
                "SELECT id, service, occurred_at, reviewed_at FROM incident WHERE incident_type = 'medication'"
            ):
                day = stored_day(occurred)
                due = ctx.working_days.add(day, 2)
                done = stored_day(reviewed)
                status = PASS if done and done <= due else FAIL if (done or ctx.as_of > due) else PENDING
                yield Outcome("med_review_2wd", ctx.service(service), day, record_id, status)

        def signal_values(self, ctx):
            counts = {}
            for (service,) in ctx.rows("SELECT service FROM incident WHERE incident_type = 'medication' "
                                       "AND reviewed_at IS NULL"):
                counts.setdefault(ctx.service(service), {"unreviewed": 0})["unreviewed"] += 1
            return counts

    class Plugin:
        @hookimpl
        def carecheck_register_domains(self, register):
            register(Medicines())

    return Plugin()


def registered_domains(plugin) -> list:
    found = []
    plugin.carecheck_register_domains(register=found.append)
    return found


def meds_store(db, tmp_path: Path, limit: float | None = None) -> Path:
    """Two homes' records, and a ruleset enabling only the medicines domain (with a time limit)."""
    two_homes(db)
    ruleset = tmp_path / "meds.yaml"
    setting = f"domain_time_limit_s: {limit:g}\n" if limit else ""
    ruleset.write_text(f"name: meds\n{setting}domains:\n  medicines_review: {{}}\n")
    return ruleset


def two_homes(db):
    for service_id, name in (("S1", "Oak"), ("S2", "Elm")):
        add(db, "service", id=service_id, service=name, service_type="residential")
        add(db, "incident", id=f"M-{service_id}", service=name, occurred_at="01/06/2026 09:00",
            incident_type="medication")
    db.close()


def pip_install(*args, python=None):
    command = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    if python:
        command += ["--python", str(python)]
    subprocess.run(command + list(args), check=True, capture_output=True, text=True)


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
    pip_install("install", "--no-deps", "--no-index", str(wheel), python=python)
    return venv
