"""The ``carecheck`` command line, where errors become messages and exit codes (:mod:`.exits`).

Errors become messages here: in :class:`CarecheckGroup` for every command, and in :func:`main`
for the plugins' command registration, which runs before any command.
"""

from __future__ import annotations

import gc
import os
import sys

import click

from carecheck import __version__, interrupts, plugin_manager
from carecheck.errors import CarecheckError

from carecheck.cli.exits import EXIT_CHECKS_FAILED, EXIT_INPUT_ERROR, EXIT_INTERNAL_ERROR, EXIT_OK  # noqa: F401 (re-exported)

#: What a shell reports for a command whose output pipe closed (128 + SIGPIPE).
EXIT_BROKEN_PIPE = 141

CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


def one_line(text: str) -> str:
    """A message on one line: newlines and other control characters a file brought into it are
    shown escaped, so a file can never add a line of its own to carecheck's output."""
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in text)


class UserError(click.ClickException):
    """A one-line message for something the user can put right."""

    exit_code = EXIT_INPUT_ERROR


class InternalError(click.ClickException):
    exit_code = EXIT_INTERNAL_ERROR


class Interrupted(click.exceptions.Abort):
    """The user pressed Ctrl-C or sent SIGTERM: exit 130 or 143 once everything has rolled back."""


class CarecheckGroup(click.Group):
    """Turns carecheck's own exceptions into one-line messages and keeps tracebacks for bugs."""

    def main(self, *args, standalone_mode: bool = True, **kwargs):
        if not standalone_mode:
            return super().main(*args, standalone_mode=False, **kwargs)
        _warned.clear()  # once per command, however many commands one process runs
        try:
            result = super().main(*args, standalone_mode=False, **kwargs)
        except click.exceptions.UsageError as error:
            # One line, naming the option, as every other error: click's usage block is for --help.
            command = error.ctx.command_path if error.ctx else "carecheck"
            click.echo(f"Error: {error.format_message()} (see {command} --help)", err=True)
            _warn_plugin_failures()  # a missing command may be a plugin's that failed to register
            sys.exit(EXIT_INPUT_ERROR)
        except click.exceptions.ClickException as error:
            error.show()
            sys.exit(error.exit_code)
        except Interrupted:
            click.echo("Interrupted: nothing was half-written", err=True)
            sys.exit(interrupts.exit_code())
        except click.exceptions.Abort:
            click.echo("Aborted!", err=True)
            sys.exit(1)
        sys.exit(result if isinstance(result, int) else 0)

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except (click.exceptions.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            raise
        except CarecheckError as error:
            raise UserError(one_line(str(error))) from None
        except KeyboardInterrupt:
            if not interrupts.from_user():
                # Raised by code, not by a key or a signal: a plugin outside the guarded calls.
                raise UserError("stopped by a KeyboardInterrupt raised inside a plugin or carecheck, not by you; "
                                "nothing was half-written") from None
            raise Interrupted() from None
        except BrokenPipeError:
            # The reader went away (``carecheck records | head``): not an error, and nothing more to say.
            try:
                os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            except (OSError, ValueError, AttributeError):
                pass
            raise click.exceptions.Exit(EXIT_BROKEN_PIPE) from None
        except Exception as error:
            from carecheck.store import StoreBusy, is_busy

            if is_busy(error):  # waited the whole busy timeout for a write lock
                raise UserError(str(StoreBusy(None))) from None
            if os.environ.get("CARECHECK_RAISE_ERRORS"):
                raise
            raise InternalError(
                f"internal error ({type(error).__name__}): this is a bug in carecheck; "
                "run again with CARECHECK_RAISE_ERRORS=1 to see the traceback"
            ) from None
        finally:
            _warn_plugin_failures()


def _warn_plugin_failures() -> None:
    from carecheck.store import NOTES

    while NOTES:
        click.echo(f"Note: {NOTES.pop(0)}", err=True)
    for failure in plugin_manager.failures():
        key = (failure.plugin, failure.stage)
        if key not in _warned:
            _warned.add(key)
            click.echo(f"Warning: {failure.message()}; skipped", err=True)


_warned: set[tuple[str, str]] = set()


@click.group(cls=CarecheckGroup, context_settings=CONTEXT_SETTINGS)
@click.version_option(__version__, "--version", prog_name="carecheck")
@click.option("--busy-timeout", type=click.FloatRange(0, 86_400), default=30.0, show_default=True, metavar="SECONDS",
              help="How long to wait for another carecheck command to release the store.")
def _root(busy_timeout: float) -> None:
    """Check whether CQC improvement actions have produced measurable service recovery.

    carecheck reads the evidence a care provider already keeps, checks it against measurable
    targets per review period, fires escalation rules on early warning signs and gives a
    consolidated assurance verdict.

    \b
    Example:
        carecheck demo
        carecheck import --manifest export/manifest.yaml
        carecheck run --as-of 31/08/2026
    """
    from carecheck import store

    store.BUSY_TIMEOUT_S = busy_timeout


def build_cli() -> click.Group:
    """The root command with the built-in commands, then every plugin's commands."""
    from carecheck.cli import (actions_cmd, doctor_cmd, fleet_cmd, history_cmd, import_cmd, mapping_cmd, new_cmd, plugins_cmd,
                   records_cmd, ruleset_cmd, run_cmd, schema_cmd, test_cmd)

    cli = CarecheckGroup(
        name="carecheck",
        callback=_root.callback,
        params=list(_root.params),
        help=_root.help,
        context_settings=CONTEXT_SETTINGS,
    )
    for module in (plugins_cmd, import_cmd, mapping_cmd, records_cmd, run_cmd, ruleset_cmd, test_cmd, history_cmd,
                   actions_cmd, schema_cmd, new_cmd, fleet_cmd, doctor_cmd):
        for command in module.COMMANDS:
            cli.add_command(command)
    from carecheck.plugin.commands import register_commands

    cli.plugin_commands = register_commands(cli)  # type: ignore[attr-defined]
    return cli


def main() -> None:
    try:
        interrupts.install()
        _main()
    except KeyboardInterrupt:
        # A signal that came while the command line was being built, or while a command finished.
        if not interrupts.from_user():
            raise
        click.echo("Interrupted: nothing was half-written", err=True)
        sys.exit(interrupts.exit_code())
    finally:
        # The command's work is committed or rolled back by now: a signal while the interpreter
        # shuts down (joining the reader, running atexit) must not turn a finished exit into a crash.
        interrupts.settle()


def _main() -> None:
    # Start-up (importing the modules, building the record models and the plugins) makes objects
    # that live as long as the process: no collection could free any, and running them costs a
    # short run about a tenth of its time.
    gc.disable()
    try:
        cli = build_cli()
    except CarecheckError as error:
        click.echo(f"Error: {error}", err=True)
        sys.exit(EXIT_INPUT_ERROR)
    finally:
        # The collector need not walk them on every later pass, nor again at exit.
        gc.freeze()
        gc.enable()
    try:
        cli(prog_name="carecheck")
    finally:
        gc.freeze()
