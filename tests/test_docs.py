import tomllib

from carecheck.records import doc as records_doc

from builders import REPO


def test_records_doc_matches_the_models():
    current = (REPO / "docs" / "records.md").read_text(encoding="utf-8")
    assert current == records_doc.render(), "regenerate with: python -m carecheck.records.doc docs/records.md"


def test_framework_ids_doc_matches_the_framework():
    from carecheck.domainkit.framework import framework_doc

    current = (REPO / "docs" / "plugins" / "framework-ids.md").read_text(encoding="utf-8")
    assert current == framework_doc(), "regenerate with: python -m carecheck.domainkit.framework docs/plugins/framework-ids.md"
    assert "| `well_led.governance` | " in current and "| `REG2009-18` | " in current


def test_readme_explains_every_dependency():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    readme = (REPO / "README.md").read_text()
    names = project["dependencies"] + project["optional-dependencies"]["test"]
    for requirement in names:
        name = requirement.split(";")[0].split(">")[0].split("=")[0].split("<")[0].strip()
        assert f"`{name}`" in readme, f"README does not explain the dependency {name}"


def test_ci_runs_the_readme_test_command():
    ci = (REPO / ".ci" / "run").read_text()
    command = ci.strip().splitlines()[-1]
    assert command.startswith("python -m pip install")
    assert command in (REPO / "README.md").read_text()


def test_json_schemas_in_docs_match_the_models():
    import json

    from carecheck.ruleset import RulesetModel
    from carecheck.verdict import Verdict

    for name, model in (("verdict", Verdict), ("ruleset", RulesetModel)):
        current = json.loads((REPO / "docs" / f"{name}.schema.json").read_text())
        assert current == model.model_json_schema(), f"regenerate with: carecheck schema {name} > docs/{name}.schema.json"


def test_verdict_doc_lists_every_built_in_evidence_source():
    from carecheck.verdict import evidence_doc

    current = (REPO / "docs" / "verdict.md").read_text(encoding="utf-8")
    assert evidence_doc.render() in current, "regenerate the table with: python -m carecheck.verdict.evidence_doc"


def test_mapping_doc_and_schema_match_the_models():
    import json

    from carecheck.mapping import FieldMap, Lookup, Mapping, RowCondition

    current = json.loads((REPO / "docs" / "mapping.schema.json").read_text())
    assert current == Mapping.model_json_schema(by_alias=True), \
        "regenerate with: carecheck schema mapping > docs/mapping.schema.json"
    doc = (REPO / "docs" / "mappings.md").read_text()
    for model in (Mapping, FieldMap, RowCondition, Lookup):
        for name, info in model.model_fields.items():
            assert f"`{info.alias or name}`" in doc, f"docs/mappings.md does not explain {model.__name__}.{name}"
