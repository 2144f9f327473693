"""The time a gunicorn worker has to close in: its master SIGKILLs a worker still alive
``--graceful-timeout`` (30 s by default) after it told it to stop.

A close longer than that (``shutdown_timeout`` above it, the API down or slow at the
stop) was killed midway: every log it still held lost, and no line said so, the close's
own coming only at its end (delivery34: ``shutdown_timeout`` 8 s, graceful 5 s, 400 of
400 lost, sync and gthread workers alike). In a worker, gunicorn's own SIGTERM handler
is a method of the worker object, whose ``cfg`` has the graceful timeout: the exit's
close ends :data:`MARGIN` before it, counted from the close's start (the worker leaves
its loop at once at the stop, unless it waits for requests still served first: their
time is not seen here).
"""

from __future__ import annotations

import signal
from typing import Optional

#: How long before gunicorn's kill the close ends (at most a fifth of the graceful
#: timeout): its line is said, and the process ends, in that time.
MARGIN = 1.0


def graceful_timeout() -> Optional[float]:
    """In a gunicorn worker: its ``--graceful-timeout`` in seconds; else None."""
    try:
        handler = signal.getsignal(signal.SIGTERM)
        worker = getattr(handler, "__self__", None)
        if worker is None or not type(worker).__module__.startswith("gunicorn."):
            return None
        seconds = getattr(getattr(worker, "cfg", None), "graceful_timeout", None)
    except Exception:  # another program's handler, of a shape of its own
        return None
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or seconds < 0:
        return None
    return float(seconds)


def close_bound(shutdown_timeout: float) -> tuple[float, Optional[float]]:
    """The bound of a close in this process, and gunicorn's graceful timeout where that
    is what bounds it (None: ``shutdown_timeout`` does)."""
    graceful = graceful_timeout()
    if graceful is None:
        return shutdown_timeout, None
    bound = max(0.0, graceful - min(MARGIN, graceful / 5))
    if bound >= shutdown_timeout:
        return shutdown_timeout, None
    return bound, graceful
