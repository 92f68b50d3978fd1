"""What a reporter is: a format the verdict can be rendered in.

Every format is rendered from the one versioned verdict (``carecheck run --format json``), so
formats cannot disagree. carecheck's own formats (table, json, md, junit, html) are reporters
registered through ``carecheck_register_reporters``, as a vendor's would be.

This module is the whole API for reporter authors (``__all__``). The verdict a reporter is given
is described, field by field, in docs/verdict.md and docs/verdict.schema.json.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import ClassVar

__all__ = ["Reporter"]


class Reporter(ABC):
    """Base class for report formats. Register instances through ``carecheck_register_reporters``."""

    #: The name users give to ``--format``.
    name: ClassVar[str]
    description: ClassVar[str] = ""
    #: Usual file name ending, for ``--output``.
    extension: ClassVar[str] = ".txt"

    @abstractmethod
    def render(self, verdict: dict) -> str:
        """The whole report as text. Never include free text beyond what the verdict carries."""

    def write(self, verdict: dict, stream) -> None:
        """Write the report to a text stream; override to write a large report in pieces."""
        stream.write(self.render(verdict))
