"""Whether the Metrics API works: failures in a row, down and its probes, Retry-After,
the 401/403 pause.

:class:`ApiHealth` is the state that answers it, and what each outcome does to it. It
keeps no lock: the :class:`~readme_metrics.delivery.batcher.Batcher` holding it calls
every method under the queue's one lock (hence the ``_locked`` names), and reads its
state there (``down``, ``hold_until``, ``paused_until``) to decide the next POST. With
several POSTs in flight the API is still treated as one server:

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
  dropped and counted), however many POSTs in flight were refused.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable
from typing import Callable, Optional

from readme_metrics.delivery.limits import (
    BACKOFF_BASE,
    BACKOFF_CAP,
    DOWN_AFTER,
    MAX_DOWN_ATTEMPTS,
    PROBE_CAP,
    RETRY_AFTER_CAP,
    RETRY_AFTER_HOLD,
)
from readme_metrics.delivery.pacing import probe_wait
from readme_metrics.delivery.policy import backoff_delay, hold_step, spends_attempt
from readme_metrics.delivery.queue import Batch


class ApiHealth:
    """The Metrics API's state as delivery sees it; the caller holds the queue's lock."""

    def __init__(self, *, backoff_base: float = BACKOFF_BASE,
                 backoff_cap: float = BACKOFF_CAP,
                 clock: Callable[[], float] = time.monotonic,
                 probe_after: float = math.inf) -> None:
        self._backoff_base = backoff_base
        self._backoff_cap = backoff_cap
        self._clock = clock
        self.paused_until = 0.0
        self.failures = 0  # consecutive failed attempts, any batch
        #: The API is taken for down (``DOWN_AFTER`` failures in a row, or a Retry-After),
        #: until it answers: one POST at a time probes it, after each hold.
        self.down = False
        #: Until when every sender holds (while ``down``).
        self.hold_until = 0.0
        #: Until when a Retry-After asked delivery to wait (0.0: never asked): a backoff
        #: of its own the close cuts short (:meth:`cut_short_locked`), not this.
        self.asked_until = 0.0
        #: While the API is taken for down, the next probe may go once every POST in
        #: flight has waited this long without an answer (``timeout``: see
        #: :meth:`probing_locked`).
        self.probe_after = probe_after
        #: Probes let go while the one before was unanswered, since the API last
        #: answered: each doubles that wait (:meth:`probing_locked`).
        self.overlaps = 0
        #: When the API was last taken for down: a POST in flight begun by then is no
        #: probe (:meth:`probe_in_flight_locked`).
        self.down_since = 0.0
        #: A check (a request without logs: :mod:`.checks`) went unanswered since the API
        #: was taken for down: one answered next says its host answers again.
        self.check_unanswered = False
        #: The next probe goes now, whatever the probe in flight and the hold (a check
        #: was answered after one was not); cleared as it is taken.
        self.early = False
        #: An early probe went during this outage: no other one until the API answers.
        self.early_spent = False
        #: When the next check may go (one ``CHECK_GAP`` after the last one ended).
        self.next_check = 0.0

    def paused_locked(self) -> bool:
        """True during a 401/403 pause (clears the pause once it is over)."""
        if self.paused_until and self._clock() >= self.paused_until:
            self.paused_until = 0.0  # over: the hot path stops reading the clock
        return bool(self.paused_until)

    def pausing(self) -> bool:
        """True during a 401/403 pause, read without the lock (the request path's
        x-documentation-url): a pause that is over is none, though ``paused_until`` is
        cleared only by the next log put or sender's look (review153: inline, the first
        requests after a pause got no header, their logs delivered)."""
        until = self.paused_until
        return bool(until) and self._clock() < until

    def probing_locked(self, now: float,
                       in_flight: Iterable[Batch]) -> tuple[bool, Optional[float]]:
        """While the API is taken for down, with POSTs ``in_flight``: whether a probe
        waits for an answer yet (:func:`~readme_metrics.delivery.pacing.probe_wait`);
        not once a check said the API's host answers again (``early``)."""
        if self.early:
            return False, None
        return probe_wait(now, self.probe_after, self.overlaps, in_flight)

    def probe_taken_locked(self, overlapping: bool) -> None:
        """A batch was taken while the API is taken for down (a probe): ``overlapping``
        the probe in flight, unanswered, it doubles the next one's wait; an early one
        (``early``) is spent."""
        self.overlaps += overlapping
        self.early = False

    def check_wait_locked(self, now: float, in_flight: Iterable[Batch],
                          after: float) -> Optional[float]:
        """For the checker (:mod:`.checks`): seconds until a check may go (0.0: now; inf:
        no POST in flight), or None once none is wanted (the API answered, or an early
        probe went this outage).

        A check goes only while a POST in flight has waited ``after`` seconds (the
        check's own bound) unanswered: an API that refuses the POSTs or fails them (503)
        at once is no black hole, and sees no check (its probes come after each hold, as
        before). Nor before a Retry-After is over (the wait runs to its end): no request
        reaches an API that asked to be left alone, and an early probe waits for it
        anyway (:meth:`checked_locked`)."""
        if not self.down or self.early or self.early_spent or self.paused_until:
            return None
        oldest = min((batch.sent_at for batch in in_flight if batch.sent_at),
                     default=math.inf)
        return max(0.0, oldest + after - now, self.next_check - now,
                   self.asked_until - now)

    def checked_locked(self, answered: bool, now: float, gap: float) -> bool:
        """A check ended (``answered``: the host answered, any status); the next may go
        ``gap`` seconds after ``now``. True if this lets the next probe go at once: an
        answer after a check went unanswered, during this outage, once (``early``), never
        before a Retry-After asked. A host that answers the checks all along (the edge of
        an API whose POSTs are black-holed behind it) lets none go early."""
        self.next_check = now + gap
        if not self.down or self.early_spent:
            return False
        if not answered:
            self.check_unanswered = True
            return False
        if not self.check_unanswered or now < self.asked_until:
            return False
        self.early = self.early_spent = True
        return True

    def probe_in_flight_locked(self, in_flight: Iterable[Batch]) -> bool:
        """While the API is taken for down: True if a probe is among the POSTs
        ``in_flight`` (one begun since), so the next one let go beside it is an overlap
        (``overlaps``). The POSTs begun before (the senders' when the API failed, held on
        dead connections) are none: counted, the first probe already doubled the wait
        of the second (6, 10, 10 s rather than 3, 6, 10 s with ``timeout`` 3 s)."""
        since = self.down_since
        return any(batch.sent_at > since for batch in in_flight)

    def failed_locked(self, batch: Batch, retry_after: Optional[float],
                      lost: bool = False) -> float:
        """An attempt of ``batch`` failed and it is kept for another: set when that may
        be (``batch.not_before``) and return the clock's reading now. A POST ``lost``
        (unanswered while one begun after it was answered fast: a dead connection) is
        no failure in a row of the API's: it is due again at once."""
        now = self._clock()
        if lost and not retry_after:
            # Due again at once (within a hold of every sender, if the API is down): a
            # lost POST's logs were held on a dead connection, and once the API answers
            # again (a check said so: the probe that tells goes now), they are the
            # ones to carry, the queue full of them.
            batch.not_before = now
            return now
        self.failures += 1
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
            if not self.down:
                self.down, self.down_since = True, now
            hold = backoff_delay(max(1, hold_step(self.failures)),
                                 min(retry_after, RETRY_AFTER_HOLD) if retry_after
                                 else None,
                                 self._backoff_base, min(self._backoff_cap, PROBE_CAP))
            self.hold_until = max(self.hold_until, now + hold)
            batch.not_before = max(batch.not_before, self.hold_until)
        if retry_after:
            self.asked_until = max(self.asked_until,
                                   now + min(retry_after, RETRY_AFTER_CAP))
        return now

    def exhausted(self, batch: Batch, max_attempts: int,
                  max_down: int = MAX_DOWN_ATTEMPTS) -> bool:
        """For a batch whose attempt failed and may be retried: True if it is to be
        dropped now, its ``max_attempts`` failures at the longest backoff spent.

        A failure counts once the batch's own backoff that follows it
        (:meth:`failed_locked`'s) has its ceiling at the cap (:func:`policy.spends_attempt`);
        those while it still climbs do not. Those made while the API is taken for down
        (a probe's) count against ``max_down`` instead (120: half an hour at the cap),
        so an outage drops logs at the queue's bounds, not the oldest batch 48 to 110 s
        in. So a batch the API fails while answering others is tried ``max_attempts``
        plus the steps below the cap times at most (11 with the defaults), over its own
        backoffs (75 s on average). A free try (:meth:`answered_locked` released the
        batch before its own backoff was over, and it failed before then) counts not.
        """
        if batch.released > self._clock():
            return False  # a free try (see failed_locked)
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

    def answered_locked(self, retries: Iterable[Batch]) -> None:
        """The API answered (a delivery, a 4xx, a 413): the failures in a row are over,
        and so is a hold. If it was taken for down, every batch waiting for a retry
        (``retries``) is due now, not at the end of its own backoff (up to
        ``BACKOFF_CAP`` on: the backlog trickled back over 30 s after an outage); at most
        one POST per sender (``max_senders``) goes at once. Never earlier than a
        Retry-After asked. Each keeps the end of its own backoff (``Batch.released``): an
        API back flapping, which fails it again before then, had each answer spend an
        attempt of every batch's budget (:meth:`failed_locked`)."""
        if self.down:
            resume = max(self._clock(), self.asked_until)
            for batch in retries:
                if batch.not_before > resume:
                    if not batch.released:
                        batch.released = batch.not_before
                    batch.not_before = resume
        self.failures = 0
        self.down = False
        self.hold_until = 0.0
        self.overlaps = 0
        self.check_unanswered = self.early = self.early_spent = False

    def pause_locked(self, seconds: float) -> bool:
        """401/403: pause for ``seconds``; True if this began a new pause (one already
        on is not lengthened, however many POSTs in flight were refused)."""
        fresh = not (self.paused_until and self.paused_locked())
        if fresh:
            self.paused_until = self._clock() + seconds
        return fresh

    def cut_short_locked(self) -> float:
        """The close begins: a hold of this library's own ends now, a Retry-After's is
        kept; returns when the batches waiting for a retry may go (see
        :meth:`Batcher.begin_close <readme_metrics.delivery.batcher.Batcher.begin_close>`)."""
        resume = max(self._clock(), self.asked_until)
        self.hold_until = min(self.hold_until, resume)
        return resume
