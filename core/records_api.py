"""What a plugin's own record kind is made of (``carecheck_register_record_kinds``).

A record kind is a pydantic model: a subclass of :class:`Record` that sets ``kind`` (its table's
name), ``title`` and ``event_field`` (the field that places a record in a review period), with
fields declared like the built-in kinds' in ``carecheck/records.py``:

- ``Text``, ``FreeText`` (narrative that may name people: declare it with :func:`free_text`, and
  carecheck never quotes it), ``Count``, ``YesNo``, ``MaybeYesNo`` (empty means unknown),
  ``IdList``;
- ``Timestamp`` (a date and time, or a date alone when the source gives no time) and ``Day``;
- ``Code("a", "b")``, a closed vocabulary a mapping's ``values`` translate local words into;
- :func:`ref` for the id of another record, which ``carecheck records`` checks.

Every kind also has ``id`` and ``service``, and the provenance carecheck sets on import. docs/
records.md says how each type is stored, which is what a domain's SQL reads.
"""

from pydantic import Field

from carecheck.records import (
    Code, Count, Day, FreeText, IdList, MaybeYesNo, Record, Text, Timestamp, YesNo, free_text, ref,
)

__all__ = ["Record", "Field", "Code", "Count", "Day", "FreeText", "IdList", "MaybeYesNo", "Text", "Timestamp",
           "YesNo", "free_text", "ref"]
