"""Hook specifications for carecheck plugins.

These hooks are called by carecheck itself, and implemented both by third-party plugins and by
carecheck's own built-in plugins (the adapters in :mod:`carecheck.adapters` and the domain
plugins in :mod:`carecheck.plugins`): a built-in feature uses exactly the hooks a plugin author
has.

A plugin is a module (or object) with functions decorated with :data:`carecheck.hookimpl`,
exposed through an entry point in the ``carecheck`` group::

    [project.entry-points.carecheck]
    mycare = "carecheck_mycare"

Hooks are called through pluggy with keyword arguments only, so an implementation may accept
fewer arguments than the specification names, and ``tryfirst``, ``trylast`` and ``wrapper`` work
as pluggy documents them. Every implementation of a hook is called (none stops the others), the
built-in plugins' first, then the installed plugins' in the order they registered. A third-party implementation that raises is reported by name and left
out (the hook is called again without it), so the other plugins' registrations are kept.

Each docstring has the sections docs/plugins/hooks.md is generated from (``python -m
carecheck.plugin.hooks_doc``): what the hook is for, **When called**, **How often**, **Returns**,
**Example** and the parameters. A test fails when a hook lacks one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable

import pluggy

from carecheck import PROJECT_NAME

if TYPE_CHECKING:
    from pathlib import Path

    import click

    from carecheck.adapter_api import Adapter
    from carecheck.domain_api import Domain
    from carecheck.records import Record
    from carecheck.reporter_api import Reporter

__all__ = [
    "hookspec", "carecheck_register_adapters", "carecheck_register_record_kinds", "carecheck_register_mappings",
    "carecheck_register_domains", "carecheck_register_reporters", "carecheck_register_commands",
]

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
    Adapter names must be unique: built-in adapters keep theirs, and a plugin that registers a
    name already taken is refused (all of its adapters) and reported.

    When called: the first time a command needs the list of adapters (``import``, ``plugins``).

    How often: once per process; the result is cached until a plugin is registered or
    unregistered.

    Returns: nothing; what counts is what the implementation passes to ``register``.

    Example::

        from carecheck import hookimpl

        @hookimpl
        def carecheck_register_adapters(register):
            register(MyVendorExport())

    :param register: callback that takes one adapter.
    """


@hookspec
def carecheck_register_record_kinds(register: Callable[[type["Record"]], None]) -> None:
    """Register record kinds of your own: evidence carecheck does not hold yet (medication
    administration entries, falls risk assessments).

    Call ``register(model)`` with a subclass (the class, not an instance) of
    :class:`carecheck.records_api.Record` that sets ``kind``, ``title`` and ``event_field``, with
    fields declared like the built-in kinds' (``Timestamp``, ``Day``, ``Code(...)``,
    ``free_text(...)``, ``ref(kind, ...)``). carecheck then creates and migrates its table,
    imports it through every adapter and mapping, lists it in ``carecheck schema record``,
    ``carecheck records`` and ``carecheck plugins``, checks its references, and lets domains
    declare it in ``reads``. The names of built-in kinds and of the store's own tables are
    reserved; a kind another plugin registered is refused and reported against the later plugin.
    A field whose type differs from the column the store already holds stops with an error
    naming the field. Uninstalling the plugin keeps the kind's table and records.

    When called: as the plugin manager loads, before any command runs, so every command knows
    the kind.

    How often: once per process, cached like the adapters.

    Returns: nothing; what counts is what the implementation passes to ``register``.

    Example::

        from carecheck import hookimpl
        from carecheck.records_api import Code, Field, Record, Text, Timestamp

        class MedicationAdministration(Record):
            kind = "medication_administration"
            title = "Medication administration record entry"
            event_field = "scheduled_at"

            scheduled_at: Timestamp = Field(description="When the dose was due.")
            outcome: Code("given", "refused", "omitted", "missed") = Field(description="What happened.")

        @hookimpl
        def carecheck_register_record_kinds(register):
            register(MedicationAdministration)

    :param register: callback that takes one record model class.
    """


@hookspec
def carecheck_register_mappings(register: Callable[[str, "str | Path"], None]) -> None:
    """Register named mapping files, so users can write ``--mapping NAME`` instead of a path.

    A vendor that knows its export's column names ships its mapping this way. Call
    ``register(name, path)`` with a unique name (conventionally ``vendor-kind``, for example
    ``mycare-incidents``) and the path of a YAML mapping file inside the plugin's package. The
    file is read and validated when it is used, not when it is registered.

    When called: the first time a command needs a named mapping (``import --mapping``,
    ``plugins``).

    How often: once per process, cached like the adapters.

    Returns: nothing; what counts is what the implementation passes to ``register``.

    Example::

        from pathlib import Path

        from carecheck import hookimpl

        @hookimpl
        def carecheck_register_mappings(register):
            register("mycare-incidents", Path(__file__).parent / "incidents.yaml")

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
    docs/plugins/domain-tutorial.md builds one step by step.

    What the domain declares is checked when it is registered: its record kinds, evidence
    categories, target kinds, the names its escalation triggers use, and its key questions,
    quality statements and regulations (against every framework carecheck ships, and against the
    ruleset's framework when a ruleset enables it). A mistake refuses the domain with an error
    naming the plugin, the attribute, the bad value and the valid choices.

    A domain computes, in bulk from the store, one outcome per record or expected check for each
    of its targets, and its early-warning signals per service for the current period. The core
    turns those into per-period figures, recovery statuses, escalations and assurance levels.
    While its code runs it reads the store through ``ctx.rows`` only: read-only, and only the
    record kinds in its ``reads``.

    When called: the first time a command needs the domains (loading a ruleset, ``run``,
    ``plugins``, ``schema``).

    How often: once per process, cached like the adapters.

    Returns: nothing; what counts is what the implementation passes to ``register``.

    Example::

        from carecheck import hookimpl

        @hookimpl
        def carecheck_register_domains(register):
            register(MedicinesReview())

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
    :func:`carecheck.verdict.chunks.json_chunks`, or ``json.dumps`` with
    ``default=carecheck.verdict.chunks.plain``.

    When called: the first time a command needs the report formats (``run``, ``demo``,
    ``report``, ``plugins``).

    How often: once per process, cached like the adapters.

    Returns: nothing; what counts is what the implementation passes to ``register``.

    Example::

        from carecheck import hookimpl

        @hookimpl
        def carecheck_register_reporters(register):
            register(CommissionerCsv())

    :param register: callback that takes one reporter.
    """


# ---------------------------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------------------------


@hookspec
def carecheck_register_commands(cli: "click.Group") -> None:
    """Add commands or command groups to the ``carecheck`` command line.

    Use ``@cli.command()`` or ``cli.add_command(...)``. Raise
    :class:`carecheck.errors.CarecheckError` from a command for a one-line user error (exit code
    2). A command that raises anything else stops with exit 2 and a line naming the plugin; an
    implementation that raises while adding its commands keeps none of them.

    When called: as the command line is built, after the built-in commands, before any command
    runs.

    How often: once per process.

    Returns: nothing; what counts is what the implementation adds to ``cli``.

    Example::

        import click

        from carecheck import hookimpl

        @hookimpl
        def carecheck_register_commands(cli):
            @cli.command(name="sync-rota")
            def sync_rota():
                '''Fetch this week's rota from the rostering system.'''
                click.echo("rota synced")

    :param cli: the root ``click.Group``.
    """
