"""Which batch goes next, and when: due rules, retries, backoff, the 401/403 pause, close.

:class:`Batcher` wraps a :class:`~readme_metrics.delivery.queue.LogQueue` with the state
that decides the next POST (under the queue's one lock), and the outcomes reported by
senders. With several POSTs in flight the Metrics API is still treated as one server:

- a failed batch that is retried waits its own backoff (exponential in its attempts,
  jittered) while the other senders go on: an API that fails a share of the POSTs (a
  load balancer shedding load, a flaky proxy) is not throttled below what it takes;
- once ``DOWN_AFTER`` attempts in a row have failed (none delivered between), or the API
  asked for a Retry-After, it is taken for *down*: delivery holds for one backoff
  (exponential in the failures past that, at most ``PROBE_CAP``; for a Retry-After what
  it asks, at most ``RETRY_AFTER_HOLD``, the batch it answered all of it) and then sends
  one POST at a time until one succeeds: no retry storm.
  That success releases every batch held for a retry at once (as many POSTs in flight
  as there are senders, at most ``max_senders``): the drain does not wait out each
  batch's own backoff (up to ``BACKOFF_CAP``) once the API is back;
- a 401/403 pauses delivery once (what is queued, and what comes during the pause, is
  dropped and counted), however many POSTs in flight were refused;
- closing sends what is left until the deadline, never waiting past it.

It also says when one more sender is wanted (:meth:`Batcher.claim_sender_locked`): every
sender is busy, the backlog exceeds what they carry, and the API's round trip, not the
CPU, holds delivery back (senders report their cycles to :meth:`Batcher.observe`). The
request thread learns it from :meth:`Batcher.put` and only passes the word on (it starts
no thread); a sender learns it when it takes a batch.

While every sender is held in a POST, none waits on the ``flush_interval`` timer: a
sender that takes a batch and leaves none idle arms a *watch* (:meth:`Batcher.after_take`),
which the watchdog thread runs (:meth:`Batcher.watch`) and which starts one more sender
when a partial batch comes due meanwhile.
"""

from __future__ import annotations

import math
import time
from typing import Callable, Optional

from readme_metrics.delivery.encode import Body
from readme_metrics.delivery.policy import (
    BACKOFF_BASE,
    BACKOFF_CAP,
    DOWN_AFTER,
    MAX_DOWN_ATTEMPTS,
    MAX_SENDERS,
    PROBE_CAP,
    PROBE_OVERLAP_CAP,
    RETRY_AFTER_CAP,
    RETRY_AFTER_HOLD,
    backoff_delay,
    hold_step,
    spends_attempt,
)
from readme_metrics.delivery.queue import Batch, LogQueue

#: How much each sender cycle moves the averages of :meth:`Batcher.observe`.
CYCLE_WEIGHT = 0.25
#: An idle sender looks at the queue at least this often, seconds (see release()).
IDLE_LOOK = 5.0
#: Senders beyond the most POSTs in flight at once over the last span of this many
#: seconds end, one staying (see :meth:`Batcher._surplus_locked`).
IDLE_END = 60.0


class Batcher:
    """The scheduling half of delivery; every method takes the queue's lock itself."""

    def __init__(self, queue: LogQueue, *, backoff_base: float = BACKOFF_BASE,
                 backoff_cap: float = BACKOFF_CAP, max_senders: int = MAX_SENDERS,
                 clock: Callable[[], float] = time.monotonic,
                 probe_after: float = math.inf) -> None:
        self.queue = queue
        self.lock = queue.lock
        self._backoff_base = backoff_base
        self._backoff_cap = backoff_cap
        self._clock = clock
        self.closed = False
        self.closing = False  # close() is draining until ``deadline``
        self.deadline = 0.0
        #: Set without the lock by :meth:`release` (the owner is gone): the deadline of a
        #: close that the next sender to look begins (0.0: not released).
        self.released = 0.0
        #: Closed by a sender after a release, with nobody waiting for the drain: the
        #: last sender back ends the close itself (:meth:`end_unattended`), unless the
        #: exit hook takes it over (:meth:`begin_close`).
        self.unattended = False
        self.paused_until = 0.0
        self.failures = 0  # consecutive failed attempts, any batch
        #: The API is taken for down (``DOWN_AFTER`` failures in a row, or a Retry-After),
        #: until it answers: one POST at a time probes it, after each hold.
        self.down = False
        #: Until when every sender holds (while ``down``).
        self.hold_until = 0.0
        #: Until when a Retry-After asked delivery to wait (0.0: never asked): a backoff
        #: of its own the close cuts short (:meth:`_close_locked`), not this.
        self.asked_until = 0.0
        self.max_senders = max_senders
        #: While the API is taken for down, the next probe may go once every POST in
        #: flight has waited this long without an answer (``timeout``: see
        #: :meth:`_probing_locked`).
        self.probe_after = probe_after
        #: Probes let go while the one before was unanswered, since the API last
        #: answered: each doubles that wait (:meth:`_probing_locked`).
        self.overlaps = 0
        # One more sender was asked for and none has come to next_batch() since: one
        # request's word is enough, the next ones keep quiet.
        self.sender_asked = False
        # The flush_interval watch is armed (see watch()): one at a time.
        self.watching = False
        # A sender's cycle, in seconds (moving averages; 0: none measured yet): building
        # and encoding a batch, then its POST (see observe()).
        self.encode_s = 0.0
        self.post_s = 0.0
        #: When the last POST of new logs was cut: the next one, unless it fills a POST at
        #: the caps, waits ``post_s / max_senders`` after it (:meth:`take_locked`).
        self.last_cut = -math.inf
        #: When the latest-begun POST delivered so far began: a POST in flight begun
        #: before it was lost, not slowed by the API (:meth:`_spaced_locked`).
        self.answered_began = -math.inf
        #: Sender threads in their loop: counted in by :meth:`sender_began`, out by
        #: :meth:`next_batch` when one ends for want of work (:meth:`_surplus_locked`).
        self.senders = 0
        #: The most POSTs in flight at once since ``busy_since``; how many senders the
        #: span before it needed (``max_senders``: none ends in the first span).
        self.busiest = 0
        self.busy_since = clock()
        self.keep = max_senders

    # -- request thread ---------------------------------------------------------------

    def put(self, item: object, nbytes: int, inline: bool) -> tuple[str, bool, int]:
        """Queue ``item``: (drop reason or "", act now, that reason's total).

        "Act now" means, for an ``inline`` sender, that a batch is due; in background
        mode (senders are woken by the queue), that one more sender is wanted
        (:meth:`claim_sender_locked`), for a thread other than the caller's to start.
        """
        queue = self.queue
        with self.lock:
            queue.counts["captured"] += 1
            reason = ""
            if self.closed:
                reason = "shutdown"
            elif self.paused_until and self.paused_locked():
                reason = "auth"
            elif not queue.put_locked(item, nbytes):
                reason = "queue_full"
            if reason:
                return reason, False, queue.refuse_locked(reason)
            if not inline:
                # Looked at each time another batch's worth waits: the request path
                # stays a few attribute reads (buffer_length is at least 1).
                return "", (not len(queue.items) % queue.batch_size
                            and self.claim_sender_locked()), 0
            due, _ = queue.due_locked(self._clock(), False)
            return "", due, 0

    def paused_locked(self) -> bool:
        """True during a 401/403 pause (clears the pause once it is over)."""
        if self.paused_until and self._clock() >= self.paused_until:
            self.paused_until = 0.0  # over: the hot path stops reading the clock
        return bool(self.paused_until)

    # -- senders ------------------------------------------------------------------------

    def take_locked(self, force: bool = False) -> tuple[Optional[Batch], Optional[float]]:
        """The next batch to post now, or how long until one may be (None: no timer).

        ``force`` sends a partial batch at once (inline flush).
        """
        queue = self.queue
        now = self._clock()
        if self.paused_until and self.paused_locked():
            return None, self.paused_until - now
        overlapping = False
        if self.down:
            if queue.in_flight:
                probing, wait = self._probing_locked(now)
                if probing:  # one probe at a time; woken when it settles
                    return None, wait
                overlapping = True  # the one in flight unanswered: see _probing_locked
            if now < self.hold_until:
                return None, self.hold_until - now
        batch, wait = queue.take_retry_locked(now)
        if batch is not None:
            self.overlaps += overlapping
            return batch, None
        due, due_in = queue.due_locked(now, force or self.closing)
        if due:
            if (queue.in_flight and not (force or self.closing)
                    and queue.taken >= queue.flush_target):  # (a flush waits for none)
                spaced = self._spaced_locked(now)
                if spaced > 0:
                    return None, spaced
            self.last_cut = now
            self.overlaps += overlapping
            return queue.cut_locked(), None
        if wait is None or (due_in is not None and due_in < wait):
            wait = due_in
        return None, wait

    def _probing_locked(self, now: float) -> tuple[bool, Optional[float]]:
        """While the API is taken for down, with POSTs in flight: (True, and seconds until
        that may change, None: until one settles) if a probe waits for an answer yet,
        (False, None) if every POST in flight has waited ``probe_after`` (``timeout``)
        without one.

        One probe at a time, but not one held on a dead connection: the bound of an API
        that takes POSTs and never answers grows to 30 s as for a slower one (the two
        look alike until an answer comes), and the probe in flight when it came back
        waited out up to 30 s before the next one went (review69). The next probe goes
        once the one in flight has waited ``timeout``; the one in flight is still waited
        for, whole, should the API be that slow.

        That wait doubles with each probe let go so while none was answered
        (``overlaps``), up to ``PROBE_OVERLAP_CAP``: with ``timeout`` alone, a black-holed
        API saw 13.6 POSTs a minute from each process (1.8 before delivery19), up to 10
        held open at once (delivery20)."""
        youngest = 0.0
        for batch in self.queue.in_flight:
            if not batch.sent_at:
                return True, None  # being encoded
            if batch.sent_at > youngest:
                youngest = batch.sent_at
        after = self.probe_after
        if self.overlaps:
            after = max(after, min(after * 2.0 ** min(self.overlaps, 32),
                                   PROBE_OVERLAP_CAP))
        left = youngest + after - now
        return (True, left) if left > 0 else (False, None)

    def _spaced_locked(self, now: float) -> float:
        """Seconds the next POST of new logs waits, while POSTs are in flight, unless the
        logs waiting fill a POST at the caps (0.0: it goes now).

        Each POST holds a sender for a round trip of the API however few logs it
        carries. Taken as fast as they came due, POSTs of a few logs each held every
        sender at once (at 2,000 logs/s to an API answering in 4 s, 32 POSTs of 186 logs
        on average), the logs behind them waited a whole round trip, counted against
        ``max_queue_size`` with those in flight: 1,310 of 20,000 dropped. So the POSTs
        are spread over the round trip: one ``post_s / max_senders`` after the last one
        cut, each carrying its share of the traffic; and while the oldest POST in flight
        had waited longer than ``post_s`` when the last one was cut (the API turned
        slower than its answers so far said, or none answered yet), one as long after it
        as that excess: the POSTs in flight at most double in count per round trip of
        the API as it now is, rather than every sender taking a POST of a few logs
        within its first second."""
        # Only the POSTs begun after the latest one delivered say the API turned slower:
        # one begun before it and still unanswered was lost (a dead connection, cut at
        # its bound, up to 30 s), and held every log behind it in POSTs doubling apart
        # (review74: 14 s late at buffer_length, the API answering in 5 ms).
        # A batch being encoded (sent_at 0.0) has begun no POST yet: not counted (read
        # as begun at the clock's zero, it held the next POST for the clock's reading).
        answered_began = self.answered_began
        if answered_began < 0.0:
            answered_began = 0.0
        oldest = now
        for batch in self.queue.in_flight:
            sent_at = batch.sent_at
            if answered_began < sent_at < oldest:
                oldest = sent_at
        round_trip = self.post_s
        spacing = self.last_cut - oldest - round_trip
        if spacing < round_trip / self.max_senders:
            spacing = round_trip / self.max_senders
        wait = self.last_cut + spacing - now
        if wait <= 0 or self.queue.fills_post_locked():
            return 0.0
        return wait

    def next_batch(self) -> Optional[Batch]:
        """Block until a batch is due; None when closed and nothing more can be sent."""
        queue = self.queue
        with self.lock:
            self.sender_asked = False  # here it is: it takes what is due, or waits idle
            while True:
                self._close_released_locked()
                if self.closed and (not self.closing or self._clock() >= self.deadline):
                    return None
                batch, wait = self.take_locked()
                if batch is not None:
                    if len(queue.in_flight) > self.busiest:
                        self.busiest = len(queue.in_flight)
                    return batch
                if not self.closed and self._surplus_locked():
                    self.senders -= 1
                    return None  # this sender ends: see _surplus_locked
                if self.closing:
                    left = self.deadline - self._clock()
                    if not (queue.items or queue.retries or queue.in_flight) or (
                            wait is not None and wait >= left):
                        # Drained, or the next retry is due after the deadline: do not
                        # hold the exit for nothing.
                        return None
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

    def sender_began(self) -> None:
        """A sender thread enters its loop: counted until :meth:`next_batch` ends it (or
        :meth:`sender_gone`). One started for a backlog ends none until a span is over."""
        with self.lock:
            self.senders += 1
            if self.keep < self.senders:
                self.keep = self.senders

    def sender_gone(self) -> None:
        """A sender thread left its loop otherwise than by :meth:`next_batch`."""
        with self.lock:
            self.senders -= 1

    def _surplus_locked(self) -> bool:
        """For an idle sender (nothing to take now): True if it is to end, a sender more
        than the traffic needs.

        Time is cut in spans of ``IDLE_END`` seconds; at the end of one, the senders
        kept are the most POSTs that were in flight at once during it (one at least),
        and the others end as they find nothing to take. Before, the senders a burst
        against a slow API started (up to ``max_senders``) stayed for the life of the
        process, each waking every ``IDLE_LOOK`` seconds. Not a sender's own idle
        time: an idle sender is woken for the next batch in turn (the longest-waiting
        first), so under light steady traffic each of 32 senders took a batch now and
        then and none was ever idle a whole span. A sender more that turns out needed
        is started again (:meth:`claim_sender_locked`), which also ends no other until
        the span after."""
        now = self._clock()
        if now - self.busy_since >= IDLE_END:
            self.keep = max(1, self.busiest)
            self.busiest = len(self.queue.in_flight)
            self.busy_since = now
        return self.senders > self.keep

    def claim_sender_locked(self, urgent: bool = False) -> bool:
        """True when one more sender should start now; the first True is the only one
        until a sender comes to :meth:`next_batch`.

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
        if (self.sender_asked or queue.idle or not waiting or not in_flight
                or len(in_flight) >= self.max_senders or self.paused_until
                or (self.down and self._probing_locked(self._clock())[0])):
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

    def claim_sender(self, urgent: bool = False) -> bool:
        """:meth:`claim_sender_locked` for a flush (``urgent``)."""
        with self.lock:
            return self.claim_sender_locked(urgent)

    def after_take(self) -> tuple[bool, Optional[float]]:
        """For a sender that has just taken a batch: (start one more sender now, arm the
        flush_interval watch to look in this many seconds; None: not needed).

        The watch is needed when no sender is left idle to wait on the timer, unless it
        is armed already or there is no timer.
        """
        queue = self.queue
        with self.lock:
            grow = self.claim_sender_locked()
            if self.watching or queue.idle or queue.interval <= 0 or self.closed:
                return grow, None
            self.watching = True
            return grow, max(0.0, queue.timer_left_locked(self._clock()))

    def watch(self) -> tuple[bool, Optional[float]]:
        """The flush_interval watch's look (on the watchdog thread): (start one more
        sender now, look again in this many seconds; None: the watch ends).

        A partial batch that comes due while every sender is held in a POST would wait
        for one of them to come back, late by up to ``timeout`` (SPEC 7: it goes at the
        latest flush_interval after its first log). The watch ends once a sender waits
        idle (it keeps the timer itself), none is busy, or no sender may be added (the API
        is failing or refused: no more POSTs then); the next sender that takes a batch
        with none idle arms it again. Only the timer counts here: a full batch or a
        flush behind busy senders has its own rules (:meth:`claim_sender_locked`), and
        counting them too started a sender at each look, 16 during one flush of a
        backlog, and one more every flush_interval under steady load.
        """
        queue = self.queue
        with self.lock:
            if (self.closed or queue.idle or not queue.in_flight
                    or self.down or self.paused_until):
                self.watching = False
                return False, None
            left = queue.timer_left_locked(self._clock())
            if left > 0:
                return False, left
            self.watching = False  # the sender started now arms it again if need be
            return self.claim_sender_locked(urgent=True), None

    # -- outcomes -----------------------------------------------------------------------

    def settle(self, batch: Batch, reason: Optional[str]) -> None:
        """Delivered (``reason`` None: the API works again) or dropped for ``reason``."""
        with self.lock:
            if self.failures and reason in (None, "rejected"):  # the API answered
                self._answered_locked()
            if reason is None and batch.sent_at > self.answered_began:
                self.answered_began = batch.sent_at
            queue = self.queue
            queue.settle_locked(batch, reason)
            if queue.idle:  # (none waits but the idle senders: three Python calls spared)
                queue.wake.notify_all()

    def retry_later(self, batch: Batch,
                    retry_after: Optional[float]) -> Optional[tuple[float, bool]]:
        """Keep the batch for another attempt after a backoff: (that backoff, True if
        this failure had the API taken for down); None if closing gave up."""
        queue = self.queue
        with self.lock:
            if self.closed and not self.closing:  # close() already gave up
                queue.settle_locked(batch, "shutdown")
                return None
            self.failures += 1
            now = self._clock()
            own, batch.released = batch.released, 0.0
            if own > now:
                # A free try (released by a probe's success, failed again before its own
                # backoff was over: the API flaps): that backoff goes on, as had the
                # API not answered meanwhile (exhausted() did not count it either).
                batch.not_before = max(own, now + min(retry_after or 0.0, RETRY_AFTER_CAP))
            else:
                # The batch's own backoff, exponential in its attempts.
                batch.not_before = now + backoff_delay(batch.attempts, retry_after,
                                                       self._backoff_base,
                                                       self._backoff_cap)
            if self.down or self.failures >= DOWN_AFTER or retry_after:
                # Every sender holds, then one POST at a time probes: once the API is
                # down, for a backoff exponential in the failures in a row past
                # DOWN_AFTER (whichever batches they were; not in this batch's attempts:
                # one batch long at odds held them all up to 30 s), at most PROBE_CAP;
                # never earlier than a Retry-After asked (a Retry-After: 0 holds none).
                # A Retry-After holds every sender RETRY_AFTER_HOLD at most; the batch
                # it answered waits all of it (its own backoff, above).
                self.down = True
                hold = backoff_delay(max(1, hold_step(self.failures)),
                                     min(retry_after, RETRY_AFTER_HOLD) if retry_after
                                     else None,
                                     self._backoff_base, min(self._backoff_cap, PROBE_CAP))
                self.hold_until = max(self.hold_until, now + hold)
                batch.not_before = max(batch.not_before, self.hold_until)
            delay = batch.not_before - now
            if retry_after:
                self.asked_until = max(self.asked_until,
                                       now + min(retry_after, RETRY_AFTER_CAP))
            queue.requeue_locked(batch)
            queue.wake.notify_all()
            return delay, self.failures == DOWN_AFTER

    def exhausted(self, batch: Batch, max_attempts: int,
                  max_down: int = MAX_DOWN_ATTEMPTS) -> bool:
        """For a batch whose attempt failed and may be retried: True if it is to be
        dropped now, its ``max_attempts`` failures at the longest backoff spent.

        A failure counts once the batch's own backoff that follows it
        (:meth:`retry_later`'s) has its ceiling at the cap (:func:`policy.spends_attempt`);
        those while it still climbs do not. Those made while the API is taken for down
        (a probe's) count against ``max_down`` instead (120: half an hour at the cap),
        so an outage drops logs at the queue's bounds, not the oldest batch 48 to 110 s
        in. So a batch the API fails while answering others is tried ``max_attempts``
        plus the steps below the cap times at most (11 with the defaults), over its own
        backoffs (75 s on average). A free try (:meth:`_answered_locked` released the
        batch before its own backoff was over, and it failed before then) counts not.
        """
        if batch.released > self._clock():
            return False  # a free try (see retry_later)
        if not spends_attempt(batch.attempts, self._backoff_base, self._backoff_cap):
            return False
        if self.down:
            # A probe of an API taken for down (or a POST in flight when it was): its
            # failure says the API is still down, nothing of its logs. A batch the API
            # fails alone (it answers the others) spends max_attempts.
            batch.spent_down += 1
            return batch.spent_down >= max_down
        batch.spent += 1
        return batch.spent >= max_attempts

    def split(self, batch: Batch, parts: list[tuple[Body, int]]) -> bool:
        """413 for a batch of several logs: it goes again as ``parts``, first in line
        (:meth:`LogQueue.split_locked`); False if close() already gave up (the batch is
        dropped, as :meth:`retry_later` does). The API answered: it works."""
        queue = self.queue
        with self.lock:
            if self.failures:
                self._answered_locked()  # as settle() does: else a hold came back
            if self.closed and not self.closing:
                queue.settle_locked(batch, "shutdown")
                return False
            queue.split_locked(batch, parts)
            queue.wake.notify_all()
            return True

    def _answered_locked(self) -> None:
        """The API answered (a delivery, a 4xx, a 413): the failures in a row are over,
        and so is a hold. If it was taken for down, every batch waiting for a retry is
        due now, not at the end of its own backoff (up to ``BACKOFF_CAP`` on: the
        backlog trickled back over 30 s after an outage); at most one POST per sender
        (``max_senders``) goes at once. Never earlier than a Retry-After asked. Each keeps
        the end of its own backoff (``Batch.released``): an API back flapping, which
        fails it again before then, had each answer spend an attempt of every batch's
        budget (:meth:`retry_later`)."""
        if self.down:
            resume = max(self._clock(), self.asked_until)
            for batch in self.queue.retries:
                if batch.not_before > resume:
                    if not batch.released:
                        batch.released = batch.not_before
                    batch.not_before = resume
        self.failures = 0
        self.down = False
        self.hold_until = 0.0
        self.overlaps = 0

    def pause(self, batch: Batch, seconds: float) -> bool:
        """401/403: drop the batch and all that waits; True if this began a new pause."""
        with self.lock:
            fresh = not (self.paused_until and self.paused_locked())
            if fresh:
                self.paused_until = self._clock() + seconds
            self.queue.settle_locked(batch, "auth")
            self.queue.drop_waiting_locked("auth")
            self.queue.wake.notify_all()
            return fresh

    # -- close ----------------------------------------------------------------------------

    def begin_close(self, deadline: float) -> bool:
        """Stop accepting logs, drain until ``deadline``; False if already closed.

        True too for a drain begun after :meth:`release` that no sender has ended yet:
        the caller (the exit hook) then waits for it, and ends it.
        """
        with self.lock:
            if self.closed:
                taken_over, self.unattended = self.unattended, False
                return taken_over
            self._close_locked(deadline)
        return True

    def _close_locked(self, deadline: float) -> None:
        self.closed = True
        self.closing = True
        self.deadline = deadline
        # A backoff of this library's own is cut short, once: a close that begins while
        # one lasts past the deadline gave up on the batches waiting for a retry without
        # an attempt, though the Metrics API may have answered again for seconds. They
        # are tried now, one POST at a time as after any failure; a failure then backs
        # off as usual (no attempt past the deadline). A Retry-After is still honoured.
        # (Each batch's own backoff too, not only a hold of every sender.)
        resume = max(self._clock(), self.asked_until)
        self.hold_until = min(self.hold_until, resume)
        for batch in self.queue.retries:
            batch.not_before = min(batch.not_before, resume)
        self.queue.flush_target = self.queue.accepted
        self.queue.wake.notify_all()

    def release(self, deadline: float) -> None:
        """The owner is gone: the senders send what waits until ``deadline``, then end.

        For a finalizer, which runs wherever the cyclic GC does, even in a thread that
        holds the queue's lock (a plain Lock): the close itself is begun by a sender
        (:meth:`next_batch`); this only sets a flag and wakes them if the lock is free
        (else they see it within ``IDLE_LOOK``).
        """
        self.released = deadline
        if self.lock.acquire(blocking=False):
            try:
                self.queue.wake.notify_all()
            finally:
                self.lock.release()

    def close_released(self) -> bool:
        """Begin the close :meth:`release` asked for, as a sender does (the exit hook may
        take it over); False if there is none to begin (not released, or closed)."""
        with self.lock:
            return self._close_released_locked()

    def _close_released_locked(self) -> bool:
        if not self.released or self.closed:
            return False
        self._close_locked(self.released)
        self.unattended = True
        return True

    def end_unattended(self) -> Optional[tuple[int, int]]:
        """For a sender that found nothing more to send: :meth:`end_close` if the close
        began after :meth:`release` and no other sender still posts; else None."""
        with self.lock:
            if not self.unattended or self.queue.in_flight:
                return None
            self.unattended = False
        return self.end_close()

    def end_close(self) -> tuple[int, int]:
        """Give up on what is left: (logs dropped now, logs still in flight)."""
        queue = self.queue
        with self.lock:
            dropped = queue.drop_waiting_locked("shutdown")
            self.closing = False  # a sender still stuck in I/O settles when it returns
            queue.wake.notify_all()
            queue.done.notify_all()
            return dropped, queue.accepted - queue.resolved
