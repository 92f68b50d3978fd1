"""Telling the user's own Ctrl-C or a ``kill`` apart from a plugin that raises ``KeyboardInterrupt``.

The command line installs :func:`install` on the main thread. Its handlers note which signal came
before raising ``KeyboardInterrupt``, so everything unwinds through the usual ``finally`` blocks
and open transactions roll back. A ``KeyboardInterrupt`` with no signal noted was raised by code,
so the plugin wrappers treat it as that plugin's fault (see :func:`from_user`).
"""

from __future__ import annotations

import signal
import threading

#: Exit codes of a process stopped by a signal, as a shell reports them (128 + the signal number).
EXIT_SIGINT = 128 + signal.SIGINT
EXIT_SIGTERM = 128 + signal.SIGTERM

_received: list[int] = []
_settled: list[bool] = []


def _handler(signum, frame) -> None:
    first = not _received and not _settled
    _received.append(signum)
    if first:  # a second signal must not break off the rollback the first one started
        raise KeyboardInterrupt


def install() -> None:
    """Handle SIGINT and SIGTERM by unwinding (only possible on the main thread)."""
    if threading.current_thread() is not threading.main_thread():
        return
    signal.signal(signal.SIGINT, _handler)
    signal.signal(signal.SIGTERM, _handler)


def settle() -> None:
    """From now on a SIGINT or SIGTERM is only noted: the process is exiting anyway."""
    _settled.append(True)


def from_user() -> bool:
    """True once a SIGINT or SIGTERM has arrived: a ``KeyboardInterrupt`` then is the user's."""
    return bool(_received)


def exit_code() -> int:
    """130 for Ctrl-C, 143 for a ``kill``: what a shell expects of a process stopped by them."""
    return EXIT_SIGTERM if signal.SIGTERM in _received else EXIT_SIGINT


def plugin_fault(error: BaseException) -> bool:
    """Whether ``error``, raised inside a plugin, is the plugin's fault rather than the user's
    interrupt: every exception, ``SystemExit`` and ``KeyboardInterrupt`` raised by code included."""
    if isinstance(error, KeyboardInterrupt):
        return not from_user()
    return isinstance(error, (Exception, SystemExit))
