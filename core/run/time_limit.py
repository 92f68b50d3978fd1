"""Stopping a domain that runs past the ruleset's ``domain_time_limit_s``.

Two mechanisms, because a domain spends its time in two places:

- SQL: a watchdog thread calls the connection's ``interrupt()`` at the limit, which SQLite honours
  between steps of any statement, from any thread;
- Python: a ``SIGALRM`` timer raises in the domain's own code. Signals reach only the main
  thread, so where the run is not on it (a run started from a worker thread) a domain stuck in
  Python, not in SQL, is not stopped; docs/security.md says so.
"""

from __future__ import annotations

import signal
import sqlite3
import threading
from contextlib import contextmanager
from typing import Iterator

from ..errors import CarecheckError


class DomainTimeLimit(CarecheckError):
    """A domain ran past the ruleset's ``domain_time_limit_s``."""


@contextmanager
def time_limit(conn: sqlite3.Connection, seconds: float, what: str) -> Iterator[None]:
    message = (f"{what} was still computing after {seconds:g} s (the ruleset's domain_time_limit_s) and was "
               "stopped; raise the limit for a very large store, or fix the domain")
    expired = threading.Event()
    # The watchdog and the alarm fire at the same moment: only the first acts, so the other never
    # interrupts the cleanup the first one's error sets off.
    first = threading.Lock()

    def interrupt_sql() -> None:
        if first.acquire(blocking=False):
            expired.set()
            conn.interrupt()

    watchdog = threading.Timer(seconds, interrupt_sql)
    watchdog.daemon = True
    on_main = threading.current_thread() is threading.main_thread() and hasattr(signal, "setitimer")
    previous = None
    if on_main:
        def alarm(signum, frame):
            if first.acquire(blocking=False):
                expired.set()
                raise DomainTimeLimit(message)

        previous = signal.signal(signal.SIGALRM, alarm)
        signal.setitimer(signal.ITIMER_REAL, seconds)
    watchdog.start()
    try:
        yield
    except sqlite3.OperationalError as error:
        if expired.is_set() and "interrupt" in str(error):
            raise DomainTimeLimit(message) from None
        raise
    finally:
        watchdog.cancel()
        if on_main:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)
