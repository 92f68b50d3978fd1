"""``carecheck mapping check``: what a mapping makes of an export, field by field, before any store
is touched. The export is imported into a throwaway store (a copy of ``--db``'s records when
lookups need them; the store itself is only read), and the result is told per field: the column
it reads, how often it is filled, the rows rejected and the values left empty by reason, and the
distinct values of enumerated and short text fields. Free text is never quoted.
"""

from __future__ import annotations

import re
import sqlite3
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from carecheck.importing.importer import ImportRequest, import_source, resolve_adapter, resolve_mapping
from carecheck.mapping import compile_mapping
from carecheck.mapping.suggest import normal

#: Distinct values shown per field.
VALUES_SHOWN = 12


@dataclass
class FieldReport:
    field: str
    column: str
    filled: int
    rejected: dict[str, int] = field(default_factory=dict)
    findings: dict[str, int] = field(default_factory=dict)
    values: list[str] = field(default_factory=list)


@dataclass
class CheckReport:
    source: str
    kind: str
    rows_read: int
    accepted: int
    rejected: int
    left_out: int
    fields: list[FieldReport]
    unmapped: list[str]

    @property
    def clean(self) -> bool:
        """Every row would be accepted (rows left out aside), with no value left empty."""
        return self.rejected == 0 and not any(report.findings for report in self.fields)


def _quiet(reason: str) -> str:
    """A reason with the cell's contents taken out: for free text, which may name people."""
    return re.sub(r"'[^']*'|\"[^\"]*\"", "'…'", reason)


def check_mapping(path: Path, kind: str, mapping_name: str, adapter: str | None = None,
                  options: dict[str, Any] | None = None, db_path: Path | None = None) -> CheckReport:
    from carecheck.store import open_store, read_only_connection

    from carecheck import plugin_manager

    registry = plugin_manager.registry()
    model = registry.model_for(kind)
    free = model.free_text_fields()
    with tempfile.TemporaryDirectory(prefix="carecheck-mapping-check-") as folder:
        scratch = Path(folder) / "check.db"
        if db_path is not None:
            # The records lookups read, copied: the user's store is only read.
            from carecheck.store.trust import require_store

            require_store(db_path)
            source = read_only_connection(db_path)
            target = sqlite3.connect(scratch)
            try:
                source.backup(target)
            finally:
                source.close()
                target.close()
        db = open_store(scratch, create=True, registry=registry)
        try:
            request = ImportRequest(Path(path), model.kind, adapter, dict(options or {}), mapping_name)
            result = import_source(db, request, force=True)
            mapping, _fingerprint = resolve_mapping(mapping_name, registry)
            chosen = resolve_adapter(adapter, Path(path), registry)
            with chosen.open(Path(path), chosen.parse_options(options or {})) as opened:
                columns = list(opened.columns)
            compiled = compile_mapping(mapping, model, columns, str(path), lambda lookup: {})
            findings = Counter(db.execute("SELECT field, reason FROM field_findings WHERE import_id = ?",
                                          [result.import_id]).fetchall())
            reports = []
            for name, column in compiled.columns_used.items():
                (filled,) = db.execute(f"SELECT COUNT([{name}]) FROM [{model.kind}] WHERE import_id = ?",
                                       [result.import_id]).fetchone()
                quiet = name in free
                rejected = Counter(_quiet(r.reason) if quiet else r.reason for r in result.rejections if r.field == name)
                found = {(_quiet(reason) if quiet else reason): n for (f, reason), n in findings.items() if f == name}
                values = [] if quiet else sorted(str(v) for v in result.values_seen.get(name, ()))
                reports.append(FieldReport(name, column, filled, dict(rejected), found, values))
            other = Counter(r.reason for r in result.rejections if r.field not in compiled.columns_used)
            if other:
                reports.append(FieldReport("(row)", "-", 0, dict(other)))
        finally:
            db.close()
    read = set()
    for column in compiled.columns_used.values():
        read.update(part.strip() for part in column.split(" + "))
    read.update(c for c, _ in compiled.conditions)
    ignored = {normal(name) for name in mapping.ignore}
    unmapped = [c for c in columns if c not in read and normal(c) not in ignored
                and not any(c in used for used in compiled.columns_used.values())]
    return CheckReport(str(path), model.kind, result.rows_read, result.rows_accepted, result.rows_rejected,
                       result.rows_left_out, reports, unmapped)
