"""A small pool of named daemon threads, started lazily, restarted after fork.

It knows nothing of logs or HTTP: each thread runs ``target()`` until it returns. The
first thread starts on :meth:`WorkerPool.start`; :meth:`WorkerPool.grow` adds one more,
up to ``size``. A forked child inherits the pool object but not its threads: the pid
check makes the child start its own (as sentry-python's ``BackgroundWorker`` does).
"""

from __future__ import annotations

import os
import threading
import time
from typing import Callable

from readme_metrics._process_id import getpid
from readme_metrics.threads import start_thread


class WorkerPool:
    """Up to ``size`` daemon threads named ``name`` running ``target``.

    .. code-block:: python

        pool = WorkerPool(loop, name="readme-metrics-worker", size=16)
        pool.start()            # one thread, if none runs in this process
        pool.grow()             # one more, if fewer than size run
        pool.join(deadline)     # wait (up to a monotonic deadline) for all to return
    """

    def __init__(self, target: Callable[[], None], *, name: str, size: int) -> None:
        self._target = target
        self._name = name
        self._size = max(1, size)
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._pid = os.getpid()
        #: Why the last thread could not start (``"RuntimeError: can't start new thread"``).
        self.failure = ""

    def start(self) -> bool:
        """Make sure one thread runs; False if none can be started (interpreter exit)."""
        return self._spawn(1)

    def grow(self) -> bool:
        """Start one more thread unless ``size`` already run; True if one was started."""
        with self._lock:
            want = len(self._alive_locked()) + 1
        return self._spawn(want) and self.running() >= want

    def running(self) -> int:
        """Threads of this pool alive in this process."""
        with self._lock:
            return len(self._alive_locked())

    def owns(self, thread: threading.Thread) -> bool:
        """True if ``thread`` is one of this pool's threads."""
        with self._lock:
            return thread in self._threads

    def join(self, deadline: float) -> bool:
        """Wait for every thread (but the caller) to return, at most until ``deadline``."""
        current = threading.current_thread()
        with self._lock:
            threads = [t for t in self._alive_locked() if t is not current]
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        return not any(thread.is_alive() for thread in threads)

    def after_fork_in_child(self) -> None:
        """Forget the parent's threads (they do not exist here) and its lock."""
        self._lock = threading.Lock()
        self._threads = []
        self._pid = os.getpid()

    def _alive_locked(self) -> list[threading.Thread]:
        if self._pid != getpid():  # forked without the hook (os.fork in C code)
            self._threads = []
            self._pid = os.getpid()
        self._threads = [t for t in self._threads if t.is_alive() or not t.ident]
        return self._threads

    def _spawn(self, want: int) -> bool:
        """Start threads until ``want`` (at most ``size``) are alive."""
        with self._lock:
            alive = self._alive_locked()
            while len(alive) < min(want, self._size):
                thread = start_thread(self._target, self._name, failed=self._failed)
                if thread is None:
                    # The interpreter is shutting down (or out of threads): the caller
                    # sends in its own thread instead.
                    return bool(alive)
                alive.append(thread)
            return True

    def _failed(self, exc: Exception) -> None:
        self.failure = f"{type(exc).__name__}: {exc}"
