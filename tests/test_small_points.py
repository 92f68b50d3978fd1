"""The smaller points users met, each fixed: a plugin installed from its folder, never the index; a
typo in a filter is named; a month-first date gets one hint; a date format's proof is a value it
reads; file names with spaces are quoted in hints."""

import json
import os

from builders import write_csv
from carecheck.mapping.suggest import infer_format


def test_a_new_plugin_is_installed_from_its_folder(run_cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = run_cli("new", "plugin", "falls")
    assert result.exit_code == 0, result.stderr
    assert "  pip install ./carecheck-falls\n" in result.stdout


def test_a_history_filter_no_run_has_is_named_with_what_there_is(run_cli, demo_copy):
    typo = run_cli("history", "--db", demo_copy, "--target", "inc_review_5dw")
    assert typo.exit_code == 2
    assert "no stored run has the target 'inc_review_5dw' (targets: " in typo.stderr
    assert "inc_review_5wd" in typo.stderr
    known = run_cli("history", "--db", demo_copy, "--target", "inc_review_5wd", "--json")
    assert known.exit_code == 0 and json.loads(known.stdout)


def test_an_empty_history_points_at_the_demos_store(run_cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "carecheck-demo.db").write_bytes(b"")  # there, beside the default store
    result = run_cli("runs", "--db", "carecheck.db")
    assert result.exit_code == 2
    assert result.stderr == ("Error: carecheck.db: no evidence store here; the demo's store is carecheck-demo.db: "
                             "pass --db carecheck-demo.db\n")


def test_a_month_first_date_gets_one_hint(run_cli, demo_copy):
    result = run_cli("run", "--db", demo_copy, "--as-of", "08/31/2026")
    assert result.exit_code == 2
    assert result.stderr.count("DD/MM/YYYY") <= 1
    assert "dates are day first: 31/08/2026?" in result.stderr


def test_a_formats_proof_is_a_value_it_reads():
    values = ["13/06/2026 21:05", "02/06/2026 09:30", "13/06/2026 9.30"]
    fmt, said = infer_format(values)
    assert fmt == "%d/%m/%Y %H:%M"
    assert "'13/06/2026 21:05' cannot be month-first" in said and "9.30" not in said


def test_suggest_quotes_a_file_name_with_spaces_in_its_hint(run_cli, tmp_path):
    source = write_csv(tmp_path / "incident log.csv", [["id", "service", "occurred_at"],
                                                       ["I1", "Oak House", "13/06/2026 09:00"]])
    out = tmp_path / "my mapping.yaml"
    result = run_cli("mapping", "suggest", source, "--kind", "incident", "-o", out)
    assert result.exit_code == 0, result.stderr
    hint = (result.stdout + result.stderr).split("Try it: ")[1]
    assert f"'{source}'" in hint and f"'{out}'" in hint
    assert os.path.exists(out)
