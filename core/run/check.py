"""One call for a whole check: load the ruleset, evaluate the store, keep the run."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from sqlite_utils import Database

from carecheck.store.runs import save_run, target_history
from carecheck.ruleset import load_ruleset
from carecheck.run import RunOptions, evaluate


def run_check(db: Database, ruleset: str | Path | None, options: RunOptions, save: bool = True,
              before_commit: Callable[[dict], None] | None = None) -> dict:
    """Evaluate ``ruleset`` (a path or a shipped name; default cqc-recovery) over ``db``; returns the
    verdict. ``before_commit(verdict)`` runs just before the stored run commits (writing the report
    file, so a report that cannot be written leaves no run behind)."""
    result = evaluate(db, load_ruleset(ruleset), options)
    info = result.verdict["ruleset"]
    result.verdict["history"] = target_history(db, info["name"], values_hash=info.get("values_hash"))
    if save:
        save_run(db, result, (lambda: before_commit(result.verdict)) if before_commit else None)
    elif before_commit is not None:
        before_commit(result.verdict)
    return result.verdict
