"""The time a gunicorn worker has to close in: its master SIGKILLs a worker still alive
``--graceful-timeout`` (30 s by default) after it told it to stop.

A close longer than that (``shutdown_timeout`` above it, the API down or slow at the
stop) was killed midway: every log it still held lost, and no line said so, the close's
own coming only at its end (delivery34: ``shutdown_timeout`` 8 s, graceful 5 s, 400 of
400 lost, sync and gthread workers alike). In a worker, gunicorn's own SIGTERM handler
is a method of the worker object, whose ``cfg`` has the graceful timeout: the exit's
close ends :data:`MARGIN` before it.

Counted from the signal: the worker serves the requests in flight before it leaves its
loop (sync: the one it serves; gthread: all of them, up to the graceful timeout), and
the close begins only then. Counted from the close's start, a request of 2 s had the
close end a second past the kill (delivery37: graceful 4 s, ``shutdown_timeout`` 5 s,
the API not answering: 42 served, none delivered, the close's end unsaid). So where the
app is loaded in the worker (gunicorn's default: after its signal handlers are set, in
the main thread), :func:`watch_stop` puts a wrapper around the worker's SIGTERM
handler that notes when the signal came, and calls it; under uvicorn-worker's
``UvicornWorker`` around uvicorn's, at the ASGI lifespan's startup (uvicorn sets its
own as it serves; the lifespan's flush at shutdown had the same 3.2 s from 2 s after
the signal: 42 served, none delivered, nothing said). Not with ``--preload`` under a
WSGI worker (the app is loaded in the master): the bound counts from the close's start
there, as before.
"""

from __future__ import annotations

import signal
import sys
import threading
import time
from typing import Any, Optional

#: How long before gunicorn's kill the close ends (at most a fifth of the graceful
#: timeout): its line is said, and the process ends, in that time.
MARGIN = 1.0


def graceful_timeout() -> Optional[float]:
    """In a gunicorn worker: its ``--graceful-timeout`` in seconds; else None."""
    try:
        worker = _worker()
        seconds = getattr(getattr(worker, "cfg", None), "graceful_timeout", None)
    except Exception:  # another program's handler, of a shape of its own
        return None
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or seconds < 0:
        return None
    return float(seconds)


class _Noted:
    """The worker's SIGTERM handler, wrapped: notes when the first signal came (what
    :func:`_worker` reads it through: ``__self__``, the worker, as for its method)."""

    __slots__ = ("handler", "__self__", "came")

    def __init__(self, handler: Any) -> None:
        self.handler = handler
        self.__self__ = getattr(handler, "__self__", None)
        self.came: Optional[float] = None

    def __call__(self, signum: int, frame: Any) -> Any:
        if self.came is None:
            self.came = time.monotonic()
        return self.handler(signum, frame)


def watch_stop() -> None:
    """In a gunicorn worker's main thread, its SIGTERM handler set (the app loaded in
    the worker): note when SIGTERM comes (:class:`_Noted`). Once per worker; anywhere
    else, nothing. Never raises."""
    try:
        if threading.current_thread() is not threading.main_thread():
            return
        handler = signal.getsignal(signal.SIGTERM)
        if isinstance(handler, _Noted) or not callable(handler):
            return  # (SIG_DFL, SIG_IGN, or a handler not set from Python)
        worker = _worker()
        if worker is None:
            return
        signal.signal(signal.SIGTERM, _Noted(handler))
        if getattr(handler, "__self__", None) is worker:
            # As gunicorn set it: a SIGTERM does not interrupt the system calls of the
            # requests in flight (signal.signal made them interruptible again).
            signal.siginterrupt(signal.SIGTERM, False)
    except Exception:  # another program's handler, a platform without these calls
        pass


def stop_came() -> Optional[float]:
    """When this worker was told to stop (SIGTERM: ``time.monotonic()``), if noted."""
    handler = signal.getsignal(signal.SIGTERM)
    return handler.came if isinstance(handler, _Noted) else None


def _worker() -> Optional[object]:
    """The gunicorn worker object of this process, found through a signal handler that
    is one of its methods: SIGTERM's (sync, gthread, ...), else SIGUSR1's, the one
    gunicorn handler uvicorn-worker's ``UvicornWorker`` keeps (uvicorn's ``Server``
    takes SIGTERM there). Any subclass of gunicorn's ``Worker`` (before delivery35 only
    classes of a ``gunicorn.`` module: a ``UvicornWorker``'s flush was not bounded).
    gunicorn is never imported here: a worker has it imported already."""
    base = sys.modules.get("gunicorn.workers.base")
    worker_class = getattr(base, "Worker", None)
    if not isinstance(worker_class, type):
        return None
    for signum in (signal.SIGTERM, signal.SIGUSR1):
        worker = getattr(signal.getsignal(signum), "__self__", None)
        if isinstance(worker, worker_class):
            return worker
    return None


def close_bound(shutdown_timeout: float,
                start: Optional[float] = None) -> tuple[float, Optional[float]]:
    """The bound of a close in this process beginning at ``start`` (a
    ``time.monotonic()`` reading; now if None), and gunicorn's graceful timeout where
    that is what bounds it (None: ``shutdown_timeout`` does): the time from the stop's
    signal (:func:`watch_stop`), if noted, is gone from it."""
    graceful = graceful_timeout()
    if graceful is None:
        return shutdown_timeout, None
    bound = max(0.0, graceful - min(MARGIN, graceful / 5) - since_stop(start))
    if bound >= shutdown_timeout:
        return shutdown_timeout, None
    return bound, graceful


def since_stop(start: Optional[float] = None) -> float:
    """The seconds from the stop's signal, if noted, to ``start`` (now if None); else
    0."""
    came = stop_came()
    if came is None:
        return 0.0
    return max(0.0, (time.monotonic() if start is None else start) - came)
