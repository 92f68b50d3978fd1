"""``carecheck plugins``."""

from __future__ import annotations

import json
from dataclasses import asdict

import click
from tabulate import tabulate

from .. import plugin_manager
from .options import json_option


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
    infos = plugin_manager.plugin_infos(command_plugins)
    failed = plugin_manager.failures()
    if as_json:
        payload = {
            "plugins": [asdict(info) for info in infos],
            "failed": [asdict(failure) for failure in failed],
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


COMMANDS = [plugins_list]
