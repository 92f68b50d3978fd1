"""The example plugin packages, as a provider and a vendor would ship them: installed into a fresh
virtual environment (no network), their own tests pass, and together they import the vendor's
sample export and run the medicines ruleset over it."""

import json
import os
import subprocess

import pytest

from builders import REPO, pip_install, make_venv

# One worker builds carecheck's wheel once for every test that installs it.
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("wheel")]

EXAMPLES = REPO / "examples"


@pytest.fixture(scope="module")
def venv(tmp_path_factory, wheel):
    import shutil

    venv = make_venv(tmp_path_factory.mktemp("examples") / "env", wheel)
    for name in ("carecheck-medicines", "carecheck-acme-dscr"):
        # A copy: building in the working tree would leave build/ folders that a later build reuses.
        copy = tmp_path_factory.mktemp("src") / name
        shutil.copytree(EXAMPLES / name, copy, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
        pip_install("install", "--no-deps", "--no-index", "--no-build-isolation", str(copy), python=venv / "bin" / "python")
    return venv


def _run(venv, *args, cwd):
    env = {key: value for key, value in os.environ.items() if not key.startswith(("CARECHECK_", "PYTHON"))}
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env['PATH']}"
    result = subprocess.run([str(a) for a in args], capture_output=True, text=True, cwd=cwd, env=env, timeout=300)
    assert result.returncode == 0, f"{args}\n{result.stdout}{result.stderr}"
    return result.stdout


@pytest.mark.parametrize("name", ["carecheck-medicines", "carecheck-acme-dscr"])
def test_each_example_passes_its_own_tests(venv, tmp_path, name):
    out = _run(venv, venv / "bin" / "python", "-m", "pytest", "-q", "-p", "no:cacheprovider",
               EXAMPLES / name / "tests", cwd=tmp_path)
    assert " passed" in out and "failed" not in out


def test_both_examples_together_import_the_vendors_export_and_run_the_medicines_ruleset(venv, tmp_path):
    carecheck = venv / "bin" / "carecheck"
    plugins = {p["name"]: p for p in json.loads(_run(venv, carecheck, "plugins", "--json", cwd=tmp_path))["plugins"]}
    assert plugins["medicines"]["record_kinds"] == ["medication_administration"]
    assert plugins["medicines"]["domains"] == ["medicines_management"]
    assert [a["name"] for a in plugins["acme-dscr"]["adapters"]] == ["acme-dscr"]
    assert sorted(plugins["acme-dscr"]["mappings"]) == ["acme-audits", "acme-incidents", "acme-locations", "acme-mar"]

    db = tmp_path / "acme.db"
    _run(venv, carecheck, "import", "--manifest", EXAMPLES / "carecheck-acme-dscr" / "sample" / "manifest.yaml",
         "--db", db, cwd=tmp_path)
    ruleset = _run(venv, venv / "bin" / "python", "-c", "import carecheck_medicines; print(carecheck_medicines.RULESET)",
                   cwd=tmp_path).strip()
    _run(venv, carecheck, "run", ruleset, "--db", db, "--as-of", "30/06/2026", "--format", "json",
         "--output", tmp_path / "verdict.json", cwd=tmp_path)
    verdict = json.loads((tmp_path / "verdict.json").read_text())
    assert [d["domain"] for d in verdict["domains"]] == [
        "safeguarding_recording", "incident_learning", "provider_oversight", "medicines_management"]
    (medicines,) = [d for d in verdict["domains"] if d["domain"] == "medicines_management"]
    june = {t["id"]: next((p["numerator"], p["denominator"], p["failures"]) for p in t["periods"]
                          if p["period"] == "2026-06") for t in medicines["targets"]}
    # Worked out from sample/: M2 (declined) and M5 (withheld) have reasons, M3 (not given) none;
    # M3 and M4 are errors, M4 reviewed the same day; only Oak House audited medicines in June.
    assert june == {
        "med_reason_recorded": (2, 3, ["M3"]),
        "med_error_review_1wd": (1, 2, ["M3"]),
        "med_monthly_audit": (1, 2, ["Elm Court: 2026-06"]),
    }
    fired = sorted((e["rule"], e["service"], e["records"]) for e in verdict["escalations"]
                   if e["domain"] == "medicines_management")
    assert fired == [("med_competency_reassessment", "Oak House", ["M3", "M4"]),
                     ("med_errors_unreviewed", "Oak House", ["M3"]),
                     ("med_unexplained_doses", "Oak House", ["M3"])]


@pytest.mark.parametrize("what, name", [("plugin", "falls-review"), ("adapter", "mycare")])
def test_a_scaffolded_package_installs_passes_its_tests_and_runs(venv, tmp_path, what, name):
    carecheck = venv / "bin" / "carecheck"
    out = _run(venv, carecheck, "new", what, name, "--into", tmp_path, cwd=tmp_path)
    folder = tmp_path / f"carecheck-{name}"
    assert out.startswith(f"Wrote {folder}.")
    pip_install("install", "--no-deps", "--no-index", "--no-build-isolation", str(folder), python=venv / "bin" / "python")
    tested = _run(venv, venv / "bin" / "python", "-m", "pytest", "-q", "-p", "no:cacheprovider", folder / "tests",
                  cwd=tmp_path)
    assert " passed" in tested and "failed" not in tested
    plugins = {p["name"]: p for p in json.loads(_run(venv, carecheck, "plugins", "--json", cwd=tmp_path))["plugins"]}
    if what == "plugin":
        assert plugins[name]["domains"] == ["falls_review"]
        # It runs: the ruleset it ships enables its domain, over a store made with the CLI.
        (tmp_path / "services.csv").write_text("id,service,service_type\nS1,Oak House,residential\n")
        (tmp_path / "incidents.csv").write_text("id,service,occurred_at,reviewed_at\nI1,Oak House,01/06/2026 09:00,\n")
        for kind in ("service", "incident"):
            source = tmp_path / ("services.csv" if kind == "service" else "incidents.csv")
            _run(venv, carecheck, "import", source, "--kind", kind, "--db", tmp_path / "s.db", cwd=tmp_path)
        ruleset = folder / "carecheck_falls_review" / "falls-review.yaml"
        _run(venv, carecheck, "run", ruleset, "--db", tmp_path / "s.db", "--as-of", "30/06/2026", "--format", "json",
             "--output", tmp_path / "v.json", cwd=tmp_path)
        verdict = json.loads((tmp_path / "v.json").read_text())
        assert [e["records"] for e in verdict["escalations"]] == [["I1"]]
    else:
        assert [a["name"] for a in plugins[name]["adapters"]] == ["mycare"]
        assert plugins[name]["mappings"] == ["mycare-incidents"]


def test_new_refuses_a_bad_name_and_an_existing_folder(run_cli, tmp_path):
    result = run_cli("new", "plugin", "Falls Review", "--into", tmp_path)
    assert result.exit_code == 2
    assert result.stderr.strip().startswith("Error: plugin name 'Falls Review': use lower-case letters")
    assert run_cli("new", "plugin", "falls", "--into", tmp_path).exit_code == 0
    again = run_cli("new", "plugin", "falls", "--into", tmp_path)
    assert again.exit_code == 2
    assert again.stderr.strip() == f"Error: {tmp_path / 'carecheck-falls'}: already exists; choose another name or folder"
