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
the signal: 42 served, none delivered, nothing said). With ``--preload`` (the app
loaded in the master) the child wraps it before gunicorn sets it (:func:`watch_fork`).

Where that wrapper could not see the signal, the bound counted from the close's start
and the kill came midway, the close's begin line saying a time it did not have
(delivery39: graceful 6 s, ``shutdown_timeout`` 8 s, a request of 3 s in flight at the
SIGTERM, the API not answering: 21 served, none delivered, "22 logs to send within 5s"
said and the end unsaid): an app setting its own SIGTERM handler after the middleware
was made (one that calls the handler it replaced: the wrapper still notes the signal,
and this process remembers it, :data:`_watch`); ``--preload`` under a WSGI worker (the
middleware made in the master: :func:`watch_fork`, in the child, wraps the worker
object's own handler before gunicorn sets it); gunicorn's ``-k asgi`` worker (its
SIGTERM its event loop's signal handler, which ``signal.getsignal`` does not show: set
again, wrapped, as the app is loaded in the worker).

uWSGI's master does the same to a worker still alive ``--worker-reload-mercy`` (60 s by
default) after it told it to end (a stop, a reload, a recycling): there the close ends
before that (:func:`readme_metrics.delivery.uwsgi_exit.mercy`; delivery36: a mercy of
3 s, the API failing at the stop, 6 of 6 logs lost and nothing said). :class:`Limit`
names which server's option it is in the lines that say it.

A gunicorn worker recycled by ``--max-requests`` is no stop of the master's: the master
goes on checking its heartbeat, and aborts it (``WORKER TIMEOUT``: SIGABRT, then
SIGKILL) ``--timeout`` (30 s by default) after its last one, as it left its loop. Its
close ends before that (delivery36: ``--timeout=3``, ``shutdown_timeout`` 10 s, the API
failing: the close aborted midway, 3 of 3 logs lost, only Python's "Exception ignored in
atexit callback" traceback said).
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from typing import Any, Optional

from readme_metrics.delivery import uwsgi_exit

#: How long before gunicorn's kill the close ends (at most a fifth of the graceful
#: timeout): its line is said, and the process ends, in that time.
MARGIN = 1.0


class Limit(float):
    """The seconds a server gives a worker to end before it kills it, and the option
    that sets them (a float: compared and formatted as one)."""

    server: str
    option: str
    #: Seconds of it already gone as the close begins (gunicorn's heartbeat: since the
    #: worker's last one).
    spent: float

    def __new__(cls, seconds: float, server: str, option: str, spent: float = 0.0
                ) -> Limit:
        limit = super().__new__(cls, seconds)
        limit.server = server
        limit.option = option
        limit.spent = spent
        return limit

    def kills(self) -> str:
        """What the server then does to the worker, as the lines say it."""
        if self.option == "--timeout":
            return "has its master abort this worker (WORKER TIMEOUT) after that"
        return "has its master SIGKILL this worker after that"

    def said(self) -> str:
        """``gunicorn's --graceful-timeout of 30s``."""
        return f"{self.server}'s {self.option} of {float(self):g}s"

    def advice(self) -> str:
        """What gives the close its whole time, as the close's first line says it."""
        return f"set {self.option} above shutdown_timeout to give the close its whole time"


def server_limit() -> Optional[Limit]:
    """The time this worker's server gives it to end: gunicorn's ``--graceful-timeout``,
    uWSGI's ``--worker-reload-mercy``, Django's autoreloader's kill of runserver's child
    (:mod:`.reloader_stop`); None elsewhere."""
    graceful = graceful_timeout()
    if graceful is not None:
        recycled = _recycled_timeout()
        if recycled is not None:
            return Limit(recycled[0], "gunicorn", "--timeout", spent=recycled[1])
        return Limit(graceful, "gunicorn", "--graceful-timeout")
    mercy = uwsgi_exit.mercy()
    if mercy is not None:
        return Limit(mercy, "uWSGI", "--worker-reload-mercy")
    from readme_metrics.delivery import reloader_stop  # (it builds on Limit)

    return reloader_stop.limit()


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


def _recycled_timeout() -> Optional[tuple[float, float]]:
    """In a gunicorn worker that ``--max-requests`` recycles (it served its share), or
    that ``--reload`` replaces (:func:`_reloading`): the master's heartbeat ``--timeout``
    in seconds, and the seconds since the worker's last
    heartbeat (None: no such worker, or no timeout)."""
    try:
        worker = _worker()
        served = _number(getattr(worker, "nr", None))
        share = _number(getattr(worker, "max_requests", None))
        seconds = _number(getattr(getattr(worker, "cfg", None), "timeout", None))
        recycled = served is not None and share is not None and served >= share
        if not (recycled or _reloading(worker)) or seconds is None or seconds <= 0:
            return None
    except Exception:  # another program's handler, of a shape of its own
        return None
    try:
        # gunicorn's heartbeat: its temporary file's mtime, set to time.monotonic(); the
        # file is closed by then at a sync worker's exit (the time since, its last
        # request's, is then taken for none: MARGIN).
        beat = _number(getattr(worker, "tmp").last_update())  # noqa: B009
    except Exception:
        beat = None
    since = time.monotonic() - beat if beat is not None else 0.0
    return seconds, min(max(0.0, since), seconds)


def _reloading(worker: object) -> bool:
    """The worker leaves for ``--reload``: its reloader thread saw a file change and
    ended (``sys.exit(0)`` in that thread), the worker's loop ends after it. No stop of
    the master's: its heartbeat ``--timeout`` bounds the exit, not
    ``--graceful-timeout`` (blackbox12: the close said "gunicorn's --graceful-timeout
    of 5s has its master SIGKILL this worker after that" at a reload, and gave up at
    4 s where ``shutdown_timeout`` was 8 s)."""
    reloader = getattr(worker, "reloader", None)
    if not isinstance(reloader, threading.Thread) or reloader.ident is None:
        return False
    if not reloader.is_alive():
        return True
    # Still in its callback (gunicorn's ``changed``: a 0.1 s sleep before its exit),
    # the worker's loop already left.
    frame = sys._current_frames().get(reloader.ident)
    while frame is not None:
        code = frame.f_code
        if code.co_name == "changed" and "gunicorn" in code.co_filename:
            return True
        frame = frame.f_back
    return False


def _number(value: object) -> Optional[float]:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


class _Watch:
    """This process's gunicorn worker, and the handlers of its stop wrapped."""

    __slots__ = ("pid", "worker", "noted", "set_term")

    def __init__(self, worker: object) -> None:
        self.pid = os.getpid()
        self.worker = worker
        self.noted: list[_Noted] = []
        #: SIGTERM's handler as the worker's ``init_signals`` left it (watch_fork).
        self.set_term: Optional[tuple[Any]] = None


#: The worker whose stop is watched in this process (None: none; a forked child's is
#: its own): what finds the worker and the signal's time where ``signal.getsignal`` no
#: longer shows the wrapper (an app's handler set over it, an asyncio loop's handler).
_watch: Optional[_Watch] = None


def _record(worker: object, noted: _Noted) -> None:
    global _watch
    watch = _watch
    if watch is None or watch.pid != os.getpid() or watch.worker is not worker:
        watch = _watch = _Watch(worker)
    watch.noted.append(noted)


def forget() -> None:
    """Forget the worker watched in this process (tests)."""
    global _watch
    _watch = None


class _Noted:
    """The worker's SIGTERM handler, wrapped: notes when the first signal came (what
    :func:`_worker` reads it through: ``__self__``, the worker, as for its method).
    Called as the handler is: ``(signum, frame)`` for ``signal.signal``'s, no argument
    for an asyncio loop's (gunicorn's ``-k asgi`` worker)."""

    __slots__ = ("handler", "__self__", "came")

    def __init__(self, handler: Any) -> None:
        self.handler = handler
        self.__self__ = getattr(handler, "__self__", None)
        self.came: Optional[float] = None

    def __call__(self, *args: Any) -> Any:
        if self.came is None:
            self.came = time.monotonic()
        return self.handler(*args)

    # As the handler it wraps to whoever reads it (signal.getsignal): an app comparing
    # it to its worker's handle_exit found it equal before the wrapper, and not with it
    # (review115); its attributes (``__func__``, ``__name__``, ...) are the handler's.
    def __eq__(self, other: object) -> bool:
        if isinstance(other, _Noted):
            other = other.handler
        return bool(self.handler == other)

    def __hash__(self) -> int:
        try:
            return hash(self.handler)
        except TypeError:  # (a handler of the app's, unhashable: only ever itself)
            return id(self)

    def __getattr__(self, name: str) -> Any:
        if name == "handler":  # (not set yet: a copy's, say)
            raise AttributeError(name)
        if name == "__wrapped__":
            return self.handler
        return getattr(self.handler, name)


def watch_stop() -> None:
    """In a gunicorn worker's main thread, its SIGTERM handler set (the app loaded in
    the worker): note when SIGTERM comes (:class:`_Noted`). Once per worker; anywhere
    else, nothing. Never raises."""
    try:
        if threading.current_thread() is not threading.main_thread():
            return
        handler = signal.getsignal(signal.SIGTERM)
        if isinstance(handler, _Noted):
            return
        worker = _worker()
        if worker is None:
            if "gunicorn.workers.base" in sys.modules:
                _watch_asgi(_worker_up_the_stack())
            return
        if not callable(handler) or _is_asgi(worker):
            return  # (SIG_DFL, SIG_IGN, a handler not set from Python; -k asgi's loop's)
        noted = _Noted(handler)
        signal.signal(signal.SIGTERM, noted)
        _record(worker, noted)
        if getattr(handler, "__self__", None) is worker:
            # As gunicorn set it: a SIGTERM does not interrupt the system calls of the
            # requests in flight (signal.signal made them interruptible again).
            signal.siginterrupt(signal.SIGTERM, False)
    except Exception:  # another program's handler, a platform without these calls
        pass


def _watch_asgi(worker: object) -> None:
    """Under gunicorn's ``-k asgi`` worker, its signal handlers set (the app loaded in
    the worker's main thread): its SIGTERM handler, one of its event loop's (asyncio's
    or uvloop's, which ``signal.getsignal`` does not show), is set again wrapped."""
    if not _is_asgi(worker):
        return
    handler = getattr(worker, "handle_exit_signal", None)
    loop = getattr(worker, "loop", None)
    if not callable(handler) or isinstance(handler, _Noted) or loop is None:
        return  # (wrapped by watch_fork before the worker set it)
    noted = _Noted(handler)
    loop.add_signal_handler(signal.SIGTERM, noted)
    _record(worker, noted)


def _worker_up_the_stack() -> Optional[object]:
    """The gunicorn worker whose method (``load_wsgi``; the master's ``spawn_worker``)
    is up the stack: its ``self`` or its ``worker``."""
    frame: Any = sys._getframe(2)
    for _ in range(64):
        if frame is None:
            return None
        for name in ("self", "worker"):
            candidate = frame.f_locals.get(name)
            if _is_worker(candidate):
                return candidate
        frame = frame.f_back
    return None


def watch_fork() -> None:
    """In a child gunicorn's master just forked (the app loaded in the master:
    ``--preload``), before the worker sets its signal handlers: its own SIGTERM handler
    (``handle_exit``; ``-k asgi``'s ``handle_exit_signal``) is wrapped on the worker
    object, so that the one gunicorn sets notes the signal. The worker is the local
    ``worker`` of the master's ``spawn_worker``, up the stack. Never raises."""
    try:
        if "gunicorn.arbiter" not in sys.modules:
            return
        worker = _worker_up_the_stack()
        if worker is None:
            return
        for name in ("handle_exit", "handle_exit_signal"):
            handler = getattr(worker, name, None)
            if callable(handler) and not isinstance(handler, _Noted):
                noted = _Noted(handler)
                setattr(worker, name, noted)
                _record(worker, noted)
        init_signals = getattr(worker, "init_signals", None)
        if callable(init_signals) and "init_signals" not in vars(worker):

            def noting_init_signals() -> None:
                init_signals()
                watch = _watch
                if watch is not None and watch.worker is worker:
                    watch.set_term = (signal.getsignal(signal.SIGTERM),)

            setattr(worker, "init_signals", noting_init_signals)  # noqa: B010
    except Exception:  # another program's frames or worker, of a shape of its own
        pass


def worker_set_term() -> Optional[tuple[Any]]:
    """SIGTERM's handler as this process's gunicorn worker set it, the app loaded in its
    master (:func:`watch_fork`), in a tuple; None: not known."""
    watch = _watch
    if watch is None or watch.pid != os.getpid():
        return None
    return watch.set_term


def stop_came() -> Optional[float]:
    """When this worker was told to stop (SIGTERM: ``time.monotonic()``), if noted: by
    the handler set, or by one this process wrapped that still saw it (called by the
    app's handler set over it, by gunicorn's, by the loop's)."""
    handler = signal.getsignal(signal.SIGTERM)
    noted = [handler] if isinstance(handler, _Noted) else []
    watch = _watch
    if watch is not None and watch.pid == os.getpid() and watch.worker is _worker():
        noted += watch.noted
    times = [each.came for each in noted if each.came is not None]
    return min(times) if times else None


def _is_asgi(worker: object) -> bool:
    gasgi = sys.modules.get("gunicorn.workers.gasgi")
    worker_class = getattr(gasgi, "ASGIWorker", None)
    return isinstance(worker_class, type) and isinstance(worker, worker_class)


def _is_worker(candidate: object) -> bool:
    base = sys.modules.get("gunicorn.workers.base")
    worker_class = getattr(base, "Worker", None)
    return isinstance(worker_class, type) and isinstance(candidate, worker_class)


def _worker() -> Optional[object]:
    """The gunicorn worker object of this process, found through a signal handler that
    is one of its methods: SIGTERM's (sync, gthread, ...), else SIGUSR1's, the one
    gunicorn handler uvicorn-worker's ``UvicornWorker`` keeps (uvicorn's ``Server``
    takes SIGTERM there). Any subclass of gunicorn's ``Worker`` (before delivery35 only
    classes of a ``gunicorn.`` module: a ``UvicornWorker``'s flush was not bounded).
    gunicorn is never imported here: a worker has it imported already."""
    for signum in (signal.SIGTERM, signal.SIGUSR1):
        worker = getattr(signal.getsignal(signum), "__self__", None)
        if _is_worker(worker):
            return worker
    # The one watched under -k asgi (its handlers are its loop's, not Python's).
    watch = _watch
    if watch is not None and watch.pid == os.getpid() and _is_asgi(watch.worker):
        return watch.worker
    return None


def close_bound(shutdown_timeout: float,
                start: Optional[float] = None) -> tuple[float, Optional[Limit]]:
    """The bound of a close in this process beginning at ``start`` (a
    ``time.monotonic()`` reading; now if None), and the server's limit (gunicorn's
    graceful timeout, uWSGI's mercy) where that is what bounds it (None:
    ``shutdown_timeout`` does): the time from the stop's signal (:func:`watch_stop`), if
    noted, is gone from it, as is the limit's own time already spent."""
    graceful = server_limit()
    if graceful is None:
        return shutdown_timeout, None
    bound = max(0.0, graceful - graceful.spent - min(MARGIN, graceful / 5)
                - since_stop(start))
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
