"""``carecheck plugins``."""

from __future__ import annotations

import json
from dataclasses import asdict

import click

from carecheck import plugin_manager
from carecheck.reporters.words import tabulate
from carecheck.cli.options import json_option


@click.command(name="plugins")
@json_option
@click.pass_context
def plugins_list(ctx: click.Context, as_json: bool) -> None:
    """List every plugin: built-in or installed, its version and what it provides.

    Plugins that failed to load are listed too, with their error.

    \b
    Example:
        carecheck plugins
        carecheck plugins --json
    """
    command_plugins = getattr(ctx.parent.command if ctx.parent else None, "plugin_commands", {}) or {}
    from carecheck.plugin.inventory import plugin_infos

    infos = plugin_infos(command_plugins)
    failed = plugin_manager.failures()
    engine = rule_engine_info()
    if as_json:
        payload = {
            "plugins": [asdict(info) for info in infos],
            "failures": [asdict(failure) for failure in failed],
            "rule_engine": engine,
        }
        click.echo(json.dumps(payload, indent=2))
        return
    rows = [
        (info.name, info.version, "built-in" if info.builtin else "installed", ", ".join(info.provides) or "-")
        for info in infos
    ]
    click.echo(tabulate(rows, headers=("plugin", "version", "origin", "provides")))
    for failure in failed:
        click.echo(f"FAILED  {failure.plugin}: {failure.stage}: {failure.error}")
    click.echo(f"\nRule engine: {engine['engine']}" + (f" ({engine['note']})" if engine["note"] else ""))


def rule_engine_info() -> dict:
    """Which rule engine runs here, and why the reference evaluator does when durable-rules cannot."""
    from carecheck.run import rule_engine

    if rule_engine.durable_available():
        from importlib.metadata import version

        return {"engine": "durable", "version": version("durable_rules"), "note": None}
    return {"engine": "reference", "version": None,
            "note": f"durable-rules cannot be imported here: {rule_engine.DURABLE_IMPORT_ERROR}"}


COMMANDS = [plugins_list]
