"""The one place carecheck's plugin manager is created, loaded and called.

Loading order: hook specifications, then third-party plugins from the ``carecheck`` entry-point
group (each imported on its own so one broken plugin cannot stop the others), then the built-in
plugins. Core code never touches ``pm.hook`` directly: it calls the small typed functions below,
which call each implementation separately so a plugin that raises is reported and skipped.

Environment variables:

``CARECHECK_LOAD_PLUGINS``
    Comma-separated entry-point names to load; empty loads no third-party plugin.
``CARECHECK_DISABLED_PLUGINS``
    Comma-separated entry-point names never to load.
``CARECHECK_TRACE_PLUGINS``
    Set to print every hook call to standard error.
"""

from __future__ import annotations

import importlib
import os
import sys
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator

import pluggy

from . import PROJECT_NAME, __version__, hookspecs, interrupts
from .errors import CarecheckError, PluginError

if TYPE_CHECKING:
    import click

    from .adapter_api import Adapter

#: Built-in plugins, registered through the same hooks a third-party plugin uses.
DEFAULT_PLUGINS: tuple[str, ...] = (
    "carecheck.adapters.csv_adapter",
    "carecheck.adapters.json_adapter",
    "carecheck.adapters.xlsx_adapter",
    "carecheck.adapters.sqlite_adapter",
    "carecheck.plugins.safeguarding",
    "carecheck.plugins.incident_learning",
    "carecheck.plugins.provider_oversight",
    "carecheck.reporters.table",
    "carecheck.reporters.json_report",
    "carecheck.reporters.markdown",
    "carecheck.reporters.junit",
    "carecheck.reporters.html",
)


@dataclass
class PluginFailure:
    """A third-party plugin that failed to import, or raised in a hook."""

    plugin: str
    stage: str
    error: str

    def message(self) -> str:
        return f"plugin {self.plugin!r} failed in {self.stage}: {self.error}"


@dataclass
class PluginInfo:
    name: str
    version: str
    builtin: bool
    distribution: str | None = None
    provides: list[str] = field(default_factory=list)


class _State:
    pm: pluggy.PluginManager | None = None
    failures: dict[tuple[str, str], PluginFailure] = {}
    versions: dict[str, tuple[str, str | None]] = {}


_state = _State()


def _env_names(variable: str) -> set[str] | None:
    value = os.environ.get(variable)
    if value is None:
        return None
    return {name.strip() for name in value.split(",") if name.strip()}


def _record_failure(plugin: str, stage: str, error: BaseException) -> None:
    text = f"{type(error).__name__}: {error}".splitlines()[0]
    _state.failures[(plugin, stage)] = PluginFailure(plugin, stage, text)


def _load_entry_points(pm: pluggy.PluginManager) -> None:
    allowed = _env_names("CARECHECK_LOAD_PLUGINS")
    disabled = _env_names("CARECHECK_DISABLED_PLUGINS") or set()
    if allowed is None and getattr(sys, "_called_from_test", False):
        # Installed plugins must not leak into carecheck's own tests.
        return
    for ep in entry_points(group=PROJECT_NAME):
        if ep.name in disabled or (allowed is not None and ep.name not in allowed):
            continue
        if pm.get_plugin(ep.name) is not None or pm.is_blocked(ep.name):
            continue
        try:
            plugin = ep.load()
            pm.register(plugin, name=ep.name)
        except BaseException as error:  # a broken plugin is reported, never fatal
            if not interrupts.plugin_fault(error):
                raise
            _record_failure(ep.name, "import", error)
            continue
        dist = ep.dist
        _state.versions[ep.name] = (dist.version if dist else "unknown", dist.name if dist else None)


def get_plugin_manager() -> pluggy.PluginManager:
    """Create and load the plugin manager on first use; later calls return the same one."""
    if _state.pm is not None:
        return _state.pm
    pm = pluggy.PluginManager(PROJECT_NAME)
    pm.add_hookspecs(hookspecs)
    if os.environ.get("CARECHECK_TRACE_PLUGINS"):
        pm.trace.root.setwriter(lambda text: sys.stderr.write(text))
        pm.enable_tracing()
    _load_entry_points(pm)
    for module_name in DEFAULT_PLUGINS:
        pm.register(importlib.import_module(module_name), name=module_name)
    pm.check_pending()
    _state.pm = pm
    return pm


def reset() -> None:
    """Forget the plugin manager (tests use this to start again from a clean slate)."""
    _state.pm = None
    _state.failures = {}
    _state.versions = {}


def is_builtin(plugin_name: str) -> bool:
    return plugin_name in DEFAULT_PLUGINS


def failures() -> list[PluginFailure]:
    """Every plugin failure seen so far in this process."""
    return list(_state.failures.values())


def _impls(hook_name: str) -> list[pluggy.HookImpl]:
    """The implementations of a hook, built-ins first, then third parties in registration order."""
    impls = list(getattr(get_plugin_manager().hook, hook_name).get_hookimpls())
    impls.sort(key=lambda impl: not is_builtin(impl.plugin_name))
    return impls


def _call(impl: pluggy.HookImpl, hook_name: str, **kwargs: Any) -> bool:
    """Call one implementation with the arguments it asks for; False if a third party raised."""
    args = {name: kwargs[name] for name in impl.argnames}
    if is_builtin(impl.plugin_name):
        impl.function(**args)  # a built-in that raises is a bug in carecheck: let it surface
        return True
    try:
        impl.function(**args)
    except BaseException as error:  # a broken plugin is reported and skipped, even one that exits
        if not interrupts.plugin_fault(error):
            raise
        _record_failure(impl.plugin_name, hook_name, error)
        return False
    return True


@contextmanager
def plugin_code(plugin: str, what: str, hint: str = "") -> Iterator[None]:
    """Run a third party's code that the command needs (its domain, adapter or reporter): any fault
    of the plugin, ``SystemExit`` and a ``KeyboardInterrupt`` raised by code included, stops the
    command with a :class:`PluginError` naming it. A built-in's fault is a bug and surfaces as one."""
    if is_builtin(plugin):
        yield
        return
    try:
        yield
    except CarecheckError:
        raise
    except BaseException as error:
        if not interrupts.plugin_fault(error):
            raise
        text = f"{type(error).__name__}: {error}".splitlines()[0]
        raise PluginError(
            f"{what} of plugin {plugin} failed ({text}); fix it, or leave it out with "
            f"CARECHECK_DISABLED_PLUGINS={plugin}{hint}"
        ) from error


# ---------------------------------------------------------------------------------------------
# Typed facade over the hooks
# ---------------------------------------------------------------------------------------------


@dataclass
class Registered:
    item: Any
    plugin: str


def _collect(hook_name: str, base: type, what: str) -> dict[str, Registered]:
    """Call a ``register(item)`` hook on every plugin: items by their unique ``name``, with their plugin.

    All of one plugin's registrations are kept, or none of them if it raised or reused a name.
    """
    found: dict[str, Registered] = {}
    for impl in _impls(hook_name):
        collected: dict[str, Any] = {}

        def register(item) -> None:
            if not isinstance(item, base):
                raise TypeError(f"register() expects a {base.__name__}, got {type(item).__name__}")
            if item.name in found or item.name in collected:
                raise ValueError(f"{what} name {item.name!r} is already taken")
            collected[item.name] = item

        if _call(impl, hook_name, register=register):
            found.update({name: Registered(item, impl.plugin_name) for name, item in collected.items()})
    return found


def get_adapters() -> dict[str, Registered]:
    """Every adapter by name, with the plugin that registered it."""
    from .adapter_api import Adapter

    return _collect("carecheck_register_adapters", Adapter, "adapter")


def get_domains() -> dict[str, Registered]:
    """Every improvement domain by name, with the plugin that registered it."""
    from .domain_api import Domain

    return _collect("carecheck_register_domains", Domain, "domain")


def get_reporters() -> dict[str, Registered]:
    """Every report format by name, with the plugin that registered it."""
    from .reporter_api import Reporter

    return _collect("carecheck_register_reporters", Reporter, "report format")


def get_mappings() -> dict[str, Registered]:
    """Every named mapping file, with the plugin that registered it."""
    mappings: dict[str, Registered] = {}
    for impl in _impls("carecheck_register_mappings"):
        collected: dict[str, Path] = {}

        def register(name: str, path: Path | str) -> None:
            if name in mappings or name in collected:
                raise ValueError(f"mapping name {name!r} is already taken")
            collected[name] = Path(path)

        if _call(impl, "carecheck_register_mappings", register=register):
            mappings.update({name: Registered(p, impl.plugin_name) for name, p in collected.items()})
    return mappings


def register_commands(cli: "click.Group") -> dict[str, str]:
    """Let every plugin add commands; returns command name to the plugin that added it."""
    added: dict[str, str] = {}
    for impl in _impls("carecheck_register_commands"):
        before = dict(cli.commands)
        if not _call(impl, "carecheck_register_commands", cli=cli):
            # A plugin that raised half-way keeps none of its commands, as with every other hook.
            cli.commands.clear()
            cli.commands.update(before)
            continue
        for name in set(cli.commands) - set(before):
            added[name] = impl.plugin_name
            _guard_command(cli.commands[name], impl.plugin_name)
    return added


def _guard_command(command: "click.Command", plugin: str) -> None:
    """A plugin's command that raises (``SystemExit`` and a ``KeyboardInterrupt`` raised by code
    included) stops with a :class:`PluginError` naming the plugin, never a success or a bug of carecheck.
    click's own exits and usage errors pass through: they are how a command talks to its user."""
    import click

    invoke = command.invoke

    def guarded(ctx: "click.Context") -> Any:
        try:
            return invoke(ctx)
        except (click.exceptions.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            raise
        except BaseException as error:
            if isinstance(error, KeyboardInterrupt) and interrupts.from_user():
                raise
            with plugin_code(plugin, f"command {command.name!r}"):
                raise

    command.invoke = guarded  # type: ignore[method-assign]


def plugin_infos(command_plugins: dict[str, str] | None = None) -> list[PluginInfo]:
    """Every registered plugin, what it provides, and every plugin that failed."""
    pm = get_plugin_manager()
    infos: dict[str, PluginInfo] = {}
    for name, _plugin in pm.list_name_plugin():
        if name is None:
            continue
        version, dist = _state.versions.get(name, (__version__, "carecheck"))
        infos[name] = PluginInfo(name=name, version=version, builtin=is_builtin(name), distribution=dist)
    for adapter_name, registered in get_adapters().items():
        infos[registered.plugin].provides.append(f"adapter:{adapter_name}")
    for domain_name, registered in get_domains().items():
        infos[registered.plugin].provides.append(f"domain:{domain_name}")
    for reporter_name, registered in get_reporters().items():
        infos[registered.plugin].provides.append(f"format:{reporter_name}")
    for mapping_name, registered in get_mappings().items():
        infos[registered.plugin].provides.append(f"mapping:{mapping_name}")
    for command_name, plugin_name in (command_plugins or {}).items():
        if plugin_name in infos:
            infos[plugin_name].provides.append(f"command:{command_name}")
    return list(infos.values())
