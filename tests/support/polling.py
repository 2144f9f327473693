"""Waiting in a test for something another thread or process does: ``wait_until`` (for
``PATIENCE`` seconds by default), and ``SERVE_POLL``, how often the tests' own servers
look for their shutdown."""

from __future__ import annotations

import time
from typing import Callable

#: ``serve_forever``'s poll interval for the servers the tests run in a thread: their
#: ``shutdown()`` waits up to this long, once per test (socketserver's default is 0.5 s).
SERVE_POLL = 0.01


#: How long a test waits by default for what another thread or process does. Reached
#: only when something is wrong, so generous: a busy CI machine is slow, not broken.
PATIENCE = 30.0


def wait_until(predicate: Callable[[], object], timeout: float = PATIENCE) -> None:
    """Poll ``predicate`` every 10 ms; fail the test after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.01)
