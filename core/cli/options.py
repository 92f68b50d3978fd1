"""Options shared by several commands."""

from __future__ import annotations

import click

DEFAULT_DB = "carecheck.db"  # the same as carecheck.store.DEFAULT_DB, without importing the store


def db_option(function):
    return click.option(
        "--db",
        "db_path",
        type=click.Path(dir_okay=False),
        default=DEFAULT_DB,
        envvar="CARECHECK_DB",
        show_default=True,
        help="The evidence store (SQLite file); also $CARECHECK_DB.",
    )(function)


def json_option(function):
    return click.option("--json", "as_json", is_flag=True, help="Output JSON instead of a table.")(function)
