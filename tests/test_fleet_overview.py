"""The fleet overview: a row per provider first (failed stores, then the lowest level), each with its
locations by level, drifting locations and why; then each provider's locations in a section of its
own, every column headed and the domains in the ruleset's order."""

import json
import re
from pathlib import Path

import pytest

from builders import demo_store_in
from carecheck.fleet import StoreResult, overview, summary_rows
from carecheck.reporters.fleet_overview import render_overview

AUDIT = {"fleet_run_id": "F1", "ruleset": "cqc-recovery", "as_of": "2026-08-31", "stores": 20, "failed": 1,
         "carecheck_version": "0", "scheduler": "local"}


@pytest.fixture(scope="module")
def view(tmp_path_factory):
    from click.testing import CliRunner

    from carecheck.cli import build_cli

    store = demo_store_in(tmp_path_factory.mktemp("fleet-view"))
    runs = json.loads(CliRunner().invoke(build_cli(), ["runs", "--db", str(store), "--json"]).stdout)
    verdict = json.loads(CliRunner().invoke(build_cli(), ["report", runs[-1]["run_id"], "--db", str(store),
                                                          "--format", "json"]).stdout)
    results = [StoreResult(store="bad.db", provider="Provider 20", seconds=0.1, error="not a carecheck store")]
    for number in range(1, 20):
        rows, locations = summary_rows(f"Provider {number:02d}", verdict)
        results.append(StoreResult(store=f"p{number}.db", provider=f"Provider {number:02d}", seconds=1.0,
                                   run_id="R", verdict_lowest=verdict["verdict"]["lowest"]["level"], rows=rows,
                                   locations=locations, newest_evidence="2026-08-31"))
    return overview(AUDIT, results)


def test_twenty_provider_rows_come_before_any_location_row(view):
    assert [p["provider"] for p in view["providers"]] == ["Provider 20"] + [f"Provider {n:02d}" for n in range(1, 20)]
    first = view["providers"][1]
    # The demo: Willow Lodge not assured for incident learning; Elm Court and Oak House partly assured.
    assert (first["lowest_level"], first["locations"], first["drifting"]) == ("not_assured", 4, 1)
    assert first["levels"] == {"assured_sustained": 1, "assured": 0, "partly_assured": 2, "not_assured": 1}
    assert first["why"].startswith("Willow Lodge: Incident learning: NOT ASSURED")
    assert [d["title"] for d in view["domains"]] == ["Safeguarding recording", "Incident learning", "Provider oversight"]
    table = render_overview(view, "table", Path("."))
    lines = table.splitlines()
    provider_rows = [i for i, line in enumerate(lines) if re.match(r"Provider \d\d\s{2,}", line)]
    location_rows = [i for i, line in enumerate(lines) if line.startswith(("Willow Lodge", "Oak House"))]
    assert len(provider_rows) == 20 and max(provider_rows) < min(location_rows)
    assert lines[provider_rows[0]].split()[2] == "FAILED"
    html = render_overview(view, "html", Path("."))
    assert html.count("<tr><td>Provider") == 20
    assert html.index("<h2>Provider 01</h2>") > html.rindex("<tr><td>Provider")
    headers = re.findall(r"<tr>((?:<th>[^<]*</th>)+)</tr>", html)
    assert all("<th></th>" not in h for h in headers)
    assert "<th>Safeguarding recording</th><th>Incident learning</th><th>Provider oversight</th>" in html
