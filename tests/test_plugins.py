import json
from importlib.metadata import EntryPoint
from pathlib import Path

import pytest

from carecheck.errors import InputError

from builders import PipeAdapter, medicines_plugin, registered_domains

from carecheck import hookimpl, plugin_manager
from carecheck.importing.importer import ImportRequest, import_source

BUILTIN_ADAPTERS = ["csv", "json", "jsonl", "sqlite", "xlsx"]


class PipePlugin:
    @hookimpl
    def carecheck_register_adapters(self, register):
        register(PipeAdapter())


class RaisingPlugin:
    @hookimpl
    def carecheck_register_adapters(self, register):
        raise RuntimeError("vendor licence file not found")

    @hookimpl
    def carecheck_register_mappings(self, register):
        register("raising-incidents", "/nowhere.yaml")


class GreedyPlugin:
    @hookimpl
    def carecheck_register_adapters(self, register):
        register(PipeAdapter())  # takes a name another plugin already has


def test_builtins_are_registered_through_the_hooks():
    assert sorted(plugin_manager.get_adapters()) == BUILTIN_ADAPTERS
    owners = {name: reg.plugin for name, reg in plugin_manager.get_adapters().items()}
    assert owners["xlsx"] == "carecheck.adapters.xlsx_adapter"


def test_third_party_adapter_is_used(register_plugin, db_path, tmp_path):
    from carecheck.store import open_store

    register_plugin(PipePlugin(), "carecheck-pipe")
    path = tmp_path / "incidents.pipe"
    path.write_text("id|service|occurred_at\nI1|Oak|02/04/2026\n")
    db = open_store(db_path)  # opened with the registry that now holds the plugin's adapter
    result = import_source(db, ImportRequest(path, "incident"))
    assert (result.adapter, result.rows_accepted) == ("pipe", 1)
    db.close()


def test_a_store_keeps_the_registry_it_was_opened_with(register_plugin, db, tmp_path):
    """A snapshot is never changed by a plugin registered later: the next one holds it."""
    from carecheck import plugin_manager
    from carecheck.store import registry_of

    before = registry_of(db)
    register_plugin(PipePlugin(), "carecheck-pipe")
    assert "pipe" not in registry_of(db).adapters and registry_of(db) is before
    assert "pipe" in plugin_manager.registry().adapters
    path = tmp_path / "incidents.pipe"
    path.write_text("id|service|occurred_at\nI1|Oak|02/04/2026\n")
    with pytest.raises(InputError, match="cannot tell which adapter reads .pipe"):
        import_source(db, ImportRequest(path, "incident"))


def test_plugin_raising_in_a_hook_is_reported_and_skipped(register_plugin, run_cli):
    register_plugin(RaisingPlugin(), "carecheck-raising")
    register_plugin(PipePlugin(), "carecheck-pipe")
    assert sorted(plugin_manager.get_adapters()) == sorted(BUILTIN_ADAPTERS + ["pipe"])
    failures = [f.message() for f in plugin_manager.failures()]
    assert failures == [
        "plugin 'carecheck-raising' failed in carecheck_register_adapters: RuntimeError: vendor licence file not found"
    ]
    result = run_cli("plugins", "--json")
    assert result.exit_code == 0
    payload = json.loads(result.stdout)
    assert payload["failures"] == [{
        "plugin": "carecheck-raising", "stage": "carecheck_register_adapters",
        "error": "RuntimeError: vendor licence file not found",
    }]
    by_name = {p["name"]: p for p in payload["plugins"]}
    assert by_name["carecheck-raising"]["mappings"] == ["raising-incidents"]
    assert by_name["carecheck-raising"]["adapters"] == []
    assert [adapter["name"] for adapter in by_name["carecheck-pipe"]["adapters"]] == ["pipe"]
    assert by_name["carecheck.plugins.safeguarding"]["domains"] == ["safeguarding_recording"]
    assert by_name["carecheck.reporters.html"]["reporters"] == ["html"]
    assert "Warning: plugin 'carecheck-raising' failed in carecheck_register_adapters" in result.stderr


def test_duplicate_adapter_name_is_refused_for_the_later_plugin(register_plugin):
    register_plugin(PipePlugin(), "first")
    register_plugin(GreedyPlugin(), "second")
    adapters = plugin_manager.get_adapters()
    assert adapters["pipe"].plugin == "first"
    assert [f.message() for f in plugin_manager.failures()] == [
        "plugin 'second' failed in carecheck_register_adapters: ValueError: adapter name 'pipe' is already taken by first"
    ]


def test_plugin_that_fails_to_import_is_reported(monkeypatch, run_cli):
    broken = EntryPoint(name="broken", value="carecheck_plugin_that_does_not_exist", group="carecheck")
    monkeypatch.setattr(plugin_manager, "entry_points", lambda group: [broken])
    monkeypatch.setenv("CARECHECK_LOAD_PLUGINS", "broken")
    plugin_manager.reset()
    result = run_cli("plugins")
    assert result.exit_code == 0
    assert "FAILED  broken: import: ModuleNotFoundError: No module named 'carecheck_plugin_that_does_not_exist'" in result.stdout
    assert "carecheck.adapters.csv_adapter" in result.stdout


def test_disabled_plugins_are_not_loaded(monkeypatch):
    loaded = []

    class FakeEntryPoint:
        name = "quiet"
        dist = None

        def load(self):
            loaded.append(self.name)
            return PipePlugin()

    monkeypatch.setattr(plugin_manager, "entry_points", lambda group: [FakeEntryPoint()])
    monkeypatch.setenv("CARECHECK_LOAD_PLUGINS", "quiet")
    monkeypatch.setenv("CARECHECK_DISABLED_PLUGINS", "quiet")
    plugin_manager.reset()
    plugin_manager.get_plugin_manager()
    assert loaded == []
    monkeypatch.delenv("CARECHECK_DISABLED_PLUGINS")
    plugin_manager.reset()
    assert "pipe" in plugin_manager.get_adapters()
    assert loaded == ["quiet"]


def test_plugins_table(run_cli):
    result = run_cli("plugins")
    rows = {line.split()[0]: line.split(None, 3)[1:] for line in result.output.splitlines()[2:] if line.strip()}
    assert rows["carecheck.adapters.json_adapter"] == ["0.1.0", "built-in", "adapter:jsonl, adapter:json"]
    assert rows["carecheck.plugins.incident_learning"] == ["0.1.0", "built-in", "domain:incident_learning"]


def test_every_hook_is_documented_and_tested():
    from carecheck import hookspecs
    from carecheck.plugin import hooks_doc

    source = "".join(path.read_text() for path in Path(__file__).parent.glob("test_*.py"))
    docs = (Path(__file__).parent.parent / "docs" / "plugins" / "hooks.md").read_text()
    hooks = [name for name in dir(hookspecs) if name.startswith("carecheck_")]
    assert sorted(hooks_doc.hook_names()) == sorted(hooks) and len(hooks) == 6
    for name in hooks:
        assert hooks_doc.missing_sections(name) == [], f"{name}'s docstring lacks these sections"
        assert name in source, f"no test mentions {name}"
        spec = plugin_manager.get_plugin_manager().hook.__dict__[name].spec
        assert f"## {name}({', '.join(spec.argnames)})" in docs, f"docs/plugins/hooks.md lacks {name}"
    assert docs == hooks_doc.render(), "regenerate: python -m carecheck.plugin.hooks_doc docs/plugins/hooks.md"


def test_a_hook_without_a_section_is_caught(monkeypatch):
    from carecheck import hookspecs
    from carecheck.plugin import hooks_doc

    def carecheck_register_adapters(register):
        """Register adapters.

        When called: on import.

        Returns: nothing.

        :param register: callback.
        """

    monkeypatch.setattr(hookspecs, "carecheck_register_adapters", carecheck_register_adapters)
    assert hooks_doc.missing_sections("carecheck_register_adapters") == ["How often", "Example"]


def test_hook_carecheck_register_commands(register_plugin):
    import click

    from carecheck.cli import build_cli

    class CommandPlugin:
        @hookimpl
        def carecheck_register_commands(self, cli):
            @cli.command(name="hello")
            def hello():
                """Say hello.

                \b
                Example:
                    carecheck hello
                """
                click.echo("hello from a plugin")

    register_plugin(CommandPlugin(), "carecheck-hello")
    from click.testing import CliRunner

    cli = build_cli()
    assert CliRunner().invoke(cli, ["hello"]).output == "hello from a plugin\n"
    assert cli.plugin_commands == {"hello": "carecheck-hello"}


class MedicinesDomain:
    """A provider's own domain: medication incidents reviewed within two working days."""


def test_hook_carecheck_register_domains(register_plugin, db, tmp_path):
    """A third-party domain goes through the same engine, statuses and escalations as the built-in ones."""
    from datetime import date

    from carecheck.run import RunOptions, evaluate
    from carecheck.ruleset import load_ruleset

    from builders import add

    register_plugin(medicines_plugin(), "carecheck-medicines")
    add(db, "service", id="S1", service="Oak", service_type="residential")
    add(db, "incident", id="M1", service="Oak", occurred_at="01/06/2026 09:00", incident_type="medication",
        reviewed_at="02/06/2026 10:00")
    add(db, "incident", id="M2", service="Oak", occurred_at="05/06/2026 09:00", incident_type="medication")
    add(db, "incident", id="F1", service="Oak", occurred_at="05/06/2026 09:00", incident_type="fall")
    ruleset = tmp_path / "meds.yaml"
    ruleset.write_text("name: meds\ndomains:\n  medicines_review: {}\n")
    verdict = evaluate(db, load_ruleset(ruleset), RunOptions(as_of=date(2026, 7, 1), engine="reference")).verdict
    (domain,) = verdict["domains"]
    (target,) = domain["targets"]
    june = next(p for p in target["periods"] if p["period"] == "2026-06")
    assert (june["numerator"], june["denominator"], june["failures"]) == (1, 2, ["M2"])
    assert [e["rule"] for e in verdict["escalations"]] == ["med_unreviewed"]
    assert domain["plugin"] == "carecheck-medicines"
    # Its signal is a bare count: it still fires, said in the default words, with no record ids.
    (escalation,) = verdict["escalations"]
    assert (escalation["reason"], escalation["records"], escalation["records_total"]) == (
        "Unreviewed medication incidents: 1 in 2026-06", [], 0)
    (location,) = verdict["locations"]
    assert location["domains"][0]["signals"] == [{"signal": "unreviewed", "title": "Unreviewed medication incidents",
                                                  "value": 1, "records": [],
                                                  "sentence": "Unreviewed medication incidents: 1 in 2026-06"}]


@pytest.mark.parametrize("workers", ["1", "2"])
def test_a_third_party_domain_that_raises_is_named_not_reported_as_a_bug(register_plugin, db, db_path, tmp_path,
                                                                         run_cli, workers):
    from builders import add

    (medicines,) = registered_domains(medicines_plugin())

    class Broken(type(medicines)):
        def outcomes(self, ctx):
            yield from super().outcomes(ctx)
            raise ZeroDivisionError("division by zero")

    class Plugin:
        @hookimpl
        def carecheck_register_domains(self, register):
            register(Broken())

    register_plugin(Plugin(), "carecheck-medicines")
    for service_id, name in (("S1", "Oak"), ("S2", "Elm")):
        add(db, "service", id=service_id, service=name, service_type="residential")
        add(db, "incident", id=f"M-{service_id}", service=name, occurred_at="01/06/2026 09:00",
            incident_type="medication")
    db.close()
    ruleset = tmp_path / "meds.yaml"
    ruleset.write_text("name: meds\ndomains:\n  medicines_review: {}\n")
    result = run_cli("run", ruleset, "--db", db_path, "--as-of", "2026-07-01", "--workers", workers)
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        "Error: domain 'medicines_review' of plugin carecheck-medicines failed (ZeroDivisionError: division by zero); "
        "fix it, or leave it out with CARECHECK_DISABLED_PLUGINS=carecheck-medicines and a ruleset without it"
    )


def test_plugins_names_the_rule_engine(run_cli):
    from carecheck.run import rule_engine

    payload = json.loads(run_cli("plugins", "--json").stdout)
    assert payload["rule_engine"]["engine"] == ("durable" if rule_engine.durable_available() else "reference")


def test_hook_carecheck_register_reporters(register_plugin, run_cli, demo_db):
    from carecheck.reporter_api import Reporter

    class Counts(Reporter):
        name = "counts"
        description = "one line per domain"

        def render(self, verdict):
            return "".join(f"{d['domain']}: {d['status']}\n" for d in verdict["domains"])

    class Plugin:
        @hookimpl
        def carecheck_register_reporters(self, register):
            register(Counts())

    register_plugin(Plugin(), "carecheck-counts")
    import sqlite3

    run_id = sqlite3.connect(demo_db).execute("SELECT run_id FROM runs LIMIT 1").fetchone()[0]
    result = run_cli("report", run_id, "--db", demo_db, "--format", "counts")
    assert result.stdout == ("safeguarding_recording: recovered\nincident_learning: improving\n"
                             "provider_oversight: deteriorating\n")
