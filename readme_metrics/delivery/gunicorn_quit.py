"""gunicorn's gthread worker's quit handler, kept from deadlocking on its own pool's lock.

gunicorn's ``ThreadWorker.handle_quit`` (SIGINT, SIGQUIT) calls its thread pool's
``shutdown``, which takes the pool's lock (``ThreadPoolExecutor._shutdown_lock``, not
reentrant), as its ``submit`` does. Python runs a signal's handler in the main thread
wherever that thread is, so two cases deadlock the worker until the master's SIGKILL,
``--graceful-timeout`` (30 s) later, said as "Worker (pid:N) was sent SIGKILL! Perhaps
out of memory?":

- at Ctrl-C the worker gets SIGINT from the terminal and SIGQUIT from its master: the
  second one's handler run inside the first one's ``shutdown``, its lock held;
- a SIGINT (or SIGQUIT) handled while the main thread is in ``submit``, handing a
  connection to the pool, its lock held.

The bare app deadlocks the same way when the signals come at those points (gunicorn's
own bug, tests/test_delivery82_gthread_quit; 3 of 14 Ctrl-C stops after 3 s of load,
``-w 2 --threads 4``). The wrapped worker met them more often (7 of 16; blackbox23: 6
of 13; a Metrics API answering in 250 ms). The middleware sets no SIGINT or SIGQUIT
handler of its own there (before this) and leaves the switch interval alone: its sender
threads, encoding and sending what the load left queued, want the GIL as the signals
come, so the main thread gives it up (at the 5 ms switch interval) more often inside
the locked lines, where it then meets the next signal.

So in a gthread worker the handlers of SIGINT and SIGQUIT are wrapped
(:class:`QuitOnce`): a quit that finds a quit already running up the interrupted stack
returns (that one goes on to the worker's exit), one that finds the pool's ``submit`` or
``shutdown`` there (its lock held by this very thread) quits as gunicorn's base worker
does, without the pool's shutdown (the interpreter's exit ends the pool's threads), and
any other runs gunicorn's handler as it is.
"""

from __future__ import annotations

import signal
import sys
from types import FrameType
from typing import Any, Optional

from readme_metrics.delivery.gunicorn_signal import Noted
from readme_metrics.frames import frames

__all__ = ["QuitOnce", "guard_fork", "guard_set"]

#: The quit signals gunicorn's worker gives ``handle_quit``.
_QUITS = ("SIGINT", "SIGQUIT")


class QuitOnce(Noted):
    """gunicorn's gthread ``handle_quit``, wrapped: see the module. As the handler it
    wraps to whoever reads it (``signal.getsignal``, equality, its attributes); the
    time it came is not noted (the close counts from SIGTERM only)."""

    __slots__ = ()

    def __call__(self, *args: Any) -> Any:
        try:
            held = _held(args[1] if len(args) > 1 else None, self.__self__)
        except Exception:  # another program's frames, of a shape of its own
            held = None
        if held == "quitting":
            return None  # (the quit up the stack goes on to the worker's exit)
        if held == "pool":
            base = sys.modules.get("gunicorn.workers.base")
            return base.Worker.handle_quit(self.__self__, *args)  # type: ignore[union-attr]
        return self.handler(*args)


def _is_gthread(worker: object) -> bool:
    gthread = sys.modules.get("gunicorn.workers.gthread")
    worker_class = getattr(gthread, "ThreadWorker", None)
    return isinstance(worker_class, type) and isinstance(worker, worker_class)


def _codes() -> tuple[set[Any], set[Any]]:
    """The codes of a quit running (this wrapper's, gthread's ``handle_quit``), and of
    the pool's methods that hold its lock."""
    from concurrent.futures import ThreadPoolExecutor

    gthread = sys.modules.get("gunicorn.workers.gthread")
    quitting = {QuitOnce.__call__.__code__}
    handle_quit = getattr(getattr(gthread, "ThreadWorker", None), "handle_quit", None)
    code = getattr(handle_quit, "__code__", None)
    if code is not None:
        quitting.add(code)
    pool = {ThreadPoolExecutor.submit.__code__, ThreadPoolExecutor.shutdown.__code__}
    return quitting, pool


def _held(frame: Optional[FrameType], worker: object) -> Optional[str]:
    """What the interrupted main thread holds: "quitting" (a quit up its stack),
    "pool" (the worker's pool's ``submit`` or ``shutdown``: its lock), or None."""
    quitting, pool = _codes()
    tpool = getattr(worker, "tpool", None)
    found = None
    for _, each in zip(range(256), frames(frame)):  # (256 frames at most)
        code = each.f_code
        if code in quitting:
            return "quitting"
        if found is None and code in pool and each.f_locals.get("self") is tpool:
            found = "pool"
    return found


def guard_set(worker: object) -> None:
    """In a gthread worker's main thread, its handlers set (the app loaded in the
    worker): SIGINT's and SIGQUIT's, where they are the worker's ``handle_quit``, set
    again wrapped (:class:`QuitOnce`). Elsewhere nothing. Never raises."""
    try:
        if not _is_gthread(worker):
            return
        for name in _QUITS:
            signum = getattr(signal, name, None)
            if signum is None:
                continue
            handler = signal.getsignal(signum)
            if (isinstance(handler, QuitOnce) or not callable(handler)
                    or getattr(handler, "__self__", None) is not worker
                    or getattr(handler, "__name__", None) != "handle_quit"):
                continue
            signal.signal(signum, QuitOnce(handler))
    except Exception:  # a platform without these signals, another program's handler
        pass


def guard_fork(worker: object) -> None:
    """In a gthread worker just forked (the app loaded in the master: ``--preload``),
    before it sets its handlers: its ``handle_quit`` wrapped on the worker object, so
    that the one gunicorn sets for SIGINT and SIGQUIT is. Never raises."""
    try:
        handler = getattr(worker, "handle_quit", None)
        if _is_gthread(worker) and callable(handler) and not isinstance(handler, QuitOnce):
            setattr(worker, "handle_quit", QuitOnce(handler))  # noqa: B010
    except Exception:  # another program's worker, of a shape of its own
        pass
