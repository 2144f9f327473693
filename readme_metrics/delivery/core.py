"""Delivery: a bounded queue and one background worker that batches logs to ReadMe.

The request thread only calls :meth:`Delivery.submit`, which appends to a deque under a
lock held for a few attribute updates: no I/O, no waiting, no allocation beyond the deque
slot (in background mode; with ``background_worker_mode=False`` there is no worker and a
due batch is sent from the request thread instead). One named daemon thread per
:class:`Delivery` per process (started on the first log, started again in a forked
child) turns queued items into log objects with the ``build`` function (HAR building and
redaction), JSON-encodes them in batches of at most ``buffer_length`` and posts them
through :class:`~readme_metrics.transport.Transport`.

What it trusts: nothing about the Metrics API. It may be down, slow, hanging or answering
errors for hours; memory stays bounded (``max_queue_size`` logs and ``max_queue_bytes``
captured bytes, counting the batch being retried), retries are bounded, every log that is
not delivered is counted with its reason, and exit waits at most ``shutdown_timeout``.

Decisions (what to retry, pause or drop) are small pure functions at the top of this
module, apart from the I/O, as in sentry-python's transport.
"""

from __future__ import annotations

import atexit
import contextlib
import email.utils
import logging
import os
import random
import threading
import time
import traceback
import weakref
from collections import deque
from typing import Any, Callable, Optional

from readme_metrics.config import MetricsApiConfig
from readme_metrics.delivery.encode import dumps as _dumps
from readme_metrics.delivery.transport import Transport, basic_token
from readme_metrics.exchange import PendingExchange

Build = Callable[[PendingExchange], dict]

#: Attempts per batch (the first one included) before it is dropped.
MAX_ATTEMPTS = 5
#: First backoff ceiling in seconds; it doubles per attempt (full jitter) up to the cap.
BACKOFF_BASE = 0.5
BACKOFF_CAP = 30.0
#: Retry-After is honoured: no retry comes earlier than the server asked. Only an absurd
#: value (a date far in the future) is cut to this, so a mistake there cannot stall
#: delivery for days; meanwhile the queue stays bounded and new logs are counted as drops.
RETRY_AFTER_CAP = 3600.0
#: How long a 401/403 stops delivery; a wrong key does not fix itself within seconds.
AUTH_PAUSE = 60.0
#: At most one warning of each kind per this many seconds.
WARN_INTERVAL = 60.0

# Verdicts on one POST attempt.
SENT = "sent"
RETRY = "retry"
PAUSE = "pause"
REJECT = "reject"

#: Drop reasons, each counted as ``dropped_<reason>`` in :attr:`Delivery.stats`.
DROP_REASONS = ("queue_full", "auth", "rejected", "retries_exhausted", "build_error",
                "shutdown", "error")


def classify(status: int) -> str:
    """What to do after the Metrics API answered ``status`` (SPEC section 7)."""
    if 200 <= status < 300:
        return SENT
    if status in (408, 429) or status >= 500:
        return RETRY
    if status in (401, 403):
        return PAUSE
    return REJECT


def parse_retry_after(value: Optional[str], now: Optional[float] = None) -> Optional[float]:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or HTTP date).

    Returns None when absent or unparsable, never a negative number.
    """
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError, OverflowError):
            return None
        if when is None:  # pragma: no cover - older Pythons returned None
            return None
        try:
            seconds = when.timestamp() - (time.time() if now is None else now)
        except (OverflowError, OSError, ValueError):
            return None
    if seconds != seconds:  # NaN
        return None
    return min(max(seconds, 0.0), RETRY_AFTER_CAP)


def backoff_delay(attempt: int, retry_after: Optional[float] = None,
                  base: float = BACKOFF_BASE, cap: float = BACKOFF_CAP,
                  rand: Callable[[], float] = random.random) -> float:
    """Wait before attempt ``attempt + 1``: exponential backoff with full jitter.

    ``attempt`` counts the attempts made so far (>= 1). A server's Retry-After is a floor.
    """
    ceiling = min(cap, base * (2 ** min(attempt - 1, 32)))
    delay = ceiling * rand()
    if retry_after is not None:
        delay = max(delay, min(retry_after, RETRY_AFTER_CAP))
    return delay


class _Batch:
    """Logs taken off the queue together, kept (encoded) while they are retried."""

    __slots__ = ("items", "first", "last", "count", "nbytes", "body", "attempts",
                 "not_before")

    def __init__(self, items: list[PendingExchange], first: int, nbytes: int) -> None:
        self.items: Optional[list[PendingExchange]] = items
        self.first = first  # sequence number of items[0] (1-based, per process)
        self.last = first + len(items) - 1
        self.count = len(items)  # logs still in this batch (build errors remove some)
        self.nbytes = nbytes
        self.body: Optional[bytes] = None
        self.attempts = 0
        self.not_before = 0.0


class _FlushWaiter:
    """One flush() call: waits for sequence numbers (base, target] to be resolved."""

    __slots__ = ("base", "target", "ok")

    def __init__(self, base: int, target: int) -> None:
        self.base = base
        self.target = target
        self.ok = True


class Delivery:
    """Bounded queue + one background worker: batching, retries, bounds and stats.

    .. code-block:: python

        delivery = Delivery(config, build=pipeline.build_log)
        delivery.submit(item)        # request thread: O(1), never blocks, never raises
        delivery.flush(timeout=2.0)  # True when everything queued so far was delivered
        delivery.close()             # also run at interpreter exit, within shutdown_timeout

    ``build(item) -> dict`` turns a queued item into one log object; it runs on the worker
    in background mode and in the flushing request thread otherwise. A forked child starts
    with an empty queue and zeroed stats (the parent still owns what it queued, so nothing
    is sent twice) and its own worker and connection. Stats are per process.

    The keyword arguments after ``build`` tune the retry policy (tests shorten them).
    """

    def __init__(self, config: MetricsApiConfig, build: Build, *,
                 max_attempts: int = MAX_ATTEMPTS, backoff_base: float = BACKOFF_BASE,
                 backoff_cap: float = BACKOFF_CAP, auth_pause: float = AUTH_PAUSE,
                 transport: Optional[Transport] = None) -> None:
        self.config = config
        self._build = build
        self._logger = config.logger
        self._background = config.background_worker_mode
        self._batch_size = config.buffer_length
        self._interval = config.flush_interval
        self._max_size = config.max_queue_size
        self._max_bytes = config.max_queue_bytes
        self._max_attempts = max(1, max_attempts)
        self._backoff_base = backoff_base
        self._backoff_cap = backoff_cap
        self._auth_pause = auth_pause
        self._transport_given = transport is not None
        self._transport = transport or Transport(config)
        # Strings scrubbed from anything logged (response bodies, exception texts).
        self._secrets = [s for s in (config.api_key, basic_token(config.api_key)) if s]
        self._warned_at: dict[str, float] = {}
        self._build_errors_seen: set[str] = set()
        self._closed = False
        self._reset_state()
        with _live_lock:
            _live.add(self)

    def _reset_state(self) -> None:
        """(Re)initialise everything that belongs to one process."""
        self._pid = os.getpid()
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)  # the worker waits here
        self._done = threading.Condition(self._lock)  # flush() callers wait here
        self._send_lock = threading.Lock()  # one sender at a time (worker or inline)
        self._start_lock = threading.Lock()
        self._queue: deque[PendingExchange] = deque()
        # Arrival time of the first item of each future batch: the items at positions
        # 0, B, 2B, ... of the queue. Batches are cut B at a time or all at once, so the
        # alignment holds and flush_interval is measured from each batch's first log.
        self._starts: deque[float] = deque()
        self._queued_bytes = 0
        self._accepted = 0  # sequence number of the last accepted item
        self._taken = 0  # items taken off the queue so far
        self._resolved = 0  # items sent or dropped after being accepted
        self._flush_target = 0
        self._waiters: list[_FlushWaiter] = []
        self._retry: Optional[_Batch] = None  # the batch waiting for its next attempt
        self._idle = False  # the worker is waiting for items (wake it on arrival)
        self._closing = False
        self._close_deadline = 0.0
        self._paused_until = 0.0
        self._thread: Optional[threading.Thread] = None
        self._running = False
        self._finalizer_registered = False
        self._counts: dict[str, int] = dict.fromkeys(
            ("captured", "skipped", "sent", "dropped", "failed_batches", "retries",
             "batches"), 0)
        for reason in DROP_REASONS:
            self._counts["dropped_" + reason] = 0

    # -- request thread -------------------------------------------------------------

    def submit(self, item: PendingExchange) -> bool:
        """Queue one exchange for delivery; False if it was dropped. Never blocks or raises.

        In background mode the worker is started here on first use. In inline mode a
        full batch, or a partial one older than ``flush_interval``, is built and sent in
        this thread.
        """
        try:
            if self._pid != os.getpid():
                self._after_fork_in_child()
            if not self._finalizer_registered:
                self._register_child_finalizer()
            nbytes = item.nbytes
            dropped = ""
            with self._lock:
                self._counts["captured"] += 1
                queue = self._queue
                if self._closed:
                    dropped = "shutdown"
                elif self._paused_until and self._paused_locked():
                    dropped = "auth"
                elif (self._accepted - self._resolved >= self._max_size
                        or self._queued_bytes + nbytes > self._max_bytes):
                    dropped = "queue_full"
                else:
                    if len(queue) % self._batch_size == 0:
                        self._starts.append(time.monotonic())
                    queue.append(item)
                    self._accepted += 1
                    self._queued_bytes += nbytes
                    if self._idle and len(queue) >= self._batch_size:
                        self._idle = False
                        self._wake.notify()
                full = len(queue) >= self._batch_size
                if not (full or self._background) and self._interval > 0 and self._starts:
                    # Inline mode has no timer: a partial batch older than flush_interval
                    # goes with the next request instead of waiting for a full batch.
                    full = time.monotonic() - self._starts[0] >= self._interval
                if dropped:
                    so_far = self._count_drop_locked(dropped)
            if dropped:
                if dropped == "queue_full":
                    self._warn("queue_full", "readme_metrics: the delivery queue is full "
                               "(max_queue_size=%d, max_queue_bytes=%d): new logs are "
                               "dropped (%d so far)", self._max_size, self._max_bytes, so_far)
                return False
            if self._background:
                if not self._running:
                    self._start_worker()
            elif full:
                self._send_inline(force=False, deadline=None)
            return True
        except Exception:  # never into the app
            self._logger.debug("readme_metrics: submit failed", exc_info=True)
            return False

    def count_skipped(self) -> None:
        """Count an exchange that was seen but, by configuration, not logged."""
        with self._lock:
            self._counts["captured"] += 1
            self._counts["skipped"] += 1

    def _count_drop_locked(self, reason: str) -> int:
        """Count one new log dropped for ``reason``; returns that reason's total."""
        counts = self._counts
        counts["dropped"] += 1
        key = "dropped_" + reason
        counts[key] += 1
        return counts[key]

    # -- public control -------------------------------------------------------------

    @property
    def stats(self) -> dict[str, int]:
        """A consistent snapshot of the counters.

        ``captured == sent + dropped + queued + skipped`` holds in every snapshot;
        ``queued`` includes the batch being sent or retried. ``dropped_<reason>`` splits
        ``dropped``; ``failed_batches`` counts batches given up on, ``retries`` the
        attempts after a first failure, ``batches`` the batches delivered.
        """
        with self._lock:
            snapshot = dict(self._counts)
            snapshot["queued"] = self._accepted - self._resolved
            snapshot["queued_bytes"] = self._queued_bytes
        return snapshot

    def flush(self, timeout: Optional[float] = None) -> bool:
        """Send everything queued now, partial batch included; wait up to ``timeout``.

        ``timeout`` defaults to ``config.shutdown_timeout``. Returns True when every log
        queued before the call was delivered (False on timeout, drops or an auth pause).
        """
        if timeout is None:
            timeout = self.config.shutdown_timeout
        try:
            return self._flush(time.monotonic() + max(0.0, timeout))
        except Exception:
            self._logger.debug("readme_metrics: flush failed", exc_info=True)
            return False

    def close(self) -> None:
        """Flush within ``shutdown_timeout``, then stop the worker. Idempotent."""
        try:
            if self._begin_close(time.monotonic() + self.config.shutdown_timeout):
                self._finish_close()
        except Exception:
            self._logger.debug("readme_metrics: close failed", exc_info=True)

    def __repr__(self) -> str:
        mode = "background" if self._background else "inline"
        return f"<Delivery {mode} to {self._transport.url!r} {self.stats!r}>"

    # -- flush and close ------------------------------------------------------------

    def _flush(self, deadline: float) -> bool:
        if self._pid != os.getpid():
            self._after_fork_in_child()
        with self._lock:
            target = self._accepted
            if self._resolved >= target:
                # Nothing waiting; during a 401/403 pause logs are being dropped, so
                # "everything was delivered" would not be true of the caller's logs.
                return not self._paused_locked()
            waiter = _FlushWaiter(self._resolved, target)
            self._waiters.append(waiter)
            self._flush_target = max(self._flush_target, target)
            self._idle = False
            self._wake.notify()
        try:
            if self._background and self._start_worker():
                with self._lock:
                    while self._resolved < target:
                        left = deadline - time.monotonic()
                        if left <= 0:
                            return False
                        self._done.wait(left)
            else:
                # No worker (inline mode, or threads can no longer start): send here.
                while True:
                    self._send_inline(force=True, deadline=deadline)
                    with self._lock:
                        left = deadline - time.monotonic()
                        if self._resolved >= target or left <= 0:
                            break
                        # Another thread holds the sender: let it finish its batch.
                        self._done.wait(min(left, 0.05))
            with self._lock:
                return self._resolved >= target and waiter.ok
        finally:
            with self._lock:
                self._waiters.remove(waiter)

    def _begin_close(self, deadline: float) -> bool:
        """Stop accepting logs and ask for everything to be sent; False if already closed."""
        with self._lock:
            if self._closed:
                return False
            self._closed = True
            self._closing = True
            self._close_deadline = deadline
            self._flush_target = self._accepted
            self._idle = False
            self._wake.notify()
        return True

    def _finish_close(self) -> None:
        """Wait for the worker until the deadline, then count what is left as dropped."""
        if self._pid != os.getpid():
            return
        deadline = self._close_deadline
        thread = self._thread
        current = threading.current_thread()
        if self._running and thread is not None and thread is not current:
            thread.join(max(0.0, deadline - time.monotonic()))
        elif thread is not current:
            self._send_inline(force=True, deadline=deadline)
        with self._lock:
            dropped = self._drop_queue_locked("shutdown")
            retry = self._retry
            if retry is not None:
                self._retry = None
                dropped += retry.count
                self._settle_locked(retry, "shutdown")
            self._closing = False  # a worker still stuck in I/O exits when it returns
            self._done.notify_all()
            pending = self._accepted - self._resolved
            still_running = self._running
        if dropped or pending:
            self._logger.warning(
                "readme_metrics: closing gave up after shutdown_timeout=%ss: %d logs not "
                "delivered", self.config.shutdown_timeout, dropped + pending)
        if not still_running and not self._transport_given:
            self._transport.close()

    # -- the worker -----------------------------------------------------------------

    def _start_worker(self) -> bool:
        """Start the worker if it is not running; False if no thread can be started."""
        if self._pid != os.getpid():
            self._after_fork_in_child()
        with self._start_lock:
            if self._running:
                return True
            if self._closed and not self._closing:
                return False
            thread = threading.Thread(target=self._run, name="readme-metrics-worker",
                                      daemon=True)
            self._running = True
            try:
                thread.start()
            except RuntimeError:
                # The interpreter is shutting down (or out of threads): the caller sends
                # in its own thread instead.
                self._running = False
                return False
            self._thread = thread
            return True

    def _run(self) -> None:
        try:
            while True:
                batch = self._next_batch()
                if batch is None:
                    return
                try:
                    with self._send_lock:
                        self._process(batch, self._close_deadline if self._closing else None)
                except BaseException as exc:  # the worker never dies, whatever happens
                    self._log_exception("readme_metrics: unexpected delivery error", exc)
                    self._settle(batch, "error")
        finally:
            self._running = False
            with self._lock:
                self._done.notify_all()

    def _next_batch(self) -> Optional[_Batch]:
        """Block until a batch is due; None when closing and nothing is left to do."""
        with self._lock:
            while True:
                if self._closed and (not self._closing
                                     or time.monotonic() >= self._close_deadline):
                    return None
                batch, wait = self._take_locked(time.monotonic())
                if batch is not None:
                    return batch
                if self._closing:
                    left = self._close_deadline - time.monotonic()
                    if (not self._queue and self._retry is None) or (
                            wait is not None and wait >= left):
                        # Drained, or the next retry is due after the deadline: nothing
                        # more can be delivered, so do not hold the exit for nothing.
                        return None
                    wait = left if wait is None else min(wait, left)
                if wait is None and self._interval > 0:
                    # Idle: look again within flush_interval instead of being woken by
                    # each batch's first log (a thread switch per batch under load).
                    # A log that came meanwhile is still sent flush_interval after its
                    # arrival: the next pass waits exactly for its due time.
                    wait = self._interval
                self._idle = self._retry is None
                self._wake.wait(wait)
                self._idle = False

    def _take_locked(self, now: float) -> tuple[Optional[_Batch], Optional[float]]:
        """The next batch to attempt now, or how long until one is due (None: no timer)."""
        retry = self._retry
        if retry is not None:
            if retry.not_before <= now:
                self._retry = None
                return retry, None
            return None, retry.not_before - now
        queue = self._queue
        waiting = len(queue)
        if not waiting:
            return None, None
        if waiting >= self._batch_size:
            return self._cut_locked(self._batch_size), None
        if self._taken < self._flush_target or self._closing:
            return self._cut_locked(waiting), None
        if self._interval > 0:
            due = (self._starts[0] if self._starts else now) + self._interval - now
            if due <= 0:
                return self._cut_locked(waiting), None
            return None, due
        return None, None

    def _cut_locked(self, count: int) -> _Batch:
        queue = self._queue
        items = [queue.popleft() for _ in range(count)]
        if self._starts:
            self._starts.popleft()
        if not queue:
            self._starts.clear()
        batch = _Batch(items, self._taken + 1, sum(item.nbytes for item in items))
        self._taken += count
        return batch

    # -- one batch ------------------------------------------------------------------

    def _process(self, batch: _Batch, deadline: Optional[float]) -> None:
        """Build (first time), then make one attempt; schedule a retry or settle it.

        ``deadline`` (flush or close) caps the HTTP timeout so that neither overruns.
        """
        if batch.body is None:
            batch.body = self._encode(batch)
            if batch.body is None:
                return
        timeout = None
        if deadline is not None:
            left = deadline - time.monotonic()
            if left <= 0:
                if self._closing:
                    self._settle(batch, "shutdown")
                else:  # the flush ran out of time: keep the batch first in line
                    with self._lock:
                        self._retry = batch
                return
            timeout = min(self.config.timeout, left)
        batch.attempts += 1
        if batch.attempts > 1:
            with self._lock:
                self._counts["retries"] += 1
        retry_after: Optional[float] = None
        try:
            response = self._transport.post_logs(batch.body, timeout=timeout)
        except Exception as exc:
            verdict = RETRY
            cause = self._scrub(f"{type(exc).__name__}: {exc}")
        else:
            status = response.status_code
            verdict = classify(status)
            cause = f"HTTP {status} {response.reason or ''}".rstrip()
            if verdict == RETRY:
                retry_after = parse_retry_after(response.headers.get("Retry-After"))
            elif verdict == REJECT:
                self._logger.debug("readme_metrics: the Metrics API answered %s: %s", cause,
                                   self._scrub(response.text[:2000]))
        if verdict == SENT:
            self._settle(batch, None)
        elif verdict == PAUSE:
            self._pause(batch, cause)
        elif verdict == REJECT:
            self._warn("rejected", "readme_metrics: the Metrics API rejected a batch of %d "
                       "logs (%s); dropping it", batch.count, cause)
            self._settle(batch, "rejected")
        elif batch.attempts >= self._max_attempts:
            self._warn("retries_exhausted", "readme_metrics: could not deliver a batch of "
                       "%d logs after %d attempts (%s); dropping it", batch.count,
                       batch.attempts, cause)
            self._settle(batch, "retries_exhausted")
        else:
            delay = backoff_delay(batch.attempts, retry_after, self._backoff_base,
                                  self._backoff_cap)
            self._logger.debug("readme_metrics: delivery attempt %d failed (%s); retrying "
                               "in %.2fs", batch.attempts, cause, delay)
            batch.not_before = time.monotonic() + delay
            with self._lock:
                if self._closed and not self._closing:  # close() already gave up
                    self._settle_locked(batch, "shutdown")
                else:
                    self._retry = batch

    def _encode(self, batch: _Batch) -> Optional[bytes]:
        """Build and JSON-encode the batch's logs; items that fail are dropped, counted.

        One log at a time: a log that cannot be built or encoded is dropped alone, and
        no single C call holds the GIL for a whole batch of large bodies (the
        interpreter can hand the GIL to a request thread between two logs). Yielding
        the GIL after every log was measured too: request-path means improved by 3 us
        but the extra thread switches cost 15-25 us of CPU per log under load.
        """
        items = batch.items or []
        batch.items = None  # free the raw captures as soon as they are built
        parts = []
        for item in items:
            try:
                parts.append(_dumps(self._build(item)))
            except BaseException as exc:  # even SystemExit from build() drops one log only
                self._build_failed(batch, exc)
        if not parts:
            self._settle(batch, None)  # every log failed: release what is left
            return None
        # "[" log "," log ... "]" in one join: b"[" + b",".join(parts) + b"]" copies the
        # whole batch (a megabyte with large bodies) three times instead of once.
        pieces = [b"["]
        for part in parts:
            pieces += (part, b",")
        pieces[-1] = b"]"
        return b"".join(pieces)

    def _build_failed(self, batch: _Batch, exc: BaseException) -> None:
        message = self._scrub(f"{type(exc).__name__}: {exc}")
        with self._lock:
            share = batch.nbytes // max(batch.count, 1)
            batch.count -= 1
            batch.nbytes -= share
            self._resolve_locked(batch.first, batch.last, 1, share, "build_error")
            first_time = message not in self._build_errors_seen
            if first_time and len(self._build_errors_seen) < 100:
                self._build_errors_seen.add(message)
        if first_time:
            self._log_exception(f"readme_metrics: could not build a log, dropping it: "
                                f"{message}", exc)

    def _settle(self, batch: _Batch, reason: Optional[str]) -> None:
        """The batch is done: delivered (``reason`` None) or dropped for ``reason``."""
        with self._lock:
            self._settle_locked(batch, reason)

    def _settle_locked(self, batch: _Batch, reason: Optional[str]) -> None:
        if batch.count:
            self._resolve_locked(batch.first, batch.last, batch.count, batch.nbytes, reason)
            if reason is None:
                self._counts["batches"] += 1
            else:
                self._counts["failed_batches"] += 1
        elif batch.nbytes:
            self._queued_bytes -= batch.nbytes
        batch.count = 0
        batch.nbytes = 0
        batch.body = None

    def _resolve_locked(self, first: int, last: int, count: int, nbytes: int,
                        reason: Optional[str]) -> None:
        """Mark ``count`` items of sequence range [first, last] as sent or dropped."""
        self._resolved += count
        self._queued_bytes -= nbytes
        counts = self._counts
        if reason is None:
            counts["sent"] += count
        else:
            counts["dropped"] += count
            counts["dropped_" + reason] += count
            for waiter in self._waiters:
                if first <= waiter.target and last > waiter.base:
                    waiter.ok = False
        if self._waiters:
            self._done.notify_all()

    def _pause(self, batch: _Batch, cause: str) -> None:
        """401/403: drop this batch and everything queued, stop delivery for a while."""
        with self._lock:
            self._paused_until = time.monotonic() + self._auth_pause
            self._settle_locked(batch, "auth")
            self._drop_queue_locked("auth")
        self._logger.error(
            "readme_metrics: the Metrics API refused the API key (%s): the api_key "
            "(README_API_KEY) is wrong or revoked. Logs are dropped for the next %ss.",
            cause, self._auth_pause)

    def _drop_queue_locked(self, reason: str) -> int:
        """Take everything still queued off the queue as dropped; returns how many."""
        leftover = list(self._queue)
        self._queue.clear()
        self._starts.clear()
        if leftover:
            first = self._taken + 1
            self._taken += len(leftover)
            self._resolve_locked(first, self._taken, len(leftover),
                                 sum(item.nbytes for item in leftover), reason)
        return len(leftover)

    def _paused_locked(self) -> bool:
        if self._paused_until and time.monotonic() >= self._paused_until:
            self._paused_until = 0.0  # over: the hot path stops reading the clock
        return bool(self._paused_until)

    # -- inline mode ------------------------------------------------------------------

    def _send_inline(self, force: bool, deadline: Optional[float]) -> None:
        """Send due batches in the calling thread (inline mode, or no worker at exit).

        Without ``force`` only full batches whose turn has come are sent, one attempt
        each, and nobody waits: a request thread never sleeps for a backoff. With
        ``force`` (flush, close) partial batches go too, and backoffs are waited out
        until ``deadline``.
        """
        if deadline is None:
            acquired = self._send_lock.acquire(blocking=False)
        else:
            acquired = self._send_lock.acquire(timeout=max(0.0, deadline - time.monotonic()))
        if not acquired:
            return  # someone else is sending; the queue keeps the rest
        try:
            while True:
                now = time.monotonic()
                if deadline is not None and now >= deadline:
                    return
                with self._lock:
                    if (force and not self._closing
                            and self._resolved >= self._flush_target):
                        return  # what the flush asked for is done
                    batch, wait = self._take_locked(now)
                if batch is None:
                    if not force or wait is None or deadline is None or now + wait >= deadline:
                        return
                    time.sleep(wait)
                    continue
                self._process(batch, deadline)
                if not force:
                    return  # one batch per request: other threads take the next ones
        finally:
            self._send_lock.release()

    # -- logging ------------------------------------------------------------------------

    def _warn(self, kind: str, message: str, *args: Any) -> None:
        """Log a warning at most once per WARN_INTERVAL per kind."""
        now = time.monotonic()
        last = self._warned_at.get(kind)
        if last is not None and now - last < WARN_INTERVAL:
            return
        self._warned_at[kind] = now
        self._logger.warning(message, *args)

    def _log_exception(self, message: str, exc: BaseException) -> None:
        """An error line, and the traceback at debug, both scrubbed of the API key.

        Not ``exc_info=``: a handler would format that traceback itself, unscrubbed.
        """
        self._logger.error("%s", message)
        if self._logger.isEnabledFor(logging.DEBUG):
            trace = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
            self._logger.debug("readme_metrics: traceback:\n%s", self._scrub(trace))

    def _scrub(self, text: str) -> str:
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, "[REDACTED]")
        return text

    # -- fork and exit ------------------------------------------------------------------

    def _after_fork_in_child(self) -> None:
        """A forked child starts afresh: empty queue, zeroed stats, new worker and pool."""
        closed = self._closed
        self._reset_state()
        self._closed = closed
        self._warned_at = {}
        if not self._transport_given:
            # The inherited pooled sockets are shared with the parent: never reuse them.
            self._transport = Transport(self.config)

    def _register_child_finalizer(self) -> None:
        """Flush at exit of a multiprocessing child, which skips atexit (os._exit)."""
        if self._finalizer_registered:
            return
        self._finalizer_registered = True
        import sys

        mp_util = sys.modules.get("multiprocessing.util")
        mp_process = sys.modules.get("multiprocessing.process")
        if mp_util is None or mp_process is None:
            return
        try:
            if mp_process.parent_process() is None:
                return  # not a multiprocessing child: atexit covers it
            mp_util.Finalize(None, _close_all, exitpriority=100)
        except Exception:
            pass


# -- process-wide registry: exit flush and fork handling --------------------------------

_live: weakref.WeakSet[Delivery] = weakref.WeakSet()
_live_lock = threading.Lock()


def _snapshot() -> list[Delivery]:
    with _live_lock:
        return list(_live)


def _close_all() -> None:
    """Close every Delivery of this process; they drain in parallel, each within its own
    shutdown_timeout, so exit takes at most the longest one."""
    deliveries = [d for d in _snapshot() if d._pid == os.getpid()]
    now = time.monotonic()
    started = [d for d in deliveries
               if d._begin_close(now + d.config.shutdown_timeout)]
    for delivery in started:
        with contextlib.suppress(Exception):
            delivery._finish_close()


_fork_held: list[Delivery] = []


def _before_fork() -> None:
    # Hold each queue's lock across fork() so the child copies consistent state.
    for delivery in _snapshot():
        if delivery._lock.acquire(timeout=1.0):
            _fork_held.append(delivery)


def _after_fork_in_parent() -> None:
    while _fork_held:
        _fork_held.pop()._lock.release()


def _after_fork_in_child() -> None:
    global _live_lock
    _live_lock = threading.Lock()
    _fork_held.clear()  # the child replaces these locks rather than releasing them
    for delivery in _snapshot():
        with contextlib.suppress(Exception):
            delivery._after_fork_in_child()


atexit.register(_close_all)
if hasattr(os, "register_at_fork"):
    os.register_at_fork(before=_before_fork, after_in_parent=_after_fork_in_parent,
                        after_in_child=_after_fork_in_child)
