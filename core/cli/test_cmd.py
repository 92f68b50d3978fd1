"""``carecheck test``: run ruleset test cases and report their coverage."""

from __future__ import annotations

from pathlib import Path

import click


@click.command(name="test")
@click.argument("path", type=click.Path(exists=True, path_type=Path))
@click.option("--min-coverage", type=click.FloatRange(0, 100), default=None, metavar="PERCENT",
              help="Fail when the cases cover less than this share of the targets, escalation rules and level "
                   "rules of the rulesets they use.")
@click.option("--against", metavar="RULESET",
              help="Measure coverage against this ruleset's targets and rules (a name or a file) rather than those "
                   "of the rulesets the cases use: what cases it still lacks.")
def test(path: Path, min_coverage: float | None, against: str | None) -> int:
    """Run ruleset test cases: small exports, each with the verdict it must give.

    Each case is a folder with record files, a manifest.yaml that imports them, and an
    expected.yaml (as_of, ruleset, and per target and location the expected numerator,
    denominator, status and failing ids; escalations that must and must not fire; levels).
    Exit code 0 when every case passes (and coverage is at least --min-coverage), 1 when a case
    fails or coverage is short, 2 when a case is malformed. --against measures coverage against a
    ruleset's targets and rules rather than those the cases use.

    \b
    Example:
        carecheck test my-cases --min-coverage 90
    """
    from carecheck.ruleset import load_ruleset
    from carecheck.ruleset.cases import coverage, find_cases, ruleset_universe, run_case, why_uncovered
    from carecheck.cli.exits import EXIT_CHECKS_FAILED, EXIT_INPUT_ERROR, EXIT_OK

    results = []
    for case in find_cases(path):
        result = run_case(case)
        results.append(result)
        click.echo(f"{case} ... {result.outcome.upper()}")
        for difference in result.differences:
            click.echo(f"  {difference}")
        if result.error:
            click.echo(f"  {result.error}")
    counts = {outcome: sum(1 for r in results if r.outcome == outcome) for outcome in ("passed", "failed", "error")}
    click.echo(f"\n{counts['passed']} passed, {counts['failed']} failed, {counts['error']} malformed")
    covered = coverage(results, ruleset_universe(load_ruleset(against)) if against else None)
    total = len(covered.covered) + len(covered.uncovered)
    of = f" of {against}" if against else ""
    click.echo(f"Coverage {covered.percent:g}% ({len(covered.covered)} of {total} targets, escalation rules and level "
               f"rules{of})" + (":" if covered.uncovered else ""))
    for item in covered.uncovered:
        click.echo(f"  not covered: {item}: {why_uncovered(item, results)}")
    if counts["error"]:
        return EXIT_INPUT_ERROR
    short = min_coverage is not None and covered.percent < min_coverage
    if short:
        click.echo(f"Coverage {covered.percent:g}% is below --min-coverage {min_coverage:g}%")
    return EXIT_CHECKS_FAILED if counts["failed"] or short else EXIT_OK


COMMANDS = [test]
