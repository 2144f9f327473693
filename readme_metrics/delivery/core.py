"""Delivery: queued logs to ReadMe, in batches, by a small pool of background senders.

The request thread only calls :meth:`Delivery.submit`, which appends to the queue under
a lock held for a few attribute updates: no I/O, no waiting (in background mode; with
``background_worker_mode=False`` there are no threads and a due batch is sent from the
request thread instead). One named daemon sender per :class:`Delivery` per process
starts on the first log; while the Metrics API is slower than the traffic, each POST
carries everything waiting (up to ``MAX_POST_LOGS`` logs and ``MAX_POST_BYTES``
captured bytes), and one more sender starts, up to ``MAX_SENDERS``, as soon as every
sender is busy and the backlog exceeds what they carry (more than their POSTs take at
those caps in a round, or more than twice as many logs wait as the POSTs in flight hold)
and the API's round trip, not the CPU, is what holds it back, so throughput follows the
backlog instead of the API's latency. A sender that takes a batch starts that one itself;
when a request finds the need (a burst during a POST), the watchdog thread starts it,
as a request thread starts no thread but the first. The watchdog also keeps the
``flush_interval`` timer while every sender is busy, and starts one more sender for a
partial batch that comes due then.

What it trusts: nothing about the Metrics API. It may be down, slow, dripping its
answers or refusing for hours; memory stays bounded (``max_queue_size`` logs and
``max_queue_bytes`` captured bytes, counting the batches in flight or waiting for a
retry), each POST is bounded by ``timeout``, retries are bounded, every log that is not
delivered is counted with its reason, and exit waits at most ``shutdown_timeout``.

The parts: :mod:`.queue` (accounting), :mod:`.batcher` (what goes next), :mod:`.worker`
(threads), :mod:`.attempt` (one attempt and its consequences), :mod:`.sender` (encode,
post, verdict), :mod:`.transport` (HTTP), :mod:`.resolve` (the API's name looked up
within a deadline), :mod:`.watchdog` (a whole POST within ``timeout``), :mod:`.encode`
(JSON), :mod:`.policy` (pure decisions), :mod:`.checks` (a black-holed API's return
noticed without a POST) and :mod:`.process` (exit and fork hooks).

This module runs a little over 300 lines on purpose: it is the one public face of
delivery (submit, flush, close, stats, fork and exit) plus the sender loop that ties
the parts together; every decision in it is delegated to the modules named above.
"""

from __future__ import annotations

import math
import os
import threading
import time
import weakref
from typing import Any, Callable, Optional

from readme_metrics._http import shown_url
from readme_metrics._logging import QuietLogger
from readme_metrics._wording import counted
from readme_metrics.config import MetricsApiConfig
from readme_metrics.delivery import gunicorn_stop, process, uwsgi_exit, watchdog
from readme_metrics.delivery.attempt import Attempt, why_waiting
from readme_metrics.delivery.batcher import Batcher
from readme_metrics.delivery.checks import Checker
from readme_metrics.delivery.policy import (
    AUTH_PAUSE,
    BACKOFF_BASE,
    BACKOFF_CAP,
    MAX_ATTEMPTS,
    MAX_DOWN_ATTEMPTS,
    MAX_SENDERS,
)
from readme_metrics.delivery.queue import LogQueue
from readme_metrics.delivery.queue_full import QueueFullNotice
from readme_metrics.delivery.sender import Sender
from readme_metrics.delivery.transport import Transport
from readme_metrics.delivery.worker import WorkerPool
from readme_metrics.nothing_listens import NothingListens

Build = Callable[[Any], dict]
WORKER_NAME = "readme-metrics-worker"
#: How many more batches an inline sender sends for requests that found it busy.
INLINE_TAKEOVERS = 3


def _gone() -> None:
    """The flush_interval watch of a Delivery that no longer exists: nothing to do."""


#: A close that ended more than this many seconds before its deadline ended early (the
#: next attempt was due after it), and says so.
EARLY = 0.05


class Delivery:
    """Bounded queue + a small pool of senders: batching, retries, bounds and stats.

    .. code-block:: python

        delivery = Delivery(config, build=pipeline.build_log)
        delivery.submit(item)        # request thread: O(1), never blocks, never raises
        delivery.flush(timeout=2.0)  # True when everything queued so far was delivered
        delivery.close()             # also run at interpreter exit, within shutdown_timeout

    ``build(item) -> dict`` turns a queued item into one log object; it runs on a sender
    in background mode (and in the thread that calls :meth:`close` or exits, for what
    waits then) and in the sending request thread otherwise. A forked child starts
    with an empty queue and zeroed stats (the parent still owns what it queued, so nothing
    is sent twice) and its own senders and connections. Stats are per process.

    The keyword arguments after ``build`` tune the retry policy (tests shorten them);
    ``on_first_log``, if given, is called (from the request thread, never raising) at
    the first log submitted in each process, a forked child's first included;
    ``told``, the middleware's record of the fix for "nothing listens there" said
    (:mod:`readme_metrics.nothing_listens`), shared with its DocsUrl.
    """

    def __init__(self, config: MetricsApiConfig, build: Build, *,
                 max_attempts: int = MAX_ATTEMPTS, backoff_base: float = BACKOFF_BASE,
                 backoff_cap: float = BACKOFF_CAP, auth_pause: float = AUTH_PAUSE,
                 max_down_attempts: int = MAX_DOWN_ATTEMPTS,
                 transport: Optional[Transport] = None,
                 on_first_log: Optional[Callable[[], None]] = None,
                 told: Optional[NothingListens] = None) -> None:
        self.config = config
        #: Where this middleware said the fix for "nothing listens there" (the pipeline
        #: hands its DocsUrl the same): said once in full, then in short.
        self._told = told if told is not None else NothingListens()
        self._on_first_log = on_first_log
        self._build = build
        # Never raises (the app configures it); its tracebacks never show the API key.
        self._logger = QuietLogger(config.logger, secrets=(config.api_key,))
        self._background = config.background_worker_mode
        self._max_attempts = max(1, max_attempts)
        self._max_down_attempts = max(1, max_down_attempts)
        self._backoff = (backoff_base, backoff_cap)
        self._auth_pause = auth_pause
        self._transport_given = transport is not None
        #: (logs left, logs accepted) as a flush said what it left (:meth:`left_said`).
        self._said_left = (0, 0)
        #: The close's bound and the server's limit where that set it (else
        #: shutdown_timeout and None: gunicorn_stop.close_bound), as the close began.
        self._bound: tuple[float, Optional[gunicorn_stop.Limit]] = (
            config.shutdown_timeout, None)
        self._transport = transport or Transport(config)
        self._reset_state(closed=False)
        process.track(self)
        gunicorn_stop.watch_stop()  # (in a gunicorn worker: when its SIGTERM comes)
        process.on_fork_in_child(watchdog.after_fork_in_child)
        # uWSGI's --skip-atexit loses what a worker holds at its exit: said once.
        uwsgi_exit.say(self._logger.warning, config.buffer_length, config.flush_interval)

    def _reset_state(self, closed: bool) -> None:
        """(Re)initialise everything that belongs to one process."""
        config = self.config
        self._pid = os.getpid()
        #: (when, logs accepted then) as a server's stop began (:meth:`stop_begins`); a
        #: forked child's close has its own bound (its queue counts from 0 again).
        self._stop_began = (math.inf, -1)
        self._queue = LogQueue(batch_size=config.buffer_length, interval=config.flush_interval,
                               max_size=config.max_queue_size,
                               max_bytes=config.max_queue_bytes)
        self._batcher = Batcher(self._queue, backoff_base=self._backoff[0],
                                backoff_cap=self._backoff[1], max_senders=MAX_SENDERS,
                                probe_after=config.timeout)
        self._batcher.closed = closed
        self._pool = WorkerPool(self._run, name=WORKER_NAME, size=MAX_SENDERS)
        self._started = False
        self._queue_only_told = False  # the warning that no sender thread can start
        self._exit_hooked = False  # multiprocessing children need their own exit hook
        self._inline_lock = threading.Lock()  # one inline sender at a time
        self._inline_turned_away = False  # a request found the inline sender busy
        #: Inline: a log came past the exit's bound (``Batcher.exit_by``): the app's
        #: threads worked on, and the close has a bound of its own.
        self._exit_outlasted = False
        #: (logs read, logs unsent) in POSTs cut at the exit's bound before a close with
        #: a bound of its own began (``_exit_outlasted``): said apart (:meth:`_closed`).
        self._exit_cut = (0, 0)
        self._sender = Sender(self._transport, self._build, config.api_key)
        self._attempt = Attempt(self._batcher, self._sender, self._logger,
                                timeout=config.timeout, max_attempts=self._max_attempts,
                                max_down_attempts=self._max_down_attempts,
                                auth_pause=self._auth_pause, told=self._told)
        self._batcher.on_close = self._attempt.close_begins
        counts = self._queue.counts
        self._queue_full = QueueFullNotice(
            self._attempt.warnings, config.max_queue_size, config.max_queue_bytes,
            lambda: counts["dropped_queue_full"])
        self._checker = Checker(self._batcher, self._transport.answers, self._pool.grow,
                                config.timeout, self._attempt.host_answers,
                                self._transport.end_check)

    # -- request thread -------------------------------------------------------------

    def submit(self, item: Any, send: bool = True) -> bool:
        """Queue one exchange for delivery; False if it was dropped. Never blocks or raises.

        In background mode the first sender is started here on first use; when every
        sender is busy and more are wanted, the watchdog thread is asked to start one
        (a lock and a list append here). In inline mode a full batch, or a partial one
        older than ``flush_interval``, is built and sent in this thread (not with
        ``send=False``: only queued, for a send already under way or a later one).
        """
        try:
            if self._pid != os.getpid():
                self.after_fork_in_child()
            if not self._exit_hooked:
                self._exit_hooked = True
                process.ensure_exit_in_child()
                if self._on_first_log is not None:
                    self._on_first_log()
            reason, due, so_far = self._batcher.put(item, item.nbytes, not self._background)
            if reason:
                if reason == "queue_full":
                    self._queue_full.dropped(so_far)
                    self._attempt.refused()  # POSTs held past their bound: cut them
                return False
            if self._queue_full.since is not None:
                self._queue_full.accepted()
            if self._background:
                if not self._started:
                    if not self._start():
                        self._queue_only()
                elif due:
                    watchdog.run_soon(self._pool.grow)
            elif send and self._batcher.exit_by < math.inf:
                # The main thread has ended: this log goes now, a partial batch too, as
                # those waiting then did (post_waiting), within the exit's bound.
                with self._queue.lock:
                    self._queue.flush_target = max(self._queue.flush_target,
                                                   self._queue.accepted)
                exit_by = self._batcher.exit_by
                if time.monotonic() >= exit_by:
                    self._exit_outlasted = True  # the close has a bound of its own
                self._send_inline(force=False, deadline=exit_by)
            elif due and send:
                self._send_inline(force=False, deadline=None)
            return True
        except Exception:  # never into the app
            self._logger.debug("readme_metrics: submit failed", exc_info=True)
            return False

    @property
    def accepting(self) -> bool:
        """False once closed (close() or the exit hook): a log submitted now is dropped."""
        return not self._batcher.closed

    def count_skipped(self) -> None:
        """Count an exchange that was seen but, by configuration, not logged."""
        self._queue.skip()

    def count_dropped_at_exit(self, count: int) -> None:
        """Count ``count`` logs captured and dropped ("shutdown") that were never queued:
        the exit gave up on finishing them (see ``MetricsPipeline.finish_at_exit``)."""
        with self._batcher.lock:
            self._queue.counts["captured"] += count
            for _ in range(count):
                self._queue.refuse_locked("shutdown")

    # -- public control -------------------------------------------------------------

    @property
    def stats(self) -> dict[str, int]:
        """A consistent snapshot of the counters.

        ``captured == sent + dropped + queued + skipped`` holds in every snapshot;
        ``queued`` includes the batches being sent or waiting for a retry.
        ``dropped_<reason>`` splits ``dropped``; ``failed_batches`` counts batches given
        up on, ``retries`` the attempts after a first failure, ``batches`` the batches
        delivered.
        """
        return self._queue.stats()

    def left_said(self) -> int:
        """The logs still queued, for a flush that gave up and says how many (the ASGI
        lifespan's, at a server's shutdown): should the close give up on logs too, its
        warning says they are those, not more (where no log came since), so the two
        are not read as two losses (delivery32: hypercorn said both, of the same 3)."""
        queue = self._queue
        with queue.lock:
            self._said_left = (queue.accepted - queue.resolved, queue.accepted)
            return self._said_left[0]

    def stop_begins(self) -> None:
        """A server's stop begins (the ASGI lifespan's shutdown, whose flush has
        ``shutdown_timeout``): a close after it (the exit's) ends within the same bound,
        counted from now, if no log came since and it begins within twice that bound of
        now (an older mark counts not: delivery35). Each had a bound of its own: uvicorn
        stopped by Ctrl-C took twice ``shutdown_timeout`` against an API that answered
        nothing (4.0 s of a 2 s bound, 5.1 s with uvicorn's own), hypercorn on SIGTERM as
        well (delivery34)."""
        queue = self._queue
        with queue.lock:
            self._stop_began = (time.monotonic(), queue.accepted)

    def flush(self, timeout: Optional[float] = None) -> bool:
        """Send everything queued now, partial batch included; wait up to ``timeout``.

        ``timeout`` defaults to ``config.shutdown_timeout``. Returns True when every log
        queued before the call was delivered (False on timeout, drops or an auth pause):
        every log since the last flush's answer, also those already settled when it is
        called (inline, the request that fills a batch sends it; a background sender may
        be done before the call) and those the full queue refused, a drop among them
        answered for once.
        """
        if timeout is None:
            timeout = self.config.shutdown_timeout
        try:
            # Beyond TIMEOUT_MAX (float("inf") too) a lock's wait raises OverflowError,
            # which gave up at once: "as long as it takes" is capped there. NaN waits not.
            wait = min(timeout, threading.TIMEOUT_MAX) if timeout > 0 else 0.0
            delivered = self._flush(time.monotonic() + wait)
            self._queue_full.say_rest(limited=True)  # (all of them: say_dropped)
            return delivered
        except Exception:
            self._logger.debug("readme_metrics: flush failed", exc_info=True)
            return False

    def say_dropped(self) -> None:
        """Say the logs the full queue dropped that no line said yet, now: after the ASGI
        lifespan's flush at shutdown, which uvicorn ends on SIGTERM with no exit hook
        (so no close) after it. Never raises."""
        try:
            self._queue_full.say_rest()
        except Exception:
            self._logger.debug("readme_metrics: saying the drops failed", exc_info=True)

    def close(self, began: Optional[float] = None) -> None:
        """Flush within ``shutdown_timeout`` (from ``began``, a ``time.monotonic()``
        reading, else from now), then stop the senders. Idempotent."""
        try:
            if self.begin_exit(began):
                self.finish_exit()
        except Exception:
            self._logger.debug("readme_metrics: close failed", exc_info=True)

    def __repr__(self) -> str:
        mode = "background" if self._background else "inline"
        return f"<Delivery {mode} to {shown_url(self._transport.url)!r} {self.stats!r}>"

    # -- flush and close ------------------------------------------------------------

    def _flush(self, deadline: float) -> bool:
        if self._pid != os.getpid():
            self.after_fork_in_child()
        queue = self._queue
        with queue.lock:
            waiter = queue.add_waiter_locked()
            if waiter is None:
                # Nothing waiting: was anything dropped since the last answer? During a
                # 401/403 pause logs are being dropped, so "everything was delivered"
                # would not be true of the caller's logs either.
                delivered = not queue.dropped_unanswered_locked()
                queue.answered_locked(queue.accepted, queue.refused)
                return delivered and not self._batcher.health.paused_locked()
            queue.wake.notify_all()
        self._attempt.release(spared=False)  # POSTs held past their bound: sent again
        try:
            if self._background and self._start():
                if self._batcher.staffing.claim_sender(urgent=True):
                    self._pool.grow()  # what waits is due now, not after a busy sender
                with queue.lock:
                    queue.wait_locked(waiter, deadline)
            else:
                # No sender thread (inline mode, or threads can no longer start).
                while True:
                    self._send_inline(force=True, deadline=deadline)
                    with queue.lock:
                        left = deadline - time.monotonic()
                        if queue.settled_locked(waiter) or left <= 0:
                            break
                        # Another thread holds the inline sender: let it finish.
                        queue.done.wait(min(left, 0.05))
            with queue.lock:
                return queue.settled_locked(waiter) and waiter.ok
        finally:
            with queue.lock:
                queue.waiters.remove(waiter)
                queue.answered_locked(waiter.target, waiter.refused)

    def post_waiting(self) -> None:
        """Have the senders post every log waiting now, a partial batch too, and wait for
        no answer (``process``: the interpreter's exit is about to wait for the app's own
        threads). Inline, if such a thread runs, the calling thread (the main one,
        ending) posts what is due once, no backoff waited for (a POST within ``timeout``
        and ``shutdown_timeout``): the close at exit sends the rest (before review114
        nothing went until the app's threads had ended). Unlike a flush, it answers for
        nothing (the next flush's answer is unchanged). Never raises."""
        try:
            if self._pid != os.getpid() or (self._background and not self._started):
                return
            if not self._background:
                # The exit's own time begins now: the inline POSTs made while the app's
                # threads run on (this one, theirs) and the close share shutdown_timeout
                # (before delivery37 each had its own: up to timeout + shutdown_timeout).
                self._attempt.exit_begins(time.monotonic() + self.config.shutdown_timeout)
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
                    self._send_inline(force=False, deadline=self._batcher.exit_by)
            elif self._start() and self._batcher.staffing.claim_sender(urgent=True):
                self._pool.grow()  # what waits is due now, not after a busy sender
        except Exception:
            self._logger.debug("readme_metrics: posting at exit failed", exc_info=True)

    def begin_exit(self, began: Optional[float] = None) -> bool:
        """Stop accepting logs and start draining; False if already closed (process hook).
        ``began``: when the close began (see :meth:`close`)."""
        if self._pid != os.getpid():
            return False
        # At interpreter exit the bound counts from the start of the exit (its hooks'
        # wait, unclosed.py's, is part of shutdown_timeout); close() counts from its call.
        if began is None:
            began = process.exit_began()
        stop, accepted = self._stop_began
        start = time.monotonic() if began is None else began
        if accepted == self._queue.accepted and stop <= start < stop + \
                2 * self.config.shutdown_timeout:
            # The server's stop had it: the whole stop within the bound. The stop's flush
            # takes up to the bound, its server's exit up to one more: a mark older than
            # that (a lifespan ended long ago, a test client's) is no stop of this close's
            # (before delivery35 its deadline was long past: it cut at once).
            start = stop
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
        self._bound = gunicorn_stop.close_bound(self.config.shutdown_timeout, start)
        bound, graceful = self._bound
        # (The POSTs in flight end with the close: Batcher.on_close.)
        begun = self._batcher.begin_close(start + bound)
        if begun and graceful is not None:
            self._say_graceful(bound, graceful, gunicorn_stop.since_stop(start))
        # Said once closed: no log is refused as queue-full from then on, and those
        # refused before are in the queue's count, told to the notice or not yet.
        self._queue_full.say_rest()
        return begun

    def _say_graceful(self, bound: float, graceful: gunicorn_stop.Limit,
                      since: float) -> None:
        """The close is bounded by gunicorn's ``--graceful-timeout`` (uWSGI's
        ``--worker-reload-mercy``, a recycled gunicorn worker's ``--timeout``): said as
        it begins, with the logs it holds, should the worker be killed all the same;
        ``since``: the seconds from the worker's SIGTERM to the close's start (requests
        served)."""
        with self._queue.lock:
            held = self._queue.accepted - self._queue.resolved
        if held:
            self._logger.warning(
                "readme_metrics: closing: %s to send within %gs, not shutdown_timeout "
                "(README_SHUTDOWN_TIMEOUT) of %gs: %s %s%s (set %s above shutdown_timeout "
                "to give the close its whole time)", counted(held, "log"), round(bound, 1),
                self.config.shutdown_timeout, graceful.said(), graceful.kills(),
                f", counted from its SIGTERM {since:.1f}s before the close began "
                f"(requests still served meanwhile)" if since >= 0.1 else "",
                graceful.option)

    def finish_exit(self) -> None:
        """Post what waits and wait for the senders until the deadline, then count what
        is left as dropped."""
        if self._pid != os.getpid():
            return
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
        left = deadline - time.monotonic()
        self._closed(*self._batcher.end_close(in_flight=left <= EARLY), left=left)
        if not self._pool.running() and not self._transport_given:
            self._transport.close()
        process.let_go(self)

    def _closed(self, dropped: int, pending: int, cut: int,
                left: Optional[float] = None) -> None:
        """Say what a close gave up on, if anything, ``left`` seconds before its
        deadline (None: now): ``cut`` logs were in POSTs cut at its deadline,
        ``pending`` in POSTs still unanswered as it ends."""
        exit_read, exit_unsent = self._exit_cut
        if exit_read or exit_unsent:
            # Cut at the exit's bound, before this close: not the close's doing, and no
            # "next attempt" held it (review115: "gave up after 0.0s, the next attempt
            # being due past shutdown_timeout ... cut at the close" said of them).
            self._exit_cut = (0, 0)
            cut, dropped = cut - exit_read, dropped - exit_unsent
            self._logger.warning(
                "readme_metrics: %s not delivered: in POSTs cut at the exit's bound, "
                "shutdown_timeout (README_SHUTDOWN_TIMEOUT) of %gs after the main thread "
                "ended, the app's threads serving on past it%s",
                counted(exit_read + exit_unsent, "log"), self.config.shutdown_timeout,
                ("; unanswered: the Metrics API may have them" if not exit_unsent else
                 f"; {exit_read} of them unanswered: the Metrics API may have those"
                 if exit_read else "; none reached the Metrics API"))
        if dropped or pending or cut:
            timeout, graceful = self._bound
            limit = f"shutdown_timeout (README_SHUTDOWN_TIMEOUT) of {timeout:g}s"
            if graceful is not None:  # (gunicorn_stop: said as the close began)
                timeout = round(timeout, 1)  # (counted from the SIGTERM: any fraction)
                limit = f"{timeout:g}s, {graceful.said()} being near"
            if left is None:
                left = self._batcher.deadline - time.monotonic()
            # A close ends before its deadline when the next attempt is due after it (a
            # Retry-After, or the backoff of a failure meanwhile): said so, with the time
            # it took, not as if shutdown_timeout had run out.
            early = left > EARLY
            when = (f"after {max(0.0, timeout - left):.1f}s, the next attempt being due "
                    f"past {limit}"
                    if early else  # (":g": as the ASGI lifespan's line says it)
                    f"after {limit}")
            if not early:  # those in flight at the deadline are being cut (end_by)
                cut, pending = cut + pending, 0
            # Logs in a POST still unanswered, or cut unanswered, were sent: the API may
            # well have them (it read the POST and had not answered yet), which "not
            # delivered" alone hid.
            self._logger.warning(
                "readme_metrics: closing gave up %s: %s not delivered%s%s%s%s", when,
                counted(dropped + pending + cut, "log"),
                f" ({cut} of them in POSTs cut at the close, unanswered: the Metrics "
                f"API may have them)" if cut else "",
                f" ({pending} of them in POSTs still waiting for the Metrics API's "
                f"answer: it may have them)" if pending else "",
                self._same_as_said(),
                # Why the retries were needed, or why POSTs are still unanswered: the
                # last attempt's failure, if the API has not answered since (a close
                # reaching its deadline while a retry is in flight, not between two
                # retries, said "1 log not delivered" alone). Not a cut by the close.
                why_waiting(self._sender.endpoint, self._attempt.last_failure,
                            self._sender.proxied, self._sender.proxy_elsewhere,
                            self._told))

    def _same_as_said(self) -> str:
        """For the close's warning: the logs it gave up on are among those a flush said
        it left (:meth:`left_said`), if no log came since."""
        left, accepted = self._said_left
        if not left or self._queue.accepted != accepted:
            return ""
        return (f", of the {counted(left, 'log')} the flush at the ASGI lifespan's "
                f"shutdown said were still queued (the same logs, not more)")

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
        ``shutdown_timeout``, in whatever thread the GC ran). Never raises.
        """
        try:
            if self._pid != os.getpid():
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
        let the process forget this Delivery. An exit hook that comes meanwhile takes
        the drain over (it waits for this send, then ends the close). Never raises."""
        try:
            if self._pid != os.getpid() or not self._batcher.close_released():
                return
            self._send_inline(force=True, deadline=self._batcher.deadline)
            ended = self._batcher.end_unattended()
            if ended is not None:  # not taken over by the exit hook
                self._closed(*ended)
                if not self._transport_given:
                    self._transport.close()
                process.let_go(self)
        except Exception as exc:  # scrubbed of the key: not exc_info
            self._attempt.log_exception("readme_metrics: drain after release failed", exc)

    # -- senders --------------------------------------------------------------------

    def _start(self) -> bool:
        """Start the first sender thread if none runs; False if none can be started."""
        if self._pid != os.getpid():
            self.after_fork_in_child()
        if self._batcher.closed and not self._batcher.closing:
            return False
        self._started = self._pool.start()
        return self._started

    def _queue_only(self) -> None:
        """No sender thread could start for a log just queued: say once that logs wait
        in the queue, sent at flush, close or exit (or once a thread starts)."""
        with self._batcher.lock:  # request threads race here: one warning
            told, self._queue_only_told = self._queue_only_told, True
        if told:
            return
        self._logger.warning(
            "readme_metrics: no delivery thread can start (%s): logs wait in the queue "
            "(up to max_queue_size) and are sent at flush(), close() or exit, or once a "
            "thread starts", self._pool.failure or "unknown")

    def _run(self) -> None:
        """One sender thread: take a due batch, post it, repeat until closed, or until
        the traffic no longer needs it (one sender stays: Staffing.surplus_locked)."""
        batcher = self._batcher
        batcher.staffing.sender_began()
        try:
            self._loop(batcher)
        except BaseException:  # (not expected: counted out, as next_or_end does)
            batcher.staffing.sender_gone()
            raise

    def _loop(self, batcher: Batcher) -> None:
        while True:
            batch, surplus = batcher.next_or_end()
            if batch is None:
                if surplus:
                    return  # more senders than the traffic needs: this one ends
                ended = batcher.end_unattended()  # the last sender after a release()
                if ended is not None:
                    self._closed(*ended)
                    if not self._transport_given:
                        self._transport.close()
                return
            grow, look_in = batcher.after_take()
            if grow:
                self._pool.grow()  # more is due than the busy senders carry: one more
            if look_in is not None:  # no sender left idle to keep flush_interval
                self._watch_in(look_in)
            try:
                self._attempt(batch, batcher.deadline if batcher.closing else None)
            except BaseException as exc:  # a sender never dies, whatever happens
                self._attempt.log_exception("readme_metrics: unexpected delivery error", exc)
                batcher.settle(batch, "error")
            if batcher.health.down and not batcher.closed:
                self._checker.wanted()  # a black hole's return noticed sooner (.checks)

    def _watch_in(self, seconds: float) -> None:
        """Have the watchdog run the flush_interval watch's next look in ``seconds``.

        It holds this Delivery weakly: a look still pending (up to ``flush_interval``)
        does not keep a closed Delivery alive.
        """
        look = weakref.WeakMethod(self._watch)
        watchdog.run_at(time.monotonic() + seconds, lambda: (look() or _gone)())

    def _watch(self) -> None:
        """The flush_interval watch, on the watchdog thread (see :meth:`Batcher.watch`)."""
        if self._pid != os.getpid():
            return
        grow, look_in = self._batcher.watch()
        if grow:
            self._pool.grow()  # a partial batch is due and every sender is busy
        elif look_in is not None:
            self._watch_in(look_in)

    def _send_inline(self, force: bool, deadline: Optional[float]) -> None:
        """Send due batches in the calling thread (inline mode, or no sender at exit).

        Without ``force`` one due batch is sent, one attempt, and nobody waits: a request
        thread never sleeps for a backoff. A request that finds another one sending leaves
        a note instead; the sender then sends once more for it (at most
        ``INLINE_TAKEOVERS`` times), so a log is not stranded until the next request; so
        it does while a batch is still due after its POST (a retry went ahead of the logs
        queued meanwhile, or they fill more than one POST). A request thread posts one
        retry at most: the turns after it take logs not yet posted.
        With ``force`` (flush, close) partial batches go too, and backoffs are waited out
        until ``deadline``; the notes left meanwhile are taken up as a request's are,
        within ``deadline``.
        """
        lock = self._inline_lock
        retried = False
        for turn in range(1 + INLINE_TAKEOVERS):
            # The note is left before the try: a sender that turns this request away
            # holds the lock now and reads it after its release. Left after a failed try,
            # a request paused in between (a loaded machine) left it once the sender had
            # looked and gone: its log stayed queued until some later request (flake21).
            # One that takes the lock clears it, and sends everything queued so far.
            self._inline_turned_away = True
            if deadline is None:
                acquired = lock.acquire(blocking=False)
            else:
                acquired = lock.acquire(timeout=max(0.0, deadline - time.monotonic()))
            if not acquired:
                return  # the sender will look again
            try:
                self._inline_turned_away = False
                # A flush or close forces its own turn only; the turns after it are for
                # the requests it turned away (they returned, their logs past what the
                # flush asked for: left queued until some later request, review99).
                # Nothing due is no reason to skip the note: a request may have queued
                # and been turned away since this sender looked.
                # A request thread posts one retry at most: the turns after it are for
                # logs not yet posted (its own, the requests' it turned away). Else a
                # retry due again (its backoff over during the POST: a short one, a
                # loaded machine) went once more in each turn, the request held 4 x
                # `timeout` and its own log still queued (flake24).
                retried = self._send_due(force and not turn, deadline,
                                         retries=force or not retried) or retried
            finally:
                lock.release()
            if not self._inline_turned_away:
                return

    def _send_due(self, force: bool, deadline: Optional[float],
                  retries: bool = True) -> bool:
        """Send one due batch (all of them with ``force``), if any; True if one was a
        retry. Without ``retries`` only logs not yet posted go."""
        retried = False
        queue = self._queue
        while True:
            now = time.monotonic()
            if deadline is not None and now >= deadline:
                return retried
            with queue.lock:
                if (force and not self._batcher.closing
                        and queue.lowest_unsettled_locked() > queue.flush_target):
                    return retried  # what the flushes asked for is done
                batch, wait = self._batcher.take_locked(force=force, retries=retries)
            if batch is None:
                if not force or wait is None or deadline is None or now + wait >= deadline:
                    return retried
                time.sleep(wait)
                continue
            retried = retried or batch.body is not None  # (encoded: posted before)
            try:
                # A request thread (not forced) waits `timeout` at most, not the bound
                # stretched for a slow API: flush() and the exit wait that.
                self._attempt(batch, deadline, request_thread=not force)
            except Exception as exc:  # as a sender thread does: the batches after it go
                self._attempt.log_exception("readme_metrics: unexpected delivery error", exc)
                self._batcher.settle(batch, "error")
            if not force:
                # A batch still due after this one (a retry went first, take_locked; a
                # backlog past one POST's caps) stayed queued until some later request
                # (review99): the sender looks once more, as for a note (_send_inline).
                with queue.lock:
                    if queue.due_locked(time.monotonic(), False)[0]:
                        self._inline_turned_away = True
                return retried  # one batch per request, but see _send_inline

    # -- process hooks (see process.py) ---------------------------------------------------

    def before_fork(self) -> None:
        """Nothing to hold: a child rebuilds all of its state (after_fork_in_child)."""

    def after_fork_in_parent(self) -> None:
        """The parent keeps its queue, senders and connections as they are."""

    def after_fork_in_child(self) -> None:
        """A forked child starts afresh: empty queue, zeroed stats, new senders and pool."""
        if not self._transport_given:
            # The inherited pooled sockets are shared with the parent: never reuse them.
            self._transport = Transport(self.config)
        self._reset_state(closed=self._batcher.closed)


def _app_threads_run() -> bool:
    """A non-daemon thread other than the caller's runs: the interpreter's exit waits
    for it before ``atexit`` (the library's own threads are daemons)."""
    current = threading.current_thread()
    return any(thread is not current and not thread.daemon and thread.is_alive()
               for thread in threading.enumerate())
