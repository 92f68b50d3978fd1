"""``carecheck new plugin NAME`` and ``carecheck new adapter NAME``: a package to start from, like
the examples in ``examples/``, that installs, passes its own tests and is listed by ``carecheck
plugins`` before a line of it is changed.
"""

from __future__ import annotations

import re
from pathlib import Path
from string import Template

from carecheck.errors import InputError

NAME = re.compile(r"^[a-z][a-z0-9]*(?:[_-][a-z0-9]+)*$")

PYPROJECT = Template('''[build-system]
requires = ["setuptools>=68"]
build-backend = "setuptools.build_meta"

[project]
name = "carecheck-$name"
version = "0.1.0"
description = "$description"
readme = "README.md"
requires-python = ">=3.11"
dependencies = ["carecheck"]

[project.entry-points.carecheck]
$name = "$package"

[tool.setuptools]
packages = ["$package"]

[tool.setuptools.package-data]
$package = ["*.yaml"]
''')

CONFTEST = Template('''import pytest

from carecheck import plugin_manager

import $package


@pytest.fixture
def plugin(monkeypatch):
    """carecheck's built-ins and this plugin only, whatever else is installed."""
    monkeypatch.setenv("CARECHECK_LOAD_PLUGINS", "")
    plugin_manager.reset()
    plugin_manager.get_plugin_manager().register($package, name="$name")
    yield
    plugin_manager.reset()
''')

DOMAIN_INIT = Template('''"""carecheck plugin: the $domain improvement domain.

Start here: change the record kinds the domain reads, its targets, signals and escalations, and
what it computes. docs/plugins/ in carecheck explains each part.
"""

from pathlib import Path

from pydantic import Field

from carecheck import hookimpl
from carecheck.domain_api import (
    FAIL, PASS, PENDING, Domain, DomainParameters, EscalationSpec, EvidenceSource, Outcome, SignalSpec, TargetSpec,
    stored_day,
)

#: A ruleset enabling this domain on its own.
RULESET = Path(__file__).parent / "$name.yaml"


class Parameters(DomainParameters):
    review_working_days: int = Field(default=2, ge=1, description="Working days allowed for the review.")


class ${classname}(Domain):
    name = "$domain"
    title = "$title"
    description = "Incidents are reviewed within two working days."
    reads = ("incident",)
    parameters_model = Parameters
    evidence = (EvidenceSource("incident", "processes", label="incident log"),)
    targets = (
        TargetSpec("${domain}_review", "Incidents reviewed in time", "rate", 0.9, ("incident",),
                   "Share of incidents reviewed within the allowed working days."),
    )
    signals = (
        SignalSpec("${domain}_unreviewed", "Incidents not yet reviewed", "Incidents this period with no review.",
                   sentence="{n} incident{s} not yet reviewed in {period}"),
    )
    escalations = (
        EscalationSpec("${domain}_unreviewed_incidents", "Unreviewed incidents", "${domain}_unreviewed > 0",
                       "Review each listed incident", "registered_manager", 1),
    )
    key_questions = ("safe",)
    quality_statements = ("safe.learning_culture",)
    regulations = ("RA2014-12",)

    def outcomes(self, ctx):
        for record_id, service, occurred, reviewed in ctx.rows(
            "SELECT id, service, occurred_at, reviewed_at FROM incident WHERE occurred_at >= ?", [ctx.start.isoformat()]
        ):
            day = stored_day(occurred)
            due = ctx.working_days.add(day, ctx.params.review_working_days)
            done = stored_day(reviewed)
            if done is not None and done <= due:
                status = PASS
            elif done is not None or ctx.as_of > due:
                status = FAIL
            else:
                status = PENDING
            yield Outcome("${domain}_review", ctx.service(service), day, record_id, status)

    def signal_values(self, ctx):
        values = {}
        for record_id, service in ctx.rows(
            "SELECT id, service FROM incident WHERE reviewed_at IS NULL AND occurred_at >= ? AND occurred_at < ?",
            [ctx.current.start.isoformat(), ctx.current.end.isoformat() + "T24"],
        ):
            location = ctx.service(service)
            if location is not None:
                values.setdefault(location, {"${domain}_unreviewed": set()})["${domain}_unreviewed"].add(record_id)
        return values


@hookimpl
def carecheck_register_domains(register):
    register(${classname}())
''')

DOMAIN_RULESET = Template('''name: $name
domains:
  $domain: {}
''')

DOMAIN_TEST = Template('''"""$title: the figures worked out by hand from the records below (as of 30 June 2026)."""

import json

from click.testing import CliRunner

from carecheck import plugin_manager
from carecheck.cli import build_cli

import $package

SERVICES = "id,service,service_type\\nS1,Oak House,residential\\n"
# I1 reviewed the next day (in time), I2 reviewed a week later (late), I3 never (late by now).
INCIDENTS = """id,service,occurred_at,reviewed_at
I1,Oak House,01/06/2026 09:00,02/06/2026 10:00
I2,Oak House,08/06/2026 09:00,15/06/2026 10:00
I3,Oak House,22/06/2026 09:00,
"""


def carecheck(*args):
    result = CliRunner().invoke(build_cli(), [str(arg) for arg in args])
    assert result.exit_code in (0, 1), result.output
    return result


def test_the_plugin_loads_without_mistakes(plugin):
    assert "$domain" in plugin_manager.get_domains()
    assert plugin_manager.failures() == []


def test_the_domains_figures(plugin, tmp_path):
    db = tmp_path / "test.db"
    for name, text, kind in (("services.csv", SERVICES, "service"), ("incidents.csv", INCIDENTS, "incident")):
        (tmp_path / name).write_text(text)
        carecheck("import", tmp_path / name, "--kind", kind, "--db", db)
    result = carecheck("run", $package.RULESET, "--db", db, "--as-of", "30/06/2026", "--format", "json")
    verdict = json.loads(result.output)
    (target,) = verdict["domains"][0]["targets"]
    (june,) = [p for p in target["periods"] if p["period"] == "2026-06"]
    assert (june["numerator"], june["denominator"], june["failures"]) == (1, 3, ["I2", "I3"])
    assert [(e["rule"], e["records"]) for e in verdict["escalations"]] == [("${domain}_unreviewed_incidents", ["I3"])]
''')

ADAPTER_INIT = Template('''"""carecheck plugin: an adapter for $title exports, and a mapping for their incidents.

Start here: change how open() reads the export, and the mapping's column names. docs/plugins/
adapter-tutorial.md in carecheck explains each part.
"""

from pathlib import Path

from carecheck import hookimpl
from carecheck.adapter_api import Adapter, AdapterOptions, Field, InputError, RowProblem, SourceRows


class Options(AdapterOptions):
    separator: str = Field(default="|", min_length=1, max_length=1, description="The character between cells.")


class ${classname}Adapter(Adapter):
    name = "$name"
    description = "$title exports: text with one record per line"
    extensions = (".$extension",)
    options_model = Options
    fork_safe = True

    def open(self, path, options):
        try:
            handle = open(path, encoding="utf-8-sig", newline="")
        except OSError as error:
            raise InputError(f"{path}: cannot be opened ({error.strerror})") from None
        header = handle.readline().rstrip("\\r\\n")
        if options.separator not in header:
            handle.close()
            raise InputError(f"{path}: the first line is not a header separated by {options.separator!r}")
        columns = [name.strip() for name in header.split(options.separator)]

        def rows():
            for number, line in enumerate(handle, 2):
                cells = line.rstrip("\\r\\n").split(options.separator)
                if cells == [""]:
                    continue
                if len(cells) != len(columns):
                    yield number, RowProblem(f"{len(cells)} cells where the header has {len(columns)}")
                    continue
                yield number, dict(zip(columns, (cell.strip() for cell in cells)))

        return SourceRows(columns, rows(), str(path), handle.close)


@hookimpl
def carecheck_register_adapters(register):
    register(${classname}Adapter())


@hookimpl
def carecheck_register_mappings(register):
    register("$name-incidents", Path(__file__).parent / "incidents.yaml")
''')

ADAPTER_MAPPING = Template('''kind: incident
source_system: $title
fields:
  id: Ref
  service: Home
  occurred_at: When
  harm_level: {column: Harm, values: {H0: none, H1: low, H2: moderate, H3: severe, H4: fatal}}
  reviewed_at: Reviewed
''')

ADAPTER_TEST = Template('''"""The $name adapter and its incident mapping."""

import sqlite3

import pytest
from click.testing import CliRunner

from carecheck import plugin_manager
from carecheck.cli import build_cli

EXPORT = """Ref|Home|When|Harm|Reviewed
E1|Oak House|01/06/2026 09:00|H1|02/06/2026 10:00
E2|Oak House|05/06/2026 11:30|H2
E3|Oak House|06/06/2026 08:15|H0|
"""


def test_the_plugin_provides_the_adapter_and_mapping(plugin):
    assert plugin_manager.get_adapters()["$name"].plugin == "$name"
    assert "$name-incidents" in plugin_manager.get_mappings()


def test_an_export_imports_and_a_short_row_is_rejected_by_its_line(plugin, tmp_path):
    (tmp_path / "export.$extension").write_text(EXPORT)
    db = tmp_path / "test.db"
    result = CliRunner().invoke(build_cli(), ["import", str(tmp_path / "export.$extension"), "--kind", "incident",
                                              "--mapping", "$name-incidents", "--db", str(db)])
    assert result.exit_code == 0, result.output
    assert "rejected row 3: 4 cells where the header has 5" in result.output
    stored = sqlite3.connect(db).execute("SELECT id, harm_level FROM incident ORDER BY id").fetchall()
    assert stored == [("E1", "low"), ("E3", "none")]


def test_a_file_without_a_header_is_refused(plugin, tmp_path):
    (tmp_path / "export.$extension").write_text("nothing here\\n")
    result = CliRunner().invoke(build_cli(), ["import", str(tmp_path / "export.$extension"), "--kind", "incident",
                                              "--db", str(tmp_path / "test.db")])
    assert result.exit_code == 2
    assert "the first line is not a header separated by '|'" in result.output
''')

README = Template('''# carecheck-$name

$description

Made with `carecheck new $what $name`. Install it beside carecheck and check it is listed:

```console
$$ pip install ./carecheck-$name
$$ carecheck plugins
$$ python -m pytest carecheck-$name/tests
```

docs/plugins/ in carecheck explains every part ($doc).
''')


def scaffold(what: str, name: str, parent: Path) -> Path:
    """Write a new plugin package (``what`` is ``plugin`` or ``adapter``) named ``carecheck-NAME``
    under ``parent``; returns its folder. Refuses a bad name or a folder that exists."""
    if not NAME.match(name):
        raise InputError(f"plugin name {name!r}: use lower-case letters, digits, '-' and '_', starting with a letter "
                         "(for example falls or mycare-export)")
    folder = parent / f"carecheck-{name}"
    if folder.exists():
        raise InputError(f"{folder}: already exists; choose another name or folder")
    package = f"carecheck_{name.replace('-', '_')}"
    words = name.replace("-", " ").replace("_", " ")
    fields = {
        "name": name, "package": package, "domain": name.replace("-", "_"), "what": what,
        "classname": "".join(part.capitalize() for part in re.split(r"[-_]", name)),
        "title": words.capitalize(), "extension": name.replace("-", "").replace("_", "")[:8],
    }
    if what == "plugin":
        fields["description"] = f"carecheck plugin: the {words} improvement domain"
        fields["doc"] = "domain-tutorial.md builds a domain step by step"
        files = {
            f"{package}/__init__.py": DOMAIN_INIT, f"{package}/{name}.yaml": DOMAIN_RULESET,
            "tests/test_domain.py": DOMAIN_TEST,
        }
    else:
        fields["description"] = f"carecheck adapter and mapping for {words} exports"
        fields["doc"] = "adapter-tutorial.md builds an adapter step by step"
        files = {
            f"{package}/__init__.py": ADAPTER_INIT, f"{package}/incidents.yaml": ADAPTER_MAPPING,
            "tests/test_adapter.py": ADAPTER_TEST,
        }
    files.update({"pyproject.toml": PYPROJECT, "README.md": README, "tests/conftest.py": CONFTEST})
    for relative, template in files.items():
        path = folder / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(template.substitute(fields), encoding="utf-8")
    return folder
