"""The bound of a POST to one Metrics API, which grows while the API answers later than
``timeout`` and comes back once it answers fast again.

One :class:`Stretch` per Delivery is shared by its senders (each POST follows it while it
runs) and the watchdog (which cuts a POST at it). It reads no clock: every time is given
(``time.monotonic()`` values), so its rules are stepped through on a fake clock in tests.

- A POST that got no answer within its bound grows the bound (``grow``: twice it, at most
  ``policy.TIMEOUT_CAP``), unless a POST begun after it was answered fast meanwhile
  (within half the bound in force): then the API is not slow, that POST was lost (a
  connection a load balancer black-holed, one of a flapping API's): waiting longer for the
  next ones would only hold them longer on such connections. Half of the POSTs
  black-holed, the others answered at once, drifted the bound up (6.4 s after 15 s, with
  ``timeout`` 0.2 s) before delivery19.
- An answer (any status: a 503 answered at once says as much of the API's answer time as
  a 202) later than ``timeout`` has every POST wait as long as that POST's bound from
  then on; one within half the bound in force halves it, down to ``timeout``. Before
  delivery19 only a 2xx halved it: an API that came back failing fast (503s) kept the
  long bound, and a probe of it black-holed next waited that long.
- A POST taken for lost at its bound may only be late: an API that answers most POSTs in
  50 ms and some in 4 s (``timeout`` 3 s) has those cut at 3 s, taken for lost (a POST
  begun after them was answered fast) and sent again, though the API read them: 2,318
  logs of 20,000 twice at 1,000 logs/s with 1 POST in 5 answered in 4 s, 20,846 with 1
  in 2 (delivery24). So the API's tail is learned (:meth:`spare`): one such POST at a
  time is waited ``grow(timeout)``; answered then, the tail is that answer time
  (``tail``: the longest answer later than ``timeout``), and every POST taken for lost
  is waited ``grow(tail)`` before it is cut (:meth:`lost_wait`), the bound itself
  untouched (the fast POSTs keep ``timeout``). Unanswered then too, it was lost indeed
  (a dead connection): the tail is forgotten and no POST is spared for a while (twice
  ``timeout``, doubling with each one lost up to ``QUIET``), so a load balancer
  black-holing connections costs one POST a longer wait now and then; unless as many
  spared POSTs were answered late since (``credit``, :meth:`spared_answered`): where
  some POSTs are late and others dead, the first dead one ended the sparing for 30 s,
  each late one cut and sent again after it (2,255 logs of 40,000 twice,
  ``late-and-dead``; delivery28). The tail follows the API's recent answers only:
  ``TAIL_ANSWERS`` answers in a row within ``timeout`` forget it (the next POST taken
  for lost probes it again). It stayed until a POST spared was lost: the 8 s answers of
  an API slow for 10 s had every POST black-holed after it waited 16 s, and the flush
  after the load 19 to 22 s instead of 3 (review88, ``delivery_hunt.py
  slow-then-dead``). And the first POST cut at ``timeout`` as the API turns slower (the
  latest answer took more than half ``timeout``) or before any answer came (no answer
  time known: an API slower than ``timeout`` from the start) grows the bound and waits
  it itself (:meth:`slowing`), rather than being cut and sent again: an API slowing from
  50 ms to 5 s over 15 s had the 405 logs of that POST twice, and one answering every
  POST in 4 s the 10 logs of the first POST (delivery25).
- The first answer later than ``timeout`` after the bound was last ``timeout`` is a
  slowdown to say (:meth:`answered` returns True); one whose warning a rate limit held
  back is said at the next slow answer the limit lets through (:meth:`unsaid`).

Its state changes under one lock (``_lock``): sender threads report answers
(:meth:`answered`) while the watchdog thread grows the bound and spares POSTs, and a
read-then-write of ``late_began`` and ``recovered`` split by another answer left
``recovered`` before ``late_began`` (delivery28: a fast answer that had seen no late one
yet wrote its begin time after a late answer begun later was counted, and the POSTs of
the API slow again were taken for read before a recovery that had not happened). The
watchdog calls it under its own lock (taken first, never the other way round); reads of
one attribute take none.
"""

from __future__ import annotations

import math
import threading
from typing import Callable, Optional

from readme_metrics.delivery.limits import LOST_CAP

#: After a POST spared past its bound got no answer (:meth:`Stretch.spare`), how long no
#: POST taken for lost is spared, in seconds, at most: twice ``timeout`` the first time
#: (or after a spared POST was answered), doubling with each one lost after it.
QUIET = 30.0

#: POSTs spared and lost (:meth:`Stretch.spared_lost`) that the sparing outlives after
#: as many spared POSTs answered late (:meth:`Stretch.spared_answered`), at most.
SPARED_CREDIT = 4

#: Answers in a row within ``timeout`` that forget the tail (:meth:`Stretch.answered`):
#: a round of the most POSTs in flight (32 senders) with no late answer among them.
TAIL_ANSWERS = 32


class Stretch:
    """The bound, in seconds, of the exchanges with one server, which may grow while they
    run: a limit made with it (``watchdog.limit``'s ``stretch``) is cut at its start plus
    the bound in force when its deadline comes, not the one it began with. When the
    watchdog cuts one at that bound, the bound grows at once to ``grow(bound)`` (unless
    that exchange was lost rather than slow: :meth:`timed_out`), so the exchanges still
    running with the same server (begun a moment later, the server as slow for them) wait
    that long, rather than each being cut and sent again.
    """

    __slots__ = ("seconds", "longest", "lost_longest", "timeout", "fast_began", "said",
                 "_grow", "tail", "probing", "quiet_until", "last_took", "in_time", "held",
                 "late_began", "recovered", "free", "credit", "quiet_for", "ends_by",
                 "_lock")

    def __init__(self, seconds: float, grow: Callable[[float], float]) -> None:
        self.seconds = seconds
        #: The bound it comes back to (the ``timeout`` option).
        self.timeout = seconds
        self._grow = grow
        #: The most it can grow to (what a socket's own timeout must not undercut).
        self.longest = grow(math.inf)
        #: The most a POST taken for lost is waited (``policy.LOST_CAP``, or ``timeout``
        #: above it; never past ``longest``).
        self.lost_longest = min(self.longest, max(seconds, LOST_CAP))
        #: When the latest POST answered fast (within half the bound in force) began.
        self.fast_began = -math.inf
        #: A slowdown was said since the bound was last ``timeout``.
        self.said = False
        #: The longest answer later than ``timeout`` since a POST spared was lost or
        #: ``TAIL_ANSWERS`` answers in a row came within ``timeout`` (0.0: none): the
        #: API's tail, which a POST taken for lost is waited for.
        self.tail = 0.0
        #: Answers in a row within ``timeout`` since the latest later one.
        self.in_time = 0
        #: A POST taken for lost is being waited ``grow(timeout)`` to learn the tail.
        self.probing = False
        #: No POST taken for lost is spared before then (one spared got no answer).
        self.quiet_until = -math.inf
        #: How long the latest answer took (0.0: none yet, :meth:`slowing`).
        self.last_took = 0.0
        #: Exchanges taken for lost held past their bound (``watchdog.cut_lost``,
        #: counted by the watchdog under its lock).
        self.held = 0
        #: Whether holding one past its bound costs nothing now (its owner's: the queue
        #: has room, no flush or close waits); the watchdog spares none otherwise.
        self.free: Callable[[], bool] = lambda: True
        #: When the latest exchange answered later than ``timeout`` began.
        self.late_began = -math.inf
        #: When the first exchange begun after that one and answered within ``timeout``
        #: began (inf: none yet): the API was slow for the exchanges begun before it, as
        #: far as their begin times tell, fast again for those after (:meth:`recovery`).
        self.recovered = math.inf
        #: Spared POSTs answered late, less those lost, since the sparing last ended
        #: (0 to ``SPARED_CREDIT``): the spared POSTs lost it outlives (:meth:`spared_lost`).
        self.credit = 0
        #: How long the next spared POST lost stops the sparing (up to ``QUIET``).
        self.quiet_for = self._first_quiet()
        #: The deadline of the close its owner began (``watchdog.end_by``, under the
        #: watchdog's lock; inf: none): the exchanges begun after it end by then too.
        self.ends_by = math.inf
        self._lock = threading.Lock()

    def slow(self, began: float) -> bool:
        """For an exchange begun at ``began`` that got no answer within its bound: True if
        the server may be slow (no exchange begun after it was answered fast since),
        False if it was lost (one begun later was)."""
        return self.fast_began <= began

    def timed_out(self, bound: float, began: float = math.inf) -> bool:
        """An exchange begun at ``began``, bounded to ``bound``, got no answer within it:
        the bound grows, unless it was lost (:meth:`slow`). True if the server was taken
        for slow."""
        with self._lock:
            return self._timed_out_locked(bound, began)

    def _timed_out_locked(self, bound: float, began: float) -> bool:
        if not self.slow(began):
            return False
        self._at_least_locked(self._grow(bound))
        return True

    def at_least(self, seconds: float) -> None:
        """The bound is ``seconds`` at least from now on (a POST that timed out has its
        next attempt wait that long, and so do the POSTs after it)."""
        with self._lock:
            self._at_least_locked(seconds)

    def set(self, seconds: float) -> None:
        """The bound is ``seconds`` now (a test's API state, as a black hole leaves it)."""
        with self._lock:
            self.seconds = seconds

    def _at_least_locked(self, seconds: float) -> None:
        if seconds > self.seconds:
            self.seconds = seconds

    def host_answered(self, began: float) -> None:
        """A request that carries no logs, begun at ``began``, was answered at once (the
        API's host answers again: ``checks``): as a POST begun then answered fast,
        :meth:`slow` takes those begun before it and unanswered for lost."""
        with self._lock:
            self._fast_locked(began)

    def _fast_locked(self, began: float) -> None:
        if began > self.fast_began:
            self.fast_began = began

    def lost_wait(self) -> float:
        """How long an exchange taken for lost is waited for before it is cut:
        ``timeout``, or ``grow(tail)`` once the server answered later than ``timeout``
        while others were fast (the tail learned by :meth:`spare`)."""
        tail = self.tail
        return min(self._grow(tail), self.lost_longest) if tail > self.timeout else self.timeout

    def spare(self, bound: float, now: float) -> Optional[float]:
        """An exchange taken for lost (:meth:`slow` False) reached its ``bound`` with no
        answer: the bound it is waited to instead of being cut now, or None (cut it).
        ``grow(tail)`` once a tail is known; else ``grow(timeout)`` for one exchange at a
        time (a probe of the tail), unless the sparing ended a moment ago
        (:meth:`spared_lost`). (Every one taken for lost while the probe was out, tried in
        delivery28, held the logs of as many dead connections: with ``max_queue_size``
        3,000 and 1 POST in 3 dead, 28,065 and 28,152 of 35,000 delivered where main
        delivered 28,993 and 29,017, ``slow-then-dead3-q``.)"""
        with self._lock:
            wait = self.lost_wait()
            if wait > bound:
                return wait
            if self.tail or self.probing or now < self.quiet_until:
                return None
            wait = self._grow(self.timeout)
            if wait <= bound:
                return None
            self.probing = True
            return wait

    def slowing(self, bound: float, began: float) -> Optional[float]:
        """An exchange begun at ``began`` reached its ``bound`` with no answer, taken for
        slow (:meth:`slow`): if that bound is ``timeout`` and the latest answer already
        took more than half of it (the API turning slower, not a black hole after fast
        answers), or none came yet (nothing tells slow from dead: the exchanges in flight
        wait the grown bound all the same), the bound grows now (:meth:`timed_out`) and
        the new one is returned: that exchange waits it too, rather than being cut and
        sent again. Else None."""
        with self._lock:
            if bound > self.timeout or 0.0 < self.last_took <= self.timeout / 2:
                return None
            self._timed_out_locked(bound, began)
            return self.seconds if self.seconds > bound else None

    def spared_lost(self, now: float) -> None:
        """An exchange spared past its bound (:meth:`spare`) got no answer then either:
        it was lost indeed. The tail is forgotten and none is spared for ``quiet_for``
        seconds (twice ``timeout``, doubling with each one lost, up to ``QUIET``), unless
        as many spared ones were answered late since (``credit``: one fewer now). Where
        some connections are dead and others answered late, the first dead one ended
        the sparing for ``QUIET`` s, and the late ones were cut and sent again
        meanwhile: 2,255 logs of 40,000 twice (delivery28, ``late-and-dead``)."""
        with self._lock:
            if self.credit and self.tail:
                self.credit -= 1
                return
            self.credit = 0
            self.tail = 0.0
            self.probing = False
            self.quiet_until = now + self.quiet_for
            self.quiet_for = min(QUIET, 2 * self.quiet_for)

    def spared_answered(self) -> None:
        """An exchange spared past its bound (:meth:`spare`) was answered: the sparing
        outlives one more spared exchange lost (``SPARED_CREDIT`` at most)."""
        with self._lock:
            self._spared_answered_locked()

    def spared_ended(self, answered: bool) -> None:
        """An exchange spared past its bound (:meth:`spare`) ended, answered (late) or
        not: the probe is over (its answer or its cut taught the tail); answered, as
        :meth:`spared_answered`."""
        with self._lock:
            self.probing = False
            if answered:
                self._spared_answered_locked()

    def _spared_answered_locked(self) -> None:
        if self.credit < SPARED_CREDIT:
            self.credit += 1
        self.quiet_for = self._first_quiet()

    def _first_quiet(self) -> float:
        return min(QUIET, self._grow(self.timeout))

    def answered(self, began: float, took: float, bound: float) -> bool:
        """An exchange begun at ``began``, bounded to ``bound``, was answered (whatever
        the status) in ``took`` seconds: True if that is a slowdown to say now."""
        with self._lock:
            return self._answered_locked(began, took, bound)

    def _answered_locked(self, began: float, took: float, bound: float) -> bool:
        timeout, seconds = self.timeout, self.seconds
        self.last_took = took
        if took > timeout:
            if began > self.late_began:
                self.late_began = began
                if began >= self.recovered:
                    self.recovered = math.inf  # slow again after it
            # The late answer of one begun before the recovery with a stretched bound
            # (the API slow then), held past it, neither grows the bound nor teaches the
            # tail: the API is fast now. It put the bound back to 6 s as an 8 s API
            # turned fast, the POSTs on dead connections then cut at 6 s, not 3, and a
            # close right after gave up on 441 to 578 logs of 14,000, not 311 to 314
            # (close-slow-then-dead3); it kept the 8 s tail, the POSTs on dead
            # connections begun after the recovery were spared 16 s each and took all
            # 32 senders: none delivered for 2 s twice, 905 and 957 logs of 40,000
            # refused as the API turned slow again (review95). One begun with the bound
            # at ``timeout`` among fast answers still teaches the tail (delivery24).
            if self.recovered == math.inf or bound <= timeout:
                self.in_time = 0
                if took > self.tail:
                    self.tail = took
            if bound > seconds and self.recovered == math.inf:
                self.seconds = bound
            if self.said:
                return False
            self.said = True
            return True
        if self.late_began < began < self.recovered:
            self.recovered = began
        self.in_time += 1
        if self.in_time >= TAIL_ANSWERS:
            self.tail = 0.0
            self.credit = 0
        if took < seconds / 2:
            self._fast_locked(began)
            if seconds > timeout:
                self.seconds = max(timeout, seconds / 2)
                if self.seconds == timeout:
                    self.said = False
        return False

    def recovery(self) -> float:
        """Exchanges begun before this time may have been read by an API slow then (an
        exchange begun after the latest one answered late, and before them, was not
        answered yet): taken for lost, they may only be late. One begun after it sits
        among exchanges the API answered in time: if unanswered, it was lost."""
        return self.recovered

    def unsaid(self) -> None:
        """The slowdown :meth:`answered` asked to say was not said (a rate limit held it
        back): the next slow answer asks again."""
        self.said = False
