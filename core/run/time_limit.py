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

from carecheck.errors import CarecheckError

#: How much earlier than the alarm the SQL watchdog fires (the two race at the limit; a test sets a
#: lead to make the watchdog fire first on a domain stuck in Python).
WATCHDOG_LEAD_S = 0.0


class DomainTimeLimit(CarecheckError):
    """A domain ran past the ruleset's ``domain_time_limit_s``."""


@contextmanager
def time_limit(conn: sqlite3.Connection, seconds: float, what: str) -> Iterator[None]:
    message = (f"{what} was still computing after {seconds:g} s (the ruleset's domain_time_limit_s) and was "
               "stopped; raise the limit for a very large store, or fix the domain")
    expired = threading.Event()
    # Set once the limit's error is on its way (or the block has ended): the alarm then raises no
    # second one into the cleanup. The watchdog's interrupt never sets it: SQLite's interrupt does
    # nothing to a domain busy in Python, which only the alarm can stop.
    stopping = threading.Event()

    def interrupt_sql() -> None:
        expired.set()
        conn.interrupt()

    watchdog = threading.Timer(max(0.0, seconds - WATCHDOG_LEAD_S), interrupt_sql)
    watchdog.daemon = True
    on_main = threading.current_thread() is threading.main_thread() and hasattr(signal, "setitimer")
    previous = None
    if on_main:
        def alarm(signum, frame):
            if not stopping.is_set():
                stopping.set()
                expired.set()
                raise DomainTimeLimit(message)

        previous = signal.signal(signal.SIGALRM, alarm)
        signal.setitimer(signal.ITIMER_REAL, seconds)
    watchdog.start()
    try:
        yield
    except sqlite3.OperationalError as error:
        if expired.is_set() and "interrupt" in str(error):
            stopping.set()
            raise DomainTimeLimit(message) from None
        raise
    finally:
        stopping.set()
        watchdog.cancel()
        if on_main:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)
