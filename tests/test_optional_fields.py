"""Nothing silently lost: for every record kind, an unreadable optional value leaves its field empty
and keeps the record, with a finding; only a required field can reject a row."""

import typing
from datetime import date, datetime

import pytest

from carecheck.importing.importer import ImportRequest, import_source
from carecheck.records import BUILTIN_KINDS as KINDS

from builders import write_csv


def _kind_of(annotation):
    """'timestamp', 'day', 'bool', 'number', 'code', 'list' or 'text' for a field's type."""
    if typing.get_origin(annotation) is typing.Literal:
        return "code", typing.get_args(annotation)
    args = typing.get_args(annotation)
    if typing.get_origin(annotation) is typing.Annotated:
        return _kind_of(args[0])
    if args and typing.get_origin(annotation) is not list:
        kinds = [_kind_of(a) for a in args if a is not type(None)]
        if ("timestamp", None) in kinds or {k for k, _ in kinds} == {"timestamp", "day"}:
            return "timestamp", None
        return kinds[0]
    if annotation is datetime:
        return "timestamp", None
    if annotation is date:
        return "day", None
    if annotation is bool:
        return "bool", None
    if annotation in (int, float):
        return "number", None
    if typing.get_origin(annotation) is list:
        return "list", None
    return "text", None


GOOD = {"timestamp": "01/04/2026 10:00", "day": "01/04/2026", "bool": "yes", "number": "1", "list": "a;b", "text": "x"}
#: A value no reader accepts, for each kind of typed field.
UNREADABLE = {"timestamp": "not a date", "day": "31/02/2026", "bool": "perhaps", "number": "lots", "code": "zzz"}


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_an_unreadable_optional_value_never_costs_a_record(db, tmp_path, kind):
    model = KINDS[kind]
    required = set(model.required_fields())
    header, row, unreadable = [], [], []
    for name in model.content_fields():
        field_kind, codes = _kind_of(model.model_fields[name].annotation)
        if name in required:
            header.append(name)
            row.append(codes[0] if field_kind == "code" else ("R1" if name == "id" else GOOD[field_kind]))
        elif field_kind in UNREADABLE:
            header.append(name)
            row.append(UNREADABLE[field_kind])
            unreadable.append(name)
    path = write_csv(tmp_path / f"{kind}.csv", [header, row])
    result = import_source(db, ImportRequest(path, kind))
    assert (result.rows_read, result.rows_accepted, result.rows_rejected) == (1, 1, 0)
    assert unreadable, f"{kind} has no typed optional field to test"
    stored = db.execute(f"SELECT {', '.join(f'[{n}]' for n in unreadable)} FROM [{kind}]").fetchone()
    assert stored == (None,) * len(unreadable)
    assert sorted(f for (f,) in db.execute("SELECT field FROM field_findings")) == sorted(unreadable)
    assert result.fields_left_empty == dict.fromkeys(unreadable, 1)
