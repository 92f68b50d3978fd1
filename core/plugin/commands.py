"""Commands that plugins add to the command line: registered through carecheck_register_commands, all of a plugin's or none, and each guarded so a fault names its plugin."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from carecheck import interrupts
from carecheck.plugin_manager import call_isolated, calling_plugin, plugin_code

if TYPE_CHECKING:
    import click


def register_commands(cli: "click.Group") -> dict[str, str]:
    """Let every plugin add commands; returns command name to the plugin that added it.

    A plugin that raised half-way keeps none of its commands, as with every other hook."""
    before = dict(cli.commands)
    added_by: dict[str, str] = {}
    add_command = cli.add_command

    def attributed(command: "click.Command", name: str | None = None) -> None:
        add_command(command, name)
        added_by[name or command.name or ""] = calling_plugin("carecheck_register_commands")

    def attempt(caller) -> None:
        cli.commands.clear()
        cli.commands.update(before)
        added_by.clear()
        caller(cli=cli)

    cli.add_command = attributed  # type: ignore[method-assign]
    try:
        call_isolated("carecheck_register_commands", attempt)
    finally:
        del cli.add_command
    for name, plugin in added_by.items():
        if plugin != "carecheck":
            _guard_command(cli.commands[name], plugin)
    return dict(added_by)


def _guard_command(command: "click.Command", plugin: str) -> None:
    """A plugin's command that raises (``SystemExit`` and a ``KeyboardInterrupt`` raised by code
    included) stops with a :class:`PluginError` naming the plugin, never a success or a bug of carecheck.
    click's own exits and usage errors pass through: they are how a command talks to its user."""
    import click

    invoke = command.invoke

    def guarded(ctx: "click.Context") -> Any:
        try:
            return invoke(ctx)
        except (click.exceptions.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            raise
        except BaseException as error:
            if isinstance(error, KeyboardInterrupt) and interrupts.from_user():
                raise
            with plugin_code(plugin, f"command {command.name!r}"):
                raise

    command.invoke = guarded  # type: ignore[method-assign]
