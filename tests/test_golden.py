"""The verdict, field by field, against stored goldens: a change to what a run judges shows up here.

Two stores are checked: the demo's, and a generated 20-service store run with waivers (one for
every service, one for a single service), once in this process and once with forked workers.
Fields that differ between runs of the same code (run id, times, the environment's versions, the
ruleset's path on disk) are left out.

A change that alters the verdict on purpose regenerates the goldens in the same commit, so the
difference is reviewed::

    CARECHECK_REGENERATE_GOLDEN=1 python -m pytest tests/test_golden.py
"""

from __future__ import annotations

import json
import os
from datetime import date
from pathlib import Path

import pytest

from carecheck.run.check import run_check
from carecheck.importing.generator import generate, last_day
from carecheck.importing.importer import import_source
from carecheck.importing.manifest import load_manifest
from carecheck.store import open_store
from carecheck.verdict.chunks import plain
from carecheck.ruleset.waivers import load_waivers

GOLDEN = Path(__file__).parent / "golden"
WAIVERS = """\
- target: po_monthly_visit
  justification: Provider representative on leave
  approved_by: Nominated individual
  expires: 2026-12-31
- target: inc_review_5wd
  service: S003
  justification: Review process being replaced
  approved_by: Nominated individual
  expires: 2026-07-05
"""


def _options(as_of: date, **extra):
    from carecheck.run import RunOptions

    return RunOptions(as_of=as_of, engine="reference", **extra)


def normalised(verdict: dict) -> dict:
    """The verdict without what differs between two runs of the same code on the same store."""
    verdict = json.loads(json.dumps(verdict, default=plain))
    audit = verdict["audit"]
    for key in ("run_id", "generated_at", "python", "engine_note", "carecheck_version"):
        audit.pop(key, None)
    audit["plugins"] = [p["name"] for p in audit["plugins"]]
    verdict["ruleset"].pop("source", None)
    # Where the files are differs from one checkout to another; their names and contents do not.
    for link in audit.get("ruleset_chain", []):
        link["file"] = Path(link["file"]).name
    verdict.pop("history", None)
    return verdict


def _store(folder: Path, services: int, months: int, seed: int, start: date):
    manifest = generate(folder / "export", services=services, months=months, seed=seed, start=start, notes_per_day=1)
    db = open_store(folder / "store.db")
    for request in load_manifest(manifest):
        import_source(db, request)
    return db


def _private_keys(value, path="") -> list[str]:
    if isinstance(value, dict):
        return [f"{path}.{k}" for k in value if k.startswith("_")] + [
            found for k, v in value.items() for found in _private_keys(v, f"{path}.{k}")]
    if isinstance(value, list):
        return [found for i, v in enumerate(value) for found in _private_keys(v, f"{path}[{i}]")]
    return []


def _check(name: str, verdict: dict) -> None:
    path = GOLDEN / f"{name}.json"
    got = normalised(verdict)
    assert _private_keys(got) == []
    if os.environ.get("CARECHECK_REGENERATE_GOLDEN"):
        path.write_text(json.dumps(got, indent=1, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8")
    want = json.loads(path.read_text(encoding="utf-8"))
    assert got == want, f"the verdict differs from {path.name}; regenerate it only for an intended change"


def test_demo_verdict_matches_the_golden(tmp_path):
    start, months = date(2026, 1, 1), 8
    db = _store(tmp_path, 2, months, 7, start)
    try:
        verdict = run_check(db, None, _options(last_day(start, months)), save=False)
    finally:
        db.close()
    _check("demo", verdict)


@pytest.fixture(scope="module")
def twenty_services(tmp_path_factory):
    folder = tmp_path_factory.mktemp("twenty")
    db = _store(folder, 20, 6, 11, date(2026, 1, 1))
    db.close()
    waivers = folder / "waivers.yaml"
    waivers.write_text(WAIVERS)
    return folder / "store.db", waivers


@pytest.mark.parametrize("workers", [1, 2])
def test_twenty_service_verdict_matches_the_golden(twenty_services, workers):
    path, waivers_file = twenty_services
    as_of = date(2026, 6, 30)
    db = open_store(path)
    try:
        options = _options(as_of, waivers=load_waivers(waivers_file, as_of), workers=workers)
        verdict = run_check(db, None, options, save=False)
    finally:
        db.close()
    _check("twenty-services", verdict)
