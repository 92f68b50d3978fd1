"""A target's figures period by period: the cells a run counts into, and the read-only series the
verdict holds.

While a run counts, each target has a :class:`TargetCells` (a :class:`Cell` per service and
period, and pooled counts by shift). Once counted, each series becomes a :class:`PeriodSeries`:
the verdict's ``periods`` list, whose items are :class:`PeriodEntry` mappings made when read.
JSON output, the store's ``target_results`` and the engine's facts read the series directly.
"""

from __future__ import annotations

from array import array
from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any, Iterator

#: Failures kept per cell and shown per period in the verdict (every failure goes to the store).
FAILURE_CAP = 25


class Cell:
    """One target's figures for one service (or all) and one period; the smallest failure ids kept,
    up to the cap.

    A run holds tens of thousands at once, so they are slotted, and their lists are made only when
    a failure or a shift first needs one.
    """

    __slots__ = ("numerator", "denominator", "pending", "failures", "failures_total")

    def __init__(self) -> None:
        self.numerator = self.denominator = self.pending = self.failures_total = 0
        self.failures: list[str] | None = None

    def fail(self, unit: str) -> None:
        """Count a failing unit, keeping the smallest ids up to the cap (so the list shown never
        depends on the order rows came in)."""
        self.failures_total += 1
        if self.failures is None:
            self.failures = [unit]
        elif len(self.failures) < FAILURE_CAP:
            self.failures.append(unit)
        else:
            largest = max(self.failures)
            if unit < largest:
                self.failures[self.failures.index(largest)] = unit

    def copy(self) -> "Cell":
        twin = Cell()
        twin.numerator, twin.denominator, twin.pending = self.numerator, self.denominator, self.pending
        twin.failures_total = self.failures_total
        twin.failures = list(self.failures) if self.failures is not None else None
        return twin

    def merge(self, other: "Cell", label: str | None = None) -> None:
        """Add another cell's figures; ``label`` names the service its failures came from."""
        self.numerator += other.numerator
        self.denominator += other.denominator
        self.pending += other.pending
        self.failures_total += other.failures_total
        if other.failures:
            if self.failures is None:
                self.failures = []
            taken = sorted(other.failures)[: max(0, FAILURE_CAP - len(self.failures))]
            if label:
                taken = [f"{label}: {unit}" for unit in taken]
            self.failures.extend(taken)


class TargetCells:
    """A target's cells by service and period, and its pooled figures by shift (kept once, not per service)."""

    __slots__ = ("by_service", "shifts", "provider")

    def __init__(self, services) -> None:
        self.by_service: dict[str, dict[str, Cell]] = {service: defaultdict(Cell) for service in services}
        self.shifts: dict[str, dict[str, list[int]]] = {}  # period -> shift -> [passed, counted]
        #: A provider-level target's cells, by period: judged once (each location holds a copy).
        self.provider: dict[str, Cell] | None = None


class PeriodEntry(Mapping):
    """One period's figures in the verdict: a read-only mapping with the keys of the JSON object.

    Made when a :class:`PeriodSeries` is read; JSON output writes the series without them.
    """

    __slots__ = ("period", "partial", "numerator", "denominator", "value", "met", "pending", "failures",
                 "failures_total", "shifts")
    _KEYS = __slots__[:-1]

    def __init__(self, period, partial, numerator, denominator, value, met, pending, failures, failures_total,
                 shifts=None):
        self.period, self.partial, self.numerator, self.denominator = period, partial, numerator, denominator
        self.value, self.met, self.pending, self.failures = value, met, pending, failures
        self.failures_total, self.shifts = failures_total, shifts

    def __getitem__(self, key: str) -> Any:
        if key in self._KEYS or (key == "shifts" and self.shifts is not None):
            return getattr(self, key)
        raise KeyError(key)

    def __iter__(self) -> Iterator[str]:
        yield from self._KEYS
        if self.shifts is not None:
            yield "shifts"

    def __len__(self) -> int:
        return len(self._KEYS) + (self.shifts is not None)

    def as_json(self) -> dict[str, Any]:
        """The JSON object (faster than ``dict(entry)``, which looks each key up in turn)."""
        out = {"period": self.period, "partial": self.partial, "numerator": self.numerator,
               "denominator": self.denominator, "value": self.value, "met": self.met, "pending": self.pending,
               "failures": self.failures, "failures_total": self.failures_total}
        if self.shifts is not None:
            out["shifts"] = self.shifts
        return out


class Frame:
    """What every series of one target shares: the periods, the partial one, and the threshold."""

    __slots__ = ("labels", "index", "partial", "threshold", "direction")

    def __init__(self, labels: tuple[str, ...], partial: int, threshold: float, direction: str):
        self.labels, self.partial, self.threshold, self.direction = labels, partial, threshold, direction
        self.index = {label: position for position, label in enumerate(labels)}


class PeriodSeries(Sequence):
    """A target's figures period by period, for one service or pooled: the verdict's ``periods`` list,
    read-only, whose items are :class:`PeriodEntry` mappings.

    A verdict holds one per target and service (4,000 for 300 services, with 50,000 figures), so the
    counts sit in one integer array and an entry is made only when it is read. JSON output, the
    store and the engine's facts read the array directly.
    """

    __slots__ = ("_frame", "_counts", "_failed_units", "_shifts")

    def __init__(self, frame: Frame, counts: array, failures: dict[int, list[str]] | None,
                 shifts: dict[int, dict] | None):
        self._frame, self._counts, self._failed_units, self._shifts = frame, counts, failures, shifts

    def __len__(self) -> int:
        return len(self._frame.labels)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return [self._entry(i) for i in range(*index.indices(len(self)))]
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError("period index out of range")
        return self._entry(index)

    def _values(self, i: int) -> tuple:
        """Period ``i``'s values, in the order of :attr:`PeriodEntry._KEYS`, then its shifts."""
        frame = self._frame
        numerator, denominator, pending, failures_total = self._counts[4 * i: 4 * i + 4]
        value = ratio(numerator, denominator)
        return (frame.labels[i], i == frame.partial, numerator, denominator, value,
                met_threshold(value, frame.threshold, frame.direction), pending,
                self._failed_units.get(i, ()) if self._failed_units else (), failures_total,
                self._shifts.get(i) if self._shifts else None)

    def _entry(self, i: int) -> PeriodEntry:
        return PeriodEntry(*self._values(i))

    def __iter__(self) -> Iterator[PeriodEntry]:
        for i in range(len(self._frame.labels)):
            yield self._entry(i)

    def entry_for(self, label: str | None) -> PeriodEntry | None:
        """The entry of a period by its label, or None."""
        i = self._frame.index.get(label) if label else None
        return None if i is None else self._entry(i)

    def pending_total(self) -> int:
        return sum(self._counts[2::4])

    def result_rows(self) -> Iterator[tuple]:
        """(period, partial, numerator, denominator, value, met) for each period, as the store keeps them."""
        for entry in self._rows():
            yield entry[:6]

    def _rows(self) -> Iterator[tuple]:
        """Every period's values (as :meth:`_values`), worked out in one pass: JSON output and the
        store read each series twice per run, and the verdict holds thousands."""
        frame = self._frame
        labels, partial, threshold = frame.labels, frame.partial, frame.threshold
        at_least = frame.direction == "at_least"
        counts = self._counts
        failed = self._failed_units or {}
        shifts = self._shifts or {}
        for i, label in enumerate(labels):
            numerator, denominator, pending, failures_total = counts[4 * i: 4 * i + 4]
            if denominator:
                value = round(numerator / denominator, 6)
                met = value >= threshold - 1e-12 if at_least else value <= threshold + 1e-12
            else:
                value = met = None
            yield (label, i == partial, numerator, denominator, value, met, pending, failed.get(i, ()),
                   failures_total, shifts.get(i))

    def as_json(self) -> list[dict[str, Any]]:
        out = []
        for label, partial, numerator, denominator, value, met, pending, failures, failures_total, shifts in (
                self._rows()):
            entry = {"period": label, "partial": partial, "numerator": numerator, "denominator": denominator,
                     "value": value, "met": met, "pending": pending, "failures": failures,
                     "failures_total": failures_total}
            if shifts is not None:
                entry["shifts"] = shifts
            out.append(entry)
        return out


def met_threshold(value: float | None, threshold: float, direction: str) -> bool | None:
    if value is None:
        return None
    return value >= threshold - 1e-12 if direction == "at_least" else value <= threshold + 1e-12


def ratio(numerator: int, denominator: int) -> float | None:
    return round(numerator / denominator, 6) if denominator else None
