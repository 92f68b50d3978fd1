"""The plugin API catches mistakes: hooks are called through pluggy, a domain sees only the record
kinds it declares and never writes, and what a domain declares is checked when its plugin loads."""

import json
import subprocess
import sys

import pytest

from builders import add
from carecheck import hookimpl, plugin_manager
from carecheck.domain_api import EvidenceSource
from builders import meds_store as _meds_store
from builders import medicines_plugin as _medicines_plugin, registered_domains as _registered


def _medicines(**changes):
    """The test medicines domain's class with some attributes changed, as a plugin object."""
    (medicines,) = _registered(_medicines_plugin())
    cls = type("Medicines", (type(medicines),), changes)

    class Plugin:
        @hookimpl
        def carecheck_register_domains(self, register):
            register(cls())

    return Plugin()


def _failure(plugin: str) -> str:
    (failure,) = [f for f in plugin_manager.failures() if f.plugin == plugin]
    assert failure.stage == "carecheck_register_domains"
    return failure.error


# -- load-time checks ------------------------------------------------------------------------------

def test_an_unknown_quality_statement_fails_at_load_naming_the_plugin_and_value(register_plugin):
    register_plugin(_medicines(quality_statements=("safe.medicines",)), "carecheck-meds")
    assert "medicines_review" not in plugin_manager.get_domains()
    error = _failure("carecheck-meds")
    assert error.startswith("PluginError: domain 'medicines_review': quality_statements: unknown quality "
                            "statement 'safe.medicines' (known: ")
    assert "safe.medicines_optimisation" in error  # the valid choices are listed


def test_an_unknown_evidence_category_fails_at_load(register_plugin):
    register_plugin(_medicines(evidence=(EvidenceSource("incident", "outcome"),)), "carecheck-meds")
    assert "medicines_review" not in plugin_manager.get_domains()
    error = _failure("carecheck-meds")
    assert "evidence: evidence source 'incident': unknown category 'outcome' (known: " in error
    assert "people_experience" in error and "processes" in error


def test_an_unknown_record_kind_in_reads_fails_at_load(register_plugin):
    register_plugin(_medicines(reads=("incident", "medication_chart")), "carecheck-meds")
    assert "medicines_review" not in plugin_manager.get_domains()
    assert "reads: unknown record kind 'medication_chart' (known: " in _failure("carecheck-meds")


def test_a_trigger_naming_an_unknown_signal_and_a_bad_target_kind_fail_at_load(register_plugin):
    from carecheck.domain_api import EscalationSpec, TargetSpec

    register_plugin(_medicines(
        escalations=(EscalationSpec("late", "Late", "unreveiwed > 0", "Review", "registered_manager", 1),),
        targets=(TargetSpec("med_review_2wd", "Reviewed", "ratio", 0.9, ("incident",), "Share reviewed."),),
    ), "carecheck-meds")
    assert "medicines_review" not in plugin_manager.get_domains()
    error = _failure("carecheck-meds")
    assert "targets: med_review_2wd: unknown kind 'ratio' (known: rate, cadence)" in error
    assert "escalations: late: when: " in error and "unreveiwed" in error


def test_a_sound_domain_loads_and_a_bad_one_leaves_the_others(register_plugin):
    register_plugin(_medicines(), "carecheck-meds")
    register_plugin(_medicines(name="broken_meds", reads=("nope",)), "carecheck-broken")
    domains = plugin_manager.get_domains()
    assert domains["medicines_review"].plugin == "carecheck-meds"
    assert "broken_meds" not in domains
    assert {"safeguarding_recording", "incident_learning", "provider_oversight"} <= set(domains)
    assert [f.plugin for f in plugin_manager.failures()] == ["carecheck-broken"]


def test_a_quality_statement_missing_from_the_rulesets_framework_is_a_ruleset_error(
        register_plugin, tmp_path, monkeypatch):
    from carecheck import ruleset
    from carecheck.domainkit import framework

    real = framework.load_framework("cqc-saf-2023")
    narrower = real.model_copy(update={"quality_statements": {
        k: v for k, v in real.quality_statements.items() if k != "safe.medicines_optimisation"}})
    monkeypatch.setattr(ruleset, "load_framework", lambda name: narrower)
    register_plugin(_medicines(quality_statements=("safe.medicines_optimisation",)), "carecheck-meds")
    path = tmp_path / "meds.yaml"
    path.write_text("name: meds\ndomains:\n  medicines_review: {}\n")
    _, problems = ruleset.check_ruleset(path)
    assert problems == [
        f"{path}: domains.medicines_review: plugin carecheck-meds: quality_statements: unknown quality statement "
        f"'safe.medicines_optimisation' (known: " + problems[0].split("(known: ")[1]]
    assert problems[0].endswith("in framework cqc-saf-2023")


# -- the declared, read-only view --------------------------------------------------------------------

def _querying(sql):
    def signal_values(self, ctx):
        list(ctx.rows(sql))
        return {}

    return signal_values


@pytest.mark.parametrize("workers", [1, 2])
@pytest.mark.parametrize("sql, said", [
    ("INSERT INTO incident (id, service) VALUES ('X1', 'Oak')", "tried to write to incident: a domain only reads "
                                                                "the store"),
    ("DELETE FROM incident", "tried to write to incident: a domain only reads the store"),
    ("CREATE TABLE scratch (x)", "tried to change the store's schema: a domain only reads the store"),
    ("DROP TABLE incident", "tried to change the store's schema: a domain only reads the store"),
    ("SELECT count(*) FROM feedback", "tried to read table main.feedback, which is not in its reads (incident)"),
    ("SELECT count(*) FROM main.feedback", "tried to read table main.feedback, which is not in its reads (incident)"),
    ("PRAGMA query_only = 0", "tried to pragma query_only: a domain only reads the store"),
])
def test_a_domain_that_writes_or_reads_outside_its_reads_is_stopped_naming_both(
        register_plugin, db, db_path, tmp_path, run_cli, sql, said, workers):
    register_plugin(_medicines(signal_values=_querying(sql)), "carecheck-meds")
    ruleset = _meds_store(db, tmp_path)
    result = run_cli("run", ruleset, "--db", db_path, "--as-of", "2026-07-01", "--workers", workers)
    assert result.exit_code == 2
    assert result.stderr.strip() == f"Error: domain 'medicines_review' of plugin carecheck-meds {said}"
    import sqlite3

    con = sqlite3.connect(db_path)
    assert con.execute("SELECT count(*) FROM incident").fetchone() == (2,)
    assert con.execute("SELECT count(*) FROM runs").fetchone() == (0,)


def test_under_workers_a_domain_cannot_read_every_service_through_main(register_plugin, db, db_path, tmp_path, run_cli):
    register_plugin(_medicines(signal_values=_querying("SELECT count(*) FROM main.incident")), "carecheck-meds")
    ruleset = _meds_store(db, tmp_path)
    result = run_cli("run", ruleset, "--db", db_path, "--as-of", "2026-07-01", "--workers", "2")
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        "Error: domain 'medicines_review' of plugin carecheck-meds tried to read table main.incident (every "
        "service's records, not this worker's share), which is not in its reads (incident)")
    # Without workers there is no share: main.incident is the declared kind itself.
    assert run_cli("run", ruleset, "--db", db_path, "--as-of", "2026-07-01").exit_code == 0


def test_a_domain_reads_its_kinds_through_ctes_json_and_its_own_functions(register_plugin, db, db_path, tmp_path,
                                                                          run_cli):
    seen = {}

    def signal_values(self, ctx):
        ctx.function("meds_double", lambda x: 2 * x, 1)
        seen["rows"] = list(ctx.rows(
            "WITH m AS (SELECT id, service FROM incident WHERE incident_type = ?) "
            "SELECT m.id, meds_double(length(m.id)), (SELECT count(*) FROM json_each('[1,2,3]')) FROM m ORDER BY m.id",
            ["medication"]))
        return {}

    register_plugin(_medicines(signal_values=signal_values), "carecheck-meds")
    ruleset = _meds_store(db, tmp_path)
    result = run_cli("run", ruleset, "--db", db_path, "--as-of", "2026-07-01", "--format", "json")
    assert result.exit_code == 0, result.stderr
    assert seen["rows"] == [("M-S1", 8, 3), ("M-S2", 8, 3)]


def test_a_domain_function_may_not_replace_sqlites_own(register_plugin, db, db_path, tmp_path, run_cli):
    def signal_values(self, ctx):
        ctx.function("lower", lambda x: x)
        return {}

    register_plugin(_medicines(signal_values=signal_values), "carecheck-meds")
    result = run_cli("run", _meds_store(db, tmp_path), "--db", db_path, "--as-of", "2026-07-01")
    assert result.exit_code == 2
    assert ("domain 'medicines_review' of plugin carecheck-meds failed (ValueError: SQL function name 'lower' must "
            "be an identifier not used by SQLite)") in result.stderr


def test_the_context_gives_no_store_connection():
    from carecheck.domain_api import Context

    assert not hasattr(Context, "db")
    assert "db" not in Context.__dataclass_fields__


# -- calling through pluggy ---------------------------------------------------------------------------

def test_a_wrapper_implementation_wraps_the_others(register_plugin):
    calls = []

    class Wrapper:
        @hookimpl(wrapper=True)
        def carecheck_register_domains(self, register):
            calls.append("before")
            result = yield
            calls.append("after")
            return result

    register_plugin(_medicines(), "carecheck-meds")
    register_plugin(Wrapper(), "carecheck-wrapper")
    domains = plugin_manager.get_domains()
    assert calls == ["before", "after"]
    assert "medicines_review" in domains and "safeguarding_recording" in domains


def test_tryfirst_runs_first(register_plugin):
    order = []

    class Early:
        @hookimpl(tryfirst=True)
        def carecheck_register_mappings(self, register):
            order.append("early")

    class Plain:
        @hookimpl
        def carecheck_register_mappings(self, register):
            order.append("plain")

    register_plugin(Early(), "carecheck-early")
    register_plugin(Plain(), "carecheck-plain")
    plugin_manager.get_mappings()
    assert order == ["early", "plain"]


def test_one_failing_implementation_leaves_the_others_results(register_plugin):
    class Broken:
        @hookimpl
        def carecheck_register_domains(self, register):
            raise RuntimeError("licence server down")

    register_plugin(_medicines(), "carecheck-meds")
    register_plugin(Broken(), "carecheck-broken")  # registered last: pluggy calls it first
    domains = plugin_manager.get_domains()
    assert {name: r.plugin for name, r in domains.items()} == {
        "safeguarding_recording": "carecheck.plugins.safeguarding",
        "incident_learning": "carecheck.plugins.incident_learning",
        "provider_oversight": "carecheck.plugins.provider_oversight",
        "medicines_review": "carecheck-meds",
    }
    assert [f.message() for f in plugin_manager.failures()] == [
        "plugin 'carecheck-broken' failed in carecheck_register_domains: RuntimeError: licence server down"]


def test_a_run_calls_each_registration_hook_once(register_plugin, demo_copy, run_cli):
    calls = {}

    class Counter:
        def _count(self, name):
            calls[name] = calls.get(name, 0) + 1

        @hookimpl
        def carecheck_register_adapters(self, register):
            self._count("adapters")

        @hookimpl
        def carecheck_register_domains(self, register):
            self._count("domains")

        @hookimpl
        def carecheck_register_reporters(self, register):
            self._count("reporters")

        @hookimpl
        def carecheck_register_mappings(self, register):
            self._count("mappings")

        @hookimpl
        def carecheck_register_commands(self, cli):
            self._count("commands")

    register_plugin(Counter(), "carecheck-counter")
    result = run_cli("run", "--db", demo_copy, "--as-of", "31/08/2026", "--format", "json")
    assert result.exit_code == 0, result.stderr
    assert calls == {"adapters": 1, "domains": 1, "reporters": 1, "mappings": 1, "commands": 1}


def test_trace_plugins_prints_the_hook_calls(tmp_path):
    result = subprocess.run([sys.executable, "-m", "carecheck", "plugins"], capture_output=True, text=True,
                            env={**__import__("os").environ, "CARECHECK_TRACE_PLUGINS": "1"}, timeout=120)
    assert result.returncode == 0, result.stderr
    traced = result.stderr.splitlines()
    assert any(line.strip().startswith("carecheck_register_domains [hook]") for line in traced)
    assert any("finish carecheck_register_domains" in line for line in traced)
