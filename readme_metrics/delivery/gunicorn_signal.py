"""Notes when a gunicorn worker's SIGTERM came: its handler wrapped where it is set.

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

The time the worker then has: :mod:`.gunicorn_stop`.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from typing import Any, Optional

from readme_metrics.frames import frames

__all__ = ["Noted", "find_worker", "forget", "noting", "stop_came", "watch_fork",
           "watch_stop", "worker_set_term"]


class _Watch:
    """This process's gunicorn worker, and the handlers of its stop wrapped."""

    __slots__ = ("pid", "worker", "noted", "set_term")

    def __init__(self, worker: object) -> None:
        self.pid = os.getpid()
        self.worker = worker
        self.noted: list[Noted] = []
        #: SIGTERM's handler as the worker's ``init_signals`` left it (watch_fork).
        self.set_term: Optional[tuple[Any]] = None


#: The worker whose stop is watched in this process (None: none; a forked child's is
#: its own): what finds the worker and the signal's time where ``signal.getsignal`` no
#: longer shows the wrapper (an app's handler set over it, an asyncio loop's handler).
_watch: Optional[_Watch] = None


def _record(worker: object, noted: Noted) -> None:
    global _watch
    watch = _watch
    if watch is None or watch.pid != os.getpid() or watch.worker is not worker:
        watch = _watch = _Watch(worker)
    watch.noted.append(noted)


def noting(worker: object, handler: Any) -> Noted:
    """``handler``, a stop's of ``worker`` that no other wrapper sees (uvicorn-worker's
    SIGQUIT: :mod:`.uvicorn_worker_quit`), wrapped so that :func:`stop_came` counts from
    it too."""
    noted = Noted(handler)
    _record(worker, noted)
    return noted


def forget() -> None:
    """Forget the worker watched in this process (tests)."""
    global _watch
    _watch = None


class Noted:
    """The worker's SIGTERM handler, wrapped: notes when the first signal came (what
    :func:`find_worker` reads it through: ``__self__``, the worker, as for its method).
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
        if isinstance(other, Noted):
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
    the worker): note when SIGTERM comes (:class:`Noted`). Once per worker; anywhere
    else, nothing. Never raises."""
    try:
        if threading.current_thread() is not threading.main_thread():
            return
        handler = signal.getsignal(signal.SIGTERM)
        if isinstance(handler, Noted):
            return
        worker = find_worker()
        if worker is None:
            if "gunicorn.workers.base" in sys.modules:
                _watch_asgi(_worker_up_the_stack())
            return
        from readme_metrics.delivery import gunicorn_quit  # (it wraps as Noted does)

        keep_beat(worker)
        gunicorn_quit.guard_set(worker)  # (gthread: a quit inside a quit, delivery82)
        if not callable(handler) or _is_asgi(worker):
            return  # (SIG_DFL, SIG_IGN, a handler not set from Python; -k asgi's loop's)
        noted = Noted(handler)
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
    if not callable(handler) or isinstance(handler, Noted) or loop is None:
        return  # (wrapped by watch_fork before the worker set it)
    noted = Noted(handler)
    loop.add_signal_handler(signal.SIGTERM, noted)
    _record(worker, noted)


def _worker_up_the_stack() -> Optional[object]:
    """The gunicorn worker whose method (``load_wsgi``; the master's ``spawn_worker``)
    is up the stack: its ``self`` or its ``worker``. Only those methods' frames are read:
    before 3.13 ``f_locals`` copies a frame's locals into a dict kept on the frame until
    its next read, and a caller's local read so (the last app of an app-making loop, the
    ``made`` of ``del made``) stayed alive as long as the caller ran (flaky34)."""
    codes = _gunicorn_method_codes()
    for _, frame in zip(range(64), frames(sys._getframe(2))):  # (64 frames at most)
        if frame.f_code not in codes:
            continue
        for name in ("self", "worker"):
            candidate = frame.f_locals.get(name)
            if _is_worker(candidate):
                return candidate
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
            if callable(handler) and not isinstance(handler, Noted):
                noted = Noted(handler)
                setattr(worker, name, noted)
                _record(worker, noted)
        from readme_metrics.delivery import gunicorn_quit  # (it wraps as Noted does)

        keep_beat(worker)
        gunicorn_quit.guard_fork(worker)  # (gthread: a quit inside a quit, delivery82)
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


def keep_beat(worker: object) -> None:
    """The worker's heartbeat file keeps its last beat (``last_beat``: its
    ``last_update()``) as it closes: a worker's exit closes it before the atexit close,
    which counts gunicorn's ``--timeout`` from that beat (gunicorn_stop: a sync worker
    beats only between requests, so its last beat came before its last request began;
    flaky60: a last request of 5 s, ``--timeout=8``, the close counted 7 s from its own
    start, and the master aborted it 3 s in). Once per file; never raises."""
    try:
        tmp = getattr(worker, "tmp", None)
        close = getattr(tmp, "close", None)
        last_update = getattr(tmp, "last_update", None)
        if not callable(close) or not callable(last_update) or "close" in vars(tmp):
            return

        def closing() -> None:
            try:
                tmp.last_beat = last_update()  # type: ignore[union-attr]
            except Exception:  # closed already, another program's file
                pass
            close()

        tmp.close = closing  # type: ignore[union-attr]
    except Exception:  # another program's worker, of a shape of its own
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
    noted = [handler] if isinstance(handler, Noted) else []
    watch = _watch
    if watch is not None and watch.pid == os.getpid() and watch.worker is find_worker():
        noted += watch.noted
    times = [each.came for each in noted if each.came is not None]
    return min(times) if times else None


def _is_asgi(worker: object) -> bool:
    gasgi = sys.modules.get("gunicorn.workers.gasgi")
    worker_class = getattr(gasgi, "ASGIWorker", None)
    return isinstance(worker_class, type) and isinstance(worker, worker_class)


def _gunicorn_method_codes() -> set[Any]:
    """The code of each method of gunicorn's ``Arbiter`` and of every class made from its
    ``Worker`` (uvicorn-worker's, a project's own): the frames whose ``self`` or
    ``worker`` may be the worker. Only classes already imported are looked at."""
    classes: list[Any] = [getattr(sys.modules.get("gunicorn.arbiter"), "Arbiter", None),
                          getattr(sys.modules.get("gunicorn.workers.base"), "Worker", None)]
    codes: set[Any] = set()
    seen: set[int] = set()
    while classes:
        cls = classes.pop()
        if not isinstance(cls, type) or id(cls) in seen:
            continue
        seen.add(id(cls))
        classes.extend(type.__subclasses__(cls))
        for value in vars(cls).values():
            code = getattr(getattr(value, "__func__", value), "__code__", None)
            if code is not None:
                codes.add(code)
    return codes


def _is_worker(candidate: object) -> bool:
    base = sys.modules.get("gunicorn.workers.base")
    worker_class = getattr(base, "Worker", None)
    return isinstance(worker_class, type) and isinstance(candidate, worker_class)


def find_worker() -> Optional[object]:
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
