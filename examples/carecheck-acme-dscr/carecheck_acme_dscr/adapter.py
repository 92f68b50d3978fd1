"""The ``acme-dscr`` adapter: a ZIP of CSV files, or ACME's nested JSON dump."""

import csv
import io
import json
import zipfile
from pathlib import Path

from carecheck.adapter_api import Adapter, AdapterOptions, Field, InputError, RowProblem, SourceRows


class AcmeOptions(AdapterOptions):
    member: str | None = Field(
        default=None, description="The CSV file inside a ZIP export to read (for example incidents.csv); "
                                  "needed when the ZIP holds more than one.")
    records: str | None = Field(
        default=None, description="In a JSON dump: the dotted path to the list of records (for example "
                                  "export.medication); needed when the dump holds more than one list.")


class AcmeDscrAdapter(Adapter):
    name = "acme-dscr"
    description = "ACME DSCR exports: a ZIP of CSV files, or the nested JSON dump (--adapter acme-dscr)"
    extensions = (".zip",)
    options_model = AcmeOptions

    def open(self, path, options):
        path = Path(path)
        if zipfile.is_zipfile(path):
            return _zip_member(path, options)
        return _json_dump(path, options)


def _zip_member(path: Path, options: AcmeOptions) -> SourceRows:
    archive = zipfile.ZipFile(path)
    members = sorted(name for name in archive.namelist() if name.lower().endswith(".csv"))
    if options.member is None:
        if len(members) != 1:
            archive.close()
            raise InputError(f"{path}: the ZIP holds {len(members)} CSV files ({', '.join(members)}); "
                             "choose one with --option member=NAME")
        name = members[0]
    elif options.member in members:
        name = options.member
    else:
        archive.close()
        raise InputError(f"{path}: no {options.member!r} in the ZIP (it holds {', '.join(members) or 'no CSV'})")
    # ACME writes UTF-8 with a byte order mark; the text is decoded as it streams.
    handle = io.TextIOWrapper(archive.open(name), encoding="utf-8-sig", newline="")
    reader = csv.reader(handle)
    try:
        columns = next(reader)
    except StopIteration:
        handle.close()
        archive.close()
        raise InputError(f"{path}: {name} is empty") from None

    def rows():
        for cells in reader:
            if not any(cells):
                continue
            if len(cells) != len(columns):
                yield reader.line_num, RowProblem(f"{len(cells)} cells where the header has {len(columns)}")
                continue
            yield reader.line_num, dict(zip(columns, cells))

    def close():
        handle.close()
        archive.close()

    return SourceRows(columns, rows(), f"{path}!{name}", close)


def _json_dump(path: Path, options: AcmeOptions) -> SourceRows:
    try:
        document = json.loads(path.read_text(encoding="utf-8-sig"))
    except (OSError, ValueError) as error:
        raise InputError(f"{path}: not a ZIP export or a JSON dump ({error})") from None
    lists = dict(_lists(document))
    if options.records is None:
        if len(lists) != 1:
            raise InputError(f"{path}: the dump holds {len(lists)} lists of records ({', '.join(sorted(lists))}); "
                             "choose one with --option records=PATH")
        records = next(iter(lists.values()))
    elif options.records in lists:
        records = lists[options.records]
    else:
        raise InputError(f"{path}: no list of records at {options.records!r} (found: {', '.join(sorted(lists))})")
    flat = [_flatten(item) if isinstance(item, dict) else None for item in records]
    columns = list(dict.fromkeys(key for item in flat if item for key in item))

    def rows():
        for number, item in enumerate(flat, 1):
            yield number, item if item is not None else RowProblem("record is not an object")

    return SourceRows(columns, rows(), str(path))


def _lists(node, prefix=""):
    """Every list of objects in the document, by its dotted path."""
    if isinstance(node, list) and node and all(isinstance(item, dict) for item in node):
        yield prefix, node
    elif isinstance(node, dict):
        for key, value in node.items():
            yield from _lists(value, f"{prefix}.{key}" if prefix else key)


def _flatten(item: dict, prefix: str = "") -> dict:
    """Nested objects become dotted columns: {"review": {"at": ...}} gives "review.at"."""
    out = {}
    for key, value in item.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(_flatten(value, name + "."))
        elif isinstance(value, list):
            out[name] = ";".join(str(v) for v in value)
        else:
            out[name] = value
    return out
