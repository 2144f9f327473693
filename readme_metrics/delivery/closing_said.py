"""What a close of Delivery gave up on, said (split out of ``closing``: house53).

A mixin of :class:`~readme_metrics.delivery.core.Delivery` through
:class:`~readme_metrics.delivery.closing.Closing` (its state is Delivery's): the warning
for the logs a close left undelivered or unknown (:meth:`ClosingSaid._closed`, in the one
wording of :func:`.post_progress.said`), the gunicorn bound said as the close begins,
and the logs refused while it drained.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Optional

from readme_metrics._process_id import getpid
from readme_metrics._wording import counted
from readme_metrics.delivery import gunicorn_stop, reloader_stop
from readme_metrics.delivery.failure_hints import why_waiting
from readme_metrics.delivery.post_progress import said

if TYPE_CHECKING:
    from readme_metrics._logging import QuietLogger
    from readme_metrics.config import MetricsApiConfig
    from readme_metrics.delivery.attempt import Attempt
    from readme_metrics.delivery.batcher import Batcher
    from readme_metrics.delivery.queue import LogQueue
    from readme_metrics.delivery.sender import Sender
    from readme_metrics.nothing_listens import NothingListens

__all__ = ["EARLY", "ClosingSaid"]

#: A close that ended more than this many seconds before its deadline ended early (the
#: next attempt was due after it), and says so.
EARLY = 0.05


class ClosingSaid:
    """The close's warnings: what it gave up on, its gunicorn bound, what it refused."""

    config: MetricsApiConfig
    _background: bool
    _told: NothingListens
    _logger: QuietLogger
    _said_left: tuple[int, int]
    _bound: tuple[float, Optional[gunicorn_stop.Limit]]
    _exit_cut: tuple[int, int]
    _queue: LogQueue
    _batcher: Batcher
    _attempt: Attempt
    _sender: Sender
    _pid: int

    def unsent(self) -> int:
        """The logs not delivered yet (queued, in a POST or waiting for a retry), read
        without the queue's lock (a signal handler's: a count at most a log off); 0 in
        a process this delivery is not of."""
        if self._pid != getpid():
            return 0
        return max(0, self._queue.accepted - self._queue.resolved)

    def say_unsent(self, ahead: str) -> int:
        """Say in one WARNING line how many logs are not delivered yet, if any, and
        ``ahead``: what may end the process before the close; that count returned (0:
        nothing said). Never raises (reloader_stop: the line at Ctrl-C, delivery74)."""
        try:
            unsent = self.unsent()
            if unsent > 0:
                self._logger.warning("readme_metrics: %s not delivered yet; %s",
                                     counted(unsent, "log"), ahead)
            return unsent
        except Exception:  # pragma: no cover - a signal handler's line: never raises
            return 0

    def _say_graceful(self, bound: float, graceful: gunicorn_stop.Limit,
                      since: float, flushed: float = 0.0) -> None:
        """The close is bounded by gunicorn's ``--graceful-timeout`` (uWSGI's
        ``--worker-reload-mercy``, a recycled gunicorn worker's ``--timeout``): said as
        it begins, with the logs it holds, should the worker be killed all the same;
        ``since``: the seconds from the worker's SIGTERM to the close's start (requests
        served; ``flushed`` of them the server's stop's flush: the ASGI lifespan's)."""
        if reloader_stop.said_at_ctrl_c(self):
            return  # (the Ctrl-C's line said them, and the same kill)
        with self._queue.lock:
            held = self._queue.accepted - self._queue.resolved
        if held:
            self._logger.warning(
                "readme_metrics: closing: %s to send within %gs, not shutdown_timeout "
                "(README_SHUTDOWN_TIMEOUT) of %gs: %s %s%s (%s)", counted(held, "log"),
                round(bound, 2) if bound < 1 else round(bound, 1),
                self.config.shutdown_timeout, graceful.said(), graceful.kills(),
                f", counted from its SIGTERM {since:.1f}s before the close began "
                f"(requests still served meanwhile"
                + (f", then the flush at the server's stop for {flushed:.1f}s)"
                   if flushed >= 0.1 else ")") if since >= 0.1 else "",
                graceful.advice())

    def _closed(self, dropped: int, cut: int, left: Optional[float] = None,
                interrupted: str = "") -> None:
        """Say what a close gave up on, if anything, ``left`` seconds before its end
        (``Batcher.ends``; None: now): ``dropped`` logs never sent, ``cut`` in POSTs
        sent in full and cut unanswered (``Batcher.end_close``); ``interrupted``: the
        interrupt that ended it (closing_interrupt), as said."""
        exit_read, exit_unsent = self._exit_cut
        if exit_read or exit_unsent:
            # Cut at the exit's bound, before this close: not the close's doing, and no
            # "next attempt" held it (review115: "gave up after 0.0s, the next attempt
            # being due past shutdown_timeout ... cut at the close" said of them).
            self._exit_cut = (0, 0)
            cut, dropped = cut - exit_read, dropped - exit_unsent
            # (In the one wording, post_progress.said: before delivery81 "1 log not
            # delivered: ...; unanswered: the Metrics API may have them" of a POST read.)
            self._logger.warning(
                "readme_metrics: %s: in POSTs cut at the exit's bound, shutdown_timeout "
                "(README_SHUTDOWN_TIMEOUT) of %gs after the main thread ended, the app's "
                "threads serving on past it", said(exit_unsent, exit_read),
                self.config.shutdown_timeout)
        if dropped or cut:
            timeout, graceful = self._bound
            limit = f"shutdown_timeout (README_SHUTDOWN_TIMEOUT) of {timeout:g}s"
            if graceful is not None:  # (gunicorn_stop: said as the close began)
                timeout = round(timeout, 1)  # (counted from the SIGTERM: any fraction)
                limit = f"{timeout:g}s, {graceful.said()} being near"
            batcher = self._batcher
            if left is None:
                left = batcher.ends - time.monotonic()
            # A close ends before its deadline when the next attempt is due after it (a
            # Retry-After, or the backoff of a failure meanwhile): said so, with the time
            # it took, not as if shutdown_timeout had run out. (``left``: to the close's
            # end, which its deadline, where its POSTs are cut, comes a moment before.)
            early = left - (batcher.ends - batcher.deadline) > EARLY and not interrupted
            when = (f"at {interrupted}, {max(0.0, timeout - left):.1f}s into its {limit}"
                    if interrupted else
                    f"after {max(0.0, timeout - left):.1f}s, the next attempt being due "
                    f"past {limit}"
                    if early else  # (":g": as the ASGI lifespan's line says it)
                    f"after {limit}")
            # Sent in full, unanswered or cut so: the API may have them, said apart (before
            # delivery80: "N not delivered (C of them in POSTs ..."; delivery85, a close
            # ending early: "(P of them in POSTs still waiting ...)" within N).
            self._logger.warning(
                "readme_metrics: closing gave up %s: %s%s%s", when, said(dropped, cut),
                self._same_as_said(),
                # Why the retries were needed, or why POSTs are still unanswered: the
                # last attempt's failure, if the API has not answered since (a close
                # reaching its deadline while a retry is in flight, not between two
                # retries, said "1 log not delivered" alone). Not a cut by the close.
                why_waiting(self._sender.endpoint, self._attempt.last_failure,
                            self._sender.proxied, self._sender.proxy_elsewhere,
                            self._told))
        elif not exit_read and not exit_unsent and reloader_stop.said_at_ctrl_c(self):
            # The Ctrl-C's line said logs were not delivered yet: now they are, said as
            # plainly (newcomer46: runserver's Ctrl-C left two warnings and no word that
            # the one log they were about had reached the API).
            self._logger.warning(
                "readme_metrics: closing: every log delivered, the %s not delivered yet "
                "at Ctrl-C too", counted(reloader_stop.said_at_ctrl_c(self), "log"))

    def _say_refused_closing(self) -> None:
        """Say the logs of calls the server answered while the close drained that no
        POST of it carried: those once the logs it began with were settled (it does not
        chase a server's traffic until its deadline), past its deadline, or at the
        queue's bounds (inline: all since it began). Since delivery41 the others go in
        its remaining POSTs (before: every one refused: at a runserver autoreload 903
        of 2,993 calls under load, 20-24% of a uWSGI --threads stop's). Counted in
        ``dropped_shutdown``."""
        with self._batcher.lock:
            refused, self._batcher.refused_closing = self._batcher.refused_closing, 0
        if refused:
            self._logger.warning(
                "readme_metrics: %s not delivered: of calls the server answered after "
                "the close began, too late for its POSTs (%s), as the process exited "
                "(stats['dropped_shutdown']); a server that serves on as its process "
                "exits (Django's runserver, uWSGI's other threads) loses those",
                counted(refused, "log"),
                "once the logs it began with were settled, past its deadline or at the "
                "queue's bounds"
                if self._background else "inline, only the close's thread sends")

    def _same_as_said(self) -> str:
        """For the close's warning: the logs it gave up on are among those a flush said
        it left (:meth:`left_said`), if no log came since."""
        left, accepted = self._said_left
        if not left or self._queue.accepted != accepted:
            return ""
        return (f", of the {counted(left, 'log')} the flush at the ASGI lifespan's "
                f"shutdown said were still queued (the same logs, not more)")
