"""How many senders: when one more is wanted, when an idle one ends, the flush_interval
watch.

:class:`Staffing` says when one more sender is wanted (:meth:`Staffing.claim_sender_locked`):
every sender is busy, the backlog exceeds what they carry, and the API's round trip, not
the CPU, holds delivery back (senders report their cycles to :meth:`Staffing.observe`).
The request thread learns it from :meth:`Batcher.put
<readme_metrics.delivery.batcher.Batcher.put>` and only passes the word on (it starts no
thread); a sender learns it when it takes a batch. Those a burst started end once the
traffic no longer needs them (:meth:`Staffing.surplus_locked`).

While every sender is held in a POST, none waits on the ``flush_interval`` timer: a
sender that takes a batch and leaves none idle arms a *watch*
(:meth:`Staffing.after_take_locked`), which the watchdog thread runs
(:meth:`Staffing.watch_locked`) and which starts one more sender when a partial batch
comes due meanwhile.

It keeps no lock of its own: the methods named ``_locked`` run under the queue's lock,
held by the caller, and read the queue and the API's health
(:class:`~readme_metrics.delivery.health.ApiHealth`) there.
"""

from __future__ import annotations

import time
from typing import Callable, Optional

from readme_metrics.delivery.health import ApiHealth
from readme_metrics.delivery.limits import MAX_SENDERS
from readme_metrics.delivery.queue import Batch, LogQueue

#: How much each sender cycle moves the averages of :meth:`Staffing.observe`.
CYCLE_WEIGHT = 0.25
#: Senders beyond the most POSTs in flight at once over the last span of this many
#: seconds end, one staying (see :meth:`Staffing.surplus_locked`).
IDLE_END = 60.0


class Staffing:
    """The sender pool's size and the cycle it is measured by."""

    def __init__(self, queue: LogQueue, health: ApiHealth, *,
                 max_senders: int = MAX_SENDERS,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.queue = queue
        self.lock = queue.lock
        self.health = health
        self._clock = clock
        self.max_senders = max_senders
        # One more sender was asked for and none has come to next_or_end() since: one
        # request's word is enough, the next ones keep quiet.
        self.sender_asked = False
        # The flush_interval watch is armed (see watch_locked()): one at a time.
        self.watching = False
        # A sender's cycle, in seconds (moving averages; 0: none measured yet): building
        # and encoding a batch, then its POST (see observe()).
        self.encode_s = 0.0
        self.post_s = 0.0
        #: Sender threads in their loop: counted in by :meth:`sender_began`, out by
        #: :meth:`gone_locked` (one ends for want of work, :meth:`surplus_locked`).
        self.senders = 0
        #: The most POSTs in flight at once since ``busy_since``; how many senders the
        #: span before it needed (``max_senders``: none ends in the first span).
        self.busiest = 0
        self.busy_since = clock()
        self.keep = max_senders

    def observe(self, encode_s: Optional[float] = None,
                post_s: Optional[float] = None) -> None:
        """A sender's cycle: seconds spent encoding a batch, or in its POST."""
        # Moving averages, each the sample itself for the first (0: none yet); written
        # out, without max(): called twice per batch, where a call costs more than this.
        with self.lock:
            if encode_s is not None:  # never 0, which means "none measured yet"
                if encode_s < 1e-9:
                    encode_s = 1e-9
                average = self.encode_s
                self.encode_s = (average + (encode_s - average) * CYCLE_WEIGHT if average
                                 else encode_s)
            if post_s is not None:
                average = self.post_s
                self.post_s = (average + (post_s - average) * CYCLE_WEIGHT if average
                               else post_s)

    def sender_began(self) -> None:
        """A sender thread enters its loop: counted until it ends for want of work
        (:meth:`surplus_locked`) or otherwise (:meth:`sender_gone`). One started for a
        backlog ends none until a span is over."""
        with self.lock:
            self.senders += 1
            if self.keep < self.senders:
                self.keep = self.senders

    def sender_gone(self) -> None:
        """A sender thread left its loop otherwise than for want of work."""
        with self.lock:
            self.gone_locked()

    def gone_locked(self) -> None:
        """A sender thread leaves its loop."""
        self.senders -= 1

    def surplus_locked(self) -> bool:
        """For an idle sender (nothing to take now): True if it is to end, a sender more
        than the traffic needs (:meth:`gone_locked` counts it out).

        Time is cut in spans of ``IDLE_END`` seconds; at the end of one, the senders
        kept are the most POSTs that were in flight at once during it (one at least),
        and the others end as they find nothing to take. Before, the senders a burst
        against a slow API started (up to ``max_senders``) stayed for the life of the
        process, each waking every ``IDLE_LOOK`` seconds. Not a sender's own idle
        time: an idle sender was woken for the next batch in turn (the longest-waiting
        first, before cpu19: now the last parked, :mod:`.last_parked`), so under light
        steady traffic each of 32 senders took a batch now and then and none was ever
        idle a whole span. A sender more that turns out needed
        is started again (:meth:`claim_sender_locked`), which also ends no other until
        the span after."""
        now = self._clock()
        if now - self.busy_since >= IDLE_END:
            self.keep = max(1, self.busiest)
            self.busiest = len(self.queue.in_flight)
            self.busy_since = now
        return self.senders > self.keep

    def came_locked(self) -> None:
        """A sender came for a batch: the one asked for, if any, is here; the next
        request's word may ask for another."""
        self.sender_asked = False

    def took_locked(self) -> None:
        """A sender took a batch: the POSTs in flight now count towards ``busiest``."""
        if len(self.queue.in_flight) > self.busiest:
            self.busiest = len(self.queue.in_flight)

    def claim_sender(self, urgent: bool = False) -> bool:
        """:meth:`claim_sender_locked` for a flush (``urgent``)."""
        with self.lock:
            return self.claim_sender_locked(urgent)

    def claim_beside(self) -> bool:
        """For a thread that posts the next POST's worth itself (close()'s): True when
        one more sender should start now for what waits beyond that POST (urgently, as
        for a flush: :meth:`claim_sender_locked`)."""
        with self.lock:
            return self.queue.fills_post_locked() and self.claim_sender_locked(urgent=True)

    def claim_sender_locked(self, urgent: bool = False) -> bool:
        """True when one more sender should start now; the first True is the only one
        until a sender comes to :meth:`Batcher.next_or_end
        <readme_metrics.delivery.batcher.Batcher.next_or_end>`.

        Wanted when no sender is idle, the API is not failing, fewer than
        ``max_senders`` POSTs are in flight, and logs wait: any, if ``urgent`` (a flush,
        or the flush_interval timer: everything waiting is due now); else at least
        ``buffer_length``, and either more than twice as many logs wait as the POSTs in
        flight carry (a burst that came during a POST of a few logs would otherwise
        wait for that POST's answer, one round trip of the API; twice, not once: a lone
        sender that keeps up finds about as many logs waiting as it carried, and that
        jitter is no reason for a thread: once as many started 8 senders and 4 times
        the POSTs at 2,000 logs/s, 50 ms), or the busy senders could not carry the
        backlog in their next round at the caps (:meth:`_outgrown_locked`).

        Not whenever a cut reaches the caps: the logs it leaves go with the next sender
        back, and one more sender started then is in step with the one that cut, takes
        the few logs that came meanwhile, and keeps posting that few a round trip later
        while the gap before the next sender back fills to the caps again: at 2,000
        logs/s to an API answering in 1 s that grew the pool to 16 senders and 126 POSTs
        for 20,000 logs (7 and 67 now).
        """
        queue = self.queue
        waiting = len(queue.items)
        in_flight = queue.in_flight
        health = self.health
        if (self.sender_asked or queue.idle or not waiting or not in_flight
                or len(in_flight) >= self.max_senders or health.paused_until
                or (health.down and health.probing_locked(self._clock(), in_flight)[0])):
            return False
        if not urgent:
            if waiting < queue.batch_size:
                return False
            carried = sum(batch.count for batch in in_flight)
            if waiting <= 2 * carried and not self._outgrown_locked(waiting + carried,
                                                                    len(in_flight)):
                return False
            if not self._another_overlaps_locked(in_flight):
                return False
        self.sender_asked = True
        return True

    def _outgrown_locked(self, logs: int, senders: int) -> bool:
        """True if the ``senders`` busy, back from their POSTs, could not take the
        backlog in their next round: ``logs`` (those in flight and waiting: about what
        one round trip of the API brings, and what is left over) or the bytes queued
        are more than that many POSTs at the caps carry; or the queue is past half its
        bounds."""
        queue = self.queue
        queued_bytes = queue.queued_bytes
        return (logs > senders * queue.max_post_logs
                or queued_bytes > senders * queue.max_post_bytes
                # Past half the queue's bounds, a sender more beats new logs dropped.
                or 2 * (queue.accepted - queue.resolved) > queue.max_size
                or 2 * queued_bytes > queue.max_bytes)

    def _another_overlaps_locked(self, in_flight: set[Batch]) -> bool:
        """True if one more sender would raise throughput: the API's round trip, not the
        CPU, holds delivery back.

        A sender's cycle is building and encoding a batch (CPU, under the GIL, shared
        with the app) then its POST (waiting on the API). ``n`` busy senders already fill
        a POST's wait with ``n - 1`` others' encoding; one more helps only while that is
        shorter than the wait. Where the CPU is the bottleneck (large bodies served as fast
        as it allows to an API that answers at once) more senders only share the same
        cores with the app: bench.py's in-process POST grew the pool to 16, and keeping
        it at 4 or 5 took 55 us off the request path's mean and 70 off end to end. The
        wait is the longer of the average POST and the oldest POST in flight, so an API
        that turns slow is seen at once, not one round trip later. Times are wall clock:
        encoding slowed by the app's threads holding the GIL counts as CPU's, as it is.
        """
        encode_s = self.encode_s
        if not encode_s:
            return len(in_flight) < 2  # nothing measured yet: a second sender at most
        busy = (len(in_flight) - 1) * encode_s
        if busy < self.post_s:
            return True
        now = self._clock()
        return busy < now - min(batch.sent_at or now for batch in in_flight)

    def after_take_locked(self, closed: bool) -> tuple[bool, Optional[float]]:
        """For a sender that has just taken a batch: (start one more sender now, arm the
        flush_interval watch to look in this many seconds; None: not needed).

        The watch is needed when no sender is left idle to wait on the timer, unless it
        is armed already or there is no timer (or delivery is ``closed``). Once
        ``closed`` (a close draining until its deadline), or while logs a flush waits
        for are still to be taken, every POST's worth that waits is due now: one more
        sender for it (``urgent``), not left to the senders back from their POSTs, a
        round trip of the API later each (before delivery26 a flush started one sender
        only, and 600 of 1,740 logs waited behind four busy POSTs).
        """
        queue = self.queue
        grow = self.claim_sender_locked(urgent=closed or queue.taken < queue.flush_target)
        if self.watching or queue.idle or queue.interval <= 0 or closed:
            return grow, None
        self.watching = True
        return grow, max(0.0, queue.timer_left_locked(self._clock()))

    def watch_locked(self, closed: bool) -> tuple[bool, Optional[float]]:
        """The flush_interval watch's look (on the watchdog thread): (start one more
        sender now, look again in this many seconds; None: the watch ends).

        A partial batch that comes due while every sender is held in a POST would wait
        for one of them to come back, late by up to ``timeout`` (SPEC 7: it goes at the
        latest flush_interval after its first log). The watch ends once a sender waits
        idle (it keeps the timer itself), none is busy, or no sender may be added (the API
        is failing or refused, or delivery is ``closed``: no more POSTs then); the next
        sender that takes a batch with none idle arms it again. Only the timer counts
        here: a full batch or a flush behind busy senders has its own rules
        (:meth:`claim_sender_locked`), and counting them too started a sender at each
        look, 16 during one flush of a backlog, and one more every flush_interval under
        steady load.
        """
        queue = self.queue
        if (closed or queue.idle or not queue.in_flight
                or self.health.down or self.health.paused_until):
            self.watching = False
            return False, None
        left = queue.timer_left_locked(self._clock())
        if left > 0:
            return False, left
        self.watching = False  # the sender started now arms it again if need be
        return self.claim_sender_locked(urgent=True), None
