"""A flush: everything queued now sent, its answer waited for up to a timeout.

A mixin of :class:`~readme_metrics.delivery.core.Delivery` (its state is Delivery's):
the public :meth:`Flushing.flush` and the wait it and the ASGI lifespan's stop share,
by the background senders (one more started where what waits is due now) or, with no
sender thread, in the calling thread.
"""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING, Optional

from readme_metrics._process_id import getpid

if TYPE_CHECKING:
    from readme_metrics._logging import QuietLogger
    from readme_metrics.config import MetricsApiConfig
    from readme_metrics.delivery.attempt import Attempt
    from readme_metrics.delivery.batcher import Batcher
    from readme_metrics.delivery.queue import LogQueue
    from readme_metrics.delivery.queue_full import QueueFullNotice
    from readme_metrics.delivery.worker import WorkerPool

__all__ = ["Flushing"]


class Flushing:
    """Delivery's flush."""

    config: MetricsApiConfig
    _pid: int
    _background: bool
    _logger: QuietLogger
    _queue: LogQueue
    _batcher: Batcher
    _pool: WorkerPool
    _attempt: Attempt
    _queue_full: QueueFullNotice

    if TYPE_CHECKING:  # (Delivery's own, from its other mixins)
        def _own_process(self) -> None: ...

        def _start(self) -> bool: ...

        def _send_inline(self, force: bool, deadline: Optional[float],
                         exiting: bool = False) -> None: ...

    def flush(self, timeout: Optional[float] = None) -> bool:
        """Send everything queued now, partial batch included; wait up to ``timeout``.

        ``timeout`` defaults to ``config.shutdown_timeout``. Returns True when every log
        queued before the call was delivered (False on timeout, drops or an auth pause):
        every log since the last flush's answer, also those already settled when it is
        called (inline, the request that fills a batch sends it; a background sender may
        be done before the call) and those the full queue refused, a drop among them
        answered for once.
        """
        if timeout is None:
            timeout = self.config.shutdown_timeout
        try:
            # Beyond TIMEOUT_MAX (float("inf") too) a lock's wait raises OverflowError,
            # which gave up at once: "as long as it takes" is capped there. NaN waits not.
            wait = min(timeout, threading.TIMEOUT_MAX) if timeout > 0 else 0.0
            delivered = self._flush(time.monotonic() + wait)
            self._queue_full.say_rest(limited=True)  # (all of them: say_dropped)
            return delivered
        except Exception:
            self._logger.debug("readme_metrics: flush failed", exc_info=True)
            return False

    def _flush(self, deadline: float) -> bool:
        if self._pid != getpid():
            self._own_process()
        queue = self._queue
        with queue.lock:
            waiter = queue.add_waiter_locked()
            if waiter is None:
                # Nothing waiting: was anything dropped since the last answer? During a
                # 401/403 pause logs are being dropped, so "everything was delivered"
                # would not be true of the caller's logs either.
                delivered = not queue.dropped_unanswered_locked()
                queue.answered_locked(queue.accepted, queue.refused)
                return delivered and not self._batcher.health.paused_locked()
            queue.wake.notify_all()
        self._attempt.release(spared=False)  # POSTs held past their bound: sent again
        try:
            if self._background and self._start():
                if self._batcher.staffing.claim_sender(urgent=True):
                    self._pool.grow()  # what waits is due now, not after a busy sender
                with queue.lock:
                    queue.wait_locked(waiter, deadline)
            else:
                # No sender thread (inline mode, or threads can no longer start).
                while True:
                    self._send_inline(force=True, deadline=deadline)
                    with queue.lock:
                        left = deadline - time.monotonic()
                        if queue.settled_locked(waiter) or left <= 0:
                            break
                        # Another thread holds the inline sender: let it finish.
                        queue.done.wait(min(left, 0.05))
            with queue.lock:
                return queue.settled_locked(waiter) and waiter.ok
        finally:
            with queue.lock:
                queue.waiters.remove(waiter)
                queue.answered_locked(waiter.target, waiter.refused)
