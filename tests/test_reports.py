"""Every format is rendered from the verdict: Markdown, JUnit XML and the HTML pack."""

import json
import re
import xml.etree.ElementTree as ET

import pytest

FREE_TEXT = ("staff saw", "Personal care given", "Seemed a bit upset", "Incident recorded on the electronic form",
             "Feedback recorded in the survey", "Decision recorded with reasons")


@pytest.fixture(scope="module")
def verdict_and_reports(demo_db):
    from click.testing import CliRunner

    from carecheck.cli import build_cli

    out = {}
    for fmt in ("json", "md", "junit", "html"):
        result = CliRunner().invoke(build_cli(), ["report", _latest(demo_db), "--db", str(demo_db), "--format", fmt],
                                    catch_exceptions=False)
        assert result.exit_code == 0, result.output
        out[fmt] = result.stdout
    return json.loads(out["json"]), out


def _latest(db_path):
    import sqlite3

    return sqlite3.connect(db_path).execute("SELECT run_id FROM runs ORDER BY rowid DESC LIMIT 1").fetchone()[0]


def test_markdown_summary(verdict_and_reports):
    _, reports = verdict_and_reports
    md = reports["md"]
    assert md.startswith("# Service recovery assurance: cqc-recovery\n")
    assert ("**Lowest assurance: not assured at 2 of 2 locations: Oak House, Riverside Supported Living. Locations: "
            "0 assured and sustained, 0 assured, 0 partly assured, 2 not assured. 8 escalations open.**") in md
    assert "## Where to act first" in md
    assert "| Provider oversight | DETERIORATING | 2 NOT ASSURED |" in md
    # Why, in numbers, and what to do, for each location below assured.
    assert "### Oak House: NOT ASSURED\n\n4 escalations open, 0 overdue actions." in md
    assert ("- Provider oversight: **Provider oversight visit every month**, DETERIORATING: 0 of 1 in 2026-08, against "
            "at least 100% (baseline 100%)") in md
    assert ("| Increase provider visit frequency: fortnightly visits until three consecutive monthly visits are met | "
            "nominated individual | 2026-09-07 |") in md
    assert "**What has improved**" in md and "**What remains under review**" in md
    assert "**What extra controls are in place**" in md


def test_junit_one_case_per_target_and_service(verdict_and_reports):
    verdict, reports = verdict_and_reports
    root = ET.fromstring(reports["junit"])
    cases = {(c.get("classname"), c.get("name")): c for c in root.iter("testcase")}
    assert len(cases) == 18 * 2 + 2  # eighteen targets at two locations, and each location's level
    assert cases[("Oak House", "level")].find("failure").get("message") == (
        "not assured (provider_oversight: level_not_assured)")
    visit = cases[("Oak House", "provider_oversight.po_monthly_visit")]
    assert visit.find("failure").get("message") == "0% against 100% in 2026-08 (deteriorating)"
    # No visit in August, so no visit actions: July's figure (0 of 2) is carried.
    quality = cases[("Oak House", "provider_oversight.po_action_quality")]
    assert quality.find("failure").get("message") == (
        "0% against 100% in 2026-07, carried: no events in 2026-08 (deteriorating)")
    passed = cases[("Riverside Supported Living", "safeguarding_recording.sg_record_complete")]
    assert passed.find("failure") is None and passed.find("skipped") is None
    failures = sum(1 for c in cases.values() if c.find("failure") is not None)
    assert root.get("failures") == str(failures) and root.get("tests") == "38"


def test_junit_skips_waived_targets(run_cli, demo_copy, tmp_path):
    waivers = tmp_path / "w.yaml"
    waivers.write_text("- {target: po_monthly_visit, justification: Agreed, approved_by: NI, expires: 2026-12-31}\n")
    xml = run_cli("run", "--db", demo_copy, "--as-of", "2026-08-31", "--engine", "reference", "--format", "junit",
                  "--waivers", waivers).stdout
    root = ET.fromstring(xml)
    case = next(c for c in root.iter("testcase") if c.get("name") == "provider_oversight.po_monthly_visit")
    assert case.find("skipped").get("message") == "waived until 2026-12-31 (approved by NI)"


def test_html_pack_is_self_contained_with_a_chart_per_target(verdict_and_reports):
    verdict, reports = verdict_and_reports
    html = reports["html"]
    assert "<script" not in html.lower()
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html, re.IGNORECASE)
    assert "@import" not in html and "url(" not in html
    targets = [t["id"] for d in verdict["domains"] for t in d["targets"]]
    for target in targets:
        assert f'<svg class="chart" id="chart-{target}"' in html
    assert html.count('<svg class="chart" id="chart-') == len(targets) == 18
    assert "This is the provider&#39;s internal assurance, not a CQC rating." in html
    for section in ("Commissioner summary", "Open actions", "Waivers", "Data-quality appendix", "Audit trail",
                    "Evidence triangulation", "Escalations fired"):
        assert section in html


def test_outputs_carry_no_free_text(verdict_and_reports):
    _, reports = verdict_and_reports
    for fmt, text in reports.items():
        for phrase in FREE_TEXT:
            assert phrase not in text, (fmt, phrase)


def test_include_text_adds_record_text_on_request(run_cli, demo_copy):
    verdict = json.loads(run_cli("run", "--db", demo_copy, "--as-of", "2026-08-31", "--engine", "reference",
                                 "--format", "json", "--include-text").stdout)
    assert verdict["record_text"], "the demo's current failures have text"
    assert all(text for text in verdict["record_text"].values())
    plain = json.loads(run_cli("run", "--db", demo_copy, "--as-of", "2026-08-31", "--engine", "reference",
                               "--format", "json").stdout)
    assert plain["record_text"] is None


def test_unknown_format(run_cli, demo_copy):
    result = run_cli("run", "--db", demo_copy, "--format", "pdf")
    assert result.exit_code == 2
    assert "'pdf' is not a report format (formats: html, json, junit, md, table)" in result.stderr


def test_json_in_chunks_is_the_same_json(demo_copy):
    from datetime import date

    from carecheck.run import RunOptions, evaluate
    from carecheck.ruleset import load_ruleset
    from carecheck.store import open_store
    from carecheck.verdict.chunks import json_chunks

    db = open_store(demo_copy)
    verdict = evaluate(db, load_ruleset(), RunOptions(as_of=date(2026, 8, 31), engine="reference")).verdict
    db.close()
    chunks = list(json_chunks(verdict))
    from collections.abc import Mapping

    # The verdict's period series and entries through the plain Mapping and Sequence protocols.
    generic = lambda value: dict(value) if isinstance(value, Mapping) else list(value)  # noqa: E731
    assert "".join(chunks) == json.dumps(verdict, ensure_ascii=False, separators=(",", ":"), default=generic)
    from carecheck.verdict.chunks import plain  # what plugins.md offers third-party reporters

    assert json.dumps(verdict, ensure_ascii=False, separators=(",", ":"), default=plain) == "".join(chunks)
    assert len(chunks) > 13  # a target at a time, not one string


def test_the_json_written_with_a_stored_run_is_the_json_encoded_afresh(run_cli, demo_copy, tmp_path):
    from carecheck.verdict.chunks import forget_stored, json_chunks

    out = tmp_path / "verdict.json"
    # The report is inflated from the run the store just kept: it must be the same text.
    assert run_cli("run", "--db", demo_copy, "--as-of", "31/08/2026", "--format", "json", "-o", out).exit_code == 0
    written = out.read_text(encoding="utf-8")
    forget_stored()
    assert written == "".join(json_chunks(json.loads(written))) + "\n"
    assert len(written) > 100_000


def test_stored_json_comes_back_a_bounded_piece_at_a_time():
    import zlib

    from carecheck.verdict.chunks import _inflated_chunks

    # Repetitive text with characters of two, three and four bytes in UTF-8, split across pieces.
    text = "".join(f'{{"service":"Café Ωmega {n} – 𝄞","value":{n / 7:.6f}}},' for n in range(5000))
    pieces = list(_inflated_chunks(zlib.compress(text.encode(), 1), size=1000))
    assert "".join(pieces) == text
    # A character split between two pieces goes with the second: at most three bytes more.
    assert len(pieces) > 50 and max(len(piece.encode()) for piece in pieces) <= 1003
