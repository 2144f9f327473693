"""The logs refused once a close had ended, said: one line as a burst begins, one for
the rest of it.

A close (``close()``, a server's stop handler, the exit's) says as it ends the logs it
refused while it drained (:meth:`Closing._say_refused_closing
<readme_metrics.delivery.closing.Closing._say_refused_closing>`). A log that comes once
it ended is refused too, counted in ``stats['dropped_shutdown']``: a daemon thread still
in a request as the exit's close ended (another exit hook still running), a worker's
thread serving on after its server's stop handler closed delivery, an ASGI log queued
after the lifespan's shutdown flush closed it. Before delivery53 no line ever said those
(the close had said its own and reset the count).

The first of a burst is said at once, by the thread that was refused (the process may
end right after: no later moment is sure to come); the ones within :data:`BURST` seconds
after a line are said together by one more line, at that time by the watchdog thread,
or sooner by the next close or exit hook (:meth:`LateRefused.say_rest`). A flood of late
calls is one line a second at most, never one a log. Once the interpreter's exit hook
ran its close (a daemon thread serving while another exit hook of the app's runs), no
later moment is sure to come: each is said as it comes, with those refused beside it
(the interpreter's end stops such threads as the exit hooks end). Never prints, never
raises.
"""

from __future__ import annotations

import math
import threading
import time
import weakref
from typing import TYPE_CHECKING, Callable

from readme_metrics._wording import counted
from readme_metrics.delivery import process, watchdog

if TYPE_CHECKING:
    from readme_metrics._logging import QuietLogger

__all__ = ["BURST", "LateRefused"]

#: Seconds after a line during which the late refusals wait for one line together.
BURST = 1.0


class LateRefused:
    """Says the logs refused after the close ended; ``take()`` returns their count not
    said yet and sets it to 0 (under the queue's lock: ``Batcher.take_refused_late``).

    .. code-block:: python

        late = LateRefused(logger, batcher.take_refused_late)
        late.refused()    # a request thread was refused, after the close ended
        late.say_rest()   # a close or exit hook that comes later: what no line said
    """

    def __init__(self, logger: QuietLogger, take: Callable[[], int],
                 final: Callable[[], bool] = process.at_exit,
                 schedule: Callable[[float, Callable[[], None]], None] = watchdog.run_at,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._logger = logger
        self._take = take
        #: True once no later moment is sure to come (the interpreter's exit hook ran its
        #: close): each refusal is said at once, with those that came with it.
        self._final = final
        #: ``schedule(when, call)``: the rest of a burst's line (the watchdog thread's).
        self._schedule = schedule
        self._clock = clock  # (schedule's: time.monotonic's)
        self._lock = threading.Lock()
        self._last = -math.inf  # when the last line was said (time.monotonic())
        self._pending = False  # the rest of a burst waits for its line

    def refused(self) -> None:
        """A log was refused once the close had ended (the queue's lock not held): said
        now if no line was said in the last :data:`BURST` seconds, else with the rest of
        the burst. Never raises, never blocks (a lock held for a few steps)."""
        try:
            now = self._clock()
            with self._lock:
                if self._final() or (not self._pending and now - self._last >= BURST):
                    self._last = now
                    at = 0.0
                elif self._pending:
                    return  # (said with the rest of the burst)
                else:
                    self._pending = True
                    at = self._last + BURST
            if not at:
                self._say()
                return
            rest = weakref.WeakMethod(self.say_rest)
            self._schedule(at, lambda: (rest() or _gone)())
        except Exception:  # pragma: no cover - never into the app
            pass

    def say_rest(self) -> None:
        """Say the late refusals no line said yet, if any (the rest of a burst's line,
        a close or exit hook that comes after). Never raises."""
        try:
            with self._lock:
                self._pending = False
            if self._say():  # (nothing said: the next refusal is said at once)
                with self._lock:
                    self._last = self._clock()
        except Exception:  # pragma: no cover - never into the exit
            pass

    def _say(self) -> int:
        count = self._take()
        if count:
            self._logger.warning(
                "readme_metrics: %s not delivered: of calls the server answered after "
                "the close had ended (close(), the server's stop or the process's exit), "
                "refused (stats['dropped_shutdown']); a thread or task that serves on "
                "past the close loses those", counted(count, "log"))
        return count


def _gone() -> None:
    """The notice was collected: nothing to say."""
