"""A SIGTERM that reaches a hypercorn worker while it serves: the library's close runs
first, then that SIGTERM ends the worker, as without the library.

hypercorn's CLI serves from worker processes (``multiprocessing``'s spawn; one with no
``--workers``) that leave SIGTERM at its default: its parent takes SIGTERM and tells
them to stop through an event. A SIGTERM to the whole process group (systemd's default
``KillMode=control-group``, ``kill -TERM -- -<pgid>``) reaches each worker at the same
moment, and killed it before any close began: what it held was lost, nothing said
(delivery44's sweep, API answering in 1 s, 4 clients: ``hypercorn`` 281 of 1,850 served,
``-w 1`` 441 of 1,367, ``-w 2`` 181 of 1,153; the parent exited 0 in 0.11 s).

In such a worker (its ``multiprocessing`` target is hypercorn's) the library sets a
handler for SIGTERM as it starts in the main thread. At a SIGTERM while it serves:

- the worker stops as at hypercorn's stop event (its own copy of it reads set: the
  event is shared, and a SIGTERM to this worker alone must not stop the others, which
  hypercorn's parent then replaced); the worker stops taking connections now, not after
  the close (its parent sets the event anyway once a worker ended);
- the exit's close (:func:`.process.close_all`, within ``shutdown_timeout``) runs in a
  thread of its own (the signal came in the loop's thread, which may hold the queue's
  lock), saying what it gave up on as every close does;
- then the same SIGTERM, at its default again, ends the worker: killed by signal 15, as
  bare, so hypercorn's parent does what it did (it stops; exit status 0, as bare).

A SIGTERM while this close runs (hypercorn's ``terminate()`` of the other workers once
one has ended: each had its own SIGTERM from the group's, and its close under way) is let
be: the close keeps its bound and ends the worker by SIGTERM all the same (SIGKILL stops
it sooner). A SIGTERM during the lifespan's flush of a stop of the parent's alone (no
SIGTERM had reached the worker) ends it at once, said, then the worker
(:mod:`.second_interrupt`, as before). Nothing is set elsewhere while serving: uvicorn's
and gunicorn's workers handle SIGTERM themselves (the same sweep: every call delivered);
a uvicorn process whose ``serve`` ended, SIGTERM back at its default for its exit, has
the same handler from then on (:mod:`.uvicorn_exit`, delivery67).
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from types import FrameType
from typing import TYPE_CHECKING, Any, Optional

from readme_metrics.delivery import c_signals, process, second_interrupt
from readme_metrics.threads import start_thread

if TYPE_CHECKING:
    import asyncio

__all__ = ["in_hypercorn_worker", "supervisor_waits", "take_sigterm", "watch"]

#: The process whose SIGTERM is watched (a spawned worker's own; 0: none).
_watched_pid = 0


def watch() -> None:
    """In a hypercorn worker's main thread, with SIGTERM at its default (Python's and
    the system's): set :class:`_Handler` for it. Once per process; never raises."""
    if in_hypercorn_worker():
        take_sigterm()


def take_sigterm(instead_of: Any = None) -> Any:
    """In the main thread, with SIGTERM at its default (Python's and the system's), or
    at ``instead_of`` (:mod:`.uvicorn_exit`'s stand-in for it): set :class:`_Handler`
    for it (a SIGTERM then has the close run first, then ends the process as bare).
    Once per process; the handler set (or already set here), else None. Never raises."""
    global _watched_pid
    if _watched_pid == os.getpid():
        return signal.getsignal(signal.SIGTERM)
    try:
        current = signal.getsignal(signal.SIGTERM)
        if threading.current_thread() is not threading.main_thread() or not (
                (instead_of is not None and current is instead_of)
                or (current == signal.SIG_DFL
                    and second_interrupt.in_force(signal.SIGTERM, signal.SIG_DFL))):
            return None
        handler = _Handler()
        signal.signal(signal.SIGTERM, handler)
        _watched_pid = os.getpid()
        return handler
    except (ValueError, OSError, TypeError, AttributeError):  # pragma: no cover
        return None


def in_hypercorn_worker() -> bool:
    """This process is a worker hypercorn's CLI spawned (its target is hypercorn's)."""
    return _target_module().startswith("hypercorn.")


def supervisor_waits() -> bool:
    """This process is a worker uvicorn spawned (``--workers N``, ``--reload``): its
    supervisor, at its own stop or a reload, sends it one SIGTERM, then waits for it
    (``join``), with no SIGKILL after (uvicorn's supervisors/multiprocess.py,
    basereload.py): a SIGTERM there while the exit's close runs need not cut it."""
    return _target_module().startswith("uvicorn.")


def _target_module() -> str:
    mp_process = sys.modules.get("multiprocessing.process")
    if mp_process is None:
        return ""
    try:
        if mp_process.parent_process() is None:
            return ""
        target = getattr(mp_process.current_process(), "_target", None)
    except Exception:  # pragma: no cover - multiprocessing's own state
        return ""
    return str(getattr(target, "__module__", "") or "")


class _Handler:
    """The worker's SIGTERM: the close, then the SIGTERM as bare."""

    def __init__(self) -> None:
        self.closing = False
        self.closed = False
        #: The worker's event loop as the SIGTERM came (its calls are waited for).
        self.loop: Optional[asyncio.AbstractEventLoop] = None

    @property
    def default_action(self) -> bool:
        """Until a SIGTERM came, it stands for SIG_DFL: :mod:`.second_interrupt` wraps
        it as it does SIG_DFL while a close runs (the lifespan's flush at a stop of the
        parent's: a SIGTERM then ends it at once, said). Not once its own close runs,
        nor in a uvicorn worker (:func:`supervisor_waits`): there a SIGTERM during the
        exit's close (the supervisor's, after the group's) comes here, its close waits
        for that one, within its bound, then ends the worker (delivery76)."""
        return not self.closing and not supervisor_waits()

    def __call__(self, signum: int, frame: Optional[FrameType]) -> Any:
        if self.closed:  # (the close's end, sent by its thread: the SIGTERM as bare)
            second_interrupt.end()
            return None
        if self.closing:
            # hypercorn's terminate() of the other workers once one has ended (under a
            # group's SIGTERM, each worker's close began at its own): the close under
            # way goes on, within its bound, and ends the worker by SIGTERM all the same.
            return None
        self.closing = True
        # No loop runs where asyncio was never imported (a WSGI server's worker): asyncio
        # is not imported by this module, for a start that does not need it (import49).
        running = getattr(sys.modules.get("asyncio"), "get_running_loop", None)
        try:
            # (the handler runs in the loop's thread)
            self.loop = running() if running is not None else None
        except RuntimeError:
            self.loop = None  # (trio's worker class: not waited for, as before)
        if start_thread(self._close, "readme-metrics-sigterm", daemon=False) is None:
            second_interrupt.said_then_ended()  # (no thread: said, as before)
        return None

    def _close(self) -> None:
        try:
            # (Here, not in the handler: the main thread may hold the event's lock, in
            # hypercorn's poll of it, as the signal came.)
            began = time.monotonic()
            _stop_hypercorn()
            if self.loop is not None:
                _calls_end(self.loop, process.exit_budget() / 2)
            process.close_all(began)
        finally:
            self.closed = True
            _end_from_thread()


def _stop_hypercorn() -> None:
    """This worker alone stops as at hypercorn's stop event (the worker's
    ``shutdown_event``, which it polls by ``is_set()``): its own copy of the event reads
    set; never raises.

    Not ``event.set()``: the event is one for hypercorn's parent and every worker. Set at
    a SIGTERM to one worker alone (``kill <worker pid>`` under ``--workers 2``), it
    stopped the others too, each exiting 0, and the parent (which stops at a worker's
    non-zero exit or its own signal) spawned a new worker in each one's place, which
    found the event set, stopped and was spawned again, for as long as the close ran
    (review132: 4 workers started, not 2). Bare, no worker is spawned: the killed
    worker's -15 stops the server, as it does here once the close has ended."""
    mp_process = sys.modules.get("multiprocessing.process")
    if mp_process is None:  # pragma: no cover - a hypercorn worker has it
        return
    try:
        kwargs = getattr(mp_process.current_process(), "_kwargs", None) or {}
        event = kwargs.get("shutdown_event")
        if event is not None:
            event.is_set = _stopped  # (an attribute of this process's copy alone)
            event.wait = _stopped
    except Exception:  # pragma: no cover - hypercorn's own state
        pass


def _calls_end(loop: asyncio.AbstractEventLoop, timeout: float) -> None:
    """Wait, at most ``timeout`` seconds, for the ASGI middleware's calls the worker's
    loop still runs: one whose client had its answer queues its log only after its last
    ``send`` returned. A SIGTERM in that window began the close with nothing queued: it
    ended at once, unsaid, and its SIGTERM killed the worker before the log came
    (flaky36: lost unsaid, review132's test under load). Half the close's bound at most:
    a long stream leaves the logs already queued the rest. Never raises."""
    outlive = sys.modules.get("readme_metrics.capture.asgi_outlive")
    middleware = getattr(sys.modules.get("readme_metrics.capture.asgi"),
                         "MetricsMiddleware", None)
    if outlive is None or middleware is None or not 0 < timeout < 1e6:
        return
    if not loop.is_running():  # (serve ended: no call runs; delivery72)
        return
    ended = threading.Event()

    def watch_calls() -> None:  # (in the loop's thread)
        try:
            calls = outlive.running_calls(loop, middleware.__call__.__code__)
        except Exception:  # pragma: no cover - the loop's own state
            calls = []
        left = [len(calls)]

        def one_done(_: object) -> None:
            left[0] -= 1
            if not left[0]:
                ended.set()
        for call in calls:
            call.add_done_callback(one_done)
        if not calls:
            ended.set()

    try:
        loop.call_soon_threadsafe(watch_calls)
    except Exception:  # (the loop closed meanwhile: its calls have ended)
        return
    ended.wait(timeout)


def _stopped(*_: object) -> bool:
    """What this worker's copy of hypercorn's stop event answers once its close began."""
    return True


def _end_from_thread() -> None:
    """End the process by SIGTERM at its default from a thread that is not the main one
    (which alone may set Python's handler): the system's handler set back (:mod:`.c_signals`),
    else the signal goes to :class:`_Handler` in the main thread, which ends it there."""
    c_signals.set_handler(signal.SIGTERM, 0)  # (SIG_DFL; unset: the main thread ends it)
    try:
        os.kill(os.getpid(), signal.SIGTERM)
    except OSError:  # pragma: no cover
        pass
