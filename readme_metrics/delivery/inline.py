"""Inline sending: due batches posted in the calling thread (inline mode, flush, exit).

A mixin of :class:`~readme_metrics.delivery.core.Delivery` (its state is Delivery's):
the request thread's one batch, the notes of requests turned away taken up, and a
flush's or close's batches sent within their deadline.
"""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING, Any, Optional

from readme_metrics.delivery import post_progress
from readme_metrics.threads import start_thread

if TYPE_CHECKING:
    from readme_metrics.delivery.attempt import Attempt
    from readme_metrics.delivery.batcher import Batcher
    from readme_metrics.delivery.queue import Batch, LogQueue

__all__ = ["FLUSH_HELPER_NAME", "HANDED_TURN_NAME", "INLINE_HELPERS", "INLINE_TAKEOVERS",
           "OWN_REST", "WAITING", "InlineSending"]

#: How many more batches an inline sender sends for requests that found it busy.
INLINE_TAKEOVERS = 3

#: The most threads a forced inline send (a flush: the ASGI lifespan's at a stop; a
#: close) starts beside its caller when more waits than one POST carries, each posting
#: a POST's worth as the caller does, and all ended by the same deadline. Before
#: delivery39 one POST after another: a Metrics API answering in 1 s, 3,001 logs queued
#: at uvicorn's SIGTERM, ``shutdown_timeout`` 5 s: 5 POSTs of 500 sent, 1,001 lost (said).
INLINE_HELPERS = 7

#: The name of those threads.
FLUSH_HELPER_NAME = "readme-metrics-flush"

#: The name of the thread an inline sender hands its turn to when its last turn ended
#: with logs waiting due (flaky37: see :meth:`InlineSending._send_inline`).
HANDED_TURN_NAME = "readme-metrics-inline"

#: What :meth:`InlineSending._still_due` finds: logs waiting due (a request's, turned
#: away); only what an encode split off a batch taken (this sender's own).
WAITING = "waiting"
OWN_REST = "own rest"


class InlineSending:
    """Delivery's sending in the calling thread (no sender thread does it)."""

    _inline_lock: threading.Lock
    _queue: LogQueue
    _batcher: Batcher
    _attempt: Attempt

    def _send_inline(self, force: bool, deadline: Optional[float],
                     exiting: bool = False) -> None:
        """Send due batches in the calling thread (inline mode, or no sender at exit).

        Without ``force`` one due batch is sent, one attempt, and nobody waits: a request
        thread never sleeps for a backoff. A request that finds another one sending
        returns; the sender looks at the queue after each turn's release, and while a
        batch is still due (the logs of the requests it turned away, a retry that went
        ahead of them, more than one POST's worth) takes another turn (at most
        ``INLINE_TAKEOVERS`` more), so a log is not stranded until the next request. A
        request thread posts one retry at most: the turns after it take logs not yet
        posted. Logs waiting due after the last turn are handed to a thread of its own
        (flaky37). With ``force`` (flush, close) partial batches go too, and backoffs are
        waited out until ``deadline``; what is due after it is taken up as a request's
        sender does, within ``deadline``.
        ``exiting`` (the main thread's end, the app's threads running on: post_waiting):
        what waits goes side by side too, partial batches, no backoff waited for.
        """
        lock = self._inline_lock
        retried = took = False
        due: Optional[str] = None
        for turn in range(1 + INLINE_TAKEOVERS):
            wait = -1.0 if deadline is None else max(0.0, deadline - time.monotonic())
            # The lock's answer is kept by C code (list.extend calling acquire): a signal
            # handler's raise (sys.exit on SIGTERM, Ctrl-C: in the main thread, as an
            # app under wsgiref runs) lands after acquire's return, before an assignment
            # could keep it; the finally then found `acquired` unset and the lock stayed
            # held for good: every later send and flush turned away (delivery49). A raise
            # inside a timed acquire's wait leaves it not acquired, nothing kept.
            held: list[bool] = []
            try:
                held.extend(map(lock.acquire, (deadline is not None,), (wait,)))
                if not held[0]:
                    # Turned away: the holder looks at the queue after its release, and
                    # this log (queued before the try) is in what it finds (see below).
                    return
                helpers = (self._start_helpers(deadline, exiting)
                           if (force or exiting) and not turn else [])
                # A flush or close forces its own turn only; the turns after it are for
                # the requests it turned away (they returned, their logs past what the
                # flush asked for: left queued until some later request, review99).
                # A request thread posts one retry at most: the turns after it are for
                # logs not yet posted (its own, the requests' it turned away). Else a
                # retry due again (its backoff over during the POST: a short one, a
                # loaded machine) went once more in each turn, the request held 4 x
                # `timeout` and its own log still queued (flake24).
                took, posted_retry = self._send_due(force and not turn, deadline,
                                                    retries=force or not retried)
                retried = retried or posted_retry
                for helper in helpers:  # (they end by the deadline: _send_due)
                    helper.join()
            finally:
                if held and held[0]:
                    lock.release()
            # The look at the queue comes after the release: a request this turn turned
            # away had queued its log before its failed try, so it is in what this look
            # finds, wherever that request's thread is now. Before delivery55 a request
            # left a note (a flag) before its try and once more after it failed; paused
            # in between as this sender's last turn ended (a loaded machine), it was not
            # handed over: its log waited for the next request (mend50's window).
            due = self._still_due(deadline)
            if not due:
                return
        if due != WAITING or not took:
            # Only this sender's own batch still due (what its encode split off, the
            # queue's bounds holding less than a batch): left for the next request, as
            # before flaky37. A thread taking it would hold its JSON in flight while the
            # next request's log met the queue's bounds: dropped (blackbox5's
            # max_queue_bytes below a batch, inline: 2 of 12 dropped). Nor where the last
            # turn took nothing (the API held off, paused, or the deadline over): a
            # thread of its own would find the same, and hand over again.
            return
        # The last turn ended with logs waiting due: a request came during it, and
        # returned. Its log waited for the next request, a flush or the exit (flaky37:
        # granian and gunicorn gthread under load, each request sent once the last log
        # reached the collector, before the POST's answer reached the sender: the fifth
        # log waited 30 s for the server's stop). A thread of its own takes the turn, as
        # this one would (its own turns, and a thread after it if need be): this request
        # thread is not held longer, and no log waits for a request that may never come.
        # Where no thread can start, the log waits for the next request as before.
        start_thread(self._handed_turn, HANDED_TURN_NAME, args=(deadline, exiting))

    def _still_due(self, deadline: Optional[float]) -> Optional[str]:
        """This sender's look after its turn: :data:`WAITING` when logs waiting (not taken
        yet: a request's, turned away) are due, :data:`OWN_REST` when only the logs an
        encode split off a batch taken are (first in line, not posted yet: they waited for
        a later request, delivery52), else None (nothing due, or ``deadline`` over). Not a
        retry's: a request thread posts one at most (flake24)."""
        now = time.monotonic()
        if deadline is not None and now >= deadline:
            return None
        queue = self._queue
        with queue.lock:
            if queue.due_locked(now, False)[0]:
                return WAITING
            if any(retry.body is None and retry.not_before <= now
                   for retry in queue.retries):
                return OWN_REST
        return None

    def _handed_turn(self, deadline: Optional[float], exiting: bool) -> None:
        try:
            self._send_inline(False, deadline, exiting)
        except Exception as exc:  # never a traceback on stderr
            self._attempt.log_exception("readme_metrics: unexpected delivery error", exc)

    def _start_helpers(self, deadline: Optional[float],
                       exiting: bool = False) -> list[threading.Thread]:
        """For a forced send: up to :data:`INLINE_HELPERS` threads posting beside the
        caller, one per POST's worth waiting past the caller's own (none where no thread
        can start: Python 3.12+ at interpreter exit, a thread limit)."""
        queue = self._queue
        with queue.lock:
            posts = -(-len(queue.items) // max(1, queue.max_post_logs))
        helpers: list[threading.Thread] = []
        for _ in range(min(INLINE_HELPERS, posts - 1)):
            helper = start_thread(self._help_send, FLUSH_HELPER_NAME,
                                  args=(deadline, exiting))
            if helper is None:
                break
            helpers.append(helper)
        return helpers

    def _help_send(self, deadline: Optional[float], exiting: bool) -> None:
        try:
            self._send_due(not exiting, deadline, exiting=exiting)  # (its answer: none)
        except Exception as exc:  # never a traceback on stderr
            self._attempt.log_exception("readme_metrics: unexpected delivery error", exc)

    def _send_due(self, force: bool, deadline: Optional[float],
                  retries: bool = True, exiting: bool = False) -> tuple[bool, bool]:
        """Send one due batch (all of them with ``force``), if any: (whether one was
        taken, whether one was a retry). Without ``retries`` only logs not yet posted
        go. ``exiting``: all of them, partial batches too, as a request thread posts
        them (no backoff waited for, each POST within ``timeout``)."""
        took = retried = False
        queue = self._queue
        # The batch in hand and its logs (its encode takes them), for a signal
        # handler's raise (the main thread's send) to put back: _interrupted.
        batch: Optional[Batch] = None
        items: Optional[list[Any]] = None
        try:
            while True:
                now = time.monotonic()
                if deadline is not None and now >= deadline:
                    return took, retried
                with queue.lock:
                    if ((force or exiting) and not self._batcher.closing
                            and queue.lowest_unsettled_locked() > queue.flush_target):
                        return took, retried  # what the flushes asked for is done
                    batch = None
                    flying = queue.in_flight.copy()
                    try:
                        batch, wait = self._batcher.take_locked(force=force or exiting,
                                                                retries=retries)
                    except BaseException:  # a raise in the take: what it took goes back
                        for taken in queue.in_flight - flying:
                            queue.requeue_locked(taken)
                        raise
                    items = None if batch is None else batch.items  # (no call between)
                if batch is None:
                    if not force or wait is None or deadline is None or now + wait >= deadline:
                        return took, retried
                    time.sleep(wait)
                    continue
                took = True
                retried = retried or batch.body is not None  # (encoded: posted before)
                try:
                    # A request thread (not forced) waits `timeout` at most, not the bound
                    # stretched for a slow API: flush() and the exit wait that.
                    self._attempt(batch, deadline, request_thread=not force)
                except Exception as exc:  # as a sender thread does: the batches after it go
                    self._attempt.log_exception("readme_metrics: unexpected delivery error", exc)
                    self._batcher.settle(batch, "error")
                if not force and not exiting:
                    # One batch per request: a batch still due after it (a retry went
                    # first, take_locked; a backlog past one POST's caps; the logs its
                    # encode split off, delivery52) was left until some later request
                    # (review99): the sender looks once more (_send_inline's look).
                    return took, retried
        except BaseException as interrupt:
            if batch is not None and not isinstance(interrupt, Exception):
                self._interrupted(batch, items)
            raise  # (unchanged, to the server and the app)

    def _interrupted(self, batch: Batch, items: Optional[list[Any]]) -> None:
        """A signal handler's raise (SystemExit, KeyboardInterrupt: the main thread's
        inline send, under wsgiref) cut ``batch``'s attempt short: still in flight, it
        goes back first in line, its logs with it when the raise landed in its encode
        (which had taken them), for the next send or the exit's. Before, it stayed in
        flight for good, never settled (the flush waited for it in vain; in its encode,
        its logs were lost unsaid: delivery49). Cut in its POST, it goes again (the API
        may have it: as a POST the watchdog cuts). Never raises."""
        try:
            queue = self._queue
            with queue.lock:
                if batch in queue.in_flight:
                    if batch.body is None and batch.items is None:
                        batch.items = items
                    batch.cut_short = post_progress.may_have(batch, under_way=True)
                    queue.requeue_locked(batch)
                    queue.wake.notify_all()
        except Exception:  # pragma: no cover - never into the server
            pass
