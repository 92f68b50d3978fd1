"""Data-quality checks on how records refer to each other.

A reference that points at nothing (an incident's learning action that is not in the tracker, a
visit that reviewed an action id nobody recorded) is a finding to put right, not an error: the
rest of the evidence is still usable.
"""

from __future__ import annotations

import json
import typing
from dataclasses import dataclass

from sqlite_utils import Database

from carecheck.records import Record


@dataclass(frozen=True)
class DanglingReference:
    kind: str
    record_id: str
    field: str
    target_kind: str
    target_id: str


def _is_list(model: type[Record], name: str) -> bool:
    annotation = model.model_fields[name].annotation
    for candidate in typing.get_args(annotation) or (annotation,):
        if typing.get_origin(candidate) is list:
            return True
    return "list" in str(annotation)


def _literal_values(annotation) -> list[str]:
    """The words of a Code(...) field, however it is wrapped (Optional, Annotated)."""
    if typing.get_origin(annotation) is typing.Literal:
        return list(typing.get_args(annotation))
    values: list[str] = []
    for inner in typing.get_args(annotation):
        values += _literal_values(inner)
    return values


# An entry like "ACT-3=completed" refers to ACT-3.
_ENTRY_ID = "CASE WHEN instr(value, '=') > 0 THEN trim(substr(value, 1, instr(value, '=') - 1)) ELSE trim(value) END"


def dangling_references(db: Database, kinds: set[str] | None = None) -> list[DanglingReference]:
    """References whose target record does not exist, plus unknown services (in ``kinds``, or all)."""
    from carecheck.store import registry_of

    all_kinds = registry_of(db).kinds
    findings: list[DanglingReference] = []
    for kind, model in all_kinds.items():
        if kinds is not None and kind not in kinds:
            continue
        for name, target in model.references().items():
            if target.startswith("@"):
                # The target kind is named in another field of the same record.
                kind_field = target[1:]
                targets = [t for t in _literal_values(model.model_fields[kind_field].annotation) if t in all_kinds]
                for target_kind in targets:
                    rows = db.execute(
                        f"""SELECT t.id, t.[{name}] FROM [{kind}] t WHERE t.[{kind_field}] = ? AND t.[{name}] IS NOT NULL
                            AND NOT EXISTS (SELECT 1 FROM [{target_kind}] x WHERE x.id = t.[{name}]) ORDER BY t.id""",
                        [target_kind],
                    ).fetchall()
                    findings += [DanglingReference(kind, rid, name, target_kind, tid) for rid, tid in rows]
                continue
            if _is_list(model, name):
                sql = f"""SELECT t.id, {_ENTRY_ID} AS ref FROM [{kind}] t, json_each(t.[{name}])
                          WHERE NOT EXISTS (SELECT 1 FROM [{target}] x WHERE x.id = {_ENTRY_ID}) ORDER BY t.id"""
            else:
                sql = f"""SELECT t.id, t.[{name}] FROM [{kind}] t WHERE t.[{name}] IS NOT NULL
                          AND NOT EXISTS (SELECT 1 FROM [{target}] x WHERE x.id = t.[{name}]) ORDER BY t.id"""
            findings += [DanglingReference(kind, rid, name, target, tid) for rid, tid in db.execute(sql).fetchall()]
    return findings + unknown_services(db, kinds)


def service_names(db: Database) -> dict[str, str]:
    """Every name, id and alias in the service register, mapped to the service's canonical name."""
    names: dict[str, str] = {}
    for service_id, name, aliases in db.execute("SELECT id, service, aliases FROM service").fetchall():
        names[service_id] = name
        names[name] = name
        for alias in _json_list(aliases):
            names[alias] = name
    return names


def _json_list(text: str | None) -> list[str]:
    return json.loads(text) if text else []


def unknown_services(db: Database, kinds: set[str] | None = None) -> list[DanglingReference]:
    """Records whose service is not in the register (only checked once a register is loaded)."""
    known = service_names(db)
    if not known:
        return []
    from carecheck.store import registry_of

    findings = []
    for kind in registry_of(db).kinds:
        if kind == "service" or (kinds is not None and kind not in kinds):
            continue
        # The service index alone answers which names are used; an example id only for unknown ones.
        for (service,) in db.execute(f"SELECT DISTINCT service FROM [{kind}]").fetchall():
            if service not in known:
                (record_id,) = db.execute(f"SELECT MIN(id) FROM [{kind}] WHERE service = ?", [service]).fetchone()
                findings.append(DanglingReference(kind, record_id, "service", "service", service))
    return findings
