"""``carecheck ruleset``: what a ruleset says, once the rulesets it extends are merged in."""

from __future__ import annotations

import json
from typing import Any

import click


@click.group(name="ruleset")
def ruleset() -> None:
    """Show rulesets, and the rulesets they extend.

    \b
    Example:
        carecheck ruleset show cqc-recovery
        carecheck ruleset show my-home.yaml --resolved
    """


@ruleset.command(name="show")
@click.argument("name_or_file")
@click.option("--resolved", is_flag=True,
              help="Merge in the rulesets it extends, with the file every value came from, and its guardrails.")
def show(name_or_file: str, resolved: bool) -> None:
    """Print a ruleset (a file, or the name of a shipped one).

    \b
    Example:
        carecheck ruleset show my-home.yaml --resolved
    """
    from carecheck.errors import InputError
    from carecheck.ruleset import locate, merge_chain, read_chain

    path = locate(name_or_file)
    if not resolved:
        click.echo(path.read_text(encoding="utf-8"), nl=False)
        return
    chain = read_chain(path)
    data, sources, guardrails, problems = merge_chain(chain)
    if problems:
        raise InputError("; ".join(problems))
    click.echo(f"# {path}, resolved: " + " -> ".join(label for label, _raw, _data in chain))
    click.echo("# each value is followed by the file it came from")
    for line in _lines(data, sources, 0):
        click.echo(line)
    if guardrails:
        click.echo("guardrails:")
        for guardrail, file in guardrails:
            click.echo(f"  - {json.dumps(guardrail)}  # {file}")
    from carecheck.ruleset import check_ruleset

    loaded, _problems = check_ruleset(path)
    for breach in loaded.breaches if loaded is not None else []:
        click.echo(f"# Warning: {breach['sentence']}")


def _lines(data: dict, sources: dict, depth: int) -> list[str]:
    out = []
    pad = "  " * depth
    for key, value in data.items():
        source = sources.get(key) if isinstance(sources, dict) else sources
        if isinstance(value, dict) and value:
            out.append(f"{pad}{key}:")
            out += _lines(value, source if isinstance(source, dict) else {}, depth + 1)
        else:
            out.append(f"{pad}{key}: {_scalar(value)}  # {source if isinstance(source, str) else '?'}")
    return out


def _scalar(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


COMMANDS = [ruleset]
