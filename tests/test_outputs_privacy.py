"""No output carries free text from the records unless asked, and every output escapes
record-derived names for its medium."""

import json
import re

import pytest

from carecheck.records import BUILTIN_KINDS as KINDS

from builders import write_csv

SERVICE = '<script>alert("x")</script> Oak_*House*'
OWNER = "<img src=x onerror=alert(1)> Pat"


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    """A store whose every free-text field holds a marker, and whose service name and action owner
    hold markup."""
    from click.testing import CliRunner

    from carecheck.cli import build_cli

    folder = tmp_path_factory.mktemp("planted")
    store = folder / "s.db"
    runner = CliRunner()

    def run(*args):
        result = runner.invoke(build_cli(), [str(a) for a in args], catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return result

    run("generate", "--services", "1", "--months", "4", "--notes-per-day", "1", "--out", folder / "export")
    run("import", "--manifest", folder / "export" / "manifest.yaml", "--db", store)
    import sqlite3

    conn = sqlite3.connect(store)
    planted_fields = 0
    with conn:
        for kind, model in KINDS.items():
            for name in model.free_text_fields():
                planted_fields += conn.execute(f"UPDATE [{kind}] SET [{name}] = 'MARKER-{kind}-{name}'").rowcount > 0
        conn.execute("UPDATE service SET service = ?", [SERVICE])
        conn.execute("UPDATE improvement_action SET owner = ?, status = 'open'", [OWNER])
    conn.close()
    outputs = {fmt: run("run", "--db", store, "--as-of", "2026-04-30", "--engine", "reference", "--format", fmt).stdout
               for fmt in ("table", "json", "md", "html", "junit")}
    outputs["actions"] = run("actions", "--db", store).stdout
    # The markers are really there: free text of most kinds, shown when asked for.
    assert planted_fields >= 10
    outputs["asked"] = run("run", "--db", store, "--as-of", "2026-04-30", "--engine", "reference", "--format",
                           "json", "--include-text").stdout
    outputs["actions asked"] = run("actions", "--db", store, "--include-text").stdout
    return outputs


def test_the_planted_free_text_appears_when_asked_for(planted):
    assert "MARKER-" in planted["asked"]
    assert "MARKER-improvement_action-" in planted["actions asked"]


@pytest.mark.parametrize("fmt", ["table", "json", "md", "html", "junit", "actions"])
def test_no_free_text_in_any_output(planted, fmt):
    assert "MARKER-" not in planted[fmt]


@pytest.mark.parametrize("fmt", ["md", "html", "junit"])
def test_names_are_escaped_for_each_medium(planted, fmt):
    text = planted[fmt]
    assert "<script>" not in text and "<img" not in text
    assert "&lt;script&gt;" in text  # the name is there, escaped


def test_json_keeps_names_exactly(planted):
    verdict = json.loads(planted["json"])
    assert verdict["services"][0]["service"] == SERVICE
    assert re.search(r"Oak\\_\\\*House\\\*", planted["md"])  # Markdown marks backslashed
