"""The Batcher's hand-off of a log from the request thread: queued or refused, whole.

A signal handler's raise (``sys.exit`` on SIGTERM, KeyboardInterrupt) may land in it
when the app runs in the main thread (:mod:`~readme_metrics.delivery.interrupted`): each
step is whole or not at all wherever it lands, and :meth:`BatchPutting.put` finishes the
hand-off before it lets the raise go on.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable, Optional

if TYPE_CHECKING:
    import threading

    from readme_metrics.delivery.health import ApiHealth
    from readme_metrics.delivery.queue import LogQueue
    from readme_metrics.delivery.staffing import Staffing

__all__ = ["BatchPutting"]


class BatchPutting:
    """:class:`~readme_metrics.delivery.batcher.Batcher`'s hand-off, a base of it."""

    queue: LogQueue
    lock: threading.RLock
    health: ApiHealth
    staffing: Staffing
    closed: bool
    closing: bool
    deadline: float
    close_accepted: int
    refused_closing: int
    refused_late: int
    said_at_exit: Callable[[], bool]
    _clock: Callable[[], float]

    def put(self, item: object, nbytes: int, inline: bool
            ) -> tuple[str, bool, int, Optional[BaseException]]:
        """Queue ``item``: (drop reason or "", act now, that reason's total, interrupt).
        The reason "late" is a "shutdown" drop once the close ended (said apart).

        "Act now" means, for an ``inline`` sender, that a batch is due; in background
        mode (senders are woken by the queue), that one more sender is wanted
        (:meth:`Staffing.claim_sender_locked
        <readme_metrics.delivery.staffing.Staffing.claim_sender_locked>`), for a thread
        other than the caller's to start.

        Raises nothing once begun: a BaseException landing in it (a signal handler's
        raise, KeyboardInterrupt or SystemExit, which runs in the main thread at a call
        or a loop's jump) is returned as ``interrupt``, for the caller to raise, once
        ``item`` is queued or counted refused; taken up again from the start when it
        landed before either (the counts as they were). Only a second raise in that
        retry goes through (:meth:`Delivery.submit
        <readme_metrics.delivery.core.Delivery.submit>` says so).

        ``item.handed`` is set once this call owns it (its first step, no call before
        it): a caller that a raise reaches reads that, never how far its own code came,
        since a raise also lands right after this call returned, before the caller
        stored its answer (CPython 3.9/3.10 after any call, 3.11+ after a C callable's:
        review134, where the caller queued the log again).
        """
        queue = self.queue
        counts = queue.counts
        result: Optional[tuple[str, bool, int, Optional[BaseException]]] = None
        try:
            item.handed = True  # type: ignore[attr-defined]
            with self.lock:
                # Accepted (LogQueue.put_locked) or refused (refuse_locked) each whole or
                # not at all, whatever instruction a raise lands at; which one, the counts
                # say. (One Python call fewer a log than a helper of its own: delivery51.)
                accepted, refused = queue.accepted, queue.refused
                captured = counts["captured"]
                try:
                    counts["captured"] = captured + 1
                    if self.closed:
                        result = self._put_closed_locked(item, nbytes, inline)
                    elif self.health.paused_until and self.health.paused_locked():
                        result = "auth", False, queue.refuse_locked("auth"), None
                    elif not queue.put_locked(item, nbytes):
                        result = ("queue_full", False, queue.refuse_locked("queue_full"),
                                  None)
                    elif not inline:
                        # Looked at each time another batch's worth waits: the request
                        # path stays a few attribute reads (buffer_length is at least 1).
                        result = "", (not len(queue.items) % queue.batch_size
                                      and self.staffing.claim_sender_locked()), 0, None
                    else:
                        result = "", queue.due_locked(self._clock(), False)[0], 0, None
                except BaseException:
                    if queue.accepted == accepted and queue.refused == refused:
                        counts["captured"] = captured  # nothing done: retried
                        result = None
                    else:  # done: only the wake, or the reason's total, was cut short
                        counts["captured"] = captured + 1
                        if queue.accepted != accepted and queue.idle:
                            # A wake cut short (LogQueue.put_locked's, at a call): one
                            # now, spurious at worst. Before delivery53 the batch waited
                            # for a sender's own look, up to IDLE_LOOK (5 s) later.
                            queue.wake.notify()
                        if result is None:  # (refused: dropped, said if late)
                            result = ("", False, 0, None) if queue.refused == refused \
                                else ("late" if self.closed and not self.closing
                                      else "refused", False, 0, None)
                    raise
            return result
        except BaseException as interrupt:
            # The with block's release skipped (CPython 3.9 runs a signal handler after
            # its end, before its __exit__ call: bpo-29988; a tracer's raise between the
            # lock's acquire and the block's handler): released if this thread still
            # holds it (the queue's lock is an RLock for that). The traceback's
            # instruction cannot tell: a raise at the block's last instruction reads as
            # one after its end, the lock released already; the second release freed
            # another thread's hold (delivery56, as review137 in InlineSends).
            if self.lock._is_owned():  # type: ignore[attr-defined]
                self.lock.release()
            if result is None:  # nothing done (or the lock not taken): now
                item.handed = False  # type: ignore[attr-defined] # (a second raise)
                again = self.put(item, nbytes, inline)
                if again[3] is not None:  # a second raise: that one goes on
                    raise again[3]  # noqa: B904 (the first raise kept as its context)
                result = again
            return result[0], result[1], result[2], interrupt

    def _put_closed_locked(self, item: object, nbytes: int, inline: bool
                           ) -> tuple[str, bool, int, Optional[BaseException]]:
        """:meth:`put` once closed: taken while the close drains, else refused."""
        queue = self.queue
        if (self.closing and not inline and self._clock() < self.deadline
                and queue.lowest_unsettled_locked() <= self.close_accepted
                and queue.put_locked(item, nbytes)):
            # A call the server answered while the close drains (uWSGI's other threads,
            # runserver at a reload): it goes in the close's remaining POSTs, within its
            # deadline. Only while what the close began with is unsettled: a server
            # under load would otherwise feed it until its deadline (a uWSGI stop of 1 s
            # took the whole 8 s of shutdown_timeout); at most one more POST's round
            # trip now. Before delivery41 refused, said, not sent (20-24% of the calls
            # of a uWSGI --threads stop under load).
            queue.flush_target = queue.accepted
            queue.wake.notify_all()
            return "", False, 0, None
        # Inline (the close's thread alone sends), past the deadline, once the close's
        # own logs settled, or at the queue's bounds: refused, said by the close. Once it
        # ended ("late"), said by Delivery's LateRefused: before delivery53 unsaid.
        if self.said_at_exit():
            # A log the exit said already, "not delivered" (a finish it gave up on:
            # MetricsPipeline.finish_at_exit): counted, not said a second time, as a
            # late call's (delivery55: one log, two lines).
            return "said", False, queue.refuse_locked("shutdown"), None
        if self.closing:
            self.refused_closing += 1
            return "shutdown", False, queue.refuse_locked("shutdown"), None
        self.refused_late += 1
        return "late", False, queue.refuse_locked("shutdown"), None

    def take_refused_late(self) -> int:
        """The logs refused once a close had ended (:meth:`put`'s "late") not said yet,
        now counted as said (0 while a close drains: that one says its own)."""
        with self.lock:
            if self.closing:
                return 0
            late, self.refused_late = self.refused_late, 0
            return late

