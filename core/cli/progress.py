"""Progress on a terminal, for work that takes longer than a second; silent otherwise (files, pipes, CI)."""

from __future__ import annotations

import sys
import time


class Progress:
    """Writes ``label: N unit`` over itself on standard error once a second has passed."""

    def __init__(self, label: str, unit: str = "rows", stream=None, delay: float = 1.0):
        self.label = label
        self.unit = unit
        self.stream = stream or sys.stderr
        self.enabled = bool(getattr(self.stream, "isatty", lambda: False)())
        self.started = time.monotonic()
        self.delay = delay
        self.shown = False

    def update(self, count: int, total: int | None = None) -> None:
        if not self.enabled or time.monotonic() - self.started < self.delay:
            return
        of = f" of {total:,}" if total else ""
        self.stream.write(f"\r{self.label}: {count:,}{of} {self.unit}  ")
        self.stream.flush()
        self.shown = True

    def done(self) -> None:
        if self.shown:
            self.stream.write("\r" + " " * (len(self.label) + 40) + "\r")
            self.stream.flush()
