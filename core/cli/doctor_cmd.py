"""``carecheck doctor``: what carecheck would refuse in a store, found without changing it."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import click

from carecheck.cli.exits import EXIT_INPUT_ERROR, EXIT_OK


@click.command(name="doctor")
@click.argument("store", type=click.Path(dir_okay=False, path_type=Path))
def doctor(store: Path) -> int:
    """Check a store before trusting it: what it is, anything in its schema that carecheck did not
    make, and SQLite's integrity check. Changes nothing.

    Exit 0 when every command would open it, else 2 with each finding on its own line.

    \b
    Example:
        carecheck doctor vendor-copy.db
    """
    from carecheck.store import trust as store_trust
    from carecheck.errors import InputError
    from carecheck.store import read_only_connection

    kind = store_trust.identify(store)
    if kind not in (store_trust.STORE, store_trust.OLDER_STORE):
        what = "no file" if kind == store_trust.NEW else store_trust.WHAT.get(kind, kind)
        click.echo(f"{store}: refused: {what}")
        return EXIT_INPUT_ERROR
    click.echo(f"{store}: a carecheck store" + (" made before stores carried their application id (stamped on "
                                                "its next write)" if kind == store_trust.OLDER_STORE else ""))
    problems = 0
    try:
        conn = read_only_connection(store, immutable=not Path(f"{store}-wal").exists())
    except sqlite3.Error as error:
        raise InputError(f"{store}: cannot be read ({error})") from None
    try:
        from carecheck import plugin_manager

        for finding in store_trust.schema_findings(conn, plugin_manager.registry()):
            problems += finding.blocking
            click.echo(f"{store}: {'refused' if finding.blocking else 'note'}: {finding.text}")
        try:
            results = [row[0] for row in conn.execute("PRAGMA integrity_check(20)")]
        except sqlite3.DatabaseError as error:
            results = [str(error)]
        if results != ["ok"]:
            problems += 1
            for result in results:
                click.echo(f"{store}: damaged: {result}")
    finally:
        conn.close()
    click.echo(f"{store}: {'no finding stops carecheck' if not problems else f'{problems} finding(s) stop carecheck'}")
    return EXIT_INPUT_ERROR if problems else EXIT_OK


COMMANDS = [doctor]
