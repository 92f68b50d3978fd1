"""carecheck: turn CQC improvement actions into measurable service recovery.

Plugins import :data:`hookimpl` from here and nothing else from the core is required.
"""

from importlib.metadata import PackageNotFoundError, version as _version

import pluggy

try:
    __version__ = _version("carecheck")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0"

PROJECT_NAME = "carecheck"

#: Marker to be imported and used in plugins (and for carecheck's own built-in plugins).
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)

__all__ = ["hookimpl", "__version__", "PROJECT_NAME"]
