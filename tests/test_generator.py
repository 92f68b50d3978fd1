import hashlib

from carecheck.importing.generated_files import COLUMNS
from carecheck.importing.generator import generate


def digest(folder):
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.glob("*"))}


def test_same_seed_same_files_and_a_different_seed_differs(tmp_path):
    first = generate(tmp_path / "a", services=3, months=4, seed=5).parent
    again = generate(tmp_path / "b", services=3, months=4, seed=5).parent
    other = generate(tmp_path / "c", services=3, months=4, seed=6).parent
    assert digest(first) == digest(again)
    assert digest(first) != digest(other)
    assert sorted(p.name for p in first.glob("*.csv")) == sorted(f"{kind}.csv" for kind in COLUMNS)


def test_generated_files_are_windows_1252_with_day_first_dates(tmp_path):
    folder = generate(tmp_path / "g", services=1, months=1, seed=1, start=__import__("datetime").date(2026, 3, 1)).parent
    header, first = (folder / "incident.csv").read_bytes().decode("cp1252").splitlines()[:2]
    occurred = first.split(",")[header.split(",").index("occurred_at")]
    day, month, rest = occurred.split("/")
    assert month == "03" and rest.startswith("2026 ")


def test_generate_command(run_cli, tmp_path):
    result = run_cli("generate", "--services", "2", "--months", "2", "--seed", "3", "--out", tmp_path / "out")
    assert result.exit_code == 0
    assert (tmp_path / "out" / "manifest.yaml").exists()
    imported = run_cli("import", "--manifest", tmp_path / "out" / "manifest.yaml", "--db", tmp_path / "x.db")
    assert imported.exit_code == 0 and "rejected" in imported.stdout
    assert " 0 rejected" in imported.stdout and "rejected;" not in imported.stdout.replace(" 0 rejected;", "")
