"""The installed package: its wheel's contents, and a third-party plugin installed through its entry point.

carecheck's wheel is built once per test session; the fresh virtual environment borrows the
test environment's dependencies through a ``.pth`` file rather than compiling them again.
"""

import json
import subprocess
import zipfile

import pytest

from builders import REPO, pip_install, make_venv

# One worker builds carecheck's wheel once for every test that installs it.
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("wheel")]

EXAMPLE_PLUGIN = REPO / "examples" / "carecheck-examplecare"


@pytest.fixture(scope="session")
def fresh_venv(tmp_path_factory, wheel):
    return make_venv(tmp_path_factory.mktemp("venv") / "env", wheel)


def test_wheel_holds_only_the_carecheck_namespace(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    top = {name.split("/")[0] for name in names}
    assert top == {"carecheck", f"{wheel.name.split('-')[0]}-{wheel.name.split('-')[1]}.dist-info"}
    for expected in [
        "carecheck/__init__.py", "carecheck/hookspecs.py", "carecheck/cli/__init__.py", "carecheck/run/__init__.py",
        "carecheck/run/tally.py",
        "carecheck/adapters/csv_adapter.py", "carecheck/plugins/__init__.py", "carecheck/rulesets/__init__.py",
        "carecheck/rulesets/cqc-recovery.yaml", "carecheck/reporters/templates/pack.html.j2",
        "carecheck/data/framework/cqc-saf-2023.yaml", "carecheck/data/phrases/vague.txt",
        "carecheck/data/phrases/safeguarding_indicators.txt", "carecheck/plugins/safeguarding.py",
    ]:
        assert expected in names
    assert not any(name.startswith(("core/", "plugins/", "adapters/", "tests/", "rulesets/")) for name in names)


def test_third_party_plugin_installed_through_its_entry_point(fresh_venv, tmp_path):
    python = fresh_venv / "bin" / "python"
    pip_install("install", "--no-deps", "--no-index", "--no-build-isolation", str(EXAMPLE_PLUGIN), python=python)
    carecheck = fresh_venv / "bin" / "carecheck"

    where = subprocess.run([str(python), "-c", "import carecheck; print(carecheck.__file__)"],
                           capture_output=True, text=True, check=True).stdout
    assert where.startswith(str(fresh_venv))

    listed = subprocess.run([str(carecheck), "plugins", "--json"], capture_output=True, text=True, cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    plugins = {p["name"]: p for p in json.loads(listed.stdout)["plugins"]}
    examplecare = plugins["examplecare"]
    assert [adapter["name"] for adapter in examplecare.pop("adapters")] == ["examplecare"]
    assert examplecare == {
        "name": "examplecare", "version": "1.2.0", "builtin": False, "distribution": "carecheck-examplecare",
        "domains": [], "record_kinds": [], "mappings": ["examplecare-incidents"], "reporters": [], "commands": [],
    }
    assert plugins["carecheck.adapters.csv_adapter"]["builtin"] is True

    export = tmp_path / "export.ecx"
    export.write_text(json.dumps({"records": [
        {"ref": "E1", "location": "Oak", "when": "02/04/2026 10:00", "harm": "H2", "causeCode": "fall"},
        {"ref": "E2", "location": "Oak", "when": "03/04/2026 11:00", "harm": "H9", "causeCode": "fall"},
    ]}))
    used = subprocess.run(
        [str(carecheck), "import", str(export), "--kind", "incident", "--mapping", "examplecare-incidents",
         "--db", str(tmp_path / "t.db")],
        capture_output=True, text=True,
    )
    assert used.returncode == 0, used.stderr
    # E2's harm code H9 is not in the vendor's map: the incident is kept with its harm left empty.
    assert "2 rows read = 2 accepted + 0 rejected + 0 left out" in used.stdout
    assert "with a field left empty because its value could not be read: harm_level (1)" in used.stdout
    # carecheck_register_adapters and carecheck_register_mappings, used by a real installed plugin.

    off = subprocess.run([str(carecheck), "plugins", "--json"], capture_output=True, text=True,
                         env={"CARECHECK_LOAD_PLUGINS": "", "PATH": "/usr/bin:/bin"})
    assert "examplecare" not in {p["name"] for p in json.loads(off.stdout)["plugins"]}


def test_installed_wheel_runs_the_demo_pack(fresh_venv, tmp_path):
    """Rulesets, the framework, phrase lists and templates ship inside the wheel."""
    pack = tmp_path / "pack.html"
    done = subprocess.run(
        [str(fresh_venv / "bin" / "carecheck"), "demo", "--engine", "reference", "--format", "html", "--output", str(pack)],
        capture_output=True, text=True, cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert pack.read_text().count('<svg class="chart" id="chart-') == 18
