"""Read CSV exports: UTF-8, UTF-8 with BOM or Windows-1252; comma, semicolon or tab separated."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Iterator, Literal

from pydantic import Field

from carecheck import hookimpl
from carecheck.adapter_api import Adapter, AdapterOptions, RowProblem, SourceRows
from carecheck.errors import InputError

from .sniff import encoding_error, text_encoding

ENCODINGS = {"auto": None, "utf-8": "utf-8", "utf-8-sig": "utf-8", "cp1252": "cp1252",
             "windows-1252": "cp1252", "latin-1": "latin-1", "iso-8859-1": "latin-1"}
DELIMITERS = {"auto": None, ",": ",", "comma": ",", ";": ";", "semicolon": ";", "\t": "\t", "tab": "\t"}


class CSVOptions(AdapterOptions):
    encoding: Literal[tuple(ENCODINGS)] = Field(  # type: ignore[valid-type]
        "auto", description=f"The file's encoding: {', '.join(ENCODINGS)} (auto: UTF-8, UTF-8 with BOM or "
                            "Windows-1252, found over the whole file).")
    delimiter: Literal[tuple(DELIMITERS)] = Field(  # type: ignore[valid-type]
        "auto", description="The cell separator (auto: from the header line).")
    max_cell_lines: int = Field(50, ge=1, description="The most lines a quoted cell may span; past it, the row is "
                                                      "rejected and the lines after its start are read again.")
    max_cell_chars: int = Field(100_000, ge=1, description="The most characters a quoted cell may hold; past it, the "
                                                           "row is rejected and the lines after its start read again.")


def _pick_delimiter(header_line: str) -> str:
    counts = {d: header_line.count(d) for d in (",", ";", "\t")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


class CSVAdapter(Adapter):
    #: Its rows can be read in a forked process (no connection or shared state is open).
    fork_safe = True
    name = "csv"
    description = "CSV exports (UTF-8, UTF-8 with BOM, Windows-1252; comma, semicolon or tab)"
    extensions = (".csv", ".tsv", ".txt")
    options_model = CSVOptions

    def open(self, path: Path, options: CSVOptions) -> SourceRows:
        encoding = ENCODINGS[options.encoding] or text_encoding(path, "a CSV file")
        if encoding == "utf-16":
            raise InputError(f"{path}: UTF-16 text is not supported; save the file as CSV UTF-8 or plain CSV")
        if encoding == "utf-8":
            encoding = "utf-8-sig"  # drops a byte-order mark if there is one
        handle = open(path, "r", encoding=encoding, newline="")
        try:
            try:
                first = handle.readline()
            except UnicodeDecodeError:  # the text layer decodes ahead: find the line
                raise encoding_error(path, encoding.removesuffix("-sig"), _bad_line(path, encoding)) from None
            if not first.strip():
                raise InputError(f"{path}: the file is empty (no header row)")
            delimiter = DELIMITERS[options.delimiter] or _pick_delimiter(first)
            header = next(csv.reader([first], delimiter=delimiter))
            columns = [name.strip() for name in header]
            _check_header(path, columns)
        except BaseException:
            handle.close()
            raise
        records = _records(handle, delimiter, options.max_cell_lines, options.max_cell_chars)
        return SourceRows(columns=columns, rows=_rows(path, records, columns, encoding), label=str(path),
                          close=handle.close)


def _check_header(path: Path, columns: list[str]) -> None:
    seen: set[str] = set()
    for name in columns:
        if not name:
            continue
        if name in seen:
            raise InputError(f"{path}: row 1: column {name!r} appears twice in the header")
        seen.add(name)


def _bad_line(path: Path, encoding: str) -> int:
    """The first line that does not decode: worked out only when a decode error has happened."""
    with open(path, "rb") as handle:
        for number, raw in enumerate(handle, 1):
            try:
                raw.decode(encoding)
            except UnicodeDecodeError:
                return number
    return 0


def _records(handle, delimiter: str, max_lines: int, max_chars: int) -> Iterator[tuple[int, list[str] | RowProblem]]:
    """(line number, cells) for each record after the header, a quoted cell never swallowing the file.

    A line with no quote is a whole record, split at the delimiter (exactly what the csv module
    does with it, only faster). A line with a quote is read with the lines it needs to close its
    quoted cell, up to ``max_lines`` lines and ``max_chars`` characters: past either, or at the end
    of the file with the cell still open, the record is a problem and the lines after its first
    are read again as records, so one stray quote costs one row.
    """
    lines = enumerate(handle, 2)
    replay: list[tuple[int, str]] = []

    def next_line():
        if replay:
            return replay.pop()
        return next(lines, None)

    while True:
        item = next_line()
        if item is None:
            return
        number, line = item
        if '"' not in line:
            yield number, line.rstrip("\r\n").split(delimiter)
            continue
        taken = [item]
        text = line
        while True:
            cells = _closed(text, delimiter)
            if cells is not None:
                yield number, cells
                break
            following = next_line() if len(taken) < max_lines and len(text) <= max_chars else None
            if following is None:
                limit = ("the end of the file" if len(taken) < max_lines and len(text) <= max_chars
                         else f"{max_lines} lines" if len(taken) >= max_lines else f"{max_chars:,} characters")
                yield number, RowProblem(f"a quoted cell opened on this row is not closed within {limit}; "
                                         "the rows after it are read on their own")
                replay.extend(reversed(taken[1:]))  # read again, in order
                break
            taken.append(following)
            text += following[1]


#: Stands in for a NUL byte while the csv module reads a line (it refuses NUL); put back after.
_NUL_STAND_IN = "\ue000"
# A long narrative in one quoted cell is read, not refused: limits on cells are carecheck's own.
csv.field_size_limit(1 << 24)


def _closed(text: str, delimiter: str) -> list[str] | None:
    """The cells of ``text`` if it is one whole record (every quoted cell closed), else None."""
    if "\x00" in text:
        cells = _closed(text.replace("\x00", _NUL_STAND_IN), delimiter)
        return None if cells is None else [cell.replace(_NUL_STAND_IN, "\x00") for cell in cells]
    lines = text.splitlines(keepends=True)
    try:
        rows = list(csv.reader(lines, delimiter=delimiter, strict=True))
    except csv.Error as error:
        if "unexpected end of data" in str(error):
            return None  # a quoted cell still open: the record needs the next line
        rows = list(csv.reader(lines, delimiter=delimiter))  # closed, if loosely quoted: read as Excel would
    return rows[0] if len(rows) == 1 else None


def _rows(path: Path, records, columns: list[str], encoding: str) -> Iterator[tuple[int, dict]]:
    width = len(columns)
    number = 1
    try:
        # Rows are numbered as a spreadsheet shows them (the header is row 1), whatever lines a
        # quoted cell spans.
        for number, (_line, cells) in enumerate(records, 2):
            if isinstance(cells, RowProblem):
                yield number, cells
                continue
            if len(cells) != width:
                if not "".join(cells).strip():
                    continue  # blank lines at the end of Excel exports
                if len(cells) > width and "".join(cells[width:]).strip():
                    yield number, RowProblem(f"{len(cells)} cells but the header has {width} columns")
                    continue
                cells = (cells + [""] * width)[:width]
            elif not cells[0] and not "".join(cells).strip():
                continue  # a row of empty cells (;;;;), as Excel writes below the data
            yield number, dict(zip(columns, cells))
    except UnicodeDecodeError:
        raise encoding_error(path, encoding.removesuffix("-sig"), _bad_line(path, encoding)) from None
    except csv.Error as error:
        raise InputError(f"{path}: row {number + 1}: unreadable CSV ({error})") from None


@hookimpl
def carecheck_register_adapters(register):
    register(CSVAdapter())
