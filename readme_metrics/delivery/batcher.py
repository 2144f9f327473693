"""Which batch goes next, and when: due rules, retries, the pacing of POSTs, close.

:class:`Batcher` wraps a :class:`~readme_metrics.delivery.queue.LogQueue` with the state
that decides the next POST (under the queue's one lock), and takes the outcomes reported
by senders. Two parts of that state have modules of their own, plain objects the
Batcher holds and calls under the same lock (they read each other's state there):

- whether the Metrics API works (failures in a row, down and its probes, Retry-After,
  the 401/403 pause): :class:`~readme_metrics.delivery.health.ApiHealth`
  (``Batcher.health``);
- how many senders, and the flush_interval watch:
  :class:`~readme_metrics.delivery.staffing.Staffing` (``Batcher.staffing``).

Its close (stop taking logs, drain, give up) is a base of it:
:class:`~readme_metrics.delivery.batcher_close.BatchClosing`; so is the request
thread's hand-off of a log: :class:`~readme_metrics.delivery.batcher_put.BatchPutting`.

The POSTs of new logs are spread over the API's round trip
(:func:`~readme_metrics.delivery.pacing.post_wait`, a pure function of the times kept
here). Closing sends what is left until the deadline, never waiting past it.
"""

from __future__ import annotations

import math
import time
from typing import Callable, Optional

from readme_metrics.delivery.batcher_close import BatchClosing, stop_reason
from readme_metrics.delivery.batcher_put import BatchPutting
from readme_metrics.delivery.encode import Body
from readme_metrics.delivery.health import ApiHealth
from readme_metrics.delivery.limits import (
    BACKOFF_BASE,
    BACKOFF_CAP,
    DOWN_AFTER,
    MAX_DOWN_ATTEMPTS,
    MAX_SENDERS,
)
from readme_metrics.delivery.pacing import post_wait
from readme_metrics.delivery.queue import Batch, LogQueue
from readme_metrics.delivery.staffing import Staffing

#: An idle sender looks at the queue at least this often, seconds (see release()).
IDLE_LOOK = 5.0


class Batcher(BatchPutting, BatchClosing):
    """The scheduling half of delivery; every method takes the queue's lock itself."""

    def __init__(self, queue: LogQueue, *, backoff_base: float = BACKOFF_BASE,
                 backoff_cap: float = BACKOFF_CAP, max_senders: int = MAX_SENDERS,
                 clock: Callable[[], float] = time.monotonic,
                 probe_after: float = math.inf) -> None:
        self.queue = queue
        self.lock = queue.lock
        self._clock = clock
        self.health = ApiHealth(backoff_base=backoff_base, backoff_cap=backoff_cap,
                                clock=clock, probe_after=probe_after)
        self.staffing = Staffing(queue, self.health, max_senders=max_senders, clock=clock)
        self.closed = False
        self.closing = False  # close() is draining until ``deadline``
        #: Called with the deadline by whoever began a close (close(), the exit, or the
        #: close a release() asked for), the queue's lock not held: the POSTs in flight
        #: end by that deadline too (:meth:`Attempt.close_begins
        #: <readme_metrics.delivery.attempt.Attempt.close_begins>`).
        self.on_close: Callable[[float], None] = _nothing
        self.deadline = 0.0
        #: When the close ends (its bound's end): ``deadline`` is a moment before it, the
        #: senders of the POSTs cut there settled by then (:meth:`settle_in_flight`).
        self.ends = 0.0
        #: Inline, once the main thread ended: when the exit's POSTs end, the close's
        #: too unless the app's threads worked on past it (``Delivery.post_waiting``);
        #: a POST cut there is cut as at the close's deadline (inf: not begun).
        self.exit_by = math.inf
        #: Logs in POSTs cut at the close's deadline, once sent and while connecting
        #: (:meth:`cut_at_close`).
        self.cut = 0
        self.cut_unsent = 0
        #: Logs refused while a close drained (``closing``): calls the server answered
        #: as the process exited (runserver serves on through it), said by the close;
        #: with those taken while it drained (background mode) but left waiting, never
        #: in a POST, as it ended (:meth:`end_close`): they came after its last POST.
        self.refused_closing = 0
        #: Logs refused once a close had ended (``closed``, not ``closing``), not said
        #: yet: said by Delivery's :class:`~readme_metrics.delivery.late_refused.LateRefused`.
        self.refused_late = 0
        #: True in a thread whose log the exit said already (see
        #: :meth:`~readme_metrics.handed_over.HandedOver.said_here`): refused once
        #: closed, counted but in neither of the two counts above (said once).
        self.said_at_exit: Callable[[], bool] = bool
        #: ``queue.accepted`` as the close began: the logs past it came while it drained.
        self.close_accepted = 0
        #: Set without the lock by :meth:`release` (the owner is gone): the deadline of a
        #: close that the next sender to look begins (0.0: not released).
        self.released = 0.0
        #: Closed by a sender after a release, with nobody waiting for the drain: the
        #: last sender back ends the close itself (:meth:`end_unattended`), unless the
        #: exit hook takes it over (:meth:`begin_close`).
        self.unattended = False
        #: An interrupt's close waits for the POSTs in flight (ClosingInterrupt): no
        #: batch is taken from then on, none begins its POST (:meth:`take_locked`).
        self.halted = False
        #: When the last POST of new logs was cut: the next one, unless it fills a POST at
        #: the caps, waits ``post_s / max_senders`` after it (:meth:`take_locked`).
        self.last_cut = -math.inf
        #: When the latest-begun POST delivered so far began: a POST in flight begun
        #: before it was lost, not slowed by the API (:func:`pacing.post_wait
        #: <readme_metrics.delivery.pacing.post_wait>`).
        self.answered_began = -math.inf

    # -- senders ------------------------------------------------------------------------

    def take_locked(self, force: bool = False,
                    retries: bool = True) -> tuple[Optional[Batch], Optional[float]]:
        """The next batch to post now, or how long until one may be (None: no timer).

        ``force`` sends a partial batch at once (inline flush). Without ``retries`` only
        logs not yet posted are taken (an inline request thread that posted a retry).
        """
        if self.halted:
            return None, None
        queue = self.queue
        health = self.health
        now = self._clock()
        if health.paused_until and health.paused_locked():
            return None, health.paused_until - now
        overlapping = False
        if health.down:
            if queue.in_flight:
                probing, wait = health.probing_locked(now, queue.in_flight)
                if probing:  # one probe at a time; woken when it settles
                    return None, wait
                # The probe in flight unanswered (see probe_wait); not a POST begun
                # before the API was taken for down, which is no probe.
                overlapping = health.probe_in_flight_locked(queue.in_flight)
            if now < health.hold_until and not health.early:
                return None, health.hold_until - now
        batch, wait = queue.take_retry_locked(now) if retries else (None, None)
        if batch is not None:
            if health.down:
                health.probe_taken_locked(overlapping)
            return batch, None
        due, due_in = queue.due_locked(now, force or self.closing)
        if due and not queue.may_encode_locked():
            # Full, JSON held (held.py): the logs wait as captured until a POST settles
            # (every settle wakes the idle senders), or the next retry is due.
            return None, wait
        if due:
            if (queue.in_flight and not (force or self.closing)
                    and queue.taken >= queue.flush_target):  # (a flush waits for none)
                # Spread over the API's round trip, unless the logs waiting fill a POST
                # at the caps (see post_wait).
                staffing = self.staffing
                spaced = post_wait(now, self.last_cut, staffing.post_s,
                                   staffing.max_senders, self.answered_began,
                                   queue.in_flight)
                if spaced > 0 and not queue.fills_post_locked():
                    return None, spaced
            self.last_cut = now
            if health.down:
                health.probe_taken_locked(overlapping)
            return queue.cut_locked(), None
        if wait is None or (due_in is not None and due_in < wait):
            wait = due_in
        return None, wait

    def next_or_end(self) -> tuple[Optional[Batch], bool]:
        """(the batch due, None; True if the sender ends as one more than the traffic
        needs, :meth:`.Staffing.surplus_locked`, counted out here): a sender's look, told
        why it ends under the lock. Read after, ``closed`` could be a close another sender began
        meanwhile (a :meth:`release`'s), which the ending one then took for its own and
        ended (:meth:`end_unattended`), dropping every log waiting (review75)."""
        queue = self.queue
        staffing = self.staffing
        with self.lock:
            staffing.came_locked()  # here it is: it takes what is due, or waits idle
            while True:
                if self._close_released_locked():
                    self.lock.release()  # (looked at again below: it may change)
                    try:
                        self.on_close(self.released)
                    finally:
                        self.lock.acquire()
                if self.closed and (not self.closing or self._clock() >= self.deadline):
                    return None, False
                batch, wait = self.take_locked()
                if batch is not None:
                    staffing.took_locked()
                    return batch, False
                if not self.closed and staffing.surplus_locked():
                    staffing.gone_locked()
                    return None, True  # this sender ends: see Staffing.surplus_locked
                if self.closing:
                    left = self.deadline - self._clock()
                    if not (queue.items or queue.retries or queue.in_flight) or (
                            wait is not None and wait >= left):
                        # Drained, or the next retry is due after the deadline: do not
                        # hold the exit for nothing.
                        return None, False
                    wait = left if wait is None else min(wait, left)
                elif wait is None and queue.interval > 0:
                    # Idle: look again within flush_interval instead of being woken by
                    # each batch's first log; a log that came meanwhile still goes
                    # flush_interval after its arrival (the next pass waits for it).
                    wait = queue.interval
                # At least every IDLE_LOOK: a release() that could not take the lock to
                # wake this sender is seen then.
                wait = IDLE_LOOK if wait is None else min(wait, IDLE_LOOK)
                # Counted idle while it waits, however the wait ends: a sender woken by
                # notify_all (an answer, a flush) was otherwise still counted, one more at
                # each answer that found it idle, and "a sender is idle" then kept the pool
                # from growing (claim_sender_locked) for as many logs.
                queue.idle += 1
                try:
                    queue.wake.wait(wait)
                finally:
                    queue.idle -= 1

    def after_take(self) -> tuple[bool, Optional[float]]:
        """For a sender that has just taken a batch: (start one more sender now, arm the
        flush_interval watch to look in this many seconds; None: not needed); see
        :meth:`Staffing.after_take_locked
        <readme_metrics.delivery.staffing.Staffing.after_take_locked>`."""
        with self.lock:
            return self.staffing.after_take_locked(self.closed)

    def watch(self) -> tuple[bool, Optional[float]]:
        """The flush_interval watch's look (on the watchdog thread): (start one more
        sender now, look again in this many seconds; None: the watch ends); see
        :meth:`Staffing.watch_locked
        <readme_metrics.delivery.staffing.Staffing.watch_locked>`."""
        with self.lock:
            return self.staffing.watch_locked(self.closed)

    def check_wait(self, after: float) -> Optional[float]:
        """For the checker (:mod:`.checks`): seconds until a check of the API's host may
        go (a POST in flight waited ``after``), None once none is wanted (or delivery is
        closed)."""
        with self.lock:
            if self.closed:
                return None
            return self.health.check_wait_locked(self._clock(), self.queue.in_flight,
                                                 after)

    def checked(self, answered: bool, gap: float) -> tuple[bool, bool]:
        """A check ended: (it lets the next probe go now, a sender is idle to take it);
        :meth:`ApiHealth.checked_locked
        <readme_metrics.delivery.health.ApiHealth.checked_locked>`."""
        with self.lock:
            early = self.health.checked_locked(answered, self._clock(), gap)
            if early:
                self.queue.wake.notify_all()
            return early, bool(self.queue.idle)

    # -- outcomes -----------------------------------------------------------------------

    def settle(self, batch: Batch, reason: Optional[str]) -> None:
        """Delivered (``reason`` None: the API works again) or dropped for ``reason``."""
        with self.lock:
            queue = self.queue
            if self.health.failures and reason in (None, "rejected"):  # the API answered
                self.health.answered_locked(queue.retries)
            if reason is None and batch.sent_at > self.answered_began:
                self.answered_began = batch.sent_at
            queue.settle_locked(batch, reason)
            if queue.idle:  # (none waits but the idle senders: three Python calls spared)
                queue.wake.notify_all()

    def retry_later(self, batch: Batch, retry_after: Optional[float],
                    lost: bool = False) -> Optional[tuple[float, bool]]:
        """Keep the batch for another attempt after a backoff: (that backoff, True if
        this failure had the API taken for down); None if closing gave up, or its
        deadline has come (the batch is not delivered then, counted as the close's).

        The backoff, and what the failure does to every sender's, is
        :meth:`ApiHealth.failed_locked
        <readme_metrics.delivery.health.ApiHealth.failed_locked>`'s."""
        queue = self.queue
        with self.lock:
            if self.closed and not self.closing:  # close() already gave up
                queue.settle_locked(batch, stop_reason(batch))
                return None
            if self.closing and self._clock() >= self.deadline:
                # Its failure read as the close's deadline came (the watchdog cut the
                # POST just after its head): no time is left to send it again, and a
                # failure counted now would tell the API's health of nothing to come.
                # Not delivered, said so by the close's warning (as what waited: the
                # API answered, it has them not). Before: queued again, "retrying in"
                # said, a failure counted after the deadline (delivery34).
                self._cut_locked(batch, False)
                queue.wake.notify_all()
                return None
            health = self.health
            before = health.failures
            now = health.failed_locked(batch, retry_after, lost)
            queue.requeue_locked(batch)
            queue.wake.notify_all()
            # Taken for down by this failure: not by a lost POST's, which counts none
            # (it said "3 POSTs in a row failed" again as the API answered again).
            return (batch.not_before - now,
                    health.failures != before and health.failures == DOWN_AFTER)

    def exhausted(self, batch: Batch, max_attempts: int,
                  max_down: int = MAX_DOWN_ATTEMPTS) -> bool:
        """For a batch whose attempt failed and may be retried: True if it is to be
        dropped now (:meth:`ApiHealth.exhausted
        <readme_metrics.delivery.health.ApiHealth.exhausted>`)."""
        return self.health.exhausted(batch, max_attempts, max_down)

    def split(self, batch: Batch, parts: list[tuple[Body, int]]) -> bool:
        """413 for a batch of several logs: it goes again as ``parts``, first in line
        (:meth:`LogQueue.split_locked`); False if close() already gave up (the batch is
        dropped, as :meth:`retry_later` does). The API answered: it works."""
        queue = self.queue
        with self.lock:
            if self.health.failures:  # as settle() does: else a hold came back
                self.health.answered_locked(queue.retries)
            if self.closed and not self.closing:
                queue.settle_locked(batch, stop_reason(batch))
                return False
            queue.split_locked(batch, parts)
            queue.wake.notify_all()
            return True

    def pause(self, batch: Batch, seconds: float,
              say: Callable[[bool, int], None] = lambda fresh, more: None) -> bool:
        """401/403: drop the batch and all that waits; True if this began a new pause.
        ``say(fresh, more)`` says it before the batch is settled (its flush answered
        False: the reason is logged by then, not after; outside the lock, a log handler
        may be slow), ``more``: the logs of the batches waiting for a retry that it drops
        as ``unknown``. A batch a POST of which went in full unanswered (``cut_short``:
        timed out, closed by the server) is ``unknown``, not ``auth``: the API may have
        its logs from that POST (delivery85: ``dropped_auth``, before)."""
        with self.lock:
            fresh = self.health.pause_locked(seconds)
            more = sum(held.count for held in self.queue.retries if held.cut_short)
        say(fresh, more)
        with self.lock:
            self.queue.settle_locked(batch, "unknown" if batch.cut_short else "auth")
            self.queue.drop_waiting_locked("auth")
            self.queue.wake.notify_all()
            return fresh


def _nothing(deadline: float) -> None:
    """:attr:`Batcher.on_close` until its owner sets it."""
