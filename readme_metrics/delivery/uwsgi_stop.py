"""A uWSGI worker stopped while it serves a request: its close runs first (flake30).

uWSGI's stop (SIGINT, SIGQUIT, or SIGTERM with ``--die-on-term``: "killing workers"),
its brutal reload (SIGTERM without it) and ``--harakiri``'s first signal send each
worker SIGINT or SIGTERM, whose C handler (``end_me``) calls ``exit()`` at once. Its
python plugin's exit (``uwsgi_python_atexit``, uWSGI 2.0.30) returns before anything
when the worker is in a request (``uwsgi_worker_is_busy``: from the accept of a request
to the end of uWSGI's ``uwsgi_close_request``, after the client had its answer and
before uWSGI writes its request line): neither ``uwsgi.atexit`` nor ``Py_Finalize``
(``atexit``) runs, with or without ``--skip-atexit-teardown``, and no Python runs in the
master at its exit. Every log the worker held (those waiting for their batch, and the
request's own) was lost with no line: CI39, a request whose client had its 200; 2 of 2
in a worker stopped while its answer's ``close()`` ran.

So in each worker (:func:`install`: from ``uwsgi.post_fork_hook``, on the worker's main
thread, before it serves or starts a thread; with ``--lazy-apps``, as the middleware is
made there) SIGINT and SIGTERM are blocked, in every thread it starts after that too,
and a thread of the library's waits for them (``sigwait``). When one comes it runs the
library's exit (``process.close_all``: the request in flight logged as far as it went,
every log sent within ``shutdown_timeout`` and the mercy, what is not said), then has
uWSGI's own handler take the signal in that thread, which ends the worker as before.
SIGHUP (the graceful reload) and the rest are uWSGI's as they were.

Not under ``--skip-atexit`` (said as the middleware is made: ``uwsgi_exit``), nor
outside uWSGI. Never raises.
"""

from __future__ import annotations

import atexit
import os
import signal
import sys
import threading
from typing import Any, Callable, Optional

from readme_metrics.delivery import uwsgi_exit

__all__ = ["install"]

#: The signals uWSGI's worker ends on (``end_me``).
STOPS = frozenset({signal.SIGINT, signal.SIGTERM})
#: ``end_me``'s exit status (uWSGI's ``UWSGI_END_CODE``).
END_CODE = 30

_close: Optional[Callable[[], None]] = None
_hooked = False
_pid = 0  # the worker whose thread waits
# What Python said each stop signal's handler was as the thread began (uWSGI's C
# handler shows as None, or as the handler Python had before uWSGI set its own): one set
# since (signal.signal) is the app's, and gets the signal.
_found: dict[int, Any] = {}


def install(close_all: Callable[[], None]) -> None:
    """Under uWSGI: in each worker (now, in a worker's main thread; else at each fork,
    from ``uwsgi.post_fork_hook``, the app's own still called after), the thread that
    runs ``close_all`` as uWSGI stops it. Elsewhere nothing."""
    global _close, _hooked
    uwsgi, options = uwsgi_exit.uwsgi_options()
    if (uwsgi is None or _hooked or not hasattr(signal, "pthread_sigmask")
            or uwsgi_exit.given(options, "skip-atexit")):
        return
    _close, _hooked = close_all, True
    try:
        if uwsgi.worker_id() > 0:  # made in the worker (--lazy-apps): it forked already
            _in_worker()
            return
        previous: Any = getattr(uwsgi, "post_fork_hook", None)

        def post_fork() -> None:
            try:
                _in_worker()
            finally:
                if callable(previous):
                    previous()

        uwsgi.post_fork_hook = post_fork
    except Exception:  # (a module that refuses the attribute: nothing done)
        pass


def _in_worker() -> None:
    """In a worker's main thread: block the stop signals, and start the thread that
    takes them. Without the thread, nothing stays blocked."""
    global _pid
    uwsgi = sys.modules.get("uwsgi")
    if (uwsgi is None or _pid == os.getpid()
            or threading.current_thread() is not threading.main_thread()):
        return
    try:
        if uwsgi.worker_id() <= 0:
            return  # the master's own fork of something else (a mule, the spooler)
        _found.update((stop, signal.getsignal(stop)) for stop in STOPS)
        before = signal.pthread_sigmask(signal.SIG_BLOCK, STOPS)
    except Exception:  # noqa: BLE001
        return
    try:
        threading.Thread(target=_wait, name="readme-metrics-uwsgi-stop",
                         daemon=True).start()
    except Exception:  # noqa: BLE001 - no thread: uWSGI's handler takes them, as before
        signal.pthread_sigmask(signal.SIG_SETMASK, before)
        return
    _pid = os.getpid()


def _wait() -> None:
    """The thread: wait for a stop signal, run the close, then end the worker as uWSGI's
    handler would. A handler of the app's (a Python one) gets the signal instead, and
    the next one is waited for again."""
    while True:
        taken = signal.sigwait(STOPS)
        try:
            if _close is not None:
                _close()
        except Exception:  # noqa: BLE001 - (close_all never raises)
            pass
        handler = signal.getsignal(taken)
        if handler is _found.get(taken):  # uWSGI's own (end_me, a C handler)
            _end_me()
        elif handler is not signal.SIG_IGN:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, STOPS)  # (this thread only)
            signal.raise_signal(taken)  # the app's, or the default action's end
            signal.pthread_sigmask(signal.SIG_BLOCK, STOPS)


def _end_me() -> None:
    """What uWSGI's ``end_me`` does, ``exit(30)``, from this thread: its python plugin's
    exit calls ``uwsgi.atexit``, then ``Py_Finalize`` (``atexit``; not under
    ``--skip-atexit-teardown``), only when the worker is not in a request. Not
    ``exit()`` itself: ``Py_Finalize`` from a thread other than the main one waits for
    the main thread to end, which never comes (the worker hung until the master's
    mercy)."""
    try:
        uwsgi, options = uwsgi_exit.uwsgi_options()
        if uwsgi is not None and not _busy(uwsgi):
            at_uwsgi_exit = getattr(uwsgi, "atexit", None)
            if callable(at_uwsgi_exit):
                at_uwsgi_exit()
            if not uwsgi_exit.given(options, "skip-atexit-teardown"):
                atexit._run_exitfuncs()
    except BaseException:  # noqa: BLE001 - an app's exit function that raised: ended all the same
        pass
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except BaseException:  # noqa: BLE001
            pass
    os._exit(END_CODE)


def _busy(uwsgi: Any) -> bool:
    """Whether uWSGI counts this worker in a request (``uwsgi_worker_is_busy``)."""
    me = uwsgi.worker_id()
    for worker in uwsgi.workers():
        if worker.get("id") == me:
            status = worker.get("status")  # (bytes: b"idle", b"busy", ...)
            if isinstance(status, bytes):
                status = status.decode("ascii", "replace")
            return status not in ("idle", "cheap", "pause")
    return True
