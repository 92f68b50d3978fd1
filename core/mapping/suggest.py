"""``carecheck mapping suggest``: a draft mapping for an export, inferred from its columns and values.

carecheck knows the record kind the export is for, so it can do more than a profiler: match
columns to fields by name and by the synonyms record systems use (``core/data/onboarding/``),
read a date and a time kept in two columns as one field, infer date formats (deciding day-first or
month-first from values only one reading allows), translate local words for enumerated fields,
set aside a free-text column that happens to be named like an enumerated field, and, given a
store, look a missing required field up through a column of stored ids. Every guess is written
with its evidence as a comment, and what it cannot place is left as a TODO listing the choices.
"""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass, field
from datetime import date, datetime, time
from functools import lru_cache
from itertools import islice
from pathlib import Path
from typing import Any

from carecheck.errors import InputError
from carecheck.mapping import _annotation_kind, _codes
from carecheck.records import FALSE_WORDS, TRUE_WORDS, Record
from carecheck.yamlfile import parse_yaml

SYNONYMS = Path(__file__).parent.parent / "data" / "onboarding" / "synonyms.yaml"
#: Rows read to profile an export: enough for every value a small export holds.
MAX_ROWS = 50_000
#: An enumerated field's column whose values are mostly unplaceable, and long or many, is free text.
FREE_TEXT_LENGTH = 30

DATE_FORMATS = ("%d/%m/%Y", "%m/%d/%Y", "%d/%m/%y", "%m/%d/%y", "%d-%m-%Y", "%d.%m.%Y", "%Y-%m-%d", "%Y/%m/%d",
                "%d %b %Y", "%d %B %Y")
TIME_FORMATS = ("%H:%M", "%H:%M:%S", "%H.%M", "%I:%M %p", "%I:%M%p")


def normal(name: str) -> str:
    """A column or field name compared ignoring case, spaces and punctuation."""
    return re.sub(r"[^a-z0-9]+", "", str(name).lower())


@lru_cache(maxsize=1)
def _synonyms() -> dict:
    return parse_yaml(SYNONYMS.read_text(encoding="utf-8"))


def field_synonyms(kind: str, name: str) -> list[str]:
    data = _synonyms()
    return list(data.get("kinds", {}).get(kind, {}).get(name, [])) + list(data.get("fields", {}).get(name, []))


def value_synonyms(name: str, codes: frozenset[str]) -> dict[str, str]:
    """Normalised local word to code, for the codes this field allows."""
    out: dict[str, str] = {}
    for code, words in _synonyms().get("values", {}).get(name, {}).items():
        if code in codes:
            for word in words:
                out.setdefault(normal(word), code)
    return out


@dataclass
class Profile:
    """An export's columns and the values each holds (text, trimmed; empty cells left out)."""

    columns: list[str]
    rows: int
    values: dict[str, list[Any]]
    #: each row's cells, for columns read together
    cells: list[dict[str, Any]] = field(default_factory=list)

    def filled(self, column: str) -> int:
        return len(self.values[column])

    def distinct(self, column: str) -> list[str]:
        return sorted({str(v) for v in self.values[column]}, key=str.lower)


def profile(path: Path, adapter_name: str | None, options: dict[str, Any]) -> tuple[Profile, str]:
    from carecheck.importing.importer import resolve_adapter

    adapter = resolve_adapter(adapter_name, path)
    try:
        parsed = adapter.parse_options(options)
    except Exception as error:  # pydantic's message names the option
        raise InputError(f"{path}: adapter {adapter.name} options: {error}".splitlines()[0]) from None
    values: dict[str, list[Any]] = {}
    cells: list[dict[str, Any]] = []
    with adapter.open(path, parsed) as source:
        columns = list(source.columns)
        values = {column: [] for column in columns}
        for _number, row in islice(source.rows, MAX_ROWS):
            if not isinstance(row, dict):
                continue
            kept = {}
            for column in columns:
                cell = row.get(column)
                if isinstance(cell, str):
                    cell = cell.strip()
                if cell is not None and cell != "":
                    values[column].append(cell)
                    kept[column] = cell
            cells.append(kept)
    return Profile(columns, len(cells), values, cells), adapter.name


# -- dates and times ---------------------------------------------------------------------------------

def _parses(value: Any, fmt: str) -> bool:
    try:
        datetime.strptime(str(value), fmt)
        return True
    except ValueError:
        return False


def _is_iso(value: Any) -> bool:
    try:
        datetime.fromisoformat(str(value))
        return True
    except ValueError:
        return False


def infer_format(values: list[Any]) -> tuple[str | None, str]:
    """A strptime format that reads the values, or None where carecheck reads them as they are
    (spreadsheet date cells, ISO 8601), with the evidence in words."""
    texts = [v for v in values if not isinstance(v, (datetime, date, time))]
    if not values:
        return None, "no values to judge the format by"
    if not texts:
        return None, f"{len(values)} of {len(values)} cells are spreadsheet dates"
    if all(_is_iso(v) for v in texts):
        return None, f"{len(texts)} of {len(texts)} values are ISO 8601, read as they are"
    scores = []
    for date_format in DATE_FORMATS:
        for time_format in ("",) + tuple(" " + t for t in TIME_FORMATS):
            fmt = date_format + time_format
            scores.append((sum(_parses(v, fmt) for v in texts), fmt))
    best = max(score for score, _ in scores)
    if best == 0:
        return None, f"no known date format reads {_example(texts)}: TODO give its format"
    winners = [fmt for score, fmt in scores if score == best]
    fmt = winners[0]
    said = f"{best} of {len(texts)} values parse as {fmt}"
    if fmt.startswith("%d/%m") and any(w.startswith("%m/%d") for w in winners):
        said += " (they read month-first too: day-first, the UK's order, is assumed)"
    elif fmt.startswith(("%m/%d", "%d/%m")):  # the proof: a value this format reads and the other order cannot
        first, other = ("month", "day") if fmt.startswith("%m/%d") else ("day", "month")
        swapped = fmt.replace("%m/%d", "%d/%m", 1) if first == "month" else fmt.replace("%d/%m", "%m/%d", 1)
        proof = [v for v in texts if _parses(v, fmt) and not _parses(v, swapped)]
        said += f" ({first}-first: {_example(proof)} cannot be {other}-first)" if proof else ""
    return fmt, said


def _example(values: list[Any]) -> str:
    return repr(str(values[0])) if values else "none"


def _time_only(values: list[Any]) -> bool:
    return bool(values) and all(isinstance(v, time) or any(_parses(v, f) for f in TIME_FORMATS) for v in values)


def _date_only(values: list[Any]) -> bool:
    if not values:
        return False
    for value in values:
        if isinstance(value, datetime):
            if value.time() != time(0):
                return False
        elif isinstance(value, date):
            continue
        elif not any(_parses(value, f) for f in DATE_FORMATS):
            return False
    return True


# -- the draft ---------------------------------------------------------------------------------------

@dataclass
class FieldGuess:
    name: str
    column: str | None = None
    columns: list[str] | None = None
    format: str | None = None
    values: dict[str, str] = field(default_factory=dict)
    lookup: dict[str, Any] | None = None
    notes: list[str] = field(default_factory=list)
    todo: list[str] = field(default_factory=list)


@dataclass
class Draft:
    kind: str
    source: str
    rows: int
    fields: list[FieldGuess] = field(default_factory=list)
    ignore: list[tuple[str, str]] = field(default_factory=list)
    only_rows: list[tuple[str, str]] = field(default_factory=list)
    true_values: list[str] = field(default_factory=list)
    false_values: list[str] = field(default_factory=list)
    unmapped: list[str] = field(default_factory=list)
    todo: list[str] = field(default_factory=list)


def suggest(path: Path, kind: str, adapter: str | None = None, options: dict[str, Any] | None = None,
            db=None) -> Draft:
    """The draft mapping for ``path`` as ``kind`` (``db``: a store to look missing fields up in)."""
    from carecheck import plugin_manager

    model = plugin_manager.registry().model_for(kind)
    data, _adapter = profile(Path(path), adapter, options or {})
    draft = Draft(kind=model.kind, source=Path(path).name, rows=data.rows)
    free = model.free_text_fields()
    used: set[str] = set()
    by_normal = {normal(column): column for column in data.columns}
    content = model.content_fields()

    def take(column: str) -> str:
        used.add(column)
        return column

    # 1. Columns named as the fields are, then the synonyms (the kind's own first).
    matches: dict[str, tuple[str, str]] = {}
    for name in content:
        column = by_normal.get(normal(name))
        if column is not None and column not in used:
            matches[name] = (take(column), "named as the field")
    for name in content:
        if name in matches:
            continue
        for synonym in field_synonyms(model.kind, name):
            column = by_normal.get(normal(synonym))
            if column is not None and column not in used:
                matches[name] = (take(column), f"matched by synonym {synonym!r}")
                break

    for name in content:
        info = model.model_fields[name]
        shape = _annotation_kind(info.annotation)
        codes = _codes(info.annotation)
        guess = FieldGuess(name)
        matched = matches.get(name)
        if matched is None:
            if name in model.required_fields():
                draft.fields.append(_missing_required(model, name, data, used, db, draft))
            continue
        column, how = matched
        guess.column = column
        guess.notes.append(how)
        values = data.values[column]
        if shape in ("date", "datetime"):
            _dates(guess, shape, data, used, by_normal)
        elif shape == "bool":
            _booleans(guess, values, draft)
        elif codes:
            if not _codes_guess(guess, name, codes, data.distinct(column), values):
                # Named like an enumerated field, but holds narrative: never read as codes.
                draft.ignore.append((column, guess.notes[-1]))
                continue
        elif name in free:
            guess.notes.append("free text: never quoted in messages or reports")
        filled = data.filled(column)
        if name in model.required_fields() and data.rows and filled / data.rows <= 0.5:
            draft.only_rows.append((column, f"{name} is required but {data.rows - filled} of {data.rows} rows "
                                            "leave it empty: they are left out as rows of another kind"))
        draft.fields.append(guess)
    draft.unmapped = [column for column in data.columns if column not in used
                      and column not in {c for c, _ in draft.ignore}]
    return draft


def _dates(guess: FieldGuess, shape: str, data: Profile, used: set[str], by_normal: dict[str, str]) -> None:
    column = guess.column
    values = data.values[column]
    if shape == "datetime" and _date_only(values):
        partner = _time_column(column, data, used)
        if partner is not None:
            used.add(partner)
            guess.columns, guess.column = [column, partner], None
            joined = _joined(data, column, partner)
            guess.notes.append(f"the time of day is in {partner!r}: read together")
            guess.format, said = infer_format(joined)
            guess.notes.append(said)
            return
    guess.format, said = infer_format(values)
    guess.notes.append(said)


def _time_column(date_column: str, data: Profile, used: set[str]) -> str | None:
    """The column holding the times of day that go with a date column: named like it with "time"
    for "date" (``Incident Date`` and ``Incident Time``, ``OccurredOn`` and ``OccurredTime``), or
    else the one unused column of times named with "time"."""
    name = normal(date_column)
    wanted = name.replace("date", "time") if "date" in name else re.sub(r"(on|at)$", "time", name)
    candidates = [c for c in data.columns if c not in used and c != date_column and _time_only(data.values[c])]
    for candidate in candidates:
        if normal(candidate) == wanted:
            return candidate
    named = [c for c in candidates if "time" in normal(c)]
    return named[0] if len(named) == 1 else None


def _joined(data: Profile, date_column: str, time_column: str) -> list[str]:
    """The date and time read together, from the rows that have both (a date alone is read as one)."""
    return [f"{row[date_column]} {row[time_column]}" for row in data.cells
            if date_column in row and time_column in row]


def _booleans(guess: FieldGuess, values: list[Any], draft: Draft) -> None:
    words = sorted({str(v).strip() for v in values}, key=str.lower)
    unknown = [w for w in words if w.lower() not in TRUE_WORDS | FALSE_WORDS]
    for word in unknown:
        letter = word[:1].lower()
        if letter in "yt" and word not in draft.true_values:
            draft.true_values.append(word)
        elif letter in "nf" and word not in draft.false_values:
            draft.false_values.append(word)
        else:
            guess.todo.append(f"{word!r} is neither yes nor no: add it to true_values or false_values")
    known = [w for w in words if w not in unknown]
    guess.notes.append(f"yes/no: {', '.join(words) or 'no values'}" + (" read as they are" if not unknown and known
                                                                           else ""))


def _codes_guess(guess: FieldGuess, name: str, codes: frozenset[str], distinct: list[str], values: list[Any]) -> bool:
    """Fill in a value map for an enumerated field; False when the column holds free text."""
    synonyms = value_synonyms(name, codes)
    placed: dict[str, str] = {}
    unplaced: list[str] = []
    for word in distinct:
        key = normal(word)
        code = next((c for c in codes if normal(c) == key), None) or synonyms.get(key) or next(
            (c for c in sorted(codes) if len(key) >= 3 and (normal(c).startswith(key) or key.startswith(normal(c)))),
            None)
        if code is None:
            unplaced.append(word)
        else:
            placed[word] = code
    mean_length = sum(len(str(v)) for v in values) / len(values) if values else 0
    if distinct and len(placed) < len(distinct) / 2 and (mean_length > FREE_TEXT_LENGTH or len(distinct) > 12):
        guess.notes.append(f"named like the enumerated field {name}, but {len(unplaced)} of {len(distinct)} "
                           f"values are not its codes and they average {mean_length:.0f} characters: free text")
        return False
    # Words carecheck reads as they are need no entry.
    guess.values = {word: code for word, code in placed.items() if word.strip().lower().replace("-", "_").replace(
        " ", "_") != code}
    if placed:
        guess.notes.append(f"{len(placed)} of {len(distinct)} words placed among {', '.join(sorted(codes))}")
    for word in unplaced:
        guess.todo.append(f"{word!r} is not placed: map it to one of {', '.join(sorted(codes))}")
    return True


def _missing_required(model: type[Record], name: str, data: Profile, used: set[str], db, draft: Draft) -> FieldGuess:
    guess = FieldGuess(name)
    if db is not None:
        found = _lookup_for(model, name, data, used, db)
        if found is not None:
            kind, column, share = found
            used.add(column)
            guess.lookup = {"kind": kind, "key": column, "field": name}
            guess.notes.append(f"no column holds it, but {share} of {column!r} are ids of stored {kind} records "
                               f"that have {name}")
            return guess
    guess.todo.append(f"required: no column matched; name the column holding {name}"
                      + ("" if db is not None else " (or pass --db to look it up in a store)"))
    draft.todo.append(name)
    return guess


def _lookup_for(model: type[Record], name: str, data: Profile, used: set[str], db) -> tuple[str, str, str] | None:
    from carecheck.store import registry_of

    best = None
    for kind, other in registry_of(db).kinds.items():
        if kind == model.kind or name not in other.content_fields() or not db[kind].exists():
            continue
        ids = {row[0] for row in db.execute(f"SELECT id FROM [{kind}]")}
        if not ids:
            continue
        for column in data.columns:
            values = [str(v) for v in data.values[column]]
            if not values:
                continue
            hits = sum(v in ids for v in values)
            if hits / len(values) >= 0.8 and (best is None or hits > best[3]):
                best = (kind, column, f"{hits} of {len(values)} values", hits)
    return best[:3] if best else None


# -- writing it ---------------------------------------------------------------------------------------

def _q(value: Any) -> str:
    """A YAML scalar: plain where that is safe, else JSON (a YAML subset) quoting."""
    text = str(value)
    if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_ ./-]*", text) and text.lower() not in {
            "yes", "no", "true", "false", "on", "off", "y", "n", "null", "none"} and not text.endswith(" "):
        return text
    return json.dumps(text, ensure_ascii=False)


def render(draft: Draft, today: date | None = None) -> str:
    lines = [f"# Suggested by carecheck mapping suggest from {draft.source} ({draft.rows} rows) on "
             f"{(today or date.today()).isoformat()}.",
             "# Each guess has its evidence beside it; check them, settle the TODOs, then try it with",
             f"#   carecheck mapping check {shlex.quote(str(draft.source))} --kind {draft.kind} --mapping THIS_FILE",
             f"kind: {draft.kind}"]
    if draft.true_values:
        lines.append(f"true_values: [{', '.join(_q(w) for w in draft.true_values)}]  # words read as yes")
    if draft.false_values:
        lines.append(f"false_values: [{', '.join(_q(w) for w in draft.false_values)}]  # words read as no")
    lines.append("fields:")
    for guess in draft.fields:
        note = f"  # {'; '.join(guess.notes)}" if guess.notes else ""
        simple = guess.column and not (guess.format or guess.values or guess.columns or guess.lookup)
        if simple:
            lines.append(f"  {guess.name}: {_q(guess.column)}{note}")
        elif guess.lookup:
            lookup = guess.lookup
            lines.append(f"  {guess.name}:{note}")
            lines.append(f"    lookup: {{kind: {lookup['kind']}, key: {_q(lookup['key'])}, field: {lookup['field']}}}")
        elif guess.column or guess.columns:
            lines.append(f"  {guess.name}:{note}")
            if guess.columns:
                lines.append(f"    columns: [{', '.join(_q(c) for c in guess.columns)}]")
            else:
                lines.append(f"    column: {_q(guess.column)}")
            if guess.format:
                lines.append(f"    format: {json.dumps(guess.format)}")
            if guess.values:
                lines.append("    values:")
                lines += [f"      {_q(word)}: {code}" for word, code in guess.values.items()]
        else:
            lines.append(f"  # {guess.name}: TODO")
        lines += [f"    # TODO: {todo}" for todo in guess.todo]
    if draft.only_rows:
        lines.append("only_rows:")
        for column, why in draft.only_rows:
            lines.append(f"  - {{column: {_q(column)}, filled: true}}  # {why}")
    if draft.ignore:
        lines.append("ignore:")
        for column, why in draft.ignore:
            lines.append(f"  - {_q(column)}  # {why}")
    if draft.unmapped:
        lines.append(f"# Columns no field reads: {', '.join(repr(c) for c in draft.unmapped)}")
    return "\n".join(lines) + "\n"
