"""The registry a command works with: an immutable snapshot of what carecheck and its plugins
register (record kinds, domains, adapters, reporters and named mappings), taken from the plugin
manager when a command first needs it and handed to the store, the importer, the ruleset loader
and the run as a value.

Nothing in carecheck keeps a mutable registry at module level: a plugin registered or
unregistered later (a test's plugin) gives the next snapshot, never changes one already taken.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Mapping

from carecheck.errors import InputError
from carecheck.records import BUILTIN_KINDS

if TYPE_CHECKING:
    from carecheck.records import Record


@dataclass(frozen=True)
class Registry:
    #: Every record kind by name: carecheck's own first, then the plugins'.
    kinds: Mapping[str, type[Record]]
    #: The plugin that registered each plugin kind (carecheck's own kinds are not in it).
    kind_plugins: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    #: Each by name, with the plugin that registered it (``plugin_manager.Registered``): empty in a
    #: registry of record kinds alone (the one a domain is checked against as it registers).
    domains: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    adapters: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    reporters: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    mappings: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))

    def model_for(self, kind: str) -> type[Record]:
        """The model of a record kind; an unknown one is an input error listing the known ones."""
        try:
            return self.kinds[kind]
        except KeyError:
            raise InputError(f"unknown record kind {kind!r} (known: {', '.join(sorted(self.kinds))})") from None


def of(kinds: Mapping[str, type[Record]], kind_plugins: Mapping[str, str]) -> Registry:
    """A registry of carecheck's own kinds and ``kinds`` (the plugins'), frozen."""
    return Registry(MappingProxyType({**BUILTIN_KINDS, **kinds}), MappingProxyType(dict(kind_plugins)))


#: carecheck's own kinds alone (a store read without plugins, a migration).
BUILTIN = of({}, {})
