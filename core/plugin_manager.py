"""The one place carecheck's plugin manager is created, loaded and called.

Loading order: hook specifications, then third-party plugins from the ``carecheck`` entry-point
group (each imported on its own so one broken plugin cannot stop the others), then the built-in
plugins. Core code never touches ``pm.hook`` directly: it calls the small typed functions below.
They call each hook through pluggy (so ``tryfirst``, ``trylast`` and ``wrapper`` work as pluggy
documents, and ``CARECHECK_TRACE_PLUGINS`` traces the calls). A third-party implementation that
raises is recorded and the hook is called again without it (:func:`call_isolated`), so the other
plugins' results are kept. Registration hooks run once per process: their results are cached
until a plugin is registered or unregistered.

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
from types import FrameType
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator, TypeVar

import pluggy

from carecheck import PROJECT_NAME, __version__, hookspecs, interrupts
from carecheck.errors import CarecheckError, PluginError

T = TypeVar("T")

if TYPE_CHECKING:
    import click


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




class _State:
    pm: pluggy.PluginManager | None = None
    failures: dict[tuple[str, str], PluginFailure] = {}
    versions: dict[str, tuple[str, str | None]] = {}
    #: each registration hook's result, by hook name: called once per process
    cache: dict[str, Any] = {}


class _PluginManager(pluggy.PluginManager):
    """pluggy's manager, forgetting the cached registrations whenever the set of plugins changes."""

    def register(self, plugin: object, name: str | None = None) -> str | None:
        _state.cache.clear()
        return super().register(plugin, name)

    def unregister(self, plugin: object | None = None, name: str | None = None) -> Any:
        _state.cache.clear()
        return super().unregister(plugin, name)


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
    pm = _PluginManager(PROJECT_NAME)
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
    _state.cache = {}


def plugin_versions() -> dict[str, tuple[str, str]]:
    """Each installed plugin's version and distribution, as its entry point gave them."""
    return dict(_state.versions)


def is_builtin(plugin_name: str) -> bool:
    return plugin_name in DEFAULT_PLUGINS


def failures() -> list[PluginFailure]:
    """Every plugin failure seen so far in this process."""
    return list(_state.failures.values())


def _implementation(hook_name: str, frames: Iterable[FrameType]) -> pluggy.HookImpl | None:
    """The implementation of ``hook_name`` whose code is the innermost of ``frames``: the one that
    raised (frames from a traceback) or that is calling back into carecheck (frames of the stack)."""
    impls = getattr(get_plugin_manager().hook, hook_name).get_hookimpls()
    by_code: dict[Any, list[pluggy.HookImpl]] = {}
    for impl in impls:
        by_code.setdefault(getattr(impl.function, "__code__", None), []).append(impl)
    found = None
    for frame in frames:
        candidates = by_code.get(frame.f_code)
        if candidates:
            # One class's method registered as two plugins: tell them apart by the instance.
            owner = frame.f_locals.get("self")
            found = next((impl for impl in candidates if impl.plugin is owner), candidates[0])
    return found


def _traceback_frames(error: BaseException) -> Iterator[FrameType]:
    tb = error.__traceback__
    while tb is not None:
        yield tb.tb_frame
        tb = tb.tb_next


def _stack_frames() -> list[FrameType]:
    frames = []
    frame = sys._getframe(1)
    while frame is not None:
        frames.append(frame)
        frame = frame.f_back
    return frames[::-1]  # outermost first, as in a traceback


def calling_plugin(hook_name: str) -> str:
    """The plugin whose implementation of ``hook_name`` is running now (for ``register`` callbacks)."""
    impl = _implementation(hook_name, _stack_frames())
    return impl.plugin_name if impl is not None else "carecheck"


def call_isolated(hook_name: str, attempt: Callable[[Callable[..., Any]], T]) -> T:
    """``attempt(hook_caller)`` with the hook through pluggy; when a third-party implementation raises
    (anything, ``SystemExit`` and a ``KeyboardInterrupt`` raised by code included), it is recorded
    and ``attempt`` runs again with a caller without that plugin. A built-in that raises is a bug."""
    pm = get_plugin_manager()
    left_out: list[object] = []
    while True:
        caller = pm.subset_hook_caller(hook_name, left_out) if left_out else getattr(pm.hook, hook_name)
        try:
            return attempt(caller)
        except BaseException as error:
            if not interrupts.plugin_fault(error):
                raise
            impl = _implementation(hook_name, _traceback_frames(error))
            if impl is None or is_builtin(impl.plugin_name) or impl.plugin in left_out:
                raise
            _record_failure(impl.plugin_name, hook_name, error)
            left_out.append(impl.plugin)


def _registration_order() -> list[str]:
    """Plugins in the order their registrations are kept: built-ins, then the others as registered."""
    names = [name for name, _ in get_plugin_manager().list_name_plugin() if name is not None]
    return sorted(names, key=lambda name: not is_builtin(name))


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


def _collect(hook_name: str, check: Callable[[str, Any], tuple[str, Any]], what: str) -> dict[str, Registered]:
    """Call a ``register(...)`` hook once per process: items by their unique name, with their plugin.

    ``check(plugin, *args)`` turns one call of ``register`` into (name, item), raising for a bad
    item. All of one plugin's registrations are kept, or none of them if it raised or reused a name:
    built-ins keep their names first, then the others in the order they were registered.
    """
    if hook_name in _state.cache:
        return _state.cache[hook_name]

    def attempt(caller) -> dict[str, dict[str, Any]]:
        by_plugin: dict[str, dict[str, Any]] = {}

        def register(*args: Any) -> None:
            plugin = calling_plugin(hook_name)
            name, item = check(plugin, *args)
            mine = by_plugin.setdefault(plugin, {})
            if name in mine:
                raise ValueError(f"{what} name {name!r} is registered twice")
            mine[name] = item

        caller(register=register)
        return by_plugin

    by_plugin = call_isolated(hook_name, attempt)
    found: dict[str, Registered] = {}
    for plugin in _registration_order():
        items = by_plugin.get(plugin, {})
        taken = sorted(set(items) & set(found))
        if taken:
            _record_failure(plugin, hook_name, ValueError(
                f"{what} name {taken[0]!r} is already taken by {found[taken[0]].plugin}"))
            continue
        found.update({name: Registered(item, plugin) for name, item in items.items()})
    _state.cache[hook_name] = found
    return found


def _instance_of(base: type) -> Callable[..., tuple[str, Any]]:
    def check(plugin: str, item: Any) -> tuple[str, Any]:
        if not isinstance(item, base):
            raise TypeError(f"register() expects a {base.__name__}, got {type(item).__name__}")
        return item.name, item

    return check


def get_adapters() -> dict[str, Registered]:
    """Every adapter by name, with the plugin that registered it."""
    from carecheck.adapter_api import Adapter

    return _collect("carecheck_register_adapters", _instance_of(Adapter), "adapter")


def get_record_kinds() -> dict[str, Registered]:
    """Every record kind plugins register (not carecheck's own), with the plugin that registered it."""
    from carecheck.store.schema import is_reserved_kind
    from carecheck.records import BUILTIN_KINDS, Record

    def check(plugin: str, model: Any) -> tuple[str, Any]:
        if not (isinstance(model, type) and issubclass(model, Record)):
            raise TypeError(f"register() expects a subclass of carecheck.records_api.Record, got {model!r}")
        kind = getattr(model, "kind", None)
        if not isinstance(kind, str) or not kind.isidentifier() or kind != kind.lower():
            raise ValueError(f"record kind {model.__name__}.kind must be a lower-case identifier, not {kind!r}")
        if kind in BUILTIN_KINDS:
            raise ValueError(f"record kind name {kind!r} is carecheck's own kind")
        if is_reserved_kind(kind):
            raise ValueError(f"record kind name {kind!r} is reserved for the store's own table")
        if not isinstance(getattr(model, "title", None), str):
            raise ValueError(f"record kind {kind!r} has no title")
        event_field = getattr(model, "event_field", None)
        if event_field not in model.model_fields:
            raise ValueError(f"record kind {kind!r}: event_field {event_field!r} is not one of its fields "
                             f"({', '.join(model.content_fields())})")
        return kind, model

    return _collect("carecheck_register_record_kinds", check, "record kind")


def _kinds_registry():
    """A registry of the record kinds alone: what a domain's reads are checked against as it
    registers (so it cannot need the domains)."""
    if "kinds_registry" not in _state.cache:
        from carecheck.plugin.registry import of

        kinds = get_record_kinds()
        _state.cache["kinds_registry"] = of({kind: r.item for kind, r in kinds.items()},
                                            {kind: r.plugin for kind, r in kinds.items()})
    return _state.cache["kinds_registry"]


def registry():
    """The registry snapshot commands work with (:class:`carecheck.plugin.registry.Registry`):
    the record kinds, domains, adapters, reporters and named mappings, frozen; taken once until the
    plugins change."""
    if "registry" not in _state.cache:
        import dataclasses
        from types import MappingProxyType

        _state.cache["registry"] = dataclasses.replace(
            _kinds_registry(), domains=MappingProxyType(get_domains()), adapters=MappingProxyType(get_adapters()),
            reporters=MappingProxyType(get_reporters()), mappings=MappingProxyType(get_mappings()))
    return _state.cache["registry"]


def get_domains() -> dict[str, Registered]:
    """Every improvement domain by name, with the plugin that registered it."""
    from carecheck.domain_api import Domain
    from carecheck.plugin.domain_checks import checked_domain

    plain = _instance_of(Domain)

    def check(plugin: str, item: Any) -> tuple[str, Any]:
        name, domain = plain(plugin, item)
        return name, checked_domain(domain, plugin, _kinds_registry())

    return _collect("carecheck_register_domains", check, "domain")


def get_reporters() -> dict[str, Registered]:
    """Every report format by name, with the plugin that registered it."""
    from carecheck.reporter_api import Reporter

    return _collect("carecheck_register_reporters", _instance_of(Reporter), "report format")


def get_mappings() -> dict[str, Registered]:
    """Every named mapping file, with the plugin that registered it."""

    def check(plugin: str, name: str, path: Path | str) -> tuple[str, Path]:
        return name, Path(path)

    return _collect("carecheck_register_mappings", check, "mapping")






