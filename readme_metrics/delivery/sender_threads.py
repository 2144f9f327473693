"""The background sender threads' loop, and the flush_interval watch while all are busy.

A mixin of :class:`~readme_metrics.delivery.core.Delivery` (its state is Delivery's):
the first sender started (or why none could be said once), each sender's loop of
batches taken and attempted, and the watchdog's look at a partial batch come due.
"""

from __future__ import annotations

import time
import weakref
from typing import TYPE_CHECKING

from readme_metrics._process_id import getpid
from readme_metrics.delivery import watchdog

if TYPE_CHECKING:
    from readme_metrics._logging import QuietLogger
    from readme_metrics.delivery.attempt import Attempt
    from readme_metrics.delivery.batcher import Batcher
    from readme_metrics.delivery.checks import Checker
    from readme_metrics.delivery.transport import Transport
    from readme_metrics.delivery.worker import WorkerPool

__all__ = ["SenderThreads"]


def _gone() -> None:
    """The flush_interval watch of a Delivery that no longer exists: nothing to do."""


class SenderThreads:
    """Delivery's background senders: started, looping, and the flush_interval watch."""

    _pid: int
    _batcher: Batcher
    _started: bool
    _pool: WorkerPool
    _queue_only_told: bool
    _logger: QuietLogger
    _transport_given: bool
    _transport: Transport
    _attempt: Attempt
    _checker: Checker

    if TYPE_CHECKING:
        def _own_process(self) -> None: ...

        def released_closed(self, ended: tuple[int, int]) -> None: ...

    def _start(self) -> bool:
        """Start the first sender thread if none runs; False if none can be started."""
        if self._pid != getpid():
            self._own_process()
        if self._batcher.closed and not self._batcher.closing:
            return False
        self._started = self._pool.start()
        return self._started

    def _queue_only(self) -> None:
        """No sender thread could start for a log just queued: say once that logs wait
        in the queue, sent at flush, close or exit (or once a thread starts)."""
        with self._batcher.lock:  # request threads race here: one warning
            told, self._queue_only_told = self._queue_only_told, True
        if told:
            return
        self._logger.warning(
            "readme_metrics: no delivery thread can start (%s): logs wait in the queue "
            "(up to max_queue_size) and are sent at flush(), close() or exit, or once a "
            "thread starts", self._pool.failure or "unknown")

    def _run(self) -> None:
        """One sender thread: take a due batch, post it, repeat until closed, or until
        the traffic no longer needs it (one sender stays: Staffing.surplus_locked)."""
        batcher = self._batcher
        batcher.staffing.sender_began()
        try:
            self._loop(batcher)
        except BaseException:  # (not expected: counted out, as next_or_end does)
            batcher.staffing.sender_gone()
            raise

    def _loop(self, batcher: Batcher) -> None:
        while True:
            batch, surplus = batcher.next_or_end()
            if batch is None:
                if surplus:
                    return  # more senders than the traffic needs: this one ends
                ended = batcher.end_unattended()  # the last sender after a release()
                if ended is not None:
                    self.released_closed(ended)
                return
            grow, look_in = batcher.after_take()
            if grow:
                self._pool.grow()  # more is due than the busy senders carry: one more
            if look_in is not None:  # no sender left idle to keep flush_interval
                self._watch_in(look_in)
            try:
                self._attempt(batch, batcher.deadline if batcher.closing else None)
            except BaseException as exc:  # a sender never dies, whatever happens
                self._attempt.log_exception("readme_metrics: unexpected delivery error", exc)
                batcher.settle(batch, "error")
            if batcher.health.down and not batcher.closed:
                self._checker.wanted()  # a black hole's return noticed sooner (.checks)

    def _watch_in(self, seconds: float) -> None:
        """Have the watchdog run the flush_interval watch's next look in ``seconds``.

        It holds this Delivery weakly: a look still pending (up to ``flush_interval``)
        does not keep a closed Delivery alive.
        """
        look = weakref.WeakMethod(self._watch)
        watchdog.run_at(time.monotonic() + seconds, lambda: (look() or _gone)())

    def _watch(self) -> None:
        """The flush_interval watch, on the watchdog thread (see :meth:`Batcher.watch`)."""
        if self._pid != getpid():
            return
        grow, look_in = self._batcher.watch()
        if grow:
            self._pool.grow()  # a partial batch is due and every sender is busy
        elif look_in is not None:
            self._watch_in(look_in)
