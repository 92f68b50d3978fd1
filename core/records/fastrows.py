"""The import's fast path: a row's canonical column values without building a pydantic model.

For each field of a record kind, a converter is derived from the field's declared type (the same
validator functions and constraints the pydantic model uses). A row that every converter accepts
becomes its column values directly; anything unusual (an unreadable date, a word outside a code
list, a wrong type, a missing required value) raises :class:`Fallback`, and the importer validates
that row with the pydantic model instead, which gives the exact error. The fast path may only
ever accept rows the model accepts, with the same values: tests/test_fastrows.py checks the two
agree.
"""

from __future__ import annotations

import json
import math
import re
import typing
from typing import Any, Callable

from annotated_types import Ge, Le, MinLen
from pydantic import BeforeValidator
from pydantic.fields import FieldInfo

from carecheck.records import model as records  # the field readers this module mirrors, fast
from carecheck.dates import parse_date, parse_timestamp
from carecheck.records.model import Record
from carecheck.records.model import to_column

_CACHE_LIMIT = 200_000


class Fallback(Exception):
    """This row needs the pydantic model: the fast path cannot vouch for it."""


def _cached(parse: Callable[[Any], Any]) -> Callable[[Any], str]:
    cache: dict[str, str] = {}

    def convert(value: Any) -> str:
        if value.__class__ is str:
            hit = cache.get(value)
            if hit is not None:
                return hit
            try:
                result = parse(value).isoformat()
            except ValueError:
                raise Fallback from None
            if len(cache) >= _CACHE_LIMIT:
                cache.clear()
            cache[value] = result
            return result
        try:
            return parse(value).isoformat()
        except (ValueError, TypeError):
            raise Fallback from None

    return convert


def _text(value: Any) -> Any:
    if value.__class__ is str:
        if "\x00" in value or len(value) > records.MAX_TEXT:
            raise Fallback
        value = records.clean_text(value)  # usually stripped already; a value map's word may not be
        if not value:
            raise Fallback
        return value
    value = records._text(value)
    if value.__class__ is not str:
        raise Fallback
    return value


_BOOLS = {word: 1 for word in records.TRUE_WORDS} | {word: 0 for word in records.FALSE_WORDS}


def _to_bool(value: Any) -> int:
    if value.__class__ is str:
        result = _BOOLS.get(value.lower())
        if result is None:
            raise Fallback
        return result
    try:
        return int(records._to_bool(value))
    except ValueError:
        raise Fallback from None


_INTEGER = re.compile(r"-?\d{1,18}")
_DECIMAL = re.compile(r"-?\d{1,15}(\.\d{1,15})?")


def _int(value: Any) -> int:
    value = records._int(value)
    if value.__class__ is int:
        return value
    if value.__class__ is str and _INTEGER.fullmatch(value):
        return int(value)
    raise Fallback  # anything less plain is for pydantic to judge


def _float(value: Any) -> float:
    if value.__class__ is str and _DECIMAL.fullmatch(value):
        return float(value)
    if value.__class__ in (int, float) and not math.isnan(value) and not math.isinf(value):
        return float(value)
    raise Fallback


def _list(value: Any) -> str:
    value = records._to_list(value)
    if not isinstance(value, list) or not all(item.__class__ is str for item in value):
        raise Fallback
    return json.dumps([item.strip() for item in value], separators=(",", ":"), ensure_ascii=False)


def _free_text(value: Any) -> str:
    if value.__class__ is not str or "\x00" in value or len(value) > records.MAX_FREE_TEXT:
        raise Fallback  # pydantic refuses a number, a NUL byte or an oversized narrative: let it say so
    return value.strip()


def _code(allowed: frozenset[str]) -> Callable[[Any], str]:
    def convert(value: Any) -> str:
        code = records._to_code(value)
        if code not in allowed:
            raise Fallback
        return code

    return convert


def _constrained(convert: Callable[[Any], Any], info: FieldInfo) -> Callable[[Any], Any]:
    low = high = None
    min_length = 0
    for item in info.metadata:
        if isinstance(item, MinLen):
            min_length = item.min_length
        elif isinstance(item, Ge):
            low = item.ge
        elif isinstance(item, Le):
            high = item.le
    if low is None and high is None and min_length <= 1:
        return convert  # the fast path never converts an empty value, so a minimum length of 1 holds

    def checked(value: Any) -> Any:
        result = convert(value)
        if (min_length > 1 and len(result) < min_length) or (low is not None and result < low) or (
                high is not None and result > high):
            raise Fallback
        return result

    return checked


_VALIDATORS = {
    records._free_text: _free_text,
    records._text: _text,
    records._to_bool: _to_bool,
    records._optional_bool: _to_bool,
    records._int: _int,
    records._to_list: _list,
}


def _validator_of(annotation: Any, info: FieldInfo):
    """The BeforeValidator function of a field (through an optional), or None."""
    for candidate in [annotation, *typing.get_args(annotation)]:
        for item in list(getattr(candidate, "__metadata__", ())) + list(info.metadata):
            if isinstance(item, BeforeValidator):
                return item.func
    return None


def converter_for(info: FieldInfo) -> Callable[[Any], Any] | None:
    """A converter from a raw (non-empty) value to the column value, or None if this type is not handled."""
    annotation = info.annotation
    if _validator_of(annotation, info) is records._datetime:
        return _constrained(_cached(parse_timestamp), info)  # a date and time, or a date alone
    options = [a for a in typing.get_args(annotation) if a is not type(None)] if typing.get_origin(annotation) in (
        typing.Union, getattr(__import__("types"), "UnionType", None)) else [annotation]
    if len(options) != 1:
        return None
    (annotation,) = options
    # pydantic moves the metadata of a required Annotated field onto the FieldInfo itself.
    metadata = list(getattr(annotation, "__metadata__", ())) + list(info.metadata)
    validators = [m.func for m in metadata if isinstance(m, BeforeValidator)]
    base = typing.get_args(annotation)[0] if hasattr(annotation, "__metadata__") else annotation
    convert: Callable[[Any], Any] | None
    if validators:
        (validator,) = validators
        if validator is records._date:
            convert = _cached(parse_date)
        elif validator is records._to_code and typing.get_origin(base) is typing.Literal:
            convert = _code(frozenset(typing.get_args(base)))
        else:
            convert = _VALIDATORS.get(validator)
    elif base is str:
        convert = _free_text
    elif base is float:
        convert = _float
    else:
        convert = None
    return _constrained(convert, info) if convert else None


class FastRows:
    """Column values for one record kind, in ``model.content_fields()`` order.

    The per-field steps are compiled into one generated function, with no loop or branching on
    field kinds left for each row: imports run this for every row of every file.
    """

    def __init__(self, model: type[Record], readers: dict[str, Callable[[dict], Any]],
                 plain_columns: dict[str, str] | None = None):
        plain_columns = plain_columns or {}
        self.usable = True
        namespace: dict[str, Any] = {"Fallback": Fallback}
        lines = ["def fast(row):", "    get = row.get"]
        names = model.content_fields()
        for i, name in enumerate(names):
            info = model.model_fields[name]
            convert = converter_for(info)
            if convert is None:
                self.usable = False
                return
            namespace[f"convert{i}"] = convert
            column = plain_columns.get(name)
            if column is not None:
                namespace[f"column{i}"] = column
                lines += [f"    v = get(column{i})", "    if v.__class__ is str:", "        v = v.strip() or None"]
            elif name in readers:
                namespace[f"read{i}"] = readers[name]
                lines += ["    try:", f"        v = read{i}(row)", "    except ValueError:", "        raise Fallback",
                          "    if v == '':", "        v = None"]
            else:
                lines.append("    v = None")
            # A plain column's text is already stripped and non-empty: it is its own column value.
            # Plain ASCII text with no NUL, within the short-text limit, is its own column value.
            call = (f"(v if v.__class__ is str and v.isascii() and '\\x00' not in v and len(v) <= {records.MAX_TEXT}"
                    f" else convert{i}(v))" if convert is _text and column is not None else f"convert{i}(v)")
            if info.is_required():
                lines += ["    if v is None:", "        raise Fallback", f"    c{i} = {call}"]
            else:
                namespace[f"default{i}"] = to_column(info.get_default(call_default_factory=True))
                lines.append(f"    c{i} = default{i} if v is None else {call}")
        lines.append(f"    return ({', '.join(f'c{i}' for i in range(len(names)))},)")
        exec(compile("\n".join(lines), f"<carecheck fast rows: {model.kind}>", "exec"), namespace)
        self._fast = namespace["fast"]

    def __call__(self, row: dict) -> tuple:
        return self._fast(row)
