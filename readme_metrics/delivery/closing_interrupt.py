"""A close cut short by the user's interrupt: what it still held is said, then the
interrupt goes on.

A mixin of :class:`~readme_metrics.delivery.core.Delivery` (its state is Delivery's).
A second Ctrl-C (``KeyboardInterrupt``) or a signal's handler that exits (``SystemExit``:
gunicorn's worker at SIGINT or SIGQUIT) raised in the exit's close while it waits (for
the senders' POSTs, in an inline POST, in an exit hook before it) ended the close there:
what it still held (logs waiting, POSTs in flight) was lost and nothing said
(delivery42: under Django's runserver, werkzeug, waitress, gunicorn). Now the close ends
as at its deadline (what waits dropped, counted in ``dropped_shutdown``), says so in one
warning line, and the interrupt is raised on. Its POSTs in flight are waited for first,
``IN_FLIGHT_WITHIN`` at most, none begun meanwhile, then cut (delivery79: cut at once,
a POST the API answered a moment later was said not delivered); the line tells the logs
not delivered (never sent in full) from those whose fate is unknown (sent in full, cut
unanswered: the API may have them).
"""

from __future__ import annotations

import os
import threading
import time
from typing import TYPE_CHECKING, Optional

from readme_metrics.delivery.batcher_close import settle_reserve

if TYPE_CHECKING:
    from readme_metrics.delivery.attempt import Attempt
    from readme_metrics.delivery.batcher import Batcher
    from readme_metrics.delivery.gunicorn_stop import Limit

__all__ = ["IN_FLIGHT_WITHIN", "ClosingInterrupt", "Terminated", "interruption"]

#: How long an interrupt's close waits for the POSTs in flight before it cuts them (a
#: SIGTERM's handler gives it this and a second to say: second_interrupt.SAY_WITHIN).
IN_FLIGHT_WITHIN = 1.0


class Terminated(BaseException):
    """A SIGTERM left at its default (it ends the process once the close said what it
    held: :mod:`.second_interrupt`); never raised, only named."""


def interruption(exc: BaseException) -> str:
    """The interrupt ``exc`` as the close's warning names it."""
    if isinstance(exc, Terminated):
        return ("a SIGTERM (no handler takes it: it ends the process now, as without "
                "the library)")
    if isinstance(exc, KeyboardInterrupt):
        return "a KeyboardInterrupt (Ctrl-C, SIGINT)"
    if isinstance(exc, SystemExit):
        return ("a SystemExit (sys.exit() as it waited: a signal's handler, as gunicorn's "
                "worker's at SIGINT or SIGQUIT)")
    return f"a {type(exc).__name__}"


class ClosingInterrupt:
    """Delivery's close ended at an interrupt (:meth:`interrupt_exit`)."""

    _pid: int
    _batcher: Batcher
    _attempt: Attempt
    _bound: tuple[float, Optional[Limit]]
    _stop_began: tuple[float, int]

    if TYPE_CHECKING:  # (Delivery's own: closing.Closing)
        def _closed(self, dropped: int, cut: int, left: Optional[float] = None,
                    interrupted: str = "") -> None: ...

        def _say_refused_closing(self) -> None: ...

    def interrupt_exit(self, exc: BaseException, by: Optional[float] = None) -> None:
        """End the close at ``exc`` (a ``KeyboardInterrupt``, a ``SystemExit``), begun
        or not (an exit hook interrupted before it began): the POSTs in flight are waited
        for ``IN_FLIGHT_WITHIN`` at most (those answered count as such), then cut, what
        waits is dropped, and one warning says so; nothing if the close had ended. Waits
        for nothing else (the caller raises ``exc`` on), never raises. ``by``: when that
        wait ends (``time.monotonic()``), one for every delivery of the process
        (:func:`.process.interrupted`); None: ``IN_FLIGHT_WITHIN`` from now."""
        try:
            if self._pid != os.getpid():
                return
            batcher = self._batcher
            now = time.monotonic()
            with batcher.lock:
                if batcher.closed and not batcher.closing:
                    return  # ended already
                begun = batcher.closed
            # The POSTs in flight are waited for within IN_FLIGHT_WITHIN (the close's
            # deadline if sooner), none begun meanwhile, then cut (the watchdog cuts
            # them at the end of the wait): before delivery79 they were cut at once,
            # their logs said not delivered though the API answered them a moment later.
            # Not begun: its bound counted from the server's stop that began within it
            # (the ASGI lifespan's flush, waiting as a Ctrl-C came), else none gone.
            bound, stop = self._bound[0], self._stop_began[0]
            left = batcher.ends - now if begun else bound - (
                now - stop if stop <= now < stop + bound else 0.0)
            # Within that bound too, begun or not (review149: not begun, 1 s was waited
            # whatever was left of it: "1.0s into its shutdown_timeout of 0.1s"), its
            # POSTs cut a moment before its end where that comes first, their senders
            # settled by then (delivery86: SETTLE past it).
            ends = now + max(0.0, left)
            until = min(now + IN_FLIGHT_WITHIN if by is None else by,
                        batcher.deadline if begun
                        else ends - settle_reserve(ends - now, batcher.staffing.post_s))
            if not begun and not batcher.begin_close(until, ends):
                return
            self._attempt.close_begins(until)
            batcher.wait_in_flight(until, _stuck(exc))
            left -= time.monotonic() - now
            # What is still in flight ends now: their senders settle nothing more once
            # back (end_close).
            self._attempt.close_begins(time.monotonic())
            dropped, cut = batcher.end_close()
            self._closed(dropped, cut, left=left, interrupted=interruption(exc))
            self._say_refused_closing()
        except Exception:  # pragma: no cover - the interrupt must go on whatever happens
            pass


def _stuck(exc: BaseException) -> frozenset[int]:
    """The threads whose POSTs cannot go on while the close waits: this one (raised
    into, its POST ended by ``exc``), and the main thread at a SIGTERM (its handler,
    there, waits for this close)."""
    stuck = {threading.get_ident()}
    if isinstance(exc, Terminated):
        stuck.add(threading.main_thread().ident or 0)
    return frozenset(stuck)
