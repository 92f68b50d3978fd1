"""Hook specifications for carecheck plugins.

These hooks are called by carecheck itself, and implemented both by third-party plugins and by
carecheck's own built-in plugins (the adapters in :mod:`carecheck.adapters` and the domain
plugins in :mod:`carecheck.plugins`): a built-in feature uses exactly the hooks a plugin author
has.

A plugin is a module (or object) with functions decorated with :data:`carecheck.hookimpl`,
exposed through an entry point in the ``carecheck`` group::

    [project.entry-points.carecheck]
    mycare = "carecheck_mycare"

Hooks are called with keyword arguments only, so an implementation may accept fewer arguments
than the specification names. A plugin that raises in a hook is reported by name and skipped;
the run goes on without what it would have registered.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable

import pluggy

from . import PROJECT_NAME

if TYPE_CHECKING:
    import click

    from .adapter_api import Adapter
    from .domain_api import Domain
    from .reporter_api import Reporter

hookspec = pluggy.HookspecMarker(PROJECT_NAME)

# ---------------------------------------------------------------------------------------------
# Reading evidence
# ---------------------------------------------------------------------------------------------


@hookspec
def carecheck_register_adapters(register: Callable[["Adapter"], None]) -> None:
    """Register adapters that read records from a record system's exports.

    Call ``register(adapter)`` once per adapter, with an instance of a subclass of
    :class:`carecheck.adapter_api.Adapter`. The adapter's ``name`` is what users pass to
    ``carecheck import --adapter``; its ``extensions`` let carecheck pick it from a file name.
    Adapter names must be unique: a second adapter with a name already taken is refused and
    reported against the plugin that registered it.

    Example::

        @hookimpl
        def carecheck_register_adapters(register):
            register(MyVendorApiExport())

    :param register: callback that takes one adapter.
    """


@hookspec
def carecheck_register_mappings(register: Callable[..., None]) -> None:
    """Register named mapping files, so users can write ``--mapping NAME`` instead of a path.

    A vendor that knows its export's column names ships its mapping this way. Call
    ``register(name, path)`` with a unique name (conventionally ``vendor-kind``, for example
    ``mycare-incidents``) and the path of a YAML mapping file inside the plugin's package. The
    file is read and validated when it is used, not when it is registered.

    :param register: callback ``register(name: str, path: pathlib.Path)``.
    """


# ---------------------------------------------------------------------------------------------
# Checking evidence
# ---------------------------------------------------------------------------------------------


@hookspec
def carecheck_register_domains(register: Callable[["Domain"], None]) -> None:
    """Register improvement domains: the facts, measurable targets and escalation rules of one area.

    Call ``register(domain)`` with an instance of a subclass of
    :class:`carecheck.domain_api.Domain`. The domain's ``name`` is the key a ruleset uses under
    ``domains:`` to enable it and change its parameters. carecheck's own three domains
    (safeguarding recording, incident learning, provider oversight) are registered this way;
    ``docs/plugins.md`` walks through writing one.

    A domain computes, in bulk from the store, one outcome per record or expected check for each
    of its targets, and its early-warning signals per service for the current period. The core
    turns those into per-period figures, recovery statuses, escalations and assurance levels.

    :param register: callback that takes one domain.
    """


# ---------------------------------------------------------------------------------------------
# Reporting
# ---------------------------------------------------------------------------------------------


@hookspec
def carecheck_register_reporters(register: Callable[["Reporter"], None]) -> None:
    """Register report formats: ways to render the verdict.

    Call ``register(reporter)`` with an instance of a subclass of
    :class:`carecheck.reporter_api.Reporter`. Its ``name`` becomes a choice of ``--format`` in
    ``carecheck run``, ``carecheck demo`` and ``carecheck report``. A reporter renders the verdict
    it is given and nothing else, so every format tells the same story; it must not add names of
    people or free text the verdict does not carry. carecheck's own table, json, md, junit and
    html formats are registered this way.

    A fresh run's verdict keeps each ``periods`` list as a read-only sequence of read-only
    mappings (a verdict holds thousands); to write it as JSON, use
    :func:`carecheck.verdict_json.json_chunks`, or ``json.dumps`` with
    ``default=carecheck.verdict_json.plain``.

    :param register: callback that takes one reporter.
    """


# ---------------------------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------------------------


@hookspec
def carecheck_register_commands(cli: "click.Group") -> None:
    """Add commands or command groups to the ``carecheck`` command line.

    Called once, after the built-in commands are defined. Use ``@cli.command()`` or
    ``cli.add_command(...)``. Raise :class:`carecheck.errors.CarecheckError` from a command for
    a one-line user error (exit code 2).

    :param cli: the root ``click.Group``.
    """
