"""The rule engine: durable-rules against the reference evaluator, and isolation between runs.

durable-rules runs only in subprocesses here (tests/engine_probe.py).
"""

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from carecheck.run import rule_engine
from carecheck.importing.generator import generate
from carecheck.importing.importer import import_source
from carecheck.importing.manifest import load_manifest
from carecheck.rulesets import RULESETS_DIR
from carecheck.store import open_store

from builders import ruleset_file

PROBE = Path(__file__).with_name("engine_probe.py")
needs_durable = pytest.mark.skipif(not rule_engine.durable_available(), reason="durable-rules does not import here")

TEST_RULESET = """\
name: test-strict
period: month
sustained: 2
domains:
  incident_learning:
    targets:
      inc_review_5wd: {threshold: 0.8}
    escalations:
      inc_anything_repeated:
        when: "not (repeated_incidents == 0) or inc_review_5wd.has_value"
        action: Review repeats with the team
        owner: registered_manager
        due_working_days: 2
  provider_oversight:
    escalations:
      po_not_recovered:
        when: "po_monthly_visit.status != 'recovered' and not po_monthly_visit.met"
        action: Senior oversight
        owner: nominated_individual
        due_working_days: 4
"""


def probe(*args):
    done = subprocess.run([sys.executable, str(PROBE), *map(str, args)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"probe exited {done.returncode}: {done.stderr[-2000:]}"
    return json.loads(done.stdout)


@pytest.fixture(scope="module")
def demo_store(tmp_path_factory):
    folder = tmp_path_factory.mktemp("demo")
    manifest = generate(folder / "export", services=3, months=8, seed=11)
    path = folder / "demo.db"
    db = open_store(path)
    for request in load_manifest(manifest):
        import_source(db, request)
    db.close()
    return path


@needs_durable
def test_every_ruleset_gives_identical_results_in_both_engines(demo_store, tmp_path):
    rulesets = [str(p) for p in sorted(RULESETS_DIR.glob("*.yaml"))] + [str(ruleset_file(tmp_path, TEST_RULESET))]
    for as_of in ("2026-08-31", "2026-06-15"):
        results = probe("differential", demo_store, as_of, *rulesets)
        for name, engines in results.items():
            assert engines["durable"] == engines["reference"], name
            assert engines["reference"]["escalations"], f"{name} fired no escalation: the comparison proves little"


@needs_durable
def test_random_triggers_agree(tmp_path):
    for seed in range(3):
        result = probe("random", seed, 60)
        assert result["results"]["durable"] == result["results"]["reference"]
        assert result["results"]["reference"], "no rule matched: the comparison proves little"


@pytest.mark.parametrize("engine", [pytest.param("durable", marks=needs_durable), "reference"])
def test_two_rulesets_in_one_process_do_not_see_each_other(demo_store, tmp_path, engine):
    strict = ruleset_file(tmp_path, TEST_RULESET, "strict.yaml")
    results = probe("isolation", demo_store, "2026-08-31", RULESETS_DIR / "cqc-recovery.yaml", strict)[engine]
    first, other, again = results
    assert first == again  # running the other ruleset in between changed nothing
    own = {rule for _, rule, _, _ in map(tuple, first["escalations"])}
    theirs = {rule for _, rule, _, _ in map(tuple, other["escalations"])}
    assert {"inc_anything_repeated", "po_not_recovered"} <= theirs
    assert not own & {"inc_anything_repeated", "po_not_recovered"}


def test_reference_engine_collects_every_match():
    rules = [rule_engine.Rule("r1", "k", {"$gt": {"a": 0}}), rule_engine.Rule("r2", "k", {"$or": [{"a": 1}, {"b": 1}]})]
    facts = [[{"id": "x", "kind": "k", "a": 1, "b": 1}], [{"id": "y", "kind": "k", "a": 0, "b": 0}]]
    matches = rule_engine.ReferenceEngine().evaluate(rule_engine.compile_rules(rules), facts)
    assert [(m.rule, m.fact_id) for m in matches] == [("r1", "x"), ("r2", "x")]


@pytest.mark.parametrize(
    "condition,message",
    [
        ({"$gt": {"a": {"first": "a"}}}, "no joins"),
        ({"$ne": {"a": 1}}, "operator $ne is not allowed"),
        ({"$mt": {"a": "x.*"}}, "operator $mt is not allowed"),
        ({"sid": "1"}, "'sid' is reserved"),
        ({"a": None}, "compare with a number, text or true/false"),
    ],
)
def test_compiler_refuses_unsafe_constructs(condition, message):
    with pytest.raises(rule_engine.RuleCompileError, match=re.escape("rule bad_rule: ") + ".*" + re.escape(message)):
        rule_engine.compile_rules([rule_engine.Rule("bad_rule", "k", condition)])
