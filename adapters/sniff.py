"""Checks that a file is what its name says, before an adapter starts reading it."""

from __future__ import annotations

import codecs
from pathlib import Path

from carecheck.errors import InputError

ZIP_MAGIC = b"PK\x03\x04"
SQLITE_MAGIC = b"SQLite format 3\x00"
_CHUNK = 1 << 20


def head(path: Path, size: int = 16) -> bytes:
    try:
        with open(path, "rb") as handle:
            return handle.read(size)
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise InputError(f"{path}: is a folder, not a file") from None
    except PermissionError:
        raise InputError(f"{path}: permission denied") from None


def describe_binary(start: bytes) -> str | None:
    """Name the kind of a binary file from its first bytes, if it is one carecheck recognises."""
    if start.startswith(ZIP_MAGIC):
        return "an Excel workbook or other zip archive"
    if start.startswith(SQLITE_MAGIC):
        return "a SQLite database"
    if start.startswith(b"%PDF"):
        return "a PDF document"
    if start.startswith(b"\xd0\xcf\x11\xe0"):
        return "an old-style Excel (.xls) or Word file"
    return None


_CONTROL = bytes(b for b in range(32) if b not in (9, 10, 13))


def _binary(chunk: bytes) -> bool:
    """Binary, not text: control bytes (other than tab and line ends) more than one in a hundred.
    A stray NUL in a text export costs its cell, not the file."""
    if b"\x00" not in chunk and not any(byte in chunk for byte in _CONTROL[1:4]):
        return False
    controls = len(chunk) - len(chunk.translate(None, _CONTROL))
    return controls > max(1, len(chunk) // 100)


def text_encoding(path: Path, what: str) -> str:
    """Decide how a text export is encoded: UTF-8 (with or without BOM), else Windows-1252.

    The whole file is checked, in chunks, because an Excel export can be plain ASCII for
    thousands of rows before the first pound sign or accented name.
    """
    start = head(path, 16)
    if not start:
        raise InputError(f"{path}: the file is empty")
    kind = describe_binary(start)
    if kind:
        raise InputError(f"{path}: this is {kind}, not {what}")
    if start.startswith(codecs.BOM_UTF8):
        return "utf-8"  # the BOM is dropped from the first line
    if start.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    decoder = codecs.getincrementaldecoder("utf-8")()
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            if _binary(chunk):
                raise InputError(f"{path}: this is a binary file, not {what}")
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError:
                return "cp1252"
    try:
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return "cp1252"
    return "utf-8"


def encoding_error(path: Path, encoding: str, row: int) -> InputError:
    return InputError(
        f"{path}: row {row}: the text is not valid {encoding}; "
        "set the adapter option encoding (utf-8, cp1252 or latin-1) to the file's encoding"
    )
