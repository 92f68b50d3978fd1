"""ExampleCare exports for carecheck: an adapter for .ecx files and a mapping for their incidents."""

from __future__ import annotations

import json
from pathlib import Path

from carecheck import hookimpl
from carecheck.adapter_api import Adapter, AdapterOptions, RowProblem, SourceRows
from carecheck.errors import InputError


class ExampleCareAdapter(Adapter):
    name = "examplecare"
    description = "ExampleCare .ecx exports (a JSON document with a records array)"
    extensions = (".ecx",)

    def open(self, path: Path, options: AdapterOptions) -> SourceRows:
        try:
            document = json.loads(Path(path).read_text(encoding="utf-8"))
            records = document["records"]
        except (OSError, ValueError, KeyError, TypeError):
            raise InputError(f"{path}: not an ExampleCare export (expected a JSON object with 'records')") from None
        if not records:
            raise InputError(f"{path}: the export holds no records")

        def rows():
            for number, item in enumerate(records, 1):
                yield number, item if isinstance(item, dict) else RowProblem("record is not an object")

        return SourceRows(list(records[0]), rows(), str(path))


@hookimpl
def carecheck_register_adapters(register):
    register(ExampleCareAdapter())


@hookimpl
def carecheck_register_mappings(register):
    register("examplecare-incidents", Path(__file__).with_name("incidents.yaml"))
