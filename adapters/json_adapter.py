"""Read JSON Lines streams (one object per line) and JSON files (an array of objects)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterator

from carecheck import hookimpl
from carecheck.adapter_api import Adapter, AdapterOptions, RowProblem, SourceRows
from carecheck.errors import InputError

from .sniff import describe_binary, head


#: How deeply a record may nest objects and arrays; deeper is refused, never a crash.
MAX_DEPTH = 64


def _depth(value: Any) -> int:
    """How deeply ``value`` nests objects and arrays (worked out without recursion)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, (dict, list)):
            deepest = max(deepest, depth)
            if depth > MAX_DEPTH:
                return depth
            stack.extend((child, depth + 1) for child in (item.values() if isinstance(item, dict) else item))
    return deepest


def _peek_columns(first: tuple[int, Any] | None) -> list[str]:
    if first and isinstance(first[1], dict):
        return list(first[1])
    return []


def _with_first(first, rest: Iterator) -> Iterator:
    if first is not None:
        yield first
    yield from rest


def _check_start(path: Path, what: str) -> bytes:
    start = head(path, 16)
    if not start.strip():
        raise InputError(f"{path}: the file is empty")
    kind = describe_binary(start)
    if kind:
        raise InputError(f"{path}: this is {kind}, not {what}")
    return start


#: An integer longer than this is a value error (Python reads none past 4,300 digits; no field needs more).
MAX_INTEGER_DIGITS = 30


def _bounded_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INTEGER_DIGITS:
        raise ValueError(f"an integer of more than {MAX_INTEGER_DIGITS} digits")
    return int(text)


def _lines(path: Path, handle) -> Iterator[tuple[int, Any]]:
    number = 0
    try:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                value = json.loads(line, parse_int=_bounded_int)
            except json.JSONDecodeError as error:
                yield number, RowProblem(f"not valid JSON ({error.msg} at column {error.colno})")
                continue
            except ValueError as error:  # a number too long to read
                yield number, RowProblem(str(error))
                continue
            except RecursionError:
                yield number, RowProblem(f"nested deeper than {MAX_DEPTH} levels")
                continue
            if _depth(value) > MAX_DEPTH:
                yield number, RowProblem(f"nested deeper than {MAX_DEPTH} levels")
                continue
            if not isinstance(value, dict):
                yield number, RowProblem("not a JSON object")
                continue
            yield number, value
    except UnicodeDecodeError:
        raise InputError(f"{path}: line {number + 1}: the text is not UTF-8, as JSON must be") from None


class JSONLinesAdapter(Adapter):
    #: Its rows can be read in a forked process (no connection or shared state is open).
    fork_safe = True
    name = "jsonl"
    description = "JSON Lines streams: one JSON object per line (read as a stream)"
    extensions = (".jsonl", ".ndjson")

    def open(self, path: Path, options: AdapterOptions) -> SourceRows:
        _check_start(path, "a JSON Lines file")
        handle = open(path, "r", encoding="utf-8-sig")
        rows = _lines(path, handle)
        try:
            first = next(rows, None)
        except BaseException:
            handle.close()
            raise
        return SourceRows(_peek_columns(first), _with_first(first, rows), str(path), handle.close)


def _refuse_wrapped(path: Path) -> None:
    """A file whose top level is one object holding the records (a nested dump) is not JSON Lines:
    say so, with its keys, rather than read the wrapper as one record."""
    try:
        with open(path, "r", encoding="utf-8-sig") as handle:
            data = json.load(handle, parse_int=_bounded_int)
    except (UnicodeDecodeError, ValueError, OSError):
        return  # JSON Lines, or not JSON: the JSON Lines reader says what is wrong, line by line
    except RecursionError:
        raise InputError(f"{path}: the JSON is nested deeper than {MAX_DEPTH} levels") from None
    if not isinstance(data, dict):
        return
    nested = [key for key, value in data.items() if isinstance(value, list) and value and isinstance(value[0], dict)]
    if nested or "\n" in path.read_text(encoding="utf-8-sig").strip():
        keys = ", ".join(repr(key) for key in list(data)[:10]) or "none"
        hint = f"; the records look to be under {nested[0]!r}: export that array" if nested else ""
        raise InputError(f"{path}: not a JSON array (found an object with keys {keys}){hint}")


class JSONAdapter(Adapter):
    name = "json"
    description = "JSON files holding an array of objects (read whole), or JSON Lines"
    extensions = (".json",)

    def open(self, path: Path, options: AdapterOptions) -> SourceRows:
        start = _check_start(path, "a JSON file")
        if not start.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"["):
            _refuse_wrapped(path)
            return JSONLinesAdapter().open(path, options)
        try:
            with open(path, "r", encoding="utf-8-sig") as handle:
                data = json.load(handle, parse_int=_bounded_int)
        except UnicodeDecodeError:
            raise InputError(f"{path}: the text is not UTF-8, as JSON must be") from None
        except json.JSONDecodeError as error:
            raise InputError(f"{path}: line {error.lineno}: not valid JSON ({error.msg})") from None
        except ValueError as error:  # a number too long to read
            raise InputError(f"{path}: {error}") from None
        except RecursionError:
            raise InputError(f"{path}: the JSON is nested deeper than {MAX_DEPTH} levels") from None
        if not data:
            raise InputError(f"{path}: the file is empty (an empty JSON array)")

        def rows() -> Iterator[tuple[int, Any]]:
            for number, item in enumerate(data, 1):
                if not isinstance(item, dict):
                    yield number, RowProblem("array item is not a JSON object")
                elif _depth(item) > MAX_DEPTH:
                    yield number, RowProblem(f"nested deeper than {MAX_DEPTH} levels")
                else:
                    yield number, item

        return SourceRows(_peek_columns((1, data[0])), rows(), str(path))


@hookimpl
def carecheck_register_adapters(register):
    register(JSONLinesAdapter())
    register(JSONAdapter())
