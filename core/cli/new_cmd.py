"""``carecheck new``: a plugin package to start from."""

from __future__ import annotations

from pathlib import Path

import click


@click.group(name="new")
def new() -> None:
    """Start a plugin package: a domain of your own, or an adapter for your record system.

    The package installs, passes its own tests and is listed by carecheck plugins before you
    change a line; docs/plugins/ explains every part.

    \b
    Example:
        carecheck new plugin falls
        carecheck new adapter mycare --into ~/src
    """


def _made(what: str, name: str, into: str) -> None:
    from carecheck.cli.scaffold import scaffold

    import shlex

    folder = scaffold(what, name, Path(into))
    # A path pip cannot mistake for a package name on the index: ./carecheck-falls, not carecheck-falls.
    local = str(folder) if folder.is_absolute() or str(folder).startswith(".") else f"./{folder}"
    click.echo(f"Wrote {folder}. Next:\n  pip install {shlex.quote(local)}\n  carecheck plugins\n"
               f"  python -m pytest {shlex.quote(str(folder / 'tests'))}")


@new.command(name="plugin")
@click.argument("name")
@click.option("--into", default=".", show_default=True, type=click.Path(file_okay=False),
              help="The folder to write carecheck-NAME in.")
def new_plugin(name: str, into: str) -> None:
    """Write carecheck-NAME: a domain plugin with a target, a signal, an escalation, a ruleset
    enabling it, and tests.

    \b
    Example:
        carecheck new plugin falls
    """
    _made("plugin", name, into)


@new.command(name="adapter")
@click.argument("name")
@click.option("--into", default=".", show_default=True, type=click.Path(file_okay=False),
              help="The folder to write carecheck-NAME in.")
def new_adapter(name: str, into: str) -> None:
    """Write carecheck-NAME: an adapter for a record system's exports, a named mapping for its
    incidents, and tests.

    \b
    Example:
        carecheck new adapter mycare
    """
    _made("adapter", name, into)


COMMANDS = [new]
