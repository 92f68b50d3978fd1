"""Import manifests: a YAML list of the files of an export folder, each with its kind and options.

::

    - path: incidents.csv
      kind: incident
      mapping: mappings/incidents.yaml
    - path: tracker.xlsx
      kind: improvement_action
      options: {sheet: Actions}

Relative paths are read from the manifest's folder. ``files:`` may hold the list instead.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from carecheck.errors import InputError
from carecheck.importing.importer import ImportRequest
from carecheck.mapping import render_validation_errors
from carecheck.yamlfile import read_yaml


class ManifestEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    path: str
    kind: str
    adapter: str | None = None
    options: dict[str, Any] = Field(default_factory=dict)
    mapping: str | None = None
    source_name: str | None = None


class Manifest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    files: list[ManifestEntry] = Field(min_length=1)


def load_manifest(path: Path, allow_outside: bool = False) -> list[ImportRequest]:
    """The files a manifest lists, each kept inside the manifest's folder unless ``allow_outside``."""
    path = Path(path)
    data = read_yaml(path, "manifest")
    if isinstance(data, list):
        data = {"files": data}
    if not isinstance(data, dict):
        raise InputError(f"{path}: a manifest is a YAML list of files")
    try:
        manifest = Manifest.model_validate(data)
    except ValidationError as error:
        raise InputError(f"{path}: {render_validation_errors(error.errors())}") from None
    base = path.parent
    requests = []
    kinds_later = [entry.kind for entry in manifest.files]
    for position, entry in enumerate(manifest.files):
        if not allow_outside and not (base / entry.path).resolve().is_relative_to(base.resolve()):
            raise InputError(f"{path}: files[{position}].path {entry.path!r} leads outside the manifest's folder "
                             "(pass --allow-outside to read it)")
        _check_lookups(path, base, entry, kinds_later[position + 1:])
        mapping = entry.mapping
        if mapping is not None and (base / mapping).exists():
            mapping = str(base / mapping)
        requests.append(
            ImportRequest(
                path=base / entry.path,
                kind=entry.kind,
                adapter=entry.adapter,
                options=entry.options,
                mapping=mapping,
                source_name=entry.source_name,
            )
        )
    return requests


def _check_lookups(path: Path, base: Path, entry: ManifestEntry, later: list[str]) -> None:
    """A file that looks up records of a kind the manifest imports only later would find none."""
    from carecheck import plugin_manager
    from carecheck.mapping import load_mapping, lookups_of

    if entry.mapping is None:
        return
    registered = plugin_manager.registry().mappings
    mapping_path = registered[entry.mapping].item if entry.mapping in registered else base / entry.mapping
    if not Path(mapping_path).exists():
        return  # the import names the missing mapping file
    for lookup in lookups_of(load_mapping(Path(mapping_path))):
        if lookup.kind in later:
            raise InputError(f"{path}: {entry.path} looks up {lookup.kind} records, which the manifest imports "
                             f"after it: list the {lookup.kind} file first")
