"""The bound of a POST to one Metrics API, which grows while the API answers later than
``timeout`` and comes back once it answers fast again.

One :class:`Stretch` per Delivery is shared by its senders (each POST follows it while it
runs) and the watchdog (which cuts a POST at it). It reads no clock: every time is given
(``time.monotonic()`` values), so its rules are stepped through on a fake clock in tests.

- A POST that got no answer within its bound grows the bound (``grow``: twice it, at most
  ``policy.TIMEOUT_CAP``), unless a POST begun after it was answered fast meanwhile
  (within half the bound in force): then the API is not slow, that POST was lost (a
  connection a load balancer black-holed, one of a flapping API's): waiting longer for the
  next ones would only hold them longer on such connections. Half of the POSTs
  black-holed, the others answered at once, drifted the bound up (6.4 s after 15 s, with
  ``timeout`` 0.2 s) before delivery19.
- An answer (any status: a 503 answered at once says as much of the API's answer time as
  a 202) later than ``timeout`` has every POST wait as long as that POST's bound from
  then on; one within half the bound in force halves it, down to ``timeout``. Before
  delivery19 only a 2xx halved it: an API that came back failing fast (503s) kept the
  long bound, and a probe of it black-holed next waited that long.
- The first answer later than ``timeout`` after the bound was last ``timeout`` is a
  slowdown to say (:meth:`answered` returns True); one whose warning a rate limit held
  back is said at the next slow answer the limit lets through (:meth:`unsaid`).
"""

from __future__ import annotations

import math
from typing import Callable


class Stretch:
    """The bound, in seconds, of the exchanges with one server, which may grow while they
    run: a limit made with it (``watchdog.limit``'s ``stretch``) is cut at its start plus
    the bound in force when its deadline comes, not the one it began with. When the
    watchdog cuts one at that bound, the bound grows at once to ``grow(bound)`` (unless
    that exchange was lost rather than slow: :meth:`timed_out`), so the exchanges still
    running with the same server (begun a moment later, the server as slow for them) wait
    that long, rather than each being cut and sent again.
    """

    __slots__ = ("seconds", "longest", "timeout", "fast_began", "said", "_grow")

    def __init__(self, seconds: float, grow: Callable[[float], float]) -> None:
        self.seconds = seconds
        #: The bound it comes back to (the ``timeout`` option).
        self.timeout = seconds
        self._grow = grow
        #: The most it can grow to (what a socket's own timeout must not undercut).
        self.longest = grow(math.inf)
        #: When the latest POST answered fast (within half the bound in force) began.
        self.fast_began = -math.inf
        #: A slowdown was said since the bound was last ``timeout``.
        self.said = False

    def slow(self, began: float) -> bool:
        """For an exchange begun at ``began`` that got no answer within its bound: True if
        the server may be slow (no exchange begun after it was answered fast since),
        False if it was lost (one begun later was)."""
        return self.fast_began <= began

    def timed_out(self, bound: float, began: float = math.inf) -> bool:
        """An exchange begun at ``began``, bounded to ``bound``, got no answer within it:
        the bound grows, unless it was lost (:meth:`slow`). True if the server was taken
        for slow."""
        if not self.slow(began):
            return False
        grown = self._grow(bound)
        if grown > self.seconds:
            self.seconds = grown
        return True

    def answered(self, began: float, took: float, bound: float) -> bool:
        """An exchange begun at ``began``, bounded to ``bound``, was answered (whatever
        the status) in ``took`` seconds: True if that is a slowdown to say now."""
        timeout, seconds = self.timeout, self.seconds
        if took > timeout:
            if bound > seconds:
                self.seconds = bound
            if self.said:
                return False
            self.said = True
            return True
        if took < seconds / 2:
            if began > self.fast_began:
                self.fast_began = began
            if seconds > timeout:
                self.seconds = max(timeout, seconds / 2)
                if self.seconds == timeout:
                    self.said = False
        return False

    def unsaid(self) -> None:
        """The slowdown :meth:`answered` asked to say was not said (a rate limit held it
        back): the next slow answer asks again."""
        self.said = False
