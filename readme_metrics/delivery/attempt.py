"""One attempt at one batch, and what follows from its outcome.

:class:`Attempt` is what a sender thread (or an inline request thread) does with a batch
the :class:`~readme_metrics.delivery.batcher.Batcher` handed it: encode it the first
time, post it once through the :class:`~readme_metrics.delivery.sender.Sender`, then
settle, pause or reschedule it per the verdict, with at most one (rate-limited) log line.
"""

from __future__ import annotations

import functools
import logging
import math
import threading
import time
from typing import Optional

from readme_metrics._logging import LogLimiter, QuietLogger
from readme_metrics._wording import counted
from readme_metrics.delivery import watchdog
from readme_metrics.delivery.batcher import Batcher
from readme_metrics.delivery.encode import halves
from readme_metrics.delivery.error_lines import ErrorLines
from readme_metrics.delivery.failure_hints import FailureHints, why_waiting
from readme_metrics.delivery.gil_hand_over import GilHandOver
from readme_metrics.delivery.given_up import late_reason, say_given_up
from readme_metrics.delivery.limits import DOWN_AFTER, MAX_DOWN_ATTEMPTS, WARN_INTERVAL
from readme_metrics.delivery.outcome import FAIL, PAUSE, REJECT, SENT, SPLIT, Outcome
from readme_metrics.delivery.policy import next_timeout
from readme_metrics.delivery.post_bound import PostBound
from readme_metrics.delivery.post_progress import WRITTEN, dropped_unknown, may_have
from readme_metrics.delivery.queue import Batch
from readme_metrics.delivery.sender import Sender
from readme_metrics.delivery.watchdog import Stretch
from readme_metrics.key_checks import KEY_SAID
from readme_metrics.nothing_listens import NothingListens

__all__ = ["Attempt", "why_waiting"]

class Attempt(PostBound, FailureHints, ErrorLines):
    """Runs single attempts at batches for one Delivery in one process."""

    def __init__(self, batcher: Batcher, sender: Sender, logger: QuietLogger, *,
                 timeout: float, max_attempts: int, auth_pause: float,
                 max_down_attempts: int = MAX_DOWN_ATTEMPTS,
                 told: Optional[NothingListens] = None, key_said: str = KEY_SAID) -> None:
        self._batcher = batcher
        #: How a refusal names the key: where it came from (MetricsApiConfig.api_key_said).
        self._key_said = key_said
        self._queue = batcher.queue
        self._sender = sender
        self._logger = logger
        self._timeout = timeout
        #: The bound of a POST now (:attr:`stretch`), which the POSTs in flight follow
        #: as it grows: the watchdog grows it as it cuts one at it.
        self._bound = Stretch(timeout, functools.partial(next_timeout, timeout=timeout))
        self._bound.free = self._holding_is_free
        self._max_attempts = max_attempts
        self._max_down_attempts = max_down_attempts
        self._auth_pause = auth_pause
        self.warnings = LogLimiter(logger, WARN_INTERVAL)
        self._build_errors = LogLimiter(logger, None, max_keys=100)
        #: Where this middleware said the fix for "nothing listens there" (its docs-URL
        #: lookup too): later warnings about that place say it in short.
        self.told = told if told is not None else NothingListens()
        #: Why the last attempt that is to be retried failed (its cause), until a POST
        #: goes through: the close that gives such a batch up says why it was waiting.
        self.last_failure: Optional[str] = None
        #: The error of a proxy that cannot carry the POSTs was logged (once per Delivery).
        self._proxy_said = False
        #: A release asked of the watchdog for a refused log has not run yet.
        self._release_asked = False
        #: Held by a sender thread while it builds and encodes a batch: one at a time
        #: (:meth:`_encode`).
        self.encoding = threading.Lock()
        #: What those threads call before each log they build (:mod:`.gil_hand_over`).
        self.hand_over = GilHandOver(batcher)

    def __call__(self, batch: Batch, deadline: Optional[float],
                 request_thread: bool = False) -> None:
        """Encode (first time), make one attempt, and act on its outcome.

        ``deadline`` (flush or close) caps the POST's timeout so that neither overruns.
        ``request_thread``: an inline-mode request thread sends it, which waits
        ``timeout`` at most, whatever the bound in force (flush() and the exit wait it);
        a timeout there grows the bound as any other.
        """
        batcher = self._batcher
        first = batch.body is None
        if batch.body is None:
            if request_thread:  # (inline: one sender at a time already, the app's own)
                encoded = self._encode(batch)
            else:
                # Waited for within the flush's or the close's deadline (the close's as
                # below): another sender's encode of a large batch held a close of 0.5 s
                # as long as it took. Past it, as a POST with no time left (below).
                until = (deadline if deadline is not None
                         else batcher.deadline if batcher.closed else None)
                if not self.encoding.acquire(timeout=-1 if until is None else min(
                        max(0.0, until - time.monotonic()), threading.TIMEOUT_MAX)):
                    self._out_of_time(batch)
                    return
                try:
                    encoded = self._encode(batch, self.hand_over)
                finally:
                    self.encoding.release()
            if not encoded:  # the queue filled while it waited: it waits, not encoded
                return
            if batch.body is None:  # no log could be built: nothing left to send
                batcher.settle(batch, "build_error")
                return
        if deadline is None and batcher.closed:
            # Taken before a close began (held since, in its encoding): the close's
            # deadline bounds it as any POST the close waits for; past it, the close
            # gave it up (Batcher.end_close) and it is not sent (delivery32: it went
            # after close() returned, counted `dropped_shutdown`).
            deadline = batcher.deadline
        timeout = wanted = max(self.stretch, batch.timeout)
        until = math.inf if deadline is None else deadline
        if request_thread:  # `timeout` at most, not stretched in flight either
            timeout = wanted = min(wanted, self._timeout)
            until = min(until, time.monotonic() + timeout)
        if deadline is not None:
            left = deadline - time.monotonic()
            if left <= 0:
                self._out_of_time(batch)
                return
            timeout = min(timeout, left)
        if self.holding_costs():  # the queue is filling
            watchdog.release(self._bound)
        with batcher.lock:
            if not batch.count or batcher.halted:
                # Given up by a close as its sender encoded it (end_close counted it), or an
                # interrupt's close waits for the POSTs in flight (halted): not POSTed
                # (review108). Checked as `sent_at` is set: in its POST, or no POST.
                if batch.count:
                    batcher.out_of_time_at_close(batch)
                batch.body = None
                return
            batch.attempts += 1
            if batch.attempts > 1:
                self._queue.counts["retries"] += 1
            batch.begin_post(time.monotonic())
            posted = batch.count  # (a close may give the batch up during its POST)
            sent = batch.sent_at
        # The POSTs in flight when the API turned slow wait as long as the one that
        # found it out has the next ones wait: not cut at the bound they began with,
        # each sent again (the API may have read it). Never past a flush's or the exit's.
        outcome = self._sender.post(batch.body, timeout, self._bound, until)
        # Sent in full, unanswered (timed out, cut): the API may have it (delivery80).
        batch.cut_short |= not outcome.answered and batch.written == WRITTEN
        if not outcome.answered and (cut_at := watchdog.last_cut()[0]) and cut_at >= (
                batcher.deadline if batcher.closed else batcher.exit_by):
            # Cut by the close at its deadline (watchdog.end_by, or the deadline it
            # began with): that says nothing of the API, so no failure, no bound grown
            # or timeout said, and no time is left to send it again. Counted as such, a
            # POST begun before the close, its own bound 5 s, was said "failed (Timeout:
            # no complete answer within 5s)" at a close of 1 s (delivery30). Cut once its
            # body went in full, the API may have its logs (delivery31: as the watchdog
            # saw it, not as the error says; delivery79: not once connected only). Not
            # one whose answer's head ended before the cut came (read just after it):
            # the API's verdict stands (delivery33: a 202 read as the close cut its POST
            # was counted `dropped_shutdown`). Inline, one cut where the exit's bound
            # ends (exit_begins) is cut so too: no time left for it (delivery37).
            given_up = not batch.count  # by the close first: counted as what came of it
            batcher.cut_at_close(batch, may_have(batch))
            if given_up:  # (a cut: its cause, a timeout, said by no one)
                batcher.ended_late(batch, late_reason(batch, outcome))
            return
        # Not the time the process was frozen (SIGSTOP, docker pause, a laptop's sleep):
        # an answer in 0.3 s read after a 2 s freeze was said "in 2.3s, later than
        # timeout", the bound doubled (blackbox9).
        took = time.monotonic() - batch.sent_at - watchdog.stalled(batch.sent_at)
        if outcome.waited is not None:  # answered in time, its body cut at the bound
            took = outcome.waited
        if first and not (outcome.timed_out and not outcome.answered):
            # The API's share of a sender's cycle (Staffing.observe), and the answer
            # time the POSTs of new logs are spaced by. Not a POST cut at its bound (a
            # black hole, a flush's deadline): its bound is no answer time, and after a
            # 20 s black hole the POSTs went 0.14 s apart (post_s 4.6 s), not 1.6 ms.
            batcher.staffing.observe(post_s=took)
        if outcome.answered:
            self._answered_in(batch.sent_at, took, wanted)
        elif outcome.timed_out and timeout >= wanted and self._bound.slow(batch.sent_at):
            # Its next attempt waits twice as long (up to the cap); not when it was cut
            # at a flush's or the exit's deadline, which said nothing of the API, nor when
            # a POST begun after it was answered fast meanwhile (it was lost, the API is
            # not slow: Stretch.slow). (The watchdog grew the bound already when it cut
            # it: at the bound it had grown to meanwhile, maybe more than ``wanted``.)
            batch.timeout = max(next_timeout(wanted, self._timeout), self.stretch)
            # So do the POSTs after it: those in flight now met the same API, each sent
            # again (the API may have read it) had it waited only `timeout`.
            self._bound.at_least(batch.timeout)
        if not batch.count:  # given up by the close during its POST (Batcher.end_close)
            self._given_up(batch, posted, outcome)
            return
        self._apply(batch, outcome, posted)
        if batch.given_up is not None:
            # Given up by the close after the look above, before _apply settled it (that
            # settle then found no log to count): counted as what came of it now, each
            # once (delivery86: a 202 stayed dropped_unknown). Looked at once that
            # settle took the lock: a close that gave it up came before. (Not a retry
            # of it another sender began since: its own.)
            batcher.ended_late(batch, late_reason(batch, outcome), sent)

    def _out_of_time(self, batch: Batch) -> None:
        """The flush's or the close's deadline came before ``batch`` could go: not
        delivered (``shutdown``, the close says so), or, for a flush, first in line
        again (the flush says False)."""
        batcher = self._batcher
        if batcher.closed:  # closing, or the close gave up on it already
            batcher.out_of_time_at_close(batch)
        else:  # the flush ran out of time: the batch stays first in line
            with batcher.lock:
                self._queue.requeue_locked(batch)

    def _encode(self, batch: Batch, pause: Optional[GilHandOver] = None) -> bool:
        """The batch's logs built and encoded (``batch.body``; None: none could be), its
        time observed; the logs past the room left in ``max_queue_bytes`` or past
        ``max_post_bytes``, once encoded, wait as a batch of their own
        (:meth:`HeldBytes.encoded_locked <readme_metrics.delivery.held.HeldBytes.encoded_locked>`).
        False: not encoded, the queue full and JSON held (``may_encode_locked``), as
        another sender's batch was encoded while this one waited: it waits again, first
        in line. Else two senders' batches, taken while the queue had room, went one
        log's JSON over the bound each.

        Sender threads encode one at a time (:attr:`encoding`): the GIL is the one core
        they all build on, so two at once build no faster, and each more of them is one
        more thread a request thread waits behind for the GIL, up to the switch
        interval (5 ms) each time it comes back from I/O. A backlog (after an outage, a
        429's Retry-After, a slow API) cut into POSTs of 500 logs had several senders
        encode at once: the wrapped app's p99 far above the bare one's beside it in
        those phases of benchmarks/soak.py (docs/PERFORMANCE.md, delivery45). ``pause``:
        a sender thread's :class:`GilHandOver` (an inline request thread builds without)."""
        queue = self._queue
        with queue.lock:
            if batch.count and not queue.may_encode_locked():
                queue.requeue_locked(batch)
                return False
            limit, room, claimed = queue.encode_limit_locked(batch)
        items, batch.items = batch.items or [], None  # free the raw captures early
        if pause is not None:
            pause.begin()  # (its millisecond of building from here: gil_hand_over)
        began = time.monotonic()
        try:
            body, used = self._sender.encode_upto(
                items, lambda exc, item: self._log_build_error(batch, exc, item), limit,
                room, pause)
        except BaseException:  # (a MemoryError): the room claimed goes back
            with queue.lock:
                queue.queued_bytes -= claimed
            raise
        if body is not None:
            self._batcher.staffing.observe(encode_s=time.monotonic() - began)
        with queue.lock:
            queue.encoded_locked(batch, body, items[used:], claimed)
            if used < len(items) and queue.idle:
                queue.wake.notify()  # the logs split off are due now
        return True

    def _given_up(self, batch: Batch, count: int, outcome: Outcome) -> None:
        """The POST of ``count`` logs that the close gave up on while it ran (counted
        dropped then: :mod:`.given_up`) ended: counted as what came of it, and said."""
        now = self._batcher.ended_late(batch, late_reason(batch, outcome))
        say_given_up(self._logger, self.warnings, self._sender.endpoint, count, outcome,
                     now or "dropped", self._hint(outcome.cause))

    def _apply(self, batch: Batch, outcome: Outcome, count: int) -> None:
        """Settle, pause or reschedule the batch of ``count`` logs (as posted: a close
        may give it up meanwhile) per ``outcome`` (one log line at most)."""
        batcher = self._batcher
        verdict, cause = outcome.verdict, outcome.cause
        # A POST of it went in full unanswered before: the API may have its logs, unknown
        # if it is dropped now, said so (delivery85, delivery86).
        unknown = count if batch.cut_short else 0
        if verdict == SENT:
            if self._logger.isEnabledFor(logging.DEBUG):
                # The one sign of delivery where no stats handle is at hand (Django, FastAPI).
                self._logger.debug("readme_metrics: delivered %s (%s)",
                                   counted(count, "log"), cause)
            self.last_failure = None
            batcher.settle(batch, None)
        elif verdict == PAUSE:
            batcher.pause(batch, self._auth_pause,
                          lambda fresh, more: self._say_pause(cause, count, unknown + more,
                                                              fresh))
        elif verdict == SPLIT and batch.count > 1 and batch.body is not None:
            self._logger.debug("readme_metrics: the Metrics API answered %s: %s", cause,
                               outcome.detail)
            queue = self._queue
            # Said once: a 413 at a cap raised again after one (a limit that stays) is
            # expected, every RAISE_POST_BYTES_AFTER POSTs, and loses nothing.
            again = queue.max_post_bytes < queue.post_bytes_cap
            if batcher.split(batch, halves(batch.body)) and not again:
                self.warnings.log(logging.WARNING, "too_large", "readme_metrics: the "
                                  "Metrics API at %s found a POST of %s too large (%s); "
                                  "sending them again in two halves, and smaller POSTs "
                                  "from now on", self._sender.endpoint,
                                  counted(count, "log"), cause)
        elif verdict in (REJECT, SPLIT):
            self._logger.debug("readme_metrics: the Metrics API answered %s: %s", cause,
                               outcome.detail)
            self.warnings.log(logging.WARNING, "rejected", "readme_metrics: the Metrics "
                              "API at %s rejected a batch of %s (%s); dropping it%s",
                              self._sender.endpoint, counted(count, "log"), cause,
                              self._hint(cause))
            batcher.settle(batch, "rejected")
        elif verdict == FAIL:
            if outcome.reason == "proxy":
                if outcome.detail:
                    self._logger.debug("readme_metrics: the proxy answered %s: %s", cause,
                                       outcome.detail)
                self._proxy_refused(count, cause, unknown)
            else:
                self.warnings.log(logging.WARNING, "failed", "readme_metrics: could not "
                                  "deliver a batch of %s to %s: %s; retrying cannot help, "
                                  "dropping it%s", counted(count, "log"),
                                  self._sender.endpoint, cause, dropped_unknown(unknown))
            batcher.settle(batch, "unknown" if unknown else outcome.reason or "tls")
        elif batcher.exhausted(batch, self._max_attempts, self._max_down_attempts):
            # A POST of it went in full unanswered (timed out): the API may have them,
            # unknown (delivery81: "dropping it", dropped_retries_exhausted, before).
            why, hint = self._why(cause)
            self._said(hint, self.warnings.log(
                logging.WARNING, "retries_exhausted", "readme_metrics: could not deliver "
                "a batch of %s to %s after %s (%s); dropping it%s%s",
                counted(count, "log"), self._sender.endpoint,
                counted(batch.attempts, "attempt"), why, dropped_unknown(unknown), hint))
            batcher.settle(batch, "unknown" if unknown else "retries_exhausted")
        else:
            self.last_failure = cause
            # A POST lost (no answer, while one begun after it was answered fast: a dead
            # connection, Stretch.slow) says nothing of the API: not a failure in a row.
            lost = outcome.timed_out and not self._bound.slow(batch.sent_at)
            later = batcher.retry_later(batch, outcome.retry_after, lost)
            if later is None:
                return
            delay, down = later
            self._logger.debug("readme_metrics: delivery attempt %d failed (%s); "
                               "retrying in %.2fs", batch.attempts, cause, delay)
            if down:  # said at once: a batch is dropped only a minute or more on
                why, hint = self._why(cause)
                self._said(hint, self.warnings.log(
                    logging.WARNING, "down", "readme_metrics: %s in a row to %s failed "
                    "(%s): retrying with backoff, one POST at a time; the logs wait in "
                    "memory meanwhile (up to max_queue_size)%s%s",
                    counted(DOWN_AFTER, "POST"), self._sender.endpoint, why, hint,
                    self._timed_out_hint() if outcome.timed_out else ""))
