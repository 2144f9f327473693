"""Delivery's end: the exit's post and close, and a release (what they gave up on is
said by :mod:`.closing_said`, its base: house53).

A mixin of :class:`~readme_metrics.delivery.core.Delivery` (its state is Delivery's):
the close's bound (``shutdown_timeout``, a server's stop, gunicorn's limit, the exit's
bound inline), the drain within it; a release (the owner gone) and its drain.
"""

from __future__ import annotations

import math
import threading
import time
from typing import TYPE_CHECKING, Optional

from readme_metrics._process_id import getpid
from readme_metrics.delivery import gunicorn_stop, process, stop_mark, watchdog
from readme_metrics.delivery.batcher_close import settle_reserve
from readme_metrics.delivery.closing_said import EARLY, ClosingSaid

if TYPE_CHECKING:
    from readme_metrics._logging import QuietLogger
    from readme_metrics.config import MetricsApiConfig
    from readme_metrics.delivery.attempt import Attempt
    from readme_metrics.delivery.batcher import Batcher
    from readme_metrics.delivery.checks import Checker
    from readme_metrics.delivery.late_refused import LateRefused
    from readme_metrics.delivery.queue import LogQueue
    from readme_metrics.delivery.queue_full import QueueFullNotice
    from readme_metrics.delivery.transport import Transport
    from readme_metrics.delivery.worker import WorkerPool

__all__ = ["EARLY", "Closing"]


class Closing(ClosingSaid):
    """Delivery's exit, close, release and drain (the close's warning: its base)."""

    config: MetricsApiConfig
    _pid: int
    _background: bool
    _started: bool
    _logger: QuietLogger
    _bound: tuple[float, Optional[gunicorn_stop.Limit]]
    _stop_began: tuple[float, int]
    _stop_ended: float
    _exit_outlasted: bool
    _exit_cut: tuple[int, int]
    _queue: LogQueue
    _batcher: Batcher
    _pool: WorkerPool
    _attempt: Attempt
    _transport_given: bool
    _transport: Transport
    _checker: Checker
    _queue_full: QueueFullNotice
    _late: LateRefused

    if TYPE_CHECKING:  # (Delivery's own: process.ProcessBound's fork hooks)
        def before_fork(self) -> None: ...

        def after_fork_in_parent(self) -> None: ...

        def after_fork_in_child(self) -> None: ...

        def _start(self) -> bool: ...

        def _send_inline(self, force: bool, deadline: Optional[float],
                         exiting: bool = False) -> None: ...

        def interrupt_exit(self, exc: BaseException, by: Optional[float] = None) -> None: ...

    def post_waiting(self) -> None:
        """Have the senders post every log waiting now, a partial batch too, and wait for
        no answer (``process``: the interpreter's exit is about to wait for the app's own
        threads). Inline, if such a thread runs, the calling thread (the main one,
        ending) posts what is due once, no backoff waited for (a POST within ``timeout``
        and ``shutdown_timeout``): the close at exit sends the rest (before review114
        nothing went until the app's threads had ended). Unlike a flush, it answers for
        nothing (the next flush's answer is unchanged). Never raises."""
        try:
            if self._pid != getpid() or (self._background and not self._started):
                return
            if not self._background:
                # The exit's own time begins now: the inline POSTs made while the app's
                # threads run on (this one, theirs) and the close share shutdown_timeout
                # (before delivery37 each had its own: up to timeout + shutdown_timeout).
                self._attempt.exit_begins(time.monotonic() + self.config.shutdown_timeout)
            if self.config.shutdown_timeout <= 0:
                # 0: the exit sends nothing and waits for nothing (README). Woken here, a
                # sender began a POST the close then cut at once, the logs said "not
                # delivered" while the API had them (delivery61: 2 exits of 5).
                return
            queue = self._queue
            with queue.lock:
                if not queue.items:
                    return
                queue.flush_target = max(queue.flush_target, queue.accepted)
                queue.wake.notify_all()
            if not self._background:
                # Only where the exit will wait for the app's own threads: else the close
                # at exit comes at once, and a POST here would only lengthen the exit.
                if _app_threads_run():
                    # A backlog past one POST side by side (review120: gthread, an API
                    # answering in 1 s, 3,000 logs: 4 POSTs in turn, 1,000 cut).
                    self._send_inline(force=False, deadline=self._batcher.exit_by,
                                      exiting=True)
            elif self._start() and self._batcher.staffing.claim_sender(urgent=True):
                self._pool.grow()  # what waits is due now, not after a busy sender
        except Exception:
            self._logger.debug("readme_metrics: posting at exit failed", exc_info=True)

    def begin_exit(self, began: Optional[float] = None) -> bool:
        """Stop accepting logs and start draining; False if already closed (process hook).
        ``began``: when the close began (see :meth:`close`)."""
        if self._pid != getpid():
            return False
        self._late.say_rest()  # refused after an earlier close ended, if any: said now
        # At interpreter exit the bound counts from the start of the exit (its hooks'
        # wait, unclosed.py's, is part of shutdown_timeout); close() counts from its call.
        if began is None:
            began = process.exit_began()
        stop, accepted = self._stop_began
        start = time.monotonic() if began is None else began
        flushed = 0.0  # (the stop's flush's share of the bound)
        if accepted == self._queue.accepted and stop_mark.holds(
                stop, self._stop_ended, start, self.config.shutdown_timeout):
            # The server's stop had it: the whole stop within the bound. An older mark (a
            # lifespan ended long ago, a test client's) is no stop of this close's (before
            # delivery35 its deadline was long past: it cut at once): stop_mark.
            flushed, start = start - stop, stop
        exit_by = self._batcher.exit_by
        if (exit_by < math.inf and process.exit_began() is not None
                and not self._exit_outlasted):
            # Inline, the exit's close ends within the bound counted from the main
            # thread's end, as the POSTs made since did (post_waiting; the app's threads'
            # own), not a bound of its own after them: up to timeout + shutdown_timeout
            # before delivery37. One after logs that came past that bound (the app's
            # threads worked on) has its own.
            start = min(start, exit_by - self.config.shutdown_timeout)
        elif exit_by < math.inf:
            # The POSTs cut at the exit's bound before this close (the app's threads
            # served on past it): said by the close as such, not as its own (review115).
            with self._batcher.lock:
                self._exit_cut = (self._batcher.cut, self._batcher.cut_unsent)
        # In a gunicorn worker, the close ends before its master's SIGKILL, and says
        # what it holds as it begins (gunicorn_stop).
        # Counted from its SIGTERM where noted (requests served since: delivery37).
        bound, graceful = gunicorn_stop.close_bound(self.config.shutdown_timeout, start)
        # A gunicorn bound is said as the close's own time: what the stop's flush left
        # of it (review120: under -k asgi, past the lifespan's deadline, "22 logs to
        # send within 2s" and "gave up after 2s" said where it had none).
        self._bound = (bound, graceful) if graceful is None else (
            max(0.0, bound - flushed), graceful)
        # (The POSTs in flight end with the close: Batcher.on_close.) Cut a moment
        # before its end, their senders settle them by then (settle_reserve): the line
        # is said within the bound, before gunicorn's kill too (delivery86).
        ends = start + bound
        begun = self._batcher.begin_close(
            ends - settle_reserve(ends - time.monotonic(),
                                  self._batcher.staffing.post_s), ends)
        if begun and graceful is not None and graceful.said_ahead:
            self._say_graceful(self._bound[0], graceful,
                               gunicorn_stop.since_stop(start + flushed), flushed)
        # Said once closed: no log is refused as queue-full from then on, and those
        # refused before are in the queue's count, told to the notice or not yet.
        self._queue_full.say_rest()
        return begun

    def finish_exit(self) -> None:
        """Post what waits and wait for the senders until the deadline, then count what
        is left as dropped. An interrupt meanwhile (a second Ctrl-C's KeyboardInterrupt,
        a signal handler's SystemExit) ends the close at once, said, and goes on
        (:meth:`interrupt_exit`: before delivery42 what the close held was lost unsaid)."""
        if self._pid != getpid():
            return
        try:
            self._drain_exit()
        except BaseException as exc:
            if not isinstance(exc, Exception):
                self.interrupt_exit(exc)
            raise

    def _drain_exit(self) -> None:
        """:meth:`finish_exit`'s work."""
        deadline = self._batcher.deadline
        if not self._pool.owns(threading.current_thread()):
            # This thread posts what waits, next to the senders: they may all be held in
            # slow POSTs, and at interpreter exit no thread can start (Python 3.12+) to
            # carry it in parallel. Where one can and more waits than this thread's POST
            # carries, one more sender takes a POST's worth, and each sender that takes
            # one starts another for what is left (Staffing.after_take_locked): every
            # log is in a POST at once, not one round trip of the API after another.
            # Then it waits for the senders' POSTs.
            if self._batcher.staffing.claim_beside():
                self._pool.grow()
            self._send_inline(force=True, deadline=deadline)
            if self._pool.running():
                self._pool.join(deadline)
            if not self._pool.running():  # no sender thread: send what is left here
                self._send_inline(force=True, deadline=deadline)
        # The checker too (.checks): no GET of the API's host after close() returned.
        self._checker.stop(deadline - time.monotonic())
        # The POSTs in flight (answered, or cut at the deadline) settled by their senders
        # first: the line says what came of them (delivery85: a 202 read as the close
        # cut its POST was said "unknown", then counted sent).
        self._batcher.settle_in_flight(deadline, frozenset({threading.get_ident()}))
        left = self._batcher.ends - time.monotonic()
        self._closed(*self._batcher.end_close(), left=left)
        self._say_refused_closing()
        if not self._pool.running() and not self._transport_given:
            self._transport.close()
        process.let_go(self)

    def released_closed(self, ended: tuple[int, int]) -> None:
        """The close a :meth:`release` began, ended by its last sender or by
        :meth:`drain_released` (``Batcher.end_unattended``'s ``ended``): what it gave up
        on and what it refused are said, as any close's (before delivery56 the refused
        were counted, not said), and the transport is closed."""
        self._closed(*ended)
        self._say_refused_closing()
        if not self._transport_given:
            self._transport.close()

    def release(self) -> bool:
        """The owner (the pipeline, and so the middleware) is gone: the senders send
        what is queued, within ``shutdown_timeout``, and end; no new log is accepted.

        For a ``weakref.finalize``: it runs wherever the cyclic GC does (a request
        thread too), so it only leaves word for the senders (no I/O, no wait, no lock
        it may wait for). The senders hold this Delivery until they end; the exit hook
        still waits for a drain under way.

        Inline mode has no sender: with logs still unsent, this Delivery is held by the
        process (:func:`.process.hold`, no lock) until it is closed, by the exit hook at
        the latest, and True is returned: the caller may have a thread of its own call
        :meth:`drain_released` sooner (never the finalizer itself: sending is I/O, up to
        ``shutdown_timeout``, in whatever thread the GC ran). Never raises."""
        try:
            if self._pid != getpid():
                return False
            self._batcher.release(time.monotonic() + self.config.shutdown_timeout)
            if self._background:
                # Begun at once by the watchdog thread (not waited for: the lock it
                # takes may be this thread's), as a close() begins: the POSTs in flight
                # end by its deadline. Left to the first sender back otherwise, which
                # let them run to their own bound (up to 60 s) after it (delivery31).
                watchdog.run_soon(self._batcher.close_released, wait=False)
            queue = self._queue
            # Read without the lock (a finalizer must not wait for it): the owner is gone,
            # so only a send already under way may still settle logs, and a stale count
            # only holds an object that has nothing left, until its drain finds so.
            if self._background or queue.accepted == queue.resolved:
                return False
            process.hold(self)
            return True
        except Exception:  # pragma: no cover - a finalizer must not raise
            return False

    def drain_released(self) -> None:
        """After :meth:`release` returned True, from ordinary code (a thread of the
        library's): send what waits, within ``shutdown_timeout`` of the release, then
        let the process forget this Delivery (that bound counted from the drain's start
        if later: dropped pipelines drain in turn; delivery71). An exit hook that comes
        meanwhile takes the drain over (it waits for this send, then ends the close).
        Never raises."""
        try:
            if self._pid != getpid():
                return
            if self._batcher.released:  # (a plain float write, as release's own)
                self._batcher.released = max(self._batcher.released,
                                             time.monotonic() + self.config.shutdown_timeout)
            if not self._batcher.close_released():
                return
            self._send_inline(force=True, deadline=self._batcher.deadline)
            ended = self._batcher.end_unattended()
            if ended is not None:  # not taken over by the exit hook
                self.released_closed(ended)
                process.let_go(self)
        except Exception as exc:  # scrubbed of the key: not exc_info
            self._attempt.log_exception("readme_metrics: drain after release failed", exc)


def _app_threads_run() -> bool:
    """A non-daemon thread other than the caller's runs: the interpreter's exit waits
    for it before ``atexit`` (the library's own threads are daemons)."""
    current = threading.current_thread()
    return any(thread is not current and not thread.daemon and thread.is_alive()
               for thread in threading.enumerate())
