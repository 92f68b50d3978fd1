"""The verdict: its model and schema version (``model``), the assurance levels with their order
and words (``levels``), writing it as JSON in chunks (``chunks``), reading older verdicts
(``upgrade``) and the generated evidence-sources table (``evidence_doc``).

The model's names are importable from here, loaded on first use: the level vocabulary in
``levels`` is needed when the command line starts, the pydantic model only when a verdict is built.
"""

from __future__ import annotations

import importlib
from typing import Any


def __getattr__(name: str) -> Any:
    if name.startswith("__") or name in {"model", "levels", "chunks", "upgrade", "evidence_doc"}:
        raise AttributeError(name)  # a dunder, or a submodule not imported yet: the import system's to find
    model = importlib.import_module("carecheck.verdict.model")
    try:
        return getattr(model, name)
    except AttributeError:
        raise AttributeError(f"module 'carecheck.verdict' has no attribute {name!r}") from None
