"""A corpus of bad files (tests/data/bad/, written by make_corpus.py), each imported as a user would:
never a traceback or exit 3; a refused file is one line naming it; an import that runs keeps the good
rows and rejects the bad with their reasons, and its counts reconcile with the file's own rows."""

import csv
from pathlib import Path

import pytest

CORPUS = Path(__file__).parent / "data" / "bad"
EXPECTED = list(csv.DictReader((CORPUS / "expected.csv").read_text(encoding="utf-8").splitlines()))
OPTIONS = {"xlsx-missing-sheet.xlsx": ["--option", "sheet=Incidents"],
           "sqlite-not-a-database.sqlite": ["--option", "table=t"]}


def test_the_corpus_holds_forty_files_or_more():
    assert len(EXPECTED) >= 40
    assert {row["file"] for row in EXPECTED} <= {path.name for path in CORPUS.iterdir()}


@pytest.mark.parametrize("row", EXPECTED, ids=[row["file"] for row in EXPECTED])
def test_a_bad_file(run_cli, tmp_path, row):
    path = CORPUS / row["file"]
    store = tmp_path / "s.db"
    result = run_cli("import", path, "--kind", row["kind"], "--db", store, *OPTIONS.get(row["file"], []))
    code, *rest = row["expected"].split(";")
    assert result.exit_code == int(code), result.stderr
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr
    if code == "2":
        (message,) = rest
        assert result.stderr.count("\n") == 1, result.stderr  # one line
        assert result.stderr.startswith(f"Error: {path}") or result.stderr.startswith("Error: "), result.stderr
        assert message in result.stderr
        assert not store.exists()  # a refused first import leaves no store
        return
    read, accepted, rejected, left_out = (int(n) for n in rest)
    assert f"{read} rows read = {accepted} accepted + {rejected} rejected + {left_out} left out" in result.stdout
    assert read == accepted + rejected + left_out
