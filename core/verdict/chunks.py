"""Writing the verdict as JSON in pieces, so a large verdict never sits in memory as one string."""

from __future__ import annotations

import codecs
import json
import zlib
from collections.abc import Mapping
from typing import Any, Iterator

from carecheck.run.series import PeriodEntry, PeriodSeries


def plain(value: Any) -> Any:
    """For JSON: a verdict's read-only mappings (its period figures) as dicts."""
    if isinstance(value, (PeriodSeries, PeriodEntry)):
        return value.as_json()
    if isinstance(value, Mapping):
        return dict(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


#: The last verdict stored, with its JSON compressed as the store keeps it: (verdict, packed, length).
_stored: tuple[dict, bytes, int] | None = None


def remember_stored(verdict: dict, packed: bytes, length: int) -> None:
    """Note the compressed JSON of a verdict just stored: the JSON report written with the run (the
    same text) is then inflated from it rather than encoded a second time."""
    global _stored
    _stored = (verdict, packed, length)


def forget_stored() -> None:
    global _stored
    _stored = None


def _inflated_chunks(packed: bytes, size: int = 1 << 16) -> Iterator[str]:
    """The stored JSON text again, ``size`` bytes at a time (JSON compresses tenfold and more: an
    unbounded step would hold megabytes at once)."""
    inflater = zlib.decompressobj()
    decoder = codecs.getincrementaldecoder("utf-8")()
    data = packed
    while data:
        text = decoder.decode(inflater.decompress(data, size))
        data = inflater.unconsumed_tail
        if text:
            yield text
    while True:
        rest = inflater.decompress(b"", size) if not inflater.eof else b""
        if not rest:
            break
        yield decoder.decode(rest)
    tail = decoder.decode(inflater.flush(), final=True)
    if tail:
        yield tail


def json_chunks(verdict: dict) -> Iterator[str]:
    """The verdict as compact JSON, a target at a time: exactly the text of ``json.dumps`` with
    compact separators, without ever holding a large verdict as one string."""
    stored = _stored
    if stored is not None and stored[0] is verdict:
        yield from _inflated_chunks(stored[1])
        return
    dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=plain).encode

    def members(obj: dict, expand: dict) -> Iterator[str]:
        """``obj`` as JSON, with each list named in ``expand`` written an item at a time."""
        yield "{"
        for position, (key, value) in enumerate(obj.items()):
            prefix = ("," if position else "") + dumps(key) + ":"
            inner = expand.get(key)
            if inner is not None and isinstance(value, list):
                yield prefix + "["
                for index, item in enumerate(value):
                    if index:
                        yield ","
                    yield from inner(item)
                yield "]"
            else:
                yield prefix + dumps(value)
        yield "}"

    def whole(item) -> Iterator[str]:
        yield dumps(item)

    def domain(item) -> Iterator[str]:
        yield from members(item, {"targets": whole})

    # A verdict for hundreds of locations runs to megabytes: its long lists go an item at a time.
    yield from members(verdict, {"domains": domain, "locations": whole, "escalations": whole})
