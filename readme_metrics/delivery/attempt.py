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
import time
import traceback
from typing import Any, Iterable, Optional
from urllib.parse import urlsplit

from readme_metrics._logging import LogLimiter, QuietLogger, hidden, shown
from readme_metrics._loopback import is_loopback_url
from readme_metrics._wording import counted
from readme_metrics.delivery import watchdog
from readme_metrics.delivery.batcher import Batcher
from readme_metrics.delivery.encode import halves
from readme_metrics.delivery.policy import (
    DOWN_AFTER,
    FAIL,
    HOLD_SHARE,
    MAX_DOWN_ATTEMPTS,
    PAUSE,
    REJECT,
    SENT,
    SPLIT,
    TIMEOUT_CAP,
    WARN_INTERVAL,
    Outcome,
    next_timeout,
)
from readme_metrics.delivery.queue import Batch
from readme_metrics.delivery.sender import Sender
from readme_metrics.delivery.transport import loopback_proxy_hint, proxy_variables
from readme_metrics.delivery.watchdog import Stretch
from readme_metrics.nothing_listens import NothingListens


class Attempt:
    """Runs single attempts at batches for one Delivery in one process."""

    def __init__(self, batcher: Batcher, sender: Sender, logger: QuietLogger, *,
                 timeout: float, max_attempts: int, auth_pause: float,
                 max_down_attempts: int = MAX_DOWN_ATTEMPTS,
                 told: Optional[NothingListens] = None) -> None:
        self._batcher = batcher
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

    @property
    def stretch(self) -> float:
        """The bound of a POST now: ``timeout``, or longer once a POST timed out (the
        bound its batch's next attempt gets: ``Batch.timeout``), until answers come fast
        again (:meth:`_answered_in`)."""
        return self._bound.seconds

    @stretch.setter
    def stretch(self, seconds: float) -> None:
        self._bound.set(seconds)

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
            items, batch.items = batch.items or [], None  # free the raw captures early
            began = time.monotonic()
            batch.body = self._sender.encode(
                items, lambda exc, item: self._log_build_error(batch, exc, item))
            if batch.body is None:  # no log could be built: nothing left to send
                batcher.settle(batch, "build_error")
                return
            batcher.staffing.observe(encode_s=time.monotonic() - began)
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
                if batcher.closed:  # closing, or the close gave up on it already
                    batcher.settle(batch, "shutdown")
                else:  # the flush ran out of time: the batch stays first in line
                    with batcher.lock:
                        self._queue.requeue_locked(batch)
                return
            timeout = min(timeout, left)
        if self.holding_costs():  # the queue is filling
            watchdog.release(self._bound)
        with batcher.lock:
            if not batch.count:
                # Given up by a close as its sender encoded it (Batcher.end_close, which
                # counted it): not POSTed after close() returned (review108: the API
                # took logs the close had said not delivered). Checked with the lock
                # held as `sent_at` is set: the close sees it in its POST, or no POST.
                batch.body = None
                return
            batch.attempts += 1
            if batch.attempts > 1:
                self._queue.counts["retries"] += 1
            batch.sent_at = time.monotonic()
            posted = batch.count  # (a close may give the batch up during its POST)
        # The POSTs in flight when the API turned slow wait as long as the one that
        # found it out has the next ones wait: not cut at the bound they began with,
        # each sent again (the API may have read it). Never past a flush's or the exit's.
        outcome = self._sender.post(batch.body, timeout, self._bound, until)
        cut_at, sent = watchdog.last_cut()
        if not outcome.answered and cut_at and cut_at >= (
                batcher.deadline if batcher.closed else batcher.exit_by):
            # Cut by the close at its deadline (watchdog.end_by, or the deadline it
            # began with): that says nothing of the API, so no failure, no bound grown
            # or timeout said, and no time is left to send it again. Counted as such, a
            # POST begun before the close, its own bound 5 s, was said "failed (Timeout:
            # no complete answer within 5s)" at a close of 1 s (delivery30). Cut once
            # connected, the API may have its logs: as the watchdog saw it as it cut, not
            # as the error says (delivery31: through requests, once a connection error).
            # Not one whose answer's head ended before the cut came (read just after
            # it): the API's verdict stands, the logs counted by it (delivery33: a 202
            # read as the close cut its POST was counted `dropped_shutdown`, "not
            # delivered", the API having taken them). Inline, one cut where the exit's
            # bound ends (the main thread ended: exit_begins) is cut so too, before the
            # close: it has no time left for it either (delivery37).
            batcher.cut_at_close(batch, sent)
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
            self._given_up(posted, outcome)
            return
        self._apply(batch, outcome)

    def _given_up(self, count: int, outcome: Outcome) -> None:
        """The answer to a POST of ``count`` logs that the close gave up on while it ran
        (counted ``dropped_shutdown``, said in its warning; a POST that the close's
        deadline cannot cut, through a SOCKS proxy): said as such, nothing counted again.
        A late 400 was said "rejected a batch of 0 logs" (delivery33)."""
        verdict, cause = outcome.verdict, outcome.cause
        endpoint = self._sender.endpoint
        if verdict in (REJECT, SPLIT):
            self._logger.debug("readme_metrics: the Metrics API answered %s: %s", cause,
                               outcome.detail)
            self.warnings.log(logging.WARNING, "rejected", "readme_metrics: the Metrics "
                              "API at %s rejected a batch of %s (%s), which the close had "
                              "given up on already (counted dropped_shutdown)%s", endpoint,
                              counted(count, "log"), cause, self._hint(cause))
        else:
            self._logger.debug("readme_metrics: the POST of %s that the close had given "
                               "up on (counted dropped_shutdown) ended: %s",
                               counted(count, "log"), cause)

    def host_answers(self, began: float) -> None:
        """A check begun at ``began`` (:mod:`.checks`) found the API's host answering
        again after one found it silent: the POSTs begun before it and unanswered were
        lost on a black hole's dead connections, and are cut once they have waited
        ``timeout`` (watchdog.cut_lost), sent again, as after a POST answered fast. At
        2,000 logs/s they held the 10,000 logs the queue allows: no new log was taken,
        and the probe let go early had nothing to carry until one of them was cut at
        its stretched bound, 5 s later."""
        stretch = self._bound
        stretch.host_answered(began)
        watchdog.cut_lost(stretch, began, self._lost_after())

    @property
    def holding(self) -> bool:
        """Some POST taken for lost is held past its bound (``watchdog.cut_lost``)."""
        return self._bound.held > 0

    def holding_costs(self) -> bool:
        """Some POST is held past its bound while holding it costs logs (the queue at
        ``HOLD_SHARE`` of its bounds) or time (a close): :meth:`release` it. Not on a
        refusal alone: a log larger than the room left in ``max_queue_bytes``, the queue
        far from full, had the held POSTs cut and their late answers' logs sent twice."""
        return self.holding and not self._holding_is_free()

    def refused(self) -> None:
        """The full queue refused a log (a request thread): while holding costs, the
        watchdog releases the held POSTs, asked once until that errand runs (asked at
        each refusal, one request thread asked about 1,000 times for one release)."""
        if not self._release_asked and self.holding_costs():
            self._release_asked = True
            watchdog.run_soon(self._release_refused)

    def _release_refused(self) -> None:
        self._release_asked = False
        self.release()

    def release(self, spared: bool = True) -> None:
        """A close (or a flush: not ``spared``) begins: the POSTs taken for lost held
        past their bound get it back (``watchdog.release``), not waited for."""
        if self._bound.held:
            watchdog.release(self._bound, spared)

    def exit_begins(self, until: float) -> None:
        """Inline, the main thread ended: the POSTs in flight (a request thread's, begun
        before) end by ``until``, as those made since do (``Batcher.exit_by``); not
        those begun later, which a close with a bound of its own may send."""
        self._batcher.exit_by = until
        watchdog.end_by(self._bound, until, later=False)

    def close_begins(self, deadline: float) -> None:
        """A close begins, to end at ``deadline`` (close(), the exit, or the close a
        release() asked for: :attr:`Batcher.on_close`): the POSTs held past their bound
        get it back (:meth:`release`), and the POSTs in flight end by ``deadline``
        (``watchdog.end_by``), not at their own stretched bound after it (up to 60 s:
        the close a release() began let them, delivery31)."""
        self.release()
        watchdog.end_by(self._bound, deadline)

    def _holding_is_free(self) -> bool:
        """A POST taken for lost may be held past its bound (``watchdog.cut_lost``, or
        spared: ``Stretch.spare``): its logs keep their place in the queue, which has
        room for the new ones (below ``HOLD_SHARE`` of its bounds), and no close waits
        for it. (A flush gives back what is held as it begins: :meth:`release`.)"""
        queue = self._queue
        return (queue.accepted - queue.resolved < queue.max_size * HOLD_SHARE
                and queue.queued_bytes < queue.max_bytes * HOLD_SHARE
                and not self._batcher.closed)

    def _lost_after(self) -> float:
        """How long a lost POST is waited for before it is cut: ``timeout``, or twice
        the API's average answer time, or twice the longest answer later than
        ``timeout`` (:meth:`Stretch.lost_wait`), if longer. An API that was slow (answering in
        4 s, ``timeout`` 3 s) and turns fast again still answers the POSTs it was
        working on: cut at ``timeout``, they were sent again, 3,969 logs twice where
        52 were (``benchmarks/outage.py --kind slow``); a black hole's dead POSTs,
        the answers before it fast, are cut at ``timeout``. Never past ``LOST_CAP``
        (``Stretch.lost_longest``: 30 s, or ``timeout`` above it): twice an average of
        25 s held a POST 50 s (delivery28)."""
        bound = self._bound
        return min(bound.lost_longest,
                   max(bound.lost_wait(), 2.0 * self._batcher.staffing.post_s))

    def _answered_in(self, began: float, took: float, bound: float) -> None:
        """A POST begun at ``began``, bounded to ``bound`` seconds, was answered (any
        status) in ``took``: one later than ``timeout`` has every POST wait that bound
        from now on (said once, until the bound comes back to ``timeout``); one answered
        within half the bound in force halves it again, down to ``timeout``: the API is
        fast again (:class:`~readme_metrics.delivery.stretch.Stretch`)."""
        stretch = self._bound
        stretched = stretch.seconds > self._timeout
        said = stretch.answered(began, took, bound)
        if stretched and took < self._timeout / 2:
            # Answered fast (within half of `timeout`) while the bound is stretched (a
            # black hole, or a slow API, answering at once again): the POSTs begun
            # before it and unanswered were lost; each goes again once it has waited
            # `timeout`, not its stretched bound (watchdog.cut_lost). Not on an answer
            # merely within half the stretched bound: an API answering in 1 to 4 s
            # with `timeout` 3 s would have its 4 s answers cut and sent again.
            watchdog.cut_lost(stretch, began, self._lost_after(),
                              stretch.recovery() if stretch.free() else -math.inf)
        if not said:
            return
        timeout = self._timeout
        if not self.warnings.log(
                logging.WARNING, "slow", "readme_metrics: the Metrics API at %s answered "
                "a POST in %ss, later than timeout (README_TIMEOUT) of %gs: POSTs now "
                "wait up to %gs for its answer (twice as long after each timeout, at "
                "most %gs), and the logs of a POST that timed out may reach ReadMe "
                "twice (it may have read them); set README_TIMEOUT above the API's "
                "answer time", self._sender.endpoint, _later(took, timeout), timeout,
                round(max(self.stretch, self._bound.lost_wait()), 1),
                max(timeout, TIMEOUT_CAP)):
            # Held back by the minute's limit (a second slowdown soon after the first):
            # said at a slow answer once the minute is over, if the API is still slow.
            self._bound.unsaid()

    def _apply(self, batch: Batch, outcome: Outcome) -> None:
        """Settle, pause or reschedule the batch per ``outcome`` (one log line at most)."""
        batcher = self._batcher
        verdict, cause = outcome.verdict, outcome.cause
        if verdict == SENT:
            if self._logger.isEnabledFor(logging.DEBUG):
                # The one sign of delivery where no stats handle is at hand (Django, FastAPI).
                self._logger.debug("readme_metrics: delivered %s (%s)",
                                   counted(batch.count, "log"), cause)
            self.last_failure = None
            batcher.settle(batch, None)
        elif verdict == PAUSE:
            if batcher.pause(batch, self._auth_pause):
                if self._sender.proxied:
                    # A company proxy's 403 for a host it does not let through: the key
                    # was never looked at, whoever answered is not known here.
                    self._logger.error(
                        "readme_metrics: the proxy or the Metrics API at %s refused the POST "
                        "of logs (%s): the POSTs go through a proxy, whose own refusal this "
                        "may be; if it was the API's, the api_key (README_API_KEY) is wrong "
                        "or revoked. Logs are dropped for the next %ss%s.",
                        self._sender.endpoint, cause, self._auth_pause,
                        self._hint(cause) or self._remote_proxy_hint())
                else:
                    self._logger.error(
                        "readme_metrics: the Metrics API at %s refused the API key (%s): "
                        "the api_key (README_API_KEY) is wrong or revoked. Logs are dropped "
                        "for the next %ss.", self._sender.endpoint, cause, self._auth_pause)
        elif verdict == SPLIT and batch.count > 1 and batch.body is not None:
            self._logger.debug("readme_metrics: the Metrics API answered %s: %s", cause,
                               outcome.detail)
            count = batch.count
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
                              self._sender.endpoint, counted(batch.count, "log"), cause,
                              self._hint(cause))
            batcher.settle(batch, "rejected")
        elif verdict == FAIL:
            if outcome.reason == "proxy":
                if outcome.detail:
                    self._logger.debug("readme_metrics: the proxy answered %s: %s", cause,
                                       outcome.detail)
                self._proxy_refused(batch, cause)
            else:
                self.warnings.log(logging.WARNING, "failed", "readme_metrics: could not "
                                  "deliver a batch of %s to %s: %s; retrying cannot help, "
                                  "dropping it", counted(batch.count, "log"),
                                  self._sender.endpoint, cause)
            batcher.settle(batch, outcome.reason or "tls")
        elif batcher.exhausted(batch, self._max_attempts, self._max_down_attempts):
            why, hint = self._why(cause)
            self._said(hint, self.warnings.log(
                logging.WARNING, "retries_exhausted", "readme_metrics: could not deliver "
                "a batch of %s to %s after %s (%s); dropping it%s",
                counted(batch.count, "log"), self._sender.endpoint,
                counted(batch.attempts, "attempt"), why, hint))
            batcher.settle(batch, "retries_exhausted")
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

    def _timed_out_hint(self) -> str:
        """For POSTs that got no answer in time: what the retries do about it, and the
        option to raise for an API slower than ``timeout``."""
        timeout = self._timeout
        if timeout >= TIMEOUT_CAP:
            return (f"; no answer within timeout (README_TIMEOUT) of {timeout:g}s: raise it "
                    "if the Metrics API is that slow")
        return (f"; each POST that timed out is tried again waiting twice as long, up to "
                f"{TIMEOUT_CAP:g}s: if the Metrics API answers later than timeout "
                f"(README_TIMEOUT) of {timeout:g}s, raise it")

    def _proxy_refused(self, batch: Batch, cause: str) -> None:
        """The proxy cannot carry the POSTs (policy: a proxy requests cannot use, or the
        proxy's own 407, or 403 to a CONNECT): said once, as an error, with what to do;
        the batches after it are dropped at their first attempt too, each said at debug
        (one POST each: a proxy that lets them through later gets them)."""
        if self._proxy_said:
            self._logger.debug("readme_metrics: dropping a batch of %s: the proxy refused "
                               "it or cannot be used (%s)", counted(batch.count, "log"), cause)
            return
        self._proxy_said = True
        sender = self._sender
        endpoint = sender.endpoint
        host = urlsplit(endpoint).hostname
        exempt = (f"set NO_PROXY={host} (keeping what it holds, comma-separated) for the "
                  "POSTs to go without the proxy")
        # A proxy elsewhere in the way of the local collector: that is the thing to fix.
        elsewhere = is_loopback_url(endpoint) and sender.proxy_elsewhere
        if cause.startswith("HTTP 407") or "failed: 407" in cause:
            what = "asks for credentials"
            fix = ("give them (or the right ones) in that variable "
                   f"(http://user:password@host:port), or {exempt}, and restart the app")
        elif "failed: 403" in cause:
            what = f"refused to let the POSTs through to {host}"
            fix = (f"ask for {host} to be let through it; where {host} is reached "
                   f"without the proxy, {exempt}, and restart the app")
        else:
            what, elsewhere = "is not one requests can use", False
            # requests' own error when PySocks is missing (its "socks" extra installs it).
            fix = ("install PySocks (pip install 'requests[socks]')" if "SOCKS" in cause
                   else "correct that variable (http://host:port)")
            fix = f"{fix}, or {exempt}, and restart the app"
        self._logger.error(
            "readme_metrics: no log can be posted to %s: the proxy that %s names %s (%s), so "
            "each batch of logs is dropped at its first attempt (stats: dropped_proxy); %s.",
            endpoint, proxy_variables(endpoint), what, cause,
            loopback_proxy_hint(endpoint) if elsewhere else fix)

    def _hint(self, cause: str) -> str:
        """:func:`_refused_hint` for this sender's endpoint and proxy: for an answer to a
        POST to a loopback URL that went through a proxy elsewhere (a company proxy's 403,
        407 or 502), that it was the proxy's, and what to do."""
        sender = self._sender
        return _refused_hint(sender.endpoint, cause, sender.proxied, sender.proxy_elsewhere)

    def _why(self, cause: str) -> tuple[str, str]:
        """The cause and hint of a warning about a failed POST: for a place this
        middleware said the fix of "nothing listens there" for already, the short form
        in place of both (:mod:`readme_metrics.nothing_listens`)."""
        return _why(self._sender.endpoint, cause, self._hint(cause), self.told)

    def _said(self, hint: str, logged: bool) -> None:
        """A warning ending in ``hint`` was ``logged``: if it said the fix of "nothing
        listens there" in full, its place is marked said."""
        if logged and hint == _NOTHING_THERE_HINT:
            self.told.mark(self._sender.endpoint, self._logger)

    def _remote_proxy_hint(self) -> str:
        """For a refusal through a proxy of a POST to a host that is not this machine's
        (ReadMe's): what to do if it was the proxy's."""
        host = urlsplit(self._sender.endpoint).hostname
        return (f"; if it was the proxy's: ask for {host} to be let through it, or add "
                f"{host} to NO_PROXY where it is reached without the proxy")

    def _log_build_error(self, batch: Batch, exc: BaseException, item: Any) -> None:
        """A log of ``batch`` could not be built: drop it alone, say so once per message.

        The message is the exception's, which may quote the request: the API key and the
        caller's key (``item``'s) are hidden in it, and in the traceback. A message that
        cannot be made (its ``__str__`` raises) is said as Python's tracebacks say it:
        raised here, that error would drop the batch's other logs."""
        with self._batcher.lock:
            self._queue.drop_one_locked(batch, "build_error")
        secrets = _caller_key(item)
        message = hidden(self._sender.scrub(f"{type(exc).__name__}: {shown(exc)}"),
                         secrets)
        if self._build_errors.due(message):
            self.log_exception(f"readme_metrics: could not build a log, dropping it: "
                               f"{message}", exc, secrets)

    def log_exception(self, message: str, exc: BaseException,
                      secrets: Iterable[str] = ()) -> None:
        """An error line, and the traceback at debug, both scrubbed of the API key (and
        of ``secrets``).

        Not ``exc_info=``: a handler would format that traceback itself, unscrubbed.
        """
        self._logger.error("%s", message)
        if self._logger.isEnabledFor(logging.DEBUG):
            trace = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
            self._logger.debug("readme_metrics: traceback:\n%s",
                               hidden(self._sender.scrub(trace), secrets))


def _later(took: float, timeout: float) -> str:
    """``took`` seconds with one decimal, or as many more (up to 3) as it takes to read
    later than ``timeout``: an answer in 3.04 s was said "in 3.0s, later than timeout of
    3s". Past 3 decimals, the thousandth above (3.0004 s is "3.001", not "3.000")."""
    for digits in (1, 2, 3):
        shown = f"{took:.{digits}f}"
        if float(shown) > timeout:
            return shown
    return f"{math.floor(timeout * 1000 + 1) / 1000:.3f}"


def why_waiting(endpoint: str, cause: Optional[str], proxied: bool = False,
                elsewhere: bool = False, told: Optional[NothingListens] = None) -> str:
    """For the close that gives up on logs waiting for a retry: what their last attempt
    met (the collector not started at all, a newcomer's first Ctrl-C, said only
    "1 log not delivered"), with the hint of the retries' own warning (in short where
    ``told`` says it was said)."""
    if not cause:
        return ""
    why, hint = _why(endpoint, cause, _refused_hint(endpoint, cause, proxied, elsewhere),
                     told)
    return f"; the last attempt to post to {endpoint} failed ({why}){hint}"


def _why(endpoint: str, cause: str, hint: str,
         told: Optional[NothingListens]) -> tuple[str, str]:
    """``cause`` and ``hint`` as a warning says them: where ``hint`` is the fix of
    "nothing listens there" and ``told`` has it said for ``endpoint``'s place, the
    short form in place of both (the cause, a refused connection, is in the line above)."""
    if told is not None and hint == _NOTHING_THERE_HINT and told.said(endpoint):
        return told.again(endpoint), ""
    return cause, hint


def _refused_hint(endpoint: str, cause: str, proxied: bool = False,
                  elsewhere: bool = False) -> str:
    """For a loopback Metrics API URL nothing listens at: what it was most likely meant
    for (README's See it locally), the collector, not started or on another port. For
    one the POSTs went to through a proxy elsewhere (it cannot reach this machine's
    127.0.0.1, whether it answers, a 502, or not): the variable that exempts it. Through
    a proxy on this machine (mitmproxy, which does reach it): its 502 is most likely the
    collector not started; its not answering, the proxy not started."""
    if cause.startswith("HTTP 3"):
        return ("; a redirect is never followed (the API key goes to no other host): if "
                "it points to the Metrics API, set metrics_api (README_METRICS_SERVER) "
                "to that URL")
    if not is_loopback_url(endpoint):
        return "" if proxied else unreached_hint(endpoint, cause)
    if elsewhere:
        return f"; {loopback_proxy_hint(endpoint)}"
    if proxied and cause.startswith("ProxyError"):
        return (f"; the proxy on this machine that {proxy_variables(endpoint)} names did "
                "not answer: start it, or start the app with "
                f"NO_PROXY={urlsplit(endpoint).hostname} set (keeping what it holds, "
                "comma-separated) for the POSTs to go straight to metrics_api "
                "(README_METRICS_SERVER)")
    if proxied and cause.startswith("HTTP 502"):
        return f"; the proxy on this machine could not reach it, {_NOTHING_THERE}"
    if cause.startswith(("HTTP 404", "HTTP 405", "HTTP 501")):
        parts = urlsplit(endpoint)
        if parts.path != "/v1/request":  # README_METRICS_SERVER=http://127.0.0.1:8001/x
            base = f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}"
            return ("; what answers there is no Metrics API: for `readme-metrics "
                    "collect`, metrics_api (README_METRICS_SERVER) is its base URL alone, "
                    f"without a path: {base}")
        return f"; {_NOT_A_METRICS_API}"
    if "ConnectionRefusedError" not in cause:
        return ""
    return _NOTHING_THERE_HINT


#: What a POST met that never reached the host: a name not looked up, a connection
#: refused, dropped (a firewall's DROP: a connect timeout) or with no route to it.
_UNREACHED = ("gaierror", "NameResolutionError", "Failed to resolve", "host name timed out",
              "ConnectTimeout", "ConnectionRefusedError", "Network is unreachable",
              "No route to host")


def unreached_hint(endpoint: str, cause: str) -> str:
    """For a Metrics API on another host (ReadMe's), not through a proxy: a POST that did
    not reach it (``_UNREACHED``; or the docs-URL lookup's GET, :mod:`readme_metrics.docs_url`)
    is most likely the network of the app's machine (an egress firewall, a security
    group, a name server, a network that allows only a proxy); one that got no answer in
    time (``Timeout``, ``ReadTimeout``), that too or
    an API slower than ``timeout``. Both say how to check it from that machine."""
    parts = urlsplit(endpoint)
    origin = f"{parts.scheme}://{parts.netloc}"
    check = f"`curl -sI {origin}`, run on the app's machine, shows an HTTP answer once it can"
    if any(sign in cause for sign in _UNREACHED):
        return (f"; this machine cannot reach {parts.hostname}: a firewall or egress rule "
                f"(a container's, a security group's) that blocks outbound connections to "
                f"it, a name server that does not resolve it, or no network. Let the app's "
                f"machine reach {origin} (or, where the network allows only a proxy, set "
                f"HTTPS_PROXY before the app starts): {check}")
    if cause.startswith(("Timeout", "ReadTimeout")):
        return (f"; no answer from {parts.hostname} within timeout (README_TIMEOUT): a "
                f"firewall that drops the connection, or a slow network: {check}")
    return ""


#: A 404, 405 or 501 to the POST from a loopback URL: another program has the port (the
#: collector started on another, or not at all), which takes no POST /v1/request.
_NOT_A_METRICS_API = ("what answers there is no Metrics API (`readme-metrics collect` "
                      "takes POST /v1/request): another program (or this app) has that "
                      "port; start `readme-metrics collect` (--port 0 picks a free port) "
                      "and give README_METRICS_SERVER the URL it prints")

_NOTHING_THERE = ("nothing listens there: start `readme-metrics collect` (it prints the URL "
                  "to give README_METRICS_SERVER), or correct the port in metrics_api "
                  "(README_METRICS_SERVER)")
_NOTHING_THERE_HINT = f"; {_NOTHING_THERE}"


def _caller_key(item: Any) -> tuple[str, ...]:
    """The caller's key of a queued ``item`` (its group's id), if it has one."""
    try:
        key = item.group.id
    except Exception:  # an item of another shape (the tests' own): no caller known
        return ()
    return (key,) if isinstance(key, str) and key else ()
