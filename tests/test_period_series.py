"""The verdict's period figures (compact series read as lists of mappings) and the evidence figures
read alongside a run."""

import json
import sqlite3
from array import array
from datetime import date

import pytest

from carecheck.run import PeriodSeries, RunOptions, evaluate
from carecheck.run.series import Frame
from carecheck.ruleset import load_ruleset
from carecheck.store import open_store
from carecheck.verdict.chunks import json_chunks


@pytest.fixture
def series():
    # Three months; the last is partial. Threshold 0.9 "at least".
    frame = Frame(("2026-06", "2026-07", "2026-08"), 2, 0.9, "at_least")
    counts = array("q", [9, 10, 1, 1,   # 9 of 10, one pending, one failure
                         0, 0, 0, 0,    # nothing counted
                         2, 2, 0, 0])   # 2 of 2 in the partial month
    return PeriodSeries(frame, counts, {0: ["INC-7"]}, {2: {"day": {"numerator": 2, "denominator": 2, "value": 1.0}}})


def test_a_series_reads_as_a_list_of_period_mappings(series):
    assert len(series) == 3
    june, july, august = series
    assert dict(june) == {"period": "2026-06", "partial": False, "numerator": 9, "denominator": 10, "value": 0.9,
                          "met": True, "pending": 1, "failures": ["INC-7"], "failures_total": 1}
    assert (july["value"], july["met"], list(july["failures"])) == (None, None, [])
    assert august["partial"] is True and august["shifts"] == {"day": {"numerator": 2, "denominator": 2, "value": 1.0}}
    assert "shifts" not in june
    assert series[-1]["period"] == "2026-08"
    assert [e["period"] for e in series[1:]] == ["2026-07", "2026-08"]
    with pytest.raises(IndexError):
        series[3]
    assert series.entry_for("2026-07")["denominator"] == 0
    assert series.entry_for("2025-01") is None and series.entry_for(None) is None
    assert series.pending_total() == 1
    assert list(series.result_rows()) == [
        ("2026-06", False, 9, 10, 0.9, True), ("2026-07", False, 0, 0, None, None), ("2026-08", True, 2, 2, 1.0, True),
    ]


def test_a_series_is_written_as_the_json_list_it_reads_as(series):
    written = json.loads("".join(json_chunks({"domains": [], "periods": series})))["periods"]
    assert written == [dict(entry) | {"failures": list(entry["failures"])} for entry in series]


def test_evidence_figures_without_sqlites_json_functions(demo_copy, monkeypatch):
    """Where SQLite was built without its JSON functions, the evidence figures are read row by row,
    with the same result."""
    db = open_store(demo_copy)
    # Incident records are processes evidence, which every type of service uses.
    (incidents,) = db.execute("SELECT COUNT(*) FROM incident WHERE occurred_at < '2026-09-01'").fetchone()
    options = RunOptions(as_of=date(2026, 8, 31), engine="reference")
    with_json = evaluate(db, load_ruleset(), options).verdict

    real_execute = type(db).execute

    def without_json(self, sql, parameters=None):
        if "json_group_array" in sql:
            raise sqlite3.OperationalError("no such function: json_group_array")
        return real_execute(self, sql, parameters) if parameters is not None else real_execute(self, sql)

    monkeypatch.setattr(type(db), "execute", without_json)
    row_by_row = evaluate(db, load_ruleset(), options).verdict
    db.close()
    assert [d["triangulation"] for d in row_by_row["domains"]] == [d["triangulation"] for d in with_json["domains"]]
    incident = next(d for d in with_json["domains"] if d["domain"] == "incident_learning")
    counts = {s["source"]: s["records"] for s in incident["triangulation"]}
    assert incidents > 0 and counts["incident records"] == incidents
