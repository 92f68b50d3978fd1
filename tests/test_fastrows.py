"""The import's fast path and the pydantic model must agree: same values, or the model decides."""

import random
from datetime import datetime

import pytest

from carecheck.records.fastrows import Fallback, FastRows
from carecheck.mapping import compile_mapping, load_mapping
from carecheck.records import BUILTIN_KINDS as KINDS
from carecheck.store import to_column

from pydantic import ValidationError

GOOD = {
    "text": ["Oak", " Oak ", 1002, ""],
    "date": ["03/04/2026", "2026-04-03", "03/04/2026 14:40", datetime(2026, 4, 3, 9, 15), ""],
    "bool": ["Y", "no", "1", True, ""],
    "int": ["3", "0", 4.0, ""],
    "float": ["75", "75.5", 80, ""],
    "list": ["A1;A2", "", "A1=completed; A2=overdue"],
    "free": ["Something happened", "", "  padded  "],
}
SAMPLES = {
    "text": ["Oak", " Oak ", "", "  ", 1002, 12.5, 3.0, "x" * 3],
    "date": ["03/04/2026", "2026-04-03", "3/4/26", "31/02/2026", "yesterday", "03/04/2026 14:40", "",
             datetime(2026, 4, 3, 9, 15), "2026-04-03T10:00:00+00:00"],
    "bool": ["Y", "yes", "TRUE", "1", "0", "N", "no", "maybe", "", 1, 0, 2, True, "✓"],
    "int": ["3", "-1", "0", "1.0", "1_000", "+4", " 7 ", "", 4.0, 4.5, True, "abc"],
    "float": ["75", "75.5", "1e3", "-5", "abc", "", 80, 101, "nan", 1_000.0],
    "code": ["None", "low", "Moderate", "severe harm", "", "LOW", "fatal", "supported living", "Supported-Living"],
    "list": ["A1;A2", "A1 | A2", "", " ; ", "A1=completed; A2=overdue"],
    "free": ["Something happened", "", 42, "  padded  "],
}


def category(model, name):
    info = model.model_fields[name]
    text = repr(info.annotation) + repr(info.metadata)
    for marker, found in (("_datetime", "date"), ("_date", "date"), ("_to_bool", "bool"), ("_optional_bool", "bool"),
                          ("_int", "int"), ("_to_list", "list"), ("_to_code", "code"), ("float", "float"),
                          ("_text", "text")):
        if marker in text:
            return found
    return "free"


def samples_for(model, name, good):
    kind = category(model, name)
    if kind == "code":
        import typing

        literal = [a for a in typing.get_args(model.model_fields[name].annotation) if a is not type(None)]
        words = [w for a in literal for w in typing.get_args(typing.get_args(a)[0] if hasattr(a, "__metadata__") else a)]
        words = words or [w for w in typing.get_args(model.model_fields[name].annotation)]
        return [w.replace("_", " ").title() for w in words if isinstance(w, str)] + ([] if good else SAMPLES["code"])
    return GOOD[kind] if good else SAMPLES[kind]


def slow(model, compiled, row):
    values, problems = compiled.transform(row)
    if problems:
        return None
    try:
        record = model.model_validate(values)
    except ValidationError:
        return None
    data = record.model_dump()
    return tuple(to_column(data[name]) for name in model.content_fields())


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_fast_path_agrees_with_the_model(kind):
    model = KINDS[kind]
    columns = model.content_fields()
    compiled = compile_mapping(None, model, columns, "test")
    fast = FastRows(model, dict(compiled.readers), compiled.plain_columns)
    assert fast.usable, f"{kind} has a field type the fast path does not handle"
    rng = random.Random(kind)
    accepted = fell_back = 0
    for _ in range(3000):
        good = rng.random() < 0.6  # plenty of rows that should pass, and plenty that should not
        row = {name: rng.choice(samples_for(model, name, good or rng.random() < 0.7)) for name in columns}
        if good:
            row["id"], row["service"] = f"R{rng.randint(1, 99)}", "Oak"
        expected = slow(model, compiled, row)
        try:
            got = fast(row)
        except Fallback:
            fell_back += 1
            continue
        accepted += 1
        assert got == expected, (kind, row)
    assert accepted > 50, f"the fast path accepted only {accepted} rows of {kind}"


def test_fast_path_with_a_mapping(tmp_path):
    mapping = tmp_path / "m.yaml"
    mapping.write_text(
        "key: [Home, Ref]\nfields:\n  service: Home\n  occurred_at: {column: When, format: '%d.%m.%Y %H%M'}\n"
        "  harm_level: {column: Harm, values: {Minor: low, No harm: none}}\ntrue_values: [Done]\n"
        "  \nfalse_values: [Not done]\n"
    )
    model = KINDS["incident"]
    compiled = compile_mapping(load_mapping(mapping), model, ["Home", "Ref", "When", "Harm", "police_involved"], "test")
    fast = FastRows(model, dict(compiled.readers), compiled.plain_columns)
    for row in [
        {"Home": "OAK", "Ref": "7", "When": "03.04.2026 1440", "Harm": "Minor", "police_involved": "Done"},
        {"Home": "OAK", "Ref": "8", "When": "03.04.2026 1440", "Harm": "No harm", "police_involved": "Not done"},
    ]:
        assert fast(row) == slow(model, compiled, row)
    with pytest.raises(Fallback):
        fast({"Home": "OAK", "Ref": "9", "When": "03/04/2026", "Harm": "Minor", "police_involved": "Y"})
