"""Runs durable-rules for the tests, in a process of its own, so a crash in its C extension fails a
test instead of killing the test run. Prints JSON on standard output.

    python engine_probe.py differential DB AS_OF RULESET...
    python engine_probe.py random SEED COUNT
    python engine_probe.py isolation DB AS_OF RULESET_A RULESET_B
"""

import json
import random
import sys
from datetime import date

from carecheck.domainkit import expressions

from carecheck.run import rule_engine
from carecheck.run import RunOptions, evaluate
from carecheck.ruleset import load_ruleset
from carecheck.store import open_store


def essentials(verdict: dict) -> dict:
    return {
        "levels": (verdict["verdict"]["levels"], verdict["verdict"]["lowest"]),
        "locations": [(loc["service"], [(d["domain"], d["level"], d["level_rule"], d["level_caps"], d["status"])
                                        for d in loc["domains"]]) for loc in verdict["locations"]],
        "domains": [(d["domain"], d["status"]) for d in verdict["domains"]],
        "escalations": sorted((e["id"], e["rule"], e["service"], json.dumps(e["facts"], sort_keys=True))
                              for e in verdict["escalations"]),
    }


def run(db, ruleset, as_of, engine):
    verdict = evaluate(db, ruleset, RunOptions(as_of=as_of, engine=engine)).verdict
    return essentials(verdict)


def differential(db_path, as_of, *rulesets):
    db = open_store(db_path)
    out = {}
    for name in rulesets:
        ruleset = load_ruleset(name)
        out[name] = {engine: run(db, ruleset, date.fromisoformat(as_of), engine) for engine in ("durable", "reference")}
    return out


NAMES = {"a": "number", "b": "number", "c": "number", "f.met": "bool", "f.has_value": "bool", "s": "text"}


def random_expression(rng, depth=0):
    if depth > 2 or rng.random() < 0.35:
        name = rng.choice(list(NAMES))
        kind = NAMES[name]
        if kind == "number":
            return f"{name} {rng.choice(['==', '!=', '<', '<=', '>', '>='])} {rng.choice([0, 1, 2, 2.5, -1])}"
        if kind == "bool":
            return rng.choice([name, f"{name} == {rng.choice(['true', 'false'])}", f"{name} != true"])
        return f"{name} {rng.choice(['==', '!='])} '{rng.choice(['recovered', 'improving'])}'"
    op = rng.choice(["and", "or", "not"])
    if op == "not":
        return f"not ({random_expression(rng, depth + 1)})"
    return f"({random_expression(rng, depth + 1)}) {op} ({random_expression(rng, depth + 1)})"


def random_facts(rng, count):
    return [[{
        "id": f"f{i}", "kind": "probe", "a": rng.choice([0, 1, 2, 3]), "b": rng.choice([0, 2.5, -1]),
        "c": rng.randint(-2, 3), "f__met": rng.random() < 0.5, "f__has_value": rng.random() < 0.5,
        "s": rng.choice(["recovered", "improving", "deteriorating"]),
    }] for i in range(count)]


def random_check(seed, count):
    rng = random.Random(int(seed))
    texts = [random_expression(rng) for _ in range(int(count))]
    rules = [rule_engine.Rule(f"r{i}", "probe", expressions.to_durable(expressions.parse(t, NAMES)))
             for i, t in enumerate(texts)]
    definitions = rule_engine.compile_rules(rules)
    facts = random_facts(rng, 40)
    results = {}
    for engine in (rule_engine.DurableEngine(), rule_engine.ReferenceEngine()):
        results[engine.name] = [(m.rule, m.fact_id) for m in engine.evaluate(definitions, facts)]
    return {"rules": len(rules), "results": results}


def isolation(db_path, as_of, first, second):
    db = open_store(db_path)
    day = date.fromisoformat(as_of)
    a, b = load_ruleset(first), load_ruleset(second)
    return {engine: [run(db, a, day, engine), run(db, b, day, engine), run(db, a, day, engine)]
            for engine in ("durable", "reference")}


if __name__ == "__main__":
    command, *args = sys.argv[1:]
    result = {"differential": differential, "random": random_check, "isolation": isolation}[command](*args)
    json.dump(result, sys.stdout)
