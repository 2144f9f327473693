"""delivery82, in this process: the gthread worker's quit handler wrapped by
``gunicorn_quit.QuitOnce``, called where Ctrl-C's signals met it (a real gunicorn
``ThreadWorker`` object and its real thread pool; no server: the e2e stops are in
tests/test_delivery82_gthread_quit.py)."""

from __future__ import annotations

import signal
import sys
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, Iterator

import pytest

from readme_metrics.delivery import gunicorn_quit

gthread = pytest.importorskip("gunicorn.workers.gthread")


class _Cfg:
    @staticmethod
    def worker_int(worker: Any) -> None:
        worker.interrupted = True


@pytest.fixture
def worker() -> Iterator[Any]:
    made = gthread.ThreadWorker.__new__(gthread.ThreadWorker)
    made.cfg = _Cfg()
    made.alive = True
    made.tpool = ThreadPoolExecutor(max_workers=1)
    try:
        yield made
    finally:
        made.tpool.shutdown(wait=True)


class _Queue:
    """The pool's work queue, calling ``at_put`` as the pool puts (its lock held)."""

    def __init__(self, queue: Any, at_put: Callable[[], None]) -> None:
        self._queue, self._at_put = queue, at_put

    def put(self, item: Any, *args: Any) -> None:
        at_put, self._at_put = self._at_put, lambda: None  # (once)
        at_put()
        self._queue.put(item, *args)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._queue, name)


def _quit(handler: Any) -> None:
    handler(signal.SIGQUIT, sys._getframe(1))


def test_a_quit_inside_a_quit_returns_and_the_outer_one_exits(worker: Any) -> None:
    """SIGQUIT's handler run inside SIGINT's, the pool's ``shutdown`` holding its lock:
    it returns (before, gunicorn's waited for that lock for ever)."""
    quit_once = gunicorn_quit.QuitOnce(worker.handle_quit)
    inner: list[Any] = []
    worker.tpool._work_queue = _Queue(worker.tpool._work_queue,
                                      lambda: inner.append(_quit(quit_once)))
    with pytest.raises(SystemExit):
        quit_once(signal.SIGINT, sys._getframe())
    assert inner == [None] and worker.tpool._shutdown and worker.interrupted


def test_a_quit_inside_the_pools_submit_exits_without_its_shutdown(worker: Any) -> None:
    """SIGINT's handler run as the main thread hands a connection to the pool (its lock
    held): the worker exits as gunicorn's base worker does, the pool not shut down
    (before: its shutdown waited for the lock this thread held)."""
    quit_once = gunicorn_quit.QuitOnce(worker.handle_quit)
    worker.tpool._work_queue = _Queue(worker.tpool._work_queue,
                                      lambda: _quit(quit_once))
    with pytest.raises(SystemExit):
        worker.tpool.submit(int)
    assert not worker.tpool._shutdown and worker.interrupted and not worker.alive
    assert not worker.tpool._shutdown_lock.locked()


def test_a_quit_elsewhere_is_gunicorns(worker: Any) -> None:
    quit_once = gunicorn_quit.QuitOnce(worker.handle_quit)
    with pytest.raises(SystemExit):
        quit_once(signal.SIGINT, sys._getframe())
    assert worker.tpool._shutdown and worker.interrupted
    # As the handler it wraps to whoever reads it (as gunicorn_signal.Noted).
    assert quit_once == worker.handle_quit and quit_once.__name__ == "handle_quit"


def test_only_a_gthread_workers_quit_is_wrapped(worker: Any) -> None:
    """A sync worker's handlers are left as they are (its quit takes no lock); a gthread
    worker's are wrapped, once."""
    base = pytest.importorskip("gunicorn.workers.base")
    before = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGQUIT)
    sync = base.Worker.__new__(base.Worker)
    try:
        for each, wrapped in ((sync, False), (worker, True), (worker, True)):
            if not isinstance(signal.getsignal(signal.SIGINT), gunicorn_quit.QuitOnce):
                signal.signal(signal.SIGINT, each.handle_quit)
                signal.signal(signal.SIGQUIT, each.handle_quit)
            gunicorn_quit.guard_set(each)
            for signum in (signal.SIGINT, signal.SIGQUIT):
                handler = signal.getsignal(signum)
                assert isinstance(handler, gunicorn_quit.QuitOnce) is wrapped
                assert getattr(handler, "__self__", None) is each
                assert not isinstance(getattr(handler, "handler", None),
                                      gunicorn_quit.QuitOnce)  # (not wrapped twice)
    finally:
        signal.signal(signal.SIGINT, before[0])
        signal.signal(signal.SIGQUIT, before[1])
