"""The bound of a POST, which grows for a slow API, and the POSTs held past it.

A mixin of :class:`~readme_metrics.delivery.attempt.Attempt` (its state is Attempt's):
the :class:`~readme_metrics.delivery.stretch.Stretch` told of each answer's time, the
lost POSTs cut (``watchdog.cut_lost``), and those held past their bound given back
when holding them costs logs or time (``watchdog.release``, ``watchdog.end_by``).
"""

from __future__ import annotations

import logging
import math
from typing import TYPE_CHECKING

from readme_metrics.delivery import watchdog
from readme_metrics.delivery.limits import HOLD_SHARE, TIMEOUT_CAP

if TYPE_CHECKING:
    from readme_metrics._logging import LogLimiter, QuietLogger
    from readme_metrics.delivery.batcher import Batcher
    from readme_metrics.delivery.queue import LogQueue
    from readme_metrics.delivery.sender import Sender
    from readme_metrics.delivery.stretch import Stretch

__all__ = ["PostBound"]


def _later(took: float, timeout: float) -> str:
    """``took`` seconds with one decimal, or as many more (up to 3) as it takes to read
    later than ``timeout``: an answer in 3.04 s was said "in 3.0s, later than timeout of
    3s". Past 3 decimals, the thousandth above (3.0004 s is "3.001", not "3.000")."""
    for digits in (1, 2, 3):
        shown = f"{took:.{digits}f}"
        if float(shown) > timeout:
            return shown
    return f"{math.floor(timeout * 1000 + 1) / 1000:.3f}"


class PostBound:
    """Attempt's bound of a POST (a :class:`Stretch`) and the POSTs held past it."""

    _batcher: Batcher
    _queue: LogQueue
    _sender: Sender
    _logger: QuietLogger
    _timeout: float
    _bound: Stretch
    _release_asked: bool
    warnings: LogLimiter

    @property
    def stretch(self) -> float:
        """The bound of a POST now: ``timeout``, or longer once a POST timed out (the
        bound its batch's next attempt gets: ``Batch.timeout``), until answers come fast
        again (:meth:`_answered_in`)."""
        return self._bound.seconds

    @stretch.setter
    def stretch(self, seconds: float) -> None:
        self._bound.set(seconds)

    def host_answers(self, began: float) -> None:
        """A check begun at ``began`` (:mod:`.checks`) found the API's host answering
        again after one found it silent: the POSTs begun before it and unanswered were
        lost on a black hole's dead connections, and are cut once they have waited
        ``timeout`` (watchdog.cut_lost), sent again, as after a POST answered fast. At
        2,000 logs/s they held the 10,000 logs the queue allows: no new log was taken,
        and the probe let go early had nothing to carry until one of them was cut at
        its stretched bound, 5 s later."""
        stretch = self._bound
        stretch.host_answered(began)
        watchdog.cut_lost(stretch, began, self._lost_after())

    @property
    def holding(self) -> bool:
        """Some POST taken for lost is held past its bound (``watchdog.cut_lost``)."""
        return self._bound.held > 0

    def holding_costs(self) -> bool:
        """Some POST is held past its bound while holding it costs logs (the queue at
        ``HOLD_SHARE`` of its bounds) or time (a close): :meth:`release` it. Not on a
        refusal alone: a log larger than the room left in ``max_queue_bytes``, the queue
        far from full, had the held POSTs cut and their late answers' logs sent twice."""
        return self.holding and not self._holding_is_free()

    def refused(self) -> None:
        """The full queue refused a log (a request thread): while holding costs, the
        watchdog releases the held POSTs, asked once until that errand runs (asked at
        each refusal, one request thread asked about 1,000 times for one release)."""
        if not self._release_asked and self.holding_costs():
            self._release_asked = True
            watchdog.run_soon(self._release_refused)

    def _release_refused(self) -> None:
        self._release_asked = False
        self.release()

    def release(self, spared: bool = True) -> None:
        """A close (or a flush: not ``spared``) begins: the POSTs taken for lost held
        past their bound get it back (``watchdog.release``), not waited for."""
        if self._bound.held:
            watchdog.release(self._bound, spared)

    def exit_begins(self, until: float) -> None:
        """Inline, the main thread ended: the POSTs in flight (a request thread's, begun
        before) end by ``until``, as those made since do (``Batcher.exit_by``); not
        those begun later, which a close with a bound of its own may send."""
        self._batcher.exit_by = until
        watchdog.end_by(self._bound, until, later=False)

    def close_begins(self, deadline: float) -> None:
        """A close begins, to end at ``deadline`` (close(), the exit, or the close a
        release() asked for: :attr:`Batcher.on_close`): the POSTs held past their bound
        get it back (:meth:`release`), and the POSTs in flight end by ``deadline``
        (``watchdog.end_by``), not at their own stretched bound after it (up to 60 s:
        the close a release() began let them, delivery31)."""
        self.release()
        watchdog.end_by(self._bound, deadline)

    def _holding_is_free(self) -> bool:
        """A POST taken for lost may be held past its bound (``watchdog.cut_lost``, or
        spared: ``Stretch.spare``): its logs keep their place in the queue, which has
        room for the new ones (below ``HOLD_SHARE`` of its bounds), and no close waits
        for it. (A flush gives back what is held as it begins: :meth:`release`.)"""
        queue = self._queue
        return (queue.accepted - queue.resolved < queue.max_size * HOLD_SHARE
                and queue.queued_bytes < queue.max_bytes * HOLD_SHARE
                and not self._batcher.closed)

    def _lost_after(self) -> float:
        """How long a lost POST is waited for before it is cut: ``timeout``, or twice
        the API's average answer time, or twice the longest answer later than
        ``timeout`` (:meth:`Stretch.lost_wait`), if longer. An API that was slow (answering in
        4 s, ``timeout`` 3 s) and turns fast again still answers the POSTs it was
        working on: cut at ``timeout``, they were sent again, 3,969 logs twice where
        52 were (``benchmarks/outage.py --kind slow``); a black hole's dead POSTs,
        the answers before it fast, are cut at ``timeout``. Never past ``LOST_CAP``
        (``Stretch.lost_longest``: 30 s, or ``timeout`` above it): twice an average of
        25 s held a POST 50 s (delivery28)."""
        bound = self._bound
        return min(bound.lost_longest,
                   max(bound.lost_wait(), 2.0 * self._batcher.staffing.post_s))

    def _answered_in(self, began: float, took: float, bound: float) -> None:
        """A POST begun at ``began``, bounded to ``bound`` seconds, was answered (any
        status) in ``took``: one later than ``timeout`` has every POST wait that bound
        from now on (said once, until the bound comes back to ``timeout``); one answered
        within half the bound in force halves it again, down to ``timeout``: the API is
        fast again (:class:`~readme_metrics.delivery.stretch.Stretch`)."""
        stretch = self._bound
        stretched = stretch.seconds > self._timeout
        said = stretch.answered(began, took, bound)
        if stretched and took < self._timeout / 2:
            # Answered fast (within half of `timeout`) while the bound is stretched (a
            # black hole, or a slow API, answering at once again): the POSTs begun
            # before it and unanswered were lost; each goes again once it has waited
            # `timeout`, not its stretched bound (watchdog.cut_lost). Not on an answer
            # merely within half the stretched bound: an API answering in 1 to 4 s
            # with `timeout` 3 s would have its 4 s answers cut and sent again.
            watchdog.cut_lost(stretch, began, self._lost_after(),
                              stretch.recovery() if stretch.free() else -math.inf)
        if not said:
            return
        timeout = self._timeout
        if not self.warnings.log(
                logging.WARNING, "slow", "readme_metrics: the Metrics API at %s answered "
                "a POST in %ss, later than timeout (README_TIMEOUT) of %gs: POSTs now "
                "wait up to %gs for its answer (twice as long after each timeout, at "
                "most %gs), and the logs of a POST that timed out may reach ReadMe "
                "twice (it may have read them); set README_TIMEOUT above the API's "
                "answer time", self._sender.endpoint, _later(took, timeout), timeout,
                round(max(self.stretch, self._bound.lost_wait()), 1),
                max(timeout, TIMEOUT_CAP)):
            # Held back by the minute's limit (a second slowdown soon after the first):
            # said at a slow answer once the minute is over, if the API is still slow.
            self._bound.unsaid()
