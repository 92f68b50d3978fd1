"""Read a named sheet of an Excel workbook (.xlsx), row by row in openpyxl's read-only mode."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any, Iterator

from pydantic import Field

from carecheck import hookimpl
from carecheck.adapter_api import Adapter, AdapterOptions, SourceRows
from carecheck.errors import InputError

from .sniff import ZIP_MAGIC, describe_binary, head


class XLSXOptions(AdapterOptions):
    sheet: str | None = Field(default=None, description="The sheet to read (default: the first).")
    header_row: int = Field(default=1, description="The row holding the column names.")


class XLSXAdapter(Adapter):
    name = "xlsx"
    description = "Excel workbooks (.xlsx): one named sheet, header in its first row"
    extensions = (".xlsx", ".xlsm")
    options_model = XLSXOptions

    def open(self, path: Path, options: XLSXOptions) -> SourceRows:
        import zipfile

        import openpyxl

        start = head(path, 16)
        if not start:
            raise InputError(f"{path}: the file is empty")
        if not start.startswith(ZIP_MAGIC):
            kind = describe_binary(start) or "a text or other non-Excel file"
            raise InputError(f"{path}: this is {kind}, not an Excel .xlsx workbook")
        try:
            book = openpyxl.load_workbook(path, read_only=True, data_only=True)
        except KeyError:
            raise InputError(f"{path}: a zip archive, but not an Excel workbook (no workbook inside it)") from None
        except zipfile.BadZipFile:
            raise InputError(f"{path}: not a readable Excel workbook (the zip archive is damaged)") from None
        except _unreadable() as error:
            raise InputError(f"{path}: not a readable Excel workbook ({_why(error)})") from None
        try:
            if options.sheet is None:
                sheet = book.worksheets[0]
            elif options.sheet in book.sheetnames:
                sheet = book[options.sheet]
            else:
                raise InputError(
                    f"{path}: no sheet named {options.sheet!r} (sheets: {', '.join(map(repr, book.sheetnames))})"
                )
            cells = sheet.iter_rows(min_row=options.header_row, values_only=True)
            try:
                header = next(cells, None)
            except _unreadable() as error:
                raise InputError(f"{path}: sheet {sheet.title!r} cannot be read ({_why(error)})") from None
            if header is None or not any(value not in (None, "") for value in header):
                raise InputError(f"{path}: sheet {sheet.title!r} is empty (no header row)")
            columns = [str(value).strip() if value is not None else "" for value in header]
        except BaseException:
            book.close()
            raise
        return SourceRows(
            columns, _rows(path, sheet.title, cells, columns, options.header_row), f"{path}[{sheet.title!r}]", book.close
        )


def _why(error: BaseException) -> str:
    """What made a workbook unreadable, in words (and on one line)."""
    from defusedxml import DefusedXmlException

    cause: BaseException | None = error
    while cause is not None:  # openpyxl wraps what the XML parser raised
        if isinstance(cause, DefusedXmlException):
            return "it declares XML entities or a document type, which carecheck refuses"
        cause = cause.__cause__ or cause.__context__
    if isinstance(error, RuntimeError) and "encrypted" in str(error):
        return "it holds encrypted parts; save it without a password"
    return repr(str(error).splitlines()[0] if str(error) else type(error).__name__)[1:-1]


@functools.lru_cache(maxsize=1)
def _unreadable() -> tuple[type[BaseException], ...]:
    """What reading a hostile or damaged workbook raises (imported only once a workbook is read)."""
    import zipfile
    import zlib
    from xml.etree.ElementTree import ParseError

    from defusedxml import DefusedXmlException

    return (DefusedXmlException, ParseError, zipfile.BadZipFile, zlib.error, RuntimeError, NotImplementedError,
            EOFError, KeyError, OSError, ValueError, TypeError)


def _rows(path, title: str, cells, columns: list[str], header_row: int) -> Iterator[tuple[int, dict[str, Any]]]:
    number = header_row
    try:
        for number, values in enumerate(cells, header_row + 1):
            if not any(value not in (None, "") for value in values):
                continue
            yield number, {column: value for column, value in zip(columns, values) if column}
    except _unreadable() as error:
        raise InputError(f"{path}: sheet {title!r}: row {number + 1} cannot be read ({_why(error)})") from None


@hookimpl
def carecheck_register_adapters(register):
    register(XLSXAdapter())
