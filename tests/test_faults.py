"""Faults never pass a gate: a plugin that raises anything, SystemExit and KeyboardInterrupt included,
stops the command that uses it with exit 2 and its name, and runaway inputs are refused."""

import json
from pathlib import Path

import pytest

from carecheck import hookimpl
from carecheck.reporter_api import Reporter
from builders import PipeAdapter, medicines_plugin as _medicines_plugin, meds_store as _meds_store, registered_domains as _registered, two_homes as _two_homes

FAULTS = {
    "exception": lambda: RuntimeError("vendor service unreachable"),
    "system_exit": lambda: SystemExit(0),
    "keyboard_interrupt": lambda: KeyboardInterrupt(),
}
SAID = {"exception": "RuntimeError: vendor service unreachable", "system_exit": "SystemExit: 0",
        "keyboard_interrupt": "KeyboardInterrupt: "}


@pytest.mark.parametrize("phase", ["outcomes", "signal_values"])
@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_a_fault_in_an_enabled_domain_stops_the_run_with_exit_2_and_its_name(
        register_plugin, db, db_path, tmp_path, run_cli, fault, phase):
    (medicines,) = _registered(_medicines_plugin())

    def broken(self, ctx):
        raise FAULTS[fault]()

    Broken = type("Broken", (type(medicines),), {phase: broken})

    class Plugin:
        @hookimpl
        def carecheck_register_domains(self, register):
            register(Broken())

    register_plugin(Plugin(), "carecheck-medicines")
    ruleset = _meds_store(db, tmp_path)
    result = run_cli("run", ruleset, "--db", db_path, "--as-of", "2026-07-01", "--fail-under", "assured")
    assert result.exit_code == 2
    assert result.stdout == ""
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith(f"Error: domain 'medicines_review' of plugin carecheck-medicines failed ({SAID[fault]}")
    import sqlite3

    assert sqlite3.connect(db_path).execute("SELECT count(*) FROM runs").fetchone() == (0,)


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_a_fault_in_the_chosen_adapter_stops_the_import_and_keeps_nothing(
        register_plugin, tmp_path, run_cli, fault):
    class Faulty(PipeAdapter):
        def open(self, path, options):
            source = super().open(path, options)
            rows = source.rows

            def failing():
                yield from rows
                raise FAULTS[fault]()

            source.rows = failing()
            return source

    class Plugin:
        @hookimpl
        def carecheck_register_adapters(self, register):
            register(Faulty())

    register_plugin(Plugin(), "carecheck-vendor")
    path = tmp_path / "incidents.pipe"
    path.write_text("id|service|occurred_at\nI1|Oak|02/04/2026\nI2|Oak|03/04/2026\n")
    store = tmp_path / "store.db"
    run_cli("import", "--db", store, "--kind", "service", _services_csv(tmp_path))
    result = run_cli("import", "--db", store, "--kind", "incident", path)
    assert result.exit_code == 2
    assert f"adapter 'pipe' of plugin carecheck-vendor failed ({SAID[fault]}" in result.stderr
    import sqlite3

    con = sqlite3.connect(store)
    assert con.execute("SELECT count(*) FROM incident").fetchone() == (0,)
    assert con.execute("SELECT count(*) FROM imports WHERE kind = 'incident'").fetchone() == (0,)


def _services_csv(tmp_path: Path) -> Path:
    path = tmp_path / "services.csv"
    path.write_text("id,service,service_type\nS1,Oak,residential\n")
    return path


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_a_fault_in_the_chosen_report_format_stops_with_exit_2(register_plugin, run_cli, demo_copy, tmp_path, fault):
    class Faulty(Reporter):
        name = "faulty"
        description = "raises"

        def render(self, verdict):
            raise FAULTS[fault]()

    class Plugin:
        @hookimpl
        def carecheck_register_reporters(self, register):
            register(Faulty())

    register_plugin(Plugin(), "carecheck-faulty")
    output = tmp_path / "out.txt"
    result = run_cli("run", "--db", demo_copy, "--as-of", "31/08/2026", "--format", "faulty", "--output", output,
                     "--fail-under", "not_assured")
    assert result.exit_code == 2
    assert f"report format 'faulty' of plugin carecheck-faulty failed ({SAID[fault]}" in result.stderr
    assert not output.exists() and list(tmp_path.glob(".out.txt*")) == []


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_a_fault_in_a_plugin_the_command_does_not_use_is_a_warning(register_plugin, run_cli, demo_copy, fault):
    class Plugin:
        @hookimpl
        def carecheck_register_adapters(self, register):
            raise FAULTS[fault]()

    name = f"carecheck-unused-{fault}"
    register_plugin(Plugin(), name)
    result = run_cli("run", "--db", demo_copy, "--as-of", "31/08/2026", "--format", "json")
    assert result.exit_code == 0
    assert result.stdout.startswith("{")
    assert f"Warning: plugin '{name}' failed in carecheck_register_adapters: {SAID[fault]}" in result.stderr
    result = run_cli("plugins", "--json")
    assert result.exit_code == 0
    assert {"plugin": name, "stage": "carecheck_register_adapters", "error": SAID[fault]} in json.loads(
        result.stdout)["failures"]


@pytest.mark.parametrize("as_of", ["31/12/9999", "01/01/1999", "01/01/2101"])
def test_an_as_of_outside_2000_to_2100_is_an_input_error(run_cli, demo_copy, as_of):
    result = run_cli("run", "--db", demo_copy, "--as-of", as_of)
    assert result.exit_code == 2
    (line,) = result.stderr.strip().splitlines()
    assert line == f"Error: as-of date {as_of} is outside 2000 to 2100: check the date"


def test_a_run_over_more_periods_than_max_periods_is_refused(run_cli, db, db_path, tmp_path):
    _two_homes(db)
    ruleset = tmp_path / "short.yaml"
    ruleset.write_text("name: short\nmax_periods: 12\ndomains:\n  incident_learning: {}\n")
    # June 2026 to June 2027 is 13 months.
    result = run_cli("run", ruleset, "--db", db_path, "--as-of", "01/06/2027")
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        f"Error: a run from 01/06/2026 to 01/06/2027 spans 13 months, more than max_periods (12) in {ruleset}: "
        "check the as-of date and the ruleset's start, or raise max_periods")
    assert run_cli("run", ruleset, "--db", db_path, "--as-of", "31/05/2027").exit_code == 0


def test_a_reader_that_goes_away_is_not_an_error(demo_copy):
    import subprocess
    import sys

    process = subprocess.Popen([sys.executable, "-m", "carecheck", "records", "--db", str(demo_copy)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert process.stdout.readline().startswith("kind")
    process.stdout.close()  # as `| head -1` does
    error = process.stderr.read()
    process.wait(timeout=60)
    assert "internal error" not in error and "Traceback" not in error
    # A real race: the reader may close the pipe before carecheck's last write (141) or after it (0).
    assert process.returncode in (0, 141)


def _medicines_whose_signals(signal_values):
    """The test medicines domain, computing its signals with ``signal_values``, as a plugin."""
    (medicines,) = _registered(_medicines_plugin())
    changed = type("Slow", (type(medicines),), {"signal_values": signal_values})

    class Plugin:
        @hookimpl
        def carecheck_register_domains(self, register):
            register(changed())

    return Plugin()


@pytest.mark.slow
@pytest.mark.xdist_group("timing")
@pytest.mark.parametrize("workers", [1, 2])
@pytest.mark.parametrize("stuck_in", ["python", "sql"])
def test_a_domain_past_its_time_limit_is_stopped(register_plugin, db, db_path, tmp_path, run_cli, stuck_in, workers):
    import time

    def slow(self, ctx):
        if stuck_in == "python":
            time.sleep(60)
        else:  # a query that would count for minutes
            list(ctx.rows("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) SELECT count(*) FROM n"))
        return {}

    register_plugin(_medicines_whose_signals(slow), "carecheck-medicines")
    ruleset = _meds_store(db, tmp_path, limit=2)
    started = time.monotonic()
    result = run_cli("run", ruleset, "--db", db_path, "--as-of", "2026-07-01", "--fail-under", "not_assured",
                     "--workers", workers)
    assert time.monotonic() - started < 45  # stopped, well before the 60 s the domain sleeps (a busy CI is slow)
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        "Error: domain 'medicines_review' was still computing after 2 s (the ruleset's domain_time_limit_s) and "
        "was stopped; raise the limit for a very large store, or fix the domain")


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_a_fault_while_an_enabled_domain_registers_stops_the_run_naming_its_plugin(
        register_plugin, db, db_path, tmp_path, run_cli, fault):
    class Plugin:
        @hookimpl
        def carecheck_register_domains(self, register):
            raise FAULTS[fault]()

    name = f"carecheck-meds-{fault}"
    register_plugin(Plugin(), name)
    ruleset = _meds_store(db, tmp_path)
    result = run_cli("run", ruleset, "--db", db_path, "--as-of", "2026-07-01", "--fail-under", "not_assured")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert "no domain plugin provides 'medicines_review'" in result.stderr
    assert name in result.stderr.split("plugins that failed to load: ")[1].splitlines()[0].split(", ")


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_a_fault_in_a_plugin_command_stops_it_with_exit_2_and_its_name(register_plugin, run_cli, fault):
    class Plugin:
        @hookimpl
        def carecheck_register_commands(self, cli):
            @cli.command(name="sync-rota")
            def sync_rota():
                """Fetch the rota."""
                raise FAULTS[fault]()

    register_plugin(Plugin(), "carecheck-rota")
    result = run_cli("sync-rota")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.startswith(
        f"Error: command 'sync-rota' of plugin carecheck-rota failed ({SAID[fault]}); fix it, or leave it out "
        "with CARECHECK_DISABLED_PLUGINS=carecheck-rota")


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_a_fault_while_commands_register_keeps_none_of_the_plugins_commands(register_plugin, run_cli, fault):
    import click

    class Plugin:
        @hookimpl
        def carecheck_register_commands(self, cli):
            @cli.command(name="sync-rota")
            def sync_rota():
                click.echo("synced")

            raise FAULTS[fault]()

    name = f"carecheck-rota-{fault}"
    register_plugin(Plugin(), name)
    warning = f"Warning: plugin '{name}' failed in carecheck_register_commands: {SAID[fault]}"
    # A command that does not need the plugin goes on, with a warning.
    result = run_cli("schema", "ruleset")
    assert result.exit_code == 0
    assert json.loads(result.stdout)["title"]
    assert warning in result.stderr
    # The plugin's half-registered command is gone: asking for it is an error naming the plugin.
    result = run_cli("sync-rota")
    assert result.exit_code == 2
    assert "No such command 'sync-rota'" in result.stderr
    assert warning in result.stderr


@pytest.mark.slow
@pytest.mark.xdist_group("timing")
@pytest.mark.parametrize("workers", [1, 2])
def test_a_python_bound_domain_is_stopped_when_the_watchdog_fires_first(register_plugin, db, db_path, tmp_path,
                                                                       run_cli, monkeypatch, workers):
    """The SQL watchdog's interrupt does nothing to a domain busy in Python: the alarm must still
    stop it, whichever of the two fires first."""
    import time

    from carecheck.run import time_limit

    monkeypatch.setattr(time_limit, "WATCHDOG_LEAD_S", 0.5)

    def slow(self, ctx):
        time.sleep(30)
        return {}

    register_plugin(_medicines_whose_signals(slow), "carecheck-medicines")
    ruleset = _meds_store(db, tmp_path, limit=2)
    started = time.monotonic()
    result = run_cli("run", ruleset, "--db", db_path, "--as-of", "2026-07-01", "--workers", workers)
    assert time.monotonic() - started < 2 + 2
    assert result.exit_code == 2
    assert "was still computing after 2 s" in result.stderr
