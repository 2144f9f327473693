"""A close cut short by the user's interrupt: what it still held is said, then the
interrupt goes on.

A mixin of :class:`~readme_metrics.delivery.core.Delivery` (its state is Delivery's).
A second Ctrl-C (``KeyboardInterrupt``) or a signal's handler that exits (``SystemExit``:
gunicorn's worker at SIGINT or SIGQUIT) raised in the exit's close while it waits (for
the senders' POSTs, in an inline POST, in an exit hook before it) ended the close there:
what it still held (logs waiting, POSTs in flight) was lost and nothing said
(delivery42: under Django's runserver, werkzeug, waitress, gunicorn). Now the close ends
at once, as at its deadline (its POSTs in flight cut, what waits dropped, all counted in
``dropped_shutdown``), says so in one warning line, and the interrupt is raised on: the
process still exits as promptly as before, nothing waited for.
"""

from __future__ import annotations

import os
import time
from typing import TYPE_CHECKING, Optional

if TYPE_CHECKING:
    from readme_metrics.delivery.attempt import Attempt
    from readme_metrics.delivery.batcher import Batcher
    from readme_metrics.delivery.gunicorn_stop import Limit

__all__ = ["ClosingInterrupt", "Terminated", "interruption"]


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
        def _closed(self, dropped: int, pending: int, cut: int,
                    left: Optional[float] = None, interrupted: str = "") -> None: ...

        def _say_refused_closing(self) -> None: ...

    def interrupt_exit(self, exc: BaseException) -> None:
        """End the close now, at ``exc`` (a ``KeyboardInterrupt``, a ``SystemExit``),
        begun or not (an exit hook interrupted before it began): the POSTs in flight are
        cut (counted as at the close's deadline: the API may have read them), what waits
        is dropped, and one warning says so; nothing if the close had ended. Waits for
        nothing (the caller raises ``exc`` on: the user's interrupt stays prompt), never
        raises."""
        try:
            if self._pid != os.getpid():
                return
            batcher = self._batcher
            now = time.monotonic()
            with batcher.lock:
                if batcher.closed and not batcher.closing:
                    return  # ended already
                begun = batcher.closed
            if not begun and not batcher.begin_close(now):
                return
            # The POSTs in flight end now (the watchdog cuts them), not at the deadline:
            # their senders settle nothing more once back (end_close).
            self._attempt.close_begins(now)
            dropped, pending, cut = batcher.end_close(in_flight=True)
            # Not begun: its bound counted from the server's stop that began within it
            # (the ASGI lifespan's flush, waiting as a Ctrl-C came), else none gone.
            bound, stop = self._bound[0], self._stop_began[0]
            left = batcher.deadline - now if begun else bound - (
                now - stop if stop <= now < stop + bound else 0.0)
            self._closed(dropped, pending, cut, left=left, interrupted=interruption(exc))
            self._say_refused_closing()
        except Exception:  # pragma: no cover - the interrupt must go on whatever happens
            pass
