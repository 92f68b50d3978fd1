"""``carecheck run``, ``validate``, ``demo`` and ``generate``: the check itself."""

from __future__ import annotations

import copy
import functools
import os
import tempfile
from datetime import date
from pathlib import Path

import click

from carecheck import plugin_manager
from carecheck.dates import LONDON
from carecheck.errors import InputError
from carecheck.verdict.levels import LEVELS
from carecheck.cli.exits import EXIT_CHECKS_FAILED, EXIT_INPUT_ERROR
from carecheck.cli.options import UKDate, db_option

# The engine, store and generator are imported inside the commands that use them, so that
# starting carecheck for one command does not pay for all the others.


class ReportFormat(click.ParamType):
    """A report format registered by a reporter plugin (table, json, md, junit, html, ...)."""

    name = "FORMAT"

    def convert(self, value, param, ctx):
        reporters = plugin_manager.registry().reporters
        if value not in reporters:
            self.fail(f"{value!r} is not a report format (formats: {', '.join(sorted(reporters))})", param, ctx)
        return value


def output_options(function):
    function = click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path),
                            help="Write the report to this file instead of standard output.")(function)
    function = click.option("--format", "fmt", type=ReportFormat(), default="table", show_default=True,
                            help="Report format: table, json, md, junit, html, or one a plugin adds.")(function)
    function = click.option("--expanded", is_flag=True, expose_value=False, callback=_remember_expanded,
                            help="HTML: write every details section open, for browsers that print closed sections "
                                 "empty.")(function)
    return function


def _remember_expanded(ctx: click.Context, param, value: bool) -> None:
    ctx.meta["carecheck.expanded"] = value


def evidence_options(function):
    function = click.option("--include-text", is_flag=True,
                            help="Include the free text of the records behind current failures (personal data).")(function)
    function = click.option("--waivers", "waivers_path", type=click.Path(dir_okay=False, path_type=Path),
                            help="A YAML file of waivers (target, optional service, justification, approved_by, expires).")(function)
    return function


def _today() -> date:
    from datetime import datetime

    return datetime.now(LONDON).date()


class _Stdout:
    """A text stream onto click's standard output (which tests capture)."""

    @staticmethod
    def write(text: str) -> None:
        click.echo(text, nl=False)


def _emit(verdict: dict, fmt: str, output: Path | None, stores: list) -> None:
    from carecheck.reporters.outputs import output_file

    registered = plugin_manager.registry().reporters[fmt]
    reporter = registered.item
    if click.get_current_context().meta.get("carecheck.expanded"):
        if not hasattr(reporter, "expanded"):
            raise click.UsageError(f"--expanded applies to the html format, not {fmt!r}")
        reporter = copy.copy(reporter)
        reporter.expanded = True
    guarded = functools.partial(plugin_manager.plugin_code, registered.plugin, f"report format {fmt!r}")
    if output is None:
        with guarded():
            reporter.write(verdict, _Stdout())
        return
    with output_file(output, stores, "report") as handle, guarded():
        reporter.write(verdict, handle)
    click.echo(f"Wrote {output}", err=True)


def _early_output_check(output: Path | None, stores: list) -> None:
    """Before any work: an output path that would replace evidence is refused at once."""
    if output is not None:
        from carecheck.reporters.outputs import check_output

        check_output(output, stores, "report")


def _finish(verdict: dict, fail_under: str | None) -> None:
    """Exit 1 when any location in scope is below the ``--fail-under`` level."""
    if fail_under is None:
        return
    if verdict.get("data_end"):
        ended = date.fromisoformat(verdict["data_end"])
        click.echo(f"--fail-under {fail_under.replace('_', ' ')}: the newest evidence is dated {ended:%d/%m/%Y}, "
                   f"before the current period at {date.fromisoformat(verdict['as_of']):%d/%m/%Y}; a gate cannot "
                   "pass on old evidence (import the newer records, or run with --as-of on that date)", err=True)
        raise click.exceptions.Exit(EXIT_CHECKS_FAILED)
    below = [loc for loc in verdict["locations"]
             if loc["level"] is not None and LEVELS.index(loc["level"]) < LEVELS.index(fail_under)]
    if below:
        names = ", ".join(f"{loc['service']} ({loc['level'].replace('_', ' ')})" for loc in below[:10])
        more = f" and {len(below) - 10} more" if len(below) > 10 else ""
        click.echo(f"{len(below)} location{'s' if len(below) != 1 else ''} below --fail-under "
                   f"{fail_under.replace('_', ' ')}: {names}{more}", err=True)
        raise click.exceptions.Exit(EXIT_CHECKS_FAILED)


@click.command(name="run")
@click.argument("ruleset", required=False)
@db_option
@click.option("--as-of", type=UKDate(), help="Judge deadlines and periods as on this date (default: today).")
@click.option("--service", "services", multiple=True, help="Only this service (name, id or alias); repeatable.")
@click.option("--target", "targets", multiple=True, help="Only this target id; repeatable.")
@output_options
@evidence_options
@click.option("--fail-under", type=click.Choice(LEVELS),
              help="Exit 1 when any location in scope is below this assurance level.")
@click.option("--engine", type=click.Choice(["auto", "durable", "reference"]), default="auto", show_default=True,
              help="Rule engine: durable-rules where it runs, else the reference evaluator.")
@click.option("--workers", type=click.IntRange(1, 64), default=1, show_default=True,
              help="Processes to share the services' records among (pays on large stores and many cores).")
@click.option("--no-save", is_flag=True, help="Check without storing the run (works on a read-only store).")
def run(ruleset, db_path, as_of, services, targets, fmt, output, waivers_path, include_text, fail_under, engine,
        workers, no_save) -> None:
    """Check the evidence store against a ruleset and give the assurance verdict.

    RULESET is a ruleset file or the name of one shipped with carecheck (default: cqc-recovery).
    Every run is kept in the store.

    \b
    Example:
        carecheck run --as-of 31/08/2026
        carecheck run my-ruleset.yaml --service "Oak House" --format json -o verdict.json
        carecheck run --target inc_review_5wd --fail-under partly_assured
        carecheck run --format html --output pack.html --waivers waivers.yaml
    """
    from carecheck.run.check import run_check
    from carecheck.cli.progress import Progress
    from carecheck.run import RunOptions
    from carecheck.store import using_store

    _early_output_check(output, [db_path])
    as_of = as_of or _today()
    waivers = _waivers(waivers_path, as_of)
    with using_store(db_path, read_only_ok=no_save,
                     read_only_hint="; check without storing the run with carecheck run --no-save") as db:
        progress = Progress("checking", unit="domains")
        try:
            options = RunOptions(as_of=as_of, services=list(services), targets=list(targets), engine=engine,
                                 waivers=waivers, include_text=include_text, workers=workers,
                                 progress=lambda done, total: progress.update(done, total))
            # A report file is written before the run commits: one that cannot be written (a full
            # disk) leaves the store as it was.
            write = (lambda verdict: _emit(verdict, fmt, output, [db_path])) if output is not None else None
            verdict = run_check(db, ruleset, options, save=not no_save, before_commit=write)
        finally:
            progress.done()
    if output is None:
        _emit(verdict, fmt, output, [db_path])
    _finish(verdict, fail_under)


def _waivers(path: Path | None, as_of: date) -> list:
    from carecheck.ruleset.waivers import load_waivers

    if path is None:
        return []
    return load_waivers(path, as_of)


@click.command(name="report")
@click.argument("run_id")
@db_option
@output_options
def report(run_id, db_path, fmt, output) -> None:
    """Render a stored run again, in any format.

    RUN_ID is a run's id or the start of one (carecheck history lists them).

    \b
    Example:
        carecheck report 3f2a --format html --output pack.html
    """
    from carecheck.store.runs import load_run
    from carecheck.store import using_store

    _early_output_check(output, [db_path])
    with using_store(db_path, read_only_ok=True) as db:
        verdict = load_run(db, run_id)
    _emit(verdict, fmt, output, [db_path])


@click.command(name="validate")
@click.argument("ruleset")
@click.option("--strict", is_flag=True,
              help="Exit 1 when the ruleset breaches a guardrail (a run would cap the domain at not assured).")
def validate(ruleset: str, strict: bool) -> None:
    """Check a ruleset and report every problem with its key path, and warn of every guardrail it
    breaches (a loosened value, or a required target switched off): a run caps that domain at not
    assured in every location.

    \b
    Example:
        carecheck validate my-ruleset.yaml
        carecheck validate my-overlay.yaml --strict     # exit 1 on a guardrail breach
    """
    from carecheck.ruleset import check_ruleset, locate

    path = locate(ruleset)
    loaded, problems = check_ruleset(path)
    if problems:
        for problem in problems:
            click.echo(problem, err=True)
        raise click.exceptions.Exit(EXIT_INPUT_ERROR)
    targets = sum(len(d.targets) for d in loaded.domains)
    rules = sum(len(d.escalations) for d in loaded.domains)
    for breach in loaded.breaches:
        click.echo(f"Warning: {breach['sentence']}", err=True)
    warned = f", {len(loaded.breaches)} guardrail warning{'s' if len(loaded.breaches) != 1 else ''}" \
        if loaded.breaches else ""
    click.echo(f"{path}: valid ({len(loaded.domains)} domains, {targets} targets, {rules} escalation rules{warned})")
    if strict and loaded.breaches:
        raise click.exceptions.Exit(EXIT_CHECKS_FAILED)


DEMO_SERVICES, DEMO_MONTHS, DEMO_SEED, DEMO_START, DEMO_DRIFTING = 4, 8, 7, date(2026, 1, 1), 1
DEMO_DB = "carecheck-demo.db"


@click.command(name="demo")
@click.option("--db", "db_path", type=click.Path(dir_okay=False), default=DEMO_DB, show_default=True,
              help="Where to keep the demo's evidence store: a new file, or a store an earlier demo made "
                   "(replaced); any other file is refused.")
@output_options
@evidence_options
@click.option("--engine", type=click.Choice(["auto", "durable", "reference"]), default="auto", show_default=True,
              help="Rule engine.")
def demo(db_path, fmt, output, waivers_path, include_text, engine) -> None:
    """Run the default ruleset over a bundled synthetic sample, and keep its store to explore.

    The sample is made by carecheck's seeded generator: a group of four locations over eight
    months that recovers in every domain, except one home that stops reviewing its incidents on
    time in the last month (not assured) and one whose safeguarding follow-ups slip one in four
    every month and whose overdue visit action no governance meeting took up (partly assured). A pooled figure would hide them; the verdict names them first. The store
    is kept (carecheck-demo.db), so history, diff, report and actions work on it next.

    \b
    Example:
        carecheck demo
        carecheck demo --db demo.db --format json -o verdict.json
        carecheck demo --format html --output pack.html
    """
    from carecheck.run.check import run_check
    from carecheck.run import RunOptions
    from carecheck.importing.generator import generate, last_day
    from carecheck.importing.importer import import_source
    from carecheck.importing.manifest import load_manifest
    from carecheck.store import DEMO_MAKER, is_demo_store, mark_made_by, using_store

    as_of = last_day(DEMO_START, DEMO_MONTHS)
    waivers = _waivers(waivers_path, as_of)
    target = Path(os.path.realpath(db_path))
    if target.is_dir() or not target.parent.is_dir():
        raise InputError(f"{db_path}: cannot keep the demo's store there (not a file in an existing folder)")
    if os.path.lexists(target) and not is_demo_store(target):
        raise InputError(f"{db_path}: holds a file that is not a store made by carecheck demo; the demo replaces "
                         "only its own store (give another --db)")
    _early_output_check(output, [target])
    # Made beside its destination and moved into place whole: an earlier demo store is replaced,
    # and an interrupted demo leaves nothing half-written.
    with tempfile.TemporaryDirectory(prefix=".carecheck-demo-", dir=target.parent) as folder:
        manifest = generate(Path(folder) / "export", services=DEMO_SERVICES, months=DEMO_MONTHS, seed=DEMO_SEED,
                            start=DEMO_START, drifting=DEMO_DRIFTING)
        store_path = Path(folder) / "demo.db"
        with using_store(store_path, create=True) as db:
            mark_made_by(db, DEMO_MAKER)
            for request in load_manifest(manifest):
                import_source(db, request)
            # The month before first, so history and diff have two runs to compare.
            previous = last_day(DEMO_START, DEMO_MONTHS - 1)
            run_check(db, None, RunOptions(as_of=previous, engine=engine, waivers=_waivers(waivers_path, previous)))
            options = RunOptions(as_of=as_of, engine=engine, waivers=waivers, include_text=include_text)
            verdict = run_check(db, None, options)
        if os.path.lexists(target) and not is_demo_store(target):  # again: it may have changed meanwhile
            raise InputError(f"{db_path}: holds a file that is not a store made by carecheck demo; the demo "
                             "replaces only its own store (give another --db)")
        os.replace(store_path, target)
    _emit(verdict, fmt, output, [target])
    click.echo(f"Kept the demo's store in {db_path}, with runs as of {previous} and {as_of}; next, try: "
               f"carecheck runs --db {db_path}", err=True)


@click.command(name="generate")
@click.option("--services", type=click.IntRange(1, 10_000), default=2, show_default=True)
@click.option("--months", type=click.IntRange(1, 60), default=8, show_default=True)
@click.option("--seed", type=int, default=7, show_default=True)
@click.option("--start", type=UKDate(), default="2026-01-01", show_default=True, help="First month.")
@click.option("--notes-per-day", type=click.IntRange(0, 1000), default=3, show_default=True,
              help="Daily notes per service per day.")
@click.option("--drifting", type=click.IntRange(0), default=0, show_default=True,
              help="A recovering group in which this many locations (the last) drift on incident reviews in the "
                   "last month.")
@click.option("--stop", "stops", multiple=True, metavar="KIND:LOCATION:DATE",
              help="Leave out one kind's records at one location (its code, S001 for the first) from a day on, as "
                   "when an export stopped; repeatable. Example: incident:S002:15/05/2026.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), required=True, help="Folder to write.")
def generate_cmd(services, months, seed, start, notes_per_day, drifting, stops, out) -> None:
    """Write seeded synthetic evidence for every record kind, with a manifest to import it.

    The same seed gives the same files: CSV in Windows-1252 with day-first dates, as Excel writes.
    Without --drifting, every location tells the three stories of the default ruleset:
    safeguarding recovers, incident learning improves without yet meeting its targets, and
    provider oversight drifts in the last month (no visit, actions closed without evidence), so
    every location is not assured at the end. With --drifting, the group recovers except the
    drifting locations. The register also holds the provider's own row (Head Office).

    \b
    Example:
        carecheck generate --services 20 --months 12 --seed 1 --out export/
        carecheck generate --services 20 --months 6 --drifting 1 --out group/
        carecheck generate --services 4 --stop incident:S002:15/05/2026 --out stopped/
        carecheck import --manifest export/manifest.yaml
    """
    from carecheck.importing.generator import generate

    if drifting > services:
        raise click.BadParameter(f"{drifting} drifting locations among {services} services", param_hint="--drifting")
    manifest = generate(out, services=services, months=months, seed=seed, start=start.replace(day=1),
                        notes_per_day=notes_per_day, drifting=drifting,
                        stops=tuple(_export_stop(text, services) for text in stops))
    click.echo(f"Wrote {manifest.parent}; import it with: carecheck import --manifest {manifest}")


def _export_stop(text: str, services: int):
    from carecheck.dates import DateParseError, parse_date
    from carecheck.importing.generated_files import COLUMNS
    from carecheck.importing.generator import ExportStop

    parts = text.split(":")
    if len(parts) != 3:
        raise click.BadParameter(f"{text!r} is not KIND:LOCATION:DATE", param_hint="--stop")
    kind, service, day = parts
    if kind not in COLUMNS or kind == "service":
        raise click.BadParameter(f"{text!r}: no generated kind {kind!r} (kinds: {', '.join(sorted(COLUMNS))})",
                                 param_hint="--stop")
    codes = [f"S{n:03d}" for n in range(1, services + 1)]
    if service not in codes:
        raise click.BadParameter(f"{text!r}: location {service!r} is not one of S001 to {codes[-1]}",
                                 param_hint="--stop")
    try:
        return ExportStop(kind, service, parse_date(day))
    except DateParseError as error:
        raise click.BadParameter(f"{text!r}: {error}", param_hint="--stop") from None


COMMANDS = [run, report, validate, demo, generate_cmd]
