"""Inline mode: the log of a WSGI response dropped without ``close()``, sent without
waiting for another request.

A server that drops a response unclosed (werkzeug's development server does when the
client resets the connection while it drains unread input after the answer) leaves the
log to the response's finalizer, which can only hand it over (see
:meth:`~readme_metrics.pipeline.MetricsPipeline.hand_over`): it runs wherever the cyclic
GC does. In background mode the log was queued when the iteration ended; in inline mode
(``background_worker_mode=False``) it would wait for the next request, ``flush``,
``stats`` or ``close``, and with none coming (a process stopped by SIGTERM) be lost.

:func:`ready` starts, from ordinary code, one daemon thread per process that waits for
:func:`wake`; :func:`wake`, safe in a finalizer (``SimpleQueue.put`` takes no lock that
other code holds), has that thread run the pipeline's handed-over work, which may send.
"""

from __future__ import annotations

import os
import threading
from queue import SimpleQueue
from typing import TYPE_CHECKING, Callable, Optional

if TYPE_CHECKING:
    from readme_metrics.pipeline import MetricsPipeline

__all__ = ["call_soon", "ready", "wake"]

_wakes: SimpleQueue[Callable[[], object]] = SimpleQueue()
_lock = threading.Lock()
_pid: Optional[int] = None  # the process whose thread waits on _wakes


def ready() -> None:
    """Make sure this process has the thread :func:`wake` wakes (not from a finalizer);
    where none can start, try again next time. Never raises."""
    global _pid, _wakes
    if _pid == os.getpid():
        return
    with _lock:
        if _pid == os.getpid():
            return
        if _pid is not None:  # a forked child: the parent's queue and thread are not its own
            _wakes = SimpleQueue()
        try:
            threading.Thread(target=_run, args=(_wakes,), name="readme-metrics-unclosed",
                             daemon=True).start()
        except RuntimeError:  # no thread can start (a thread limit, interpreter exit): a
            return  # response dropped unclosed waits for the next request, as before
        _pid = os.getpid()


def wake(pipeline: MetricsPipeline) -> None:
    """Have the thread run ``pipeline``'s handed-over work now; nothing without one."""
    call_soon(pipeline.run_handed_over)


def call_soon(work: Callable[[], object]) -> None:
    """Have the thread run ``work`` (which never raises) now; nothing without one. Safe
    in a finalizer. Also used for a dropped middleware's last logs (pipeline.py)."""
    if _pid == os.getpid():
        _wakes.put(work)


def _run(wakes: SimpleQueue[Callable[[], object]]) -> None:
    while True:
        _call(wakes.get())


def _call(work: Callable[[], object]) -> None:
    # A function of its own: what ``work`` holds is not kept alive until the next wake.
    try:
        work()
    except Exception:  # noqa: BLE001 - the work never raises; keep the thread
        pass
