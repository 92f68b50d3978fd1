"""``carecheck schema``: JSON Schemas for editors and integrators."""

from __future__ import annotations

import json

import click
from carecheck import plugin_manager

from carecheck.cli.options import KindChoice


@click.group(name="schema")
def schema() -> None:
    """Print JSON Schemas of carecheck's inputs.

    \b
    Example:
        carecheck schema record incident
    """


@schema.command(name="record")
@click.argument("kind", type=KindChoice())
@click.option("--markdown", is_flag=True, help="Print the kind's fields as documentation (Markdown) instead.")
def schema_record(kind: str, markdown: bool) -> None:
    """Print the JSON Schema of a record kind: carecheck's own, or one a plugin adds.

    \b
    Example:
        carecheck schema record safeguarding_concern > concern.schema.json
        carecheck schema record medication_administration --markdown
    """
    if markdown:
        from carecheck.records.doc import render_kind

        click.echo(render_kind(plugin_manager.registry().kinds[kind]))
        return
    click.echo(json.dumps(plugin_manager.registry().kinds[kind].model_json_schema(), indent=2))


@schema.command(name="ruleset")
def schema_ruleset() -> None:
    """Print the JSON Schema of a ruleset, for editors to check rulesets as they are typed.

    \b
    Example:
        carecheck schema ruleset > ruleset.schema.json
    """
    from carecheck.ruleset import RulesetModel

    click.echo(json.dumps(RulesetModel.model_json_schema(), indent=2))


@schema.command(name="mapping")
def schema_mapping() -> None:
    """Print the JSON Schema of a mapping file (docs/mappings.md explains every key).

    \b
    Example:
        carecheck schema mapping > mapping.schema.json
    """
    from carecheck.mapping import Mapping

    click.echo(json.dumps(Mapping.model_json_schema(by_alias=True), indent=2))


@schema.command(name="verdict")
def schema_verdict() -> None:
    """Print the JSON Schema of the verdict that carecheck run --format json writes.

    \b
    Example:
        carecheck schema verdict > verdict.schema.json
    """
    from carecheck.verdict import Verdict

    click.echo(json.dumps(Verdict.model_json_schema(), indent=2))


COMMANDS = [schema]
