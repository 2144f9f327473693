"""Inline-mode sends under an event loop, off the loop and one at a time (SPEC 7).

With ``background_worker_mode=False`` the send of a full batch runs in the thread that
finished the exchange; under an event loop that thread is the loop's, which must never
wait on the network. The send runs instead in the loop's default executor, and the sends
take turns: the delivery sends one batch per request and never waits for a busy inline
sender (it sends a few batches more for the requests it turned away, then leaves the
rest queued until some later request), so sends made side by side would strand logs
under steady traffic to a slow Metrics API.

Once the executor is shut down (the loop is closing: ``asyncio.run`` shuts it down after
the main task), for a caller that is not on the loop (Django consumes a sync stream in
a thread), and without an asyncio loop (trio), one thread of our own takes the sends;
only when no thread can start (interpreter exit) does a send run in place.
Used by the ASGI middleware and by the Django one under Django's ASGI handler.

What waits for its turn is bounded (SPEC 7: memory stays bounded while ReadMe is slow):
Django does not wait for its sends, nor the ASGI middleware under trio, so while a POST
is held, every exchange that ends would wait here. Past ``limit`` waiting (at most 64,
at most ``max_queue_size``), an exchange is only queued, at once: the delivery queue's
bounds apply to it (dropped and counted when full), and a later turn sends it.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections import deque
from concurrent.futures import Future, InvalidStateError, ThreadPoolExecutor
from typing import Any, Callable, Optional

from readme_metrics.capture.asgi_exchange import running_asyncio_loop

#: The most exchanges waiting for their turn (fewer when ``max_queue_size`` is smaller).
WAITING_MAX = 64


class InlineSends:
    """Runs ``submit(item)`` for each item handed over, in order, never on the loop;
    past ``limit`` waiting, ``submit(item, False)`` (queue only) at once."""

    def __init__(self, submit: Callable[..., object], limit: int) -> None:
        self._submit = submit
        self._limit = max(1, min(WAITING_MAX, limit))
        self._lock = threading.Lock()
        self._pid = os.getpid()
        self._waiting: deque[tuple[Any, Future[None]]] = deque()
        self._draining = False  # a thread is running _drain, or is about to
        # Our own thread (new after a fork); its queued sends finish at interpreter exit,
        # before the at-exit flush.
        self._own: Optional[ThreadPoolExecutor] = None

    def send(self, item: Any, loop: Optional[asyncio.AbstractEventLoop]) -> Future[None]:
        """Have ``item`` submitted after the items handed over before it: in ``loop``'s
        executor when called on that loop, else in our own thread. The future is done
        once it was submitted. Never blocks and never raises."""
        done: Future[None] = Future()
        with self._lock:
            if self._pid != os.getpid():  # a forked child: the parent's sends are its own
                self._pid = os.getpid()
                self._waiting.clear()
                self._draining = False
                self._own = None
            overflow = self._draining and len(self._waiting) >= self._limit
            if not overflow:
                self._waiting.append((item, done))
                if self._draining:
                    return done  # the running drain takes it in turn
                self._draining = True
        if overflow:  # queued now (a lock and an append), sent by a later turn
            try:
                self._submit(item, False)
            except Exception:  # pragma: no cover - MetricsPipeline.submit never raises
                pass
            done.set_result(None)
            return done
        if loop is not None and running_asyncio_loop() is loop:
            try:
                loop.run_in_executor(None, self._drain)
                return done
            except RuntimeError:  # the executor is shut down: the loop is closing
                pass
        try:
            self._own_thread().submit(self._drain)
        except RuntimeError:  # no thread can start (interpreter exit): send here
            self._drain()
        return done

    def _drain(self) -> None:
        """Submit what waits, in order, until nothing does."""
        while True:
            with self._lock:
                if not self._waiting:
                    self._draining = False
                    return
                item, done = self._waiting.popleft()
            try:
                self._submit(item)
            except Exception:  # pragma: no cover - MetricsPipeline.submit never raises
                pass  # and a drain that stopped here would strand every later send
            try:
                done.set_result(None)
            except InvalidStateError:  # the one waiting for it was cancelled
                pass

    def _own_thread(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._own is None:
                self._own = ThreadPoolExecutor(1, thread_name_prefix="readme-metrics-inline")
            return self._own
