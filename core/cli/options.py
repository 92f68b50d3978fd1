"""Options shared by several commands."""

from __future__ import annotations

from datetime import date

import click

from carecheck.dates import DateParseError, parse_date

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


class KindChoice(click.Choice):
    """A record kind: carecheck's own, or one a plugin registers (known once the plugins load)."""

    def __init__(self) -> None:
        super().__init__([])

    @property
    def choices(self):  # type: ignore[override]
        from carecheck import plugin_manager

        return sorted(plugin_manager.registry().kinds)

    @choices.setter
    def choices(self, value) -> None:
        pass


class UKDate(click.ParamType):
    """A date as UK users write it (DD/MM/YYYY, day first) or ISO (YYYY-MM-DD)."""

    name = "DATE"

    def convert(self, value, param, ctx):
        if isinstance(value, date):
            return value
        try:
            return parse_date(value)
        except DateParseError as error:
            hint = ""
            parts = str(value).strip().split("/")
            if len(parts) == 3 and all(p.isdigit() for p in parts) and int(parts[1]) > 12 >= int(parts[0]):
                hint = f"; dates are day first: {int(parts[1]):02d}/{int(parts[0]):02d}/{parts[2]}?"
            self.fail(f"{error}{hint or ' (use DD/MM/YYYY or YYYY-MM-DD)'}", param, ctx)
