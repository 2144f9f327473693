"""The Batcher's close: stop taking logs, drain until the deadline, give up on what is left
(begun by close(), the exit, or a sender after the owner's release).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Callable, Optional

from readme_metrics.delivery.post_progress import may_have

if TYPE_CHECKING:
    import threading

    from readme_metrics.delivery.health import ApiHealth
    from readme_metrics.delivery.queue import Batch, LogQueue

__all__ = ["LATENCY_SHARE", "LOOK", "RESERVE", "RESERVE_FLOOR", "SETTLE", "SETTLE_SHARE",
           "BatchClosing", "settle_reserve", "stop_reason"]

#: How long past the deadline of a close (an interrupt's wait) the senders of the POSTs
#: cut there are given to come back and settle them (an answer read as the cut came
#: counts as such, in the close's line too), at most: within the close's bound, which
#: keeps that time from its drain (:func:`settle_reserve`).
SETTLE = 0.5
#: The share of a close's bound kept for that wait, if under :data:`SETTLE`: a fifth
#: left the senders of a 0.3 s close 60 ms, which a loaded machine's scheduling took
#: (test_delivery34_findings: its line said "unknown" of a POST cut as it connected).
SETTLE_SHARE = 0.5
#: The most of a close's bound kept for that wait (a settle takes 17 to 28 ms when quiet):
#: 0.5 s (SETTLE) cut every close's POSTs half a second early, a 1 s close's at 0.5 s,
#: and a whole run (CI108) lost a log a starved exit thread handed over late
#: (test_exit12) and a POST body not yet sent in full (test_review149).
RESERVE = 0.15
#: Once POSTs were answered, the share of their round trip (``Staffing.post_s``) kept
#: for that wait, between :data:`RESERVE_FLOOR` and :data:`RESERVE`: a POST in flight
#: at the cut would have been answered in the reserve about reserve / round trip of the
#: time, its 2xx lost ("unknown"). Kept at 0.15 s, closes of 1 s draining 2,000 logs to
#: an API answering in 250 ms said hundreds "unknown" the API had in 8 of 12 (load 22,
#: delivery87); at 0.05 s, 1 of 12.
LATENCY_SHARE = 0.2
#: The least kept so (a settle takes 17 to 28 ms when quiet).
RESERVE_FLOOR = 0.04
#: How often that wait looks (settling wakes no one it could wait on).
LOOK = 0.02


def settle_reserve(bound: float, post_s: float = 0.0) -> float:
    """The seconds before the end of a close of ``bound`` seconds (left) at which its
    POSTs are cut, their senders given the rest to settle them: half of it,
    :data:`RESERVE` at most (from a bound of 0.3 s up), and, once POSTs took ``post_s``
    on average (0: none answered yet), :data:`LATENCY_SHARE` of that, at least
    :data:`RESERVE_FLOOR`. Past the bound (delivery85's ``SETTLE`` after it), a POST
    nothing cuts (through a SOCKS proxy) held the close 0.5 s over ``shutdown_timeout``,
    past gunicorn's kill under a ``--graceful-timeout`` below 2.5 s, its line never said
    (delivery86)."""
    kept = RESERVE
    if post_s > 0:
        kept = min(RESERVE, max(RESERVE_FLOOR, post_s * LATENCY_SHARE))
    return min(kept, max(0.0, bound) * SETTLE_SHARE)


def stop_reason(batch: Batch) -> str:
    """The reason a batch given up on at a stop is counted under: ``unknown`` if a POST
    of it went in full unanswered (the API may have it), else ``shutdown``."""
    return "unknown" if batch.cut_short else "shutdown"


class BatchClosing:
    """:class:`~readme_metrics.delivery.batcher.Batcher`'s close, a base of it: every
    method takes the queue's lock itself, as the Batcher's do."""

    queue: LogQueue
    lock: threading.RLock
    health: ApiHealth
    closed: bool
    closing: bool
    deadline: float
    ends: float
    on_close: Callable[[float], None]
    cut: int
    cut_unsent: int
    refused_closing: int
    close_accepted: int
    released: float
    unattended: bool
    halted: bool

    def begin_close(self, deadline: float, ends: Optional[float] = None) -> bool:
        """Stop accepting logs, drain until ``deadline``, end by ``ends`` (``deadline``
        if None: :meth:`settle_in_flight`); False if already closed.

        True too for a drain begun after :meth:`release` that no sender has ended yet:
        the caller (the exit hook) then waits for it, and ends it.
        """
        with self.lock:
            if self.closed:
                taken_over, self.unattended = self.unattended, False
                return taken_over
            self._close_locked(deadline, ends)
        self.on_close(deadline)
        return True

    def _close_locked(self, deadline: float, ends: Optional[float] = None) -> None:
        self.closed = True
        self.refused_closing = 0
        self.close_accepted = self.queue.accepted
        self.closing = True
        self.deadline = deadline
        self.ends = deadline if ends is None else max(deadline, ends)
        # A backoff of this library's own is cut short, once: a close that begins while
        # one lasts past the deadline gave up on the batches waiting for a retry without
        # an attempt, though the Metrics API may have answered again for seconds. They
        # are tried now, one POST at a time as after any failure; a failure then backs
        # off as usual (no attempt past the deadline). A Retry-After is still honoured.
        # (Each batch's own backoff too, not only a hold of every sender.)
        resume = self.health.cut_short_locked()
        for batch in self.queue.retries:
            batch.not_before = min(batch.not_before, resume)
        self.queue.flush_target = self.queue.accepted
        self.queue.wake.notify_all()

    def release(self, deadline: float) -> None:
        """The owner is gone: the senders send what waits until ``deadline``, then end.

        For a finalizer, which runs wherever the cyclic GC does, even in a thread that
        holds the queue's lock: the close itself is begun by a sender
        (:meth:`next_or_end`); this only sets a flag and wakes them if the lock is free
        (else they see it within ``IDLE_LOOK``).
        """
        self.released = deadline
        # (not within this thread's own hold of the RLock: the GC may run mid-way)
        if not self.lock._is_owned() and self.lock.acquire(  # type: ignore[attr-defined]
                blocking=False):
            try:
                self.queue.wake.notify_all()
            finally:
                self.lock.release()

    def close_released(self) -> bool:
        """Begin the close :meth:`release` asked for, as a sender does (the exit hook may
        take it over); False if there is none to begin (not released, or closed)."""
        with self.lock:
            if not self._close_released_locked():
                return False
        self.on_close(self.released)
        return True

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

    def cut_at_close(self, batch: Batch, read: bool) -> None:
        """A POST of ``batch`` cut at the close's deadline: dropped at shutdown, not
        tried again (no time is left). ``read``: cut once sent in full (``may_have``):
        the API may have those logs, counted in ``cut`` for the close's warning, and
        ``dropped_unknown`` (delivery80: ``dropped_shutdown``)."""
        with self.lock:
            self._cut_locked(batch, read)
            self.queue.wake.notify_all()

    def out_of_time_at_close(self, batch: Batch) -> None:
        """``batch``, taken by a sender, could not go before the close's deadline: not
        delivered (``shutdown``). While the close is under way, counted for its warning
        as never sent (flaky38: settled by the sender alone, between the deadline and
        :meth:`end_close`, it was counted dropped and said by no one); after it, the
        close said it already (given up, or still in flight)."""
        with self.lock:
            if self.closing:
                self._cut_locked(batch, False)
            else:
                self.queue.settle_locked(batch, stop_reason(batch))
            self.queue.wake.notify_all()

    def _cut_locked(self, batch: Batch, read: bool) -> None:
        # (read: as the caller saw its current POST; an earlier one of it that went in
        # full unanswered makes it unknown too, whatever this one came to: delivery80)
        unknown = read or batch.cut_short
        if unknown:
            self.cut += batch.count
        else:  # never reached the API: said as dropped, as what waited
            self.cut_unsent += batch.count
        reason = "unknown" if unknown else "shutdown"
        if batch.count:  # (its sender, if still in its POST, says what came of it)
            batch.given_up = (reason, batch.count)
        self.queue.settle_locked(batch, reason)

    def ended_late(self, batch: Batch, reason: Optional[str], sent_at: float = 0.0) -> str:
        """The sender of a POST of ``batch`` that a close had given up on while it ran
        (:attr:`Batch.given_up <readme_metrics.delivery.queue_batch.Batch.given_up>`)
        is back: its logs are counted as what came of it, ``reason`` (None: delivered,
        a 2xx read as the close cut it), moved from what the close counted them, each
        once. Before delivery81 they stayed so: ``dropped_unknown`` for good of logs
        the API had answered 202. ``sent_at``: only if its POST is still the one begun
        then (not a retry another sender began since). Returns what they are counted
        now ("" if none)."""
        with self.lock:
            if sent_at and batch.sent_at != sent_at:
                return ""
            given, batch.given_up = batch.given_up, None
            if given is None:
                return ""
            was, count = given
            if reason != was:
                self.queue.recount_locked(count, was, reason)
            return "sent" if reason is None else "dropped_" + reason

    def end_close(self) -> tuple[int, int]:
        """Give up on what is left: (logs dropped now, never sent; logs in POSTs sent in
        full and cut unanswered: the API may have them), with those cut at the close's
        deadline already (:meth:`cut_at_close`).

        The batches still in flight are given up on too, now (the caller waited for
        their senders first: :meth:`settle_in_flight`): counted by the time the close
        returns, not by their sender once back (which then only recounts them as what
        came of its POST: :meth:`ended_late`, a 202 read as the close cut it ``sent``,
        each log once). Left to the senders, ``stats`` right after ``close()`` showed
        them ``queued`` though its warning had said them not delivered (blackbox6,
        delivery32); before delivery85 a close that ended before its deadline left them
        so, and said them "still waiting for the Metrics API's answer" within its "not
        delivered" total.
        """
        queue = self.queue
        with self.lock:
            # Taken while the close drained (Batcher.put) and still waiting, never in a
            # POST: they came after its last one. Said with those refused then
            # (``refused_closing``), not as logs the close gave up on.
            late = max(0, queue.accepted - max(queue.taken, self.close_accepted))
            self.refused_closing += late
            # Waiting for a retry, a POST of it sent in full unanswered (timed out; cut by
            # a signal's raise, inline): the API may have it, unknown (delivery80: "not
            # delivered" after a timeout, and counted dropped_shutdown, before). Its
            # flag alone: its last POST's progress stays on it, answered or not.
            for batch in [batch for batch in queue.retries if batch.cut_short]:
                queue.retries.remove(batch)
                self._cut_locked(batch, True)
            dropped = queue.drop_waiting_locked("shutdown") - late
            for batch in list(queue.in_flight):
                # Its request under way or written in full: the API may have read it
                # (its sender not back to say); none went yet (connecting, being
                # encoded): it has none of it (delivery79).
                self._cut_locked(batch, may_have(batch, under_way=True))
            self.closing = False  # a sender still stuck in I/O settles when it returns
            queue.wake.notify_all()
            queue.done.notify_all()
            cut, unsent, self.cut, self.cut_unsent = self.cut, self.cut_unsent, 0, 0
            return dropped + unsent, cut

    def settle_in_flight(self, until: float, stuck: frozenset[int]) -> None:
        """Wait for the POSTs in flight to be settled by their senders (answered, or cut
        at ``until``, the close's deadline: a cut one's sender comes back at once), a
        moment (:data:`SETTLE`) past ``until`` at most, and never past the close's end
        (:attr:`ends`: delivery86, a POST nothing cuts held it 0.5 s past its bound);
        not for those posted by a thread in ``stuck``. Then :meth:`end_close` counts
        only what no answer settled, and the close's line agrees with ``stats``
        (delivery85: a 202 whose head came as the close cut its POST was said
        "unknown" in the line, then counted ``sent``)."""
        queue = self.queue
        with self.lock:
            ends = min(until + SETTLE, max(until, self.ends))
            while any(batch.sent_at and batch.poster not in stuck
                      for batch in queue.in_flight):
                left = ends - time.monotonic()
                if left <= 0:
                    return
                queue.done.wait(min(left, LOOK))

    def wait_in_flight(self, until: float, stuck: frozenset[int]) -> None:
        """For an interrupt's close: no POST begins from now on (:attr:`halted`), and
        those in flight end by ``until`` (the caller cut them there: ``on_close``);
        :meth:`settle_in_flight`. Returns early at another interrupt (a third Ctrl-C)."""
        with self.lock:
            self.halted = True
            self.deadline = min(self.deadline, until)
            try:
                self.settle_in_flight(until, stuck)
            except (KeyboardInterrupt, SystemExit):
                return
