"""Inline-mode sends under an event loop, off the loop and one at a time (SPEC 7).

With ``background_worker_mode=False`` the send of a full batch runs in the thread that
finished the exchange; under an event loop that thread is the loop's, which must never
wait on the network. The send runs instead in the loop's default executor, and the sends
take turns: the delivery sends one batch per request and never waits for a busy inline
sender (it sends a few batches more for the requests it turned away, then hands the
rest to a thread of its own), so sends made side by side would hold threads in turn
under steady traffic to a slow Metrics API.

Once the executor is shut down (the loop is closing: ``asyncio.run`` shuts it down after
the main task), for a caller that is not on the loop (Django consumes a sync stream in
a thread), and without an asyncio loop (trio), one thread of our own takes the sends.
When no thread can start at all (a thread limit; Python 3.12+ at interpreter exit), what
waits is only queued, as background mode does (a queue put, no I/O): never sent in place,
where the caller may be the event loop. The queue's bounds apply; the next turn that
gets a thread, a ``flush()``, ``close()`` or the exit flush sends it. A thread that failed
to start may have left its drain in the executor's queue, run when a thread frees up:
a drain takes the turn only while no other one runs, so that sends still take turns.

A raise in the hand-off (a signal handler's, in the loop's thread: the main one) goes
on unchanged, but only once the log is in line (or queued) and the drain that the
call marked as started is started: before delivery52, one landing between the mark and
the start left the mark set for good (every later log waited for a flush, 64 of them,
then only queued), and one landing before the log was in line lost it unsaid. A drain
cancelled in the executor before it ran (shut down with ``cancel_futures=True``) frees the
turn too: what waited for it is only queued.
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
from functools import partial
from typing import Any, Callable, Optional

from readme_metrics.capture.asgi_receive import running_asyncio_loop
from readme_metrics.delivery.interrupted import handed

#: The most exchanges waiting for their turn (fewer when ``max_queue_size`` is smaller).
WAITING_MAX = 64


class InlineSends:
    """Runs ``submit(item)`` for each item handed over, in order, never on the loop;
    past ``limit`` waiting, ``submit(item, False)`` (queue only) at once."""

    def __init__(self, submit: Callable[..., object], limit: int) -> None:
        self._submit = submit
        self._limit = max(1, min(WAITING_MAX, limit))
        # An RLock for its owner: a raise that skipped the with block's release in
        # _send (CPython 3.9 after its POP_BLOCK, bpo-29988; a tracer's raise before
        # the __exit__ call) is released by the handler only if this thread still
        # holds it. The traceback's instruction cannot tell (a tracer's raise before
        # the block's end reads as a signal's after it, the lock released already):
        # review137, delivery53's second release had freed another thread's hold.
        self._lock = threading.RLock()
        self._pid = os.getpid()
        self._waiting: deque[tuple[Any, Future[None]]] = deque()
        self._in_hand: Optional[Future[None]] = None  # the item a drain is submitting
        self._draining = False  # a thread is running _drain, or is about to
        self._running = False  # a drain has the turn (set and cleared by the drain)
        # Our own thread (new after a fork); its queued sends finish at interpreter exit,
        # before the at-exit flush.
        self._own: Optional[ThreadPoolExecutor] = None

    def send(self, item: Any, loop: Optional[asyncio.AbstractEventLoop]) -> Future[None]:
        """Have ``item`` submitted after the items handed over before it: in ``loop``'s
        executor when called on that loop, else in our own thread. The future is done
        once it was submitted. Never blocks and never raises."""
        return self._send(item, loop)[0]

    def send_first(self, item: Any, loop: Optional[asyncio.AbstractEventLoop]
                   ) -> Optional[Future[None]]:
        """:meth:`send`, the future only for an item whose send starts at once (no
        drain running): one handed over behind another's send (or only queued, past
        ``limit``) goes on in turn, and None tells the caller not to wait for it. The
        app's call waits for its own send (a serverless process may be frozen once it
        ends), never for a line of others': each is a round trip of the Metrics API,
        and a server's stop waits for every call (blackbox11: uvicorn's stop took 17 s
        waiting for the calls in line, an API answering in 1 s)."""
        done, first = self._send(item, loop)
        return done if first else None

    def _send(self, item: Any, loop: Optional[asyncio.AbstractEventLoop]
              ) -> tuple[Future[None], bool]:
        """:meth:`send`, and whether this item's drain was started by this call."""
        # Everything from the first instruction on is in the try: a raise that went
        # through this call past its entry leaves the log in line or queued
        # (capture/asgi_end.py asks that of this code, interrupted.began).
        done: Optional[Future[None]] = None
        started = False  # this call marked a drain as running: it must start one
        try:
            done = Future()
            with self._lock:
                if self._pid != os.getpid():  # a forked child: the parent's sends are its own
                    self._pid = os.getpid()
                    self._waiting.clear()
                    self._in_hand = None
                    self._draining = self._running = False
                    self._own = None
                overflow = self._draining and len(self._waiting) >= self._limit
                if not overflow:
                    self._waiting.append((item, done))
                    if self._draining:
                        return done, False  # the running drain takes it in turn
                    # Both or neither wherever a raise lands: no call between, and the
                    # local first (CPython 3.9 looks after a STORE_ATTR, never after a
                    # STORE_FAST: the other order left a drain marked, none started).
                    started = self._draining = True
            if overflow:  # queued now (a lock and an append), sent by a later turn
                self._queue_only(item, done)
                return done, False
            self._start(loop)
            started = False
            return done, True
        except BaseException as error:
            if self._lock._is_owned():  # type: ignore[attr-defined]
                self._lock.release()  # (the with block's release skipped: see __init__)
            self._interrupted(item, done, started)
            if isinstance(error, Exception):  # pragma: no cover - never into the app
                return done or Future(), False
            raise  # (a signal handler's: unchanged, to the server and the app)

    def _start(self, loop: Optional[asyncio.AbstractEventLoop]) -> None:
        """Start a drain: in ``loop``'s executor when called on that loop, else in our
        own thread; without a thread, what waits is only queued."""
        try:
            here = loop if loop is not None and running_asyncio_loop() is loop else None
        except Exception:  # pragma: no cover - running_asyncio_loop never raises
            here = None
        if here is not None and self._start_drain(partial(here.run_in_executor, None)):
            return
        if not self._start_drain(lambda job: self._own_thread().submit(job)):
            self._queue_waiting()

    def _interrupted(self, item: Any, done: Optional[Future[None]], started: bool) -> None:
        """A raise cut :meth:`_send` short: ``item`` queued if it is not in line (nor
        queued by the delivery already), and the drain marked as started by it started
        (a second one, if the raise landed after the start, finds the turn taken and
        does nothing). Never raises."""
        try:
            with self._lock:
                in_line = done is not None and (
                    self._in_hand is done or any(entry[1] is done for entry in self._waiting))
                if in_line and not self._draining:
                    # In line, no drain to take it: the raise landed between the append
                    # and the mark (the append's return). Before delivery53 it waited
                    # for the next call's send, or the next flush or close.
                    started = self._draining = True
            if not (in_line or handed(item) or (done is not None and done.done())):
                self._submit(item, False)
            if started:
                self._start(running_asyncio_loop())
        except Exception:  # pragma: no cover - never into the app
            pass

    def _start_drain(self, start: Callable[..., object]) -> bool:
        """Have ``start(drain)`` run a drain in a thread; False if it could not."""
        try:
            started = start(self._drain)
        except Exception:  # RuntimeError: the executor is shut down, or no thread starts
            return False
        watch = getattr(started, "add_done_callback", None)
        if watch is not None:
            watch(self._ran)
        return True

    def _ran(self, started: Any) -> None:
        """A drain's future is done: one cancelled before it ran (its executor shut down
        with ``cancel_futures=True``, an app's own default executor) left the turn marked
        as running and the call waiting for its send waiting for ever (delivery52). What
        waits is only queued then (no I/O), and the turn is free. Never raises."""
        try:
            if started.cancelled():
                with self._lock:
                    running = self._running
                if not running:  # (a drain that runs takes what waits)
                    self._queue_waiting()
        except Exception:  # pragma: no cover - never into the loop's callbacks
            pass

    def _queue_waiting(self) -> None:
        """No thread to send from: queue what waits (no I/O), for a later turn to send."""
        with self._lock:
            waiting = list(self._waiting)
            self._waiting.clear()
            self._draining = False
        for item, done in waiting:
            self._queue_only(item, done)

    def _queue_only(self, item: Any, done: Future[None]) -> None:
        try:
            self._submit(item, False)
        except Exception:  # pragma: no cover - MetricsPipeline.submit never raises
            pass
        _settle(done)

    def _drain(self) -> None:
        """Submit what waits, in order, until nothing does; nothing while another drain
        has the turn (one left in an executor's queue by a thread that did not start, a
        second one started after a raise: :meth:`_interrupted`): that one takes it all."""
        with self._lock:
            if self._running:
                return
            self._running = True
        while True:
            with self._lock:
                if not self._waiting:
                    self._draining = self._running = False
                    return
                item, done = self._waiting.popleft()
                self._in_hand = done
            try:
                self._submit(item)
            except BaseException:  # pragma: no cover - MetricsPipeline.submit never raises
                pass  # and a drain that stopped here would strand every later send
            _settle(done)
            with self._lock:
                if self._in_hand is done:
                    self._in_hand = None

    def hand_over(self, timeout: Optional[float]) -> None:
        """Before a ``flush()`` or ``close()``: queue what waits for its turn (no I/O),
        and wait up to ``timeout`` seconds for the one a drain is submitting, so that the
        flush counts every log handed over before it. The app's call does not wait for
        every send (an exchange that raised before its response: the server owes the
        client its 500; Django's), and a flush right after it said True with that log
        still waiting here, unsent. What is queued here is sent by the flush itself (or
        by the close), as a full batch would be. Never raises."""
        with self._lock:
            if self._pid != os.getpid():
                return  # a forked child: what waits is its parent's (see send)
            waiting = list(self._waiting)
            self._waiting.clear()
            in_hand = self._in_hand
        for item, done in waiting:
            self._queue_only(item, done)
        if in_hand is not None and (timeout is None or timeout > 0):
            try:
                # Beyond TIMEOUT_MAX (inf: "as long as it takes") a wait raises
                # OverflowError, which would not wait at all: capped, as Delivery.flush.
                in_hand.result(None if timeout is None else min(timeout, threading.TIMEOUT_MAX))
            except Exception:  # TimeoutError: the flush answers for what it could send
                pass

    def _own_thread(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._own is None:
                self._own = ThreadPoolExecutor(1, thread_name_prefix="readme-metrics-inline")
            return self._own


def _settle(done: Future[None]) -> None:
    try:
        done.set_result(None)
    except InvalidStateError:  # the one waiting for it was cancelled
        pass


#: The code of the inline hand-off's inner call (:meth:`InlineSends._send`): a raise that
#: got into it leaves the log its own (in line, or queued before the raise goes on).
HAND_OFF_CODE = InlineSends._send.__code__
