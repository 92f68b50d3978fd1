"""One call for a whole check: load the ruleset, evaluate the store, keep the run."""

from __future__ import annotations

from pathlib import Path

from sqlite_utils import Database

from .evaluate import RunOptions, evaluate
from .results import save_run, target_history
from .ruleset import load_ruleset


def run_check(db: Database, ruleset: str | Path | None, options: RunOptions, save: bool = True) -> dict:
    """Evaluate ``ruleset`` (a path or a shipped name; default cqc-recovery) over ``db``; returns the verdict."""
    loaded = load_ruleset(ruleset)
    verdict = evaluate(db, loaded, options)
    failures = verdict.pop("_failures")
    verdict["history"] = target_history(db, verdict["ruleset"]["name"])
    if save:
        save_run(db, verdict, failures)
    return verdict
