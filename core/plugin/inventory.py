"""What is installed: each plugin with its version, distribution and what it registers (carecheck plugins, and the verdict's audit)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from carecheck import __version__
from carecheck.plugin_manager import (get_adapters, get_domains, get_mappings, get_plugin_manager, get_record_kinds,
                                      get_reporters, is_builtin, plugin_versions)


@dataclass
class PluginInfo:
    """A registered plugin and what it provides (``carecheck plugins --json``)."""

    name: str
    version: str
    builtin: bool
    distribution: str | None = None
    domains: list[str] = field(default_factory=list)
    record_kinds: list[str] = field(default_factory=list)
    #: each {"name", "description", "extensions", "options"}
    adapters: list[dict[str, Any]] = field(default_factory=list)
    mappings: list[str] = field(default_factory=list)
    reporters: list[str] = field(default_factory=list)
    commands: list[str] = field(default_factory=list)

    @property
    def provides(self) -> list[str]:
        """Everything it provides as ``kind:name``, for the table."""
        return ([f"kind:{k}" for k in self.record_kinds]
                + [f"adapter:{a['name']}" for a in self.adapters] + [f"domain:{d}" for d in self.domains]
                + [f"format:{r}" for r in self.reporters] + [f"mapping:{m}" for m in self.mappings]
                + [f"command:{c}" for c in self.commands])


def plugin_infos(command_plugins: dict[str, str] | None = None) -> list[PluginInfo]:
    """Every registered plugin, what it provides, and every plugin that failed."""
    pm = get_plugin_manager()
    infos: dict[str, PluginInfo] = {}
    for name, _plugin in pm.list_name_plugin():
        if name is None:
            continue
        version, dist = plugin_versions().get(name, (__version__, "carecheck"))
        infos[name] = PluginInfo(name=name, version=version, builtin=is_builtin(name), distribution=dist)
    for adapter_name, registered in get_adapters().items():
        adapter = registered.item
        infos[registered.plugin].adapters.append({
            "name": adapter_name, "description": adapter.description, "extensions": list(adapter.extensions),
            "options": adapter.describe_options()})
    for kind, registered in get_record_kinds().items():
        infos[registered.plugin].record_kinds.append(kind)
    for domain_name, registered in get_domains().items():
        infos[registered.plugin].domains.append(domain_name)
    for reporter_name, registered in get_reporters().items():
        infos[registered.plugin].reporters.append(reporter_name)
    for mapping_name, registered in get_mappings().items():
        infos[registered.plugin].mappings.append(mapping_name)
    for command_name, plugin_name in (command_plugins or {}).items():
        if plugin_name in infos:
            infos[plugin_name].commands.append(command_name)
    return list(infos.values())
