"""One call for a whole check: load the ruleset, evaluate the store, keep the run."""

from __future__ import annotations

from pathlib import Path

from sqlite_utils import Database

from .results import save_run, target_history
from .ruleset import load_ruleset
from .run import RunOptions, evaluate


def run_check(db: Database, ruleset: str | Path | None, options: RunOptions, save: bool = True) -> dict:
    """Evaluate ``ruleset`` (a path or a shipped name; default cqc-recovery) over ``db``; returns the verdict."""
    result = evaluate(db, load_ruleset(ruleset), options)
    result.verdict["history"] = target_history(db, result.verdict["ruleset"]["name"])
    if save:
        save_run(db, result)
    return result.verdict
