"""The base record model, and how its fields are read from exports: yes/no words, lists, codes,
day-first dates, ids (cleaned of look-alike characters) and free text (never quoted in
messages).
"""

from __future__ import annotations

import json

import unicodedata
from datetime import date, datetime
from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PlainSerializer

from carecheck.dates import parse_date, parse_timestamp

TRUE_WORDS = frozenset({"y", "yes", "true", "t", "1", "on", "x", "✓"})


FALSE_WORDS = frozenset({"n", "no", "false", "f", "0", "off", ""})


def _to_bool(value: Any) -> Any:
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, (int, float)) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        word = value.strip().lower()
        if word in TRUE_WORDS:
            return True
        if word in FALSE_WORDS:
            return False
    raise ValueError(f"not a yes/no value: {str(value)[:20]!r}")


def _to_list(value: Any) -> Any:
    if value is None:
        return []
    if isinstance(value, str):
        # Exports join several values in one cell with ; or |.
        parts = value.replace("|", ";").split(";")
        return [part.strip() for part in parts if part.strip()]
    return value


def _to_code(value: Any) -> Any:
    """Normalise a code word: ``"Supported Living"`` and ``supported-living`` both read as ``supported_living``."""
    if isinstance(value, str):
        return value.strip().lower().replace("-", "_").replace(" ", "_")
    return value


def _blank_to_none(value: Any) -> Any:
    if isinstance(value, str) and not value.strip():
        return None
    return value


def _datetime(value: Any) -> Any:
    value = _blank_to_none(value)
    return None if value is None else parse_timestamp(value)


def _date(value: Any) -> Any:
    value = _blank_to_none(value)
    return None if value is None else parse_date(value)


def _int(value: Any) -> Any:
    value = _blank_to_none(value)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _optional_bool(value: Any) -> Any:
    value = _blank_to_none(value)
    return None if value is None else _to_bool(value)


def clean_text(value: str) -> str:
    """Short text as carecheck compares and stores it: Unicode NFC, format characters (zero-width
    spaces, bidirectional marks, byte-order marks from concatenated exports) removed, surrounding
    space trimmed, so look-alike ids are one id."""
    if value.isascii():
        return value.strip()
    value = unicodedata.normalize("NFC", value)
    return "".join(c for c in value if unicodedata.category(c) != "Cf").strip()


#: The longest short text (a code, id or name) and the longest narrative a record may hold.
MAX_TEXT, MAX_FREE_TEXT = 10_000, 100_000


def _checked(value: str, limit: int) -> str:
    """A text value with no NUL byte and within ``limit`` characters: else not readable (the field
    is left empty, or a required one rejects the row), never quoted."""
    if "\x00" in value:
        raise ValueError("holds a NUL byte")
    if len(value) > limit:
        raise ValueError(f"is longer than {limit:,} characters")
    return value


def _free_text(value: Any) -> Any:
    value = _blank_to_none(value)
    return _checked(value, MAX_FREE_TEXT) if isinstance(value, str) else value


def _text(value: Any) -> Any:
    value = _blank_to_none(value)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        # Spreadsheet cells turn ids like 1001 into numbers; ids are text.
        return str(int(value)) if float(value).is_integer() else str(value)
    if isinstance(value, str):
        value = clean_text(_checked(value, MAX_TEXT))
        return value or None
    return value


# A date and time, or a date alone when the source gives no time of day (never read as midnight).
Timestamp = Annotated[
    datetime | date,
    BeforeValidator(_datetime),
    PlainSerializer(lambda v: v.isoformat(), return_type=str),
]


Day = Annotated[date, BeforeValidator(_date), PlainSerializer(lambda v: v.isoformat(), return_type=str)]


YesNo = Annotated[bool, BeforeValidator(_to_bool)]


MaybeYesNo = Annotated[bool | None, BeforeValidator(_optional_bool)]


Count = Annotated[int, BeforeValidator(_int)]


Text = Annotated[str, BeforeValidator(_text)]


IdList = Annotated[list[str], BeforeValidator(_to_list)]


FreeText = Annotated[str, BeforeValidator(_free_text)]


def Code(*values: str):
    """A closed vocabulary; local words map onto it through a mapping file's ``values``."""
    return Annotated[Literal[values], BeforeValidator(_to_code)]  # type: ignore[valid-type]


def free_text(description: str, **kwargs) -> Any:
    """A field holding narrative that may name people: never quoted in messages or reports."""
    return Field(default=None, description=description, json_schema_extra={"free_text": True}, **kwargs)


def ref(kind: str, description: str, **kwargs) -> Any:
    """A field holding the id of another record of ``kind``; dangling references are data-quality findings."""
    kwargs.setdefault("default", None)
    return Field(description=description, json_schema_extra={"ref": kind}, **kwargs)


HarmLevel = Code("none", "low", "moderate", "severe", "fatal")


ActionStatus = Code("open", "in_progress", "completed", "closed", "overdue", "cancelled")


class Record(BaseModel):
    """Fields every record has: its id, the service it belongs to, and where it came from."""

    # Schemas are built when a kind is first validated: a run that only reads the store never pays for it.
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, defer_build=True)

    kind: ClassVar[str]
    title: ClassVar[str]
    #: The field that places a record in a review period (its event date).
    event_field: ClassVar[str]
    #: Extra indexes the domains' queries need, beyond service, event date and references.
    indexes: ClassVar[tuple[tuple[str, ...], ...]] = ()

    id: Text = Field(description="The record's id in its source system; unique within its kind.", min_length=1)
    service: Text = Field(
        description="The service the record belongs to: its name, id or any alias in the service register.",
        min_length=1,
    )
    source_system: Text | None = Field(
        default=None, description="Provenance: the record system the row came from (set on import).",
        json_schema_extra={"provenance": True},
    )
    source_file: Text | None = Field(
        default=None, description="Provenance: the file, table or query the row was read from (set on import).",
        json_schema_extra={"provenance": True},
    )
    source_row: Count | None = Field(
        default=None, description="Provenance: the row's number in its source, as the source system shows it.",
        json_schema_extra={"provenance": True},
    )
    imported_at: Timestamp | None = Field(
        default=None, description="Provenance: when the row was imported (set on import).",
        json_schema_extra={"provenance": True},
    )
    content_hash: int | None = Field(
        default=None,
        description="Provenance: 64-bit hash of the record's canonical content, to detect changed rows.",
        json_schema_extra={"provenance": True},
    )

    @classmethod
    def provenance_fields(cls) -> list[str]:
        return ["source_system", "source_file", "source_row", "imported_at", "content_hash"]

    @classmethod
    def content_fields(cls) -> list[str]:
        """Fields a source supplies (everything but provenance)."""
        skip = set(cls.provenance_fields())
        return [name for name in cls.model_fields if name not in skip]

    @classmethod
    def required_fields(cls) -> list[str]:
        return [name for name, info in cls.model_fields.items() if info.is_required()]

    @classmethod
    def references(cls) -> dict[str, str]:
        """Field name to the kind it refers to."""
        out = {}
        for name, info in cls.model_fields.items():
            extra = info.json_schema_extra or {}
            if isinstance(extra, dict) and "ref" in extra:
                out[name] = extra["ref"]
        return out

    @classmethod
    def condition_names(cls) -> dict[str, str]:
        """The fields a condition over a record (an evidence source's ``supports``) may name, with
        their value type: yes/no fields ``bool``, counts and numbers ``number``, codes and short
        text ``text``. Free text, lists, dates, times and provenance are left out."""
        free = cls.free_text_fields()
        names = {}
        for name in cls.content_fields():
            if name in free:
                continue
            kind = _value_type(cls.model_fields[name].annotation)
            if kind is not None:
                names[name] = kind
        return names

    @classmethod
    def free_text_fields(cls) -> frozenset[str]:
        return frozenset(
            name
            for name, info in cls.model_fields.items()
            if isinstance(info.json_schema_extra, dict) and info.json_schema_extra.get("free_text")
        )


def _value_type(annotation: Any) -> str | None:
    import types
    import typing

    if typing.get_origin(annotation) is Annotated:
        return _value_type(typing.get_args(annotation)[0])
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        found = {_value_type(a) for a in typing.get_args(annotation) if a is not type(None)}
        return found.pop() if len(found) == 1 else None
    if annotation is bool:
        return "bool"
    if annotation in (int, float):
        return "number"
    if annotation is str or typing.get_origin(annotation) is Literal:
        return "text"
    return None


def to_column(value: Any) -> Any:
    """A Python value as the store keeps it."""
    if isinstance(value, datetime) or isinstance(value, date):
        return value.isoformat()
    if isinstance(value, (list, dict)):
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    if isinstance(value, bool):
        return int(value)
    return value
