"""The process's budget of bytes the check of binary data inflates from zip entries
(:mod:`.key_formats`), over time (hostile31).

Each zip body is read to :data:`~.key_formats.MOST_INFLATED` bytes of inflated text, and
reading one costs the background worker 6 to 125 ms a MiB (the text is searched for
denied keys' shapes). A caller posting 4 KiB zip bombs as fast as it could made the
worker spend its time on them, and other callers' logs were dropped at the full queue.
So the inflated bytes of every body are taken from one bucket per process: it holds
:data:`BURST` bytes and fills at :data:`RATE` bytes a second. A zip body whose entries
are to be inflated while the bucket is empty is not read: the check takes it to hold a
denied key, and it is hidden whole (never sent unread: SPEC, a leak outweighs a hidden
upload). A body started while the bucket holds anything is read to its own bound and its
bytes are taken after (the bucket may go below zero by one body's bound for each
thread checking a body at once: the background worker's one, or a request's thread with
``background_worker_mode`` off; the lock is held for the sums only, 5 to 7 us an
open and spend with 8 threads at it, review123): no body is read part way for the
budget's sake. (uWSGI forks its workers in C, where ``os.register_at_fork`` runs only
with ``--py-call-osafterfork``: a worker's bucket is the master's, which reads no body.)
That the bucket ran dry is said in the debug log at most once a minute.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from typing import Callable

from readme_metrics._logging import LogLimiter, QuietLogger

__all__ = ["BURST", "RATE", "Bucket", "BUDGET"]

#: Inflated bytes a second the bucket fills with.
RATE = 1 << 20

#: Inflated bytes the bucket holds at most (a few ordinary zips at once).
BURST = 8 << 20

_SAID = LogLimiter(QuietLogger(logging.getLogger("readme_metrics")), interval=60.0)


class Bucket:
    """A token bucket of inflated bytes, shared by the threads that check bodies."""

    def __init__(self, rate: float = RATE, burst: float = BURST,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = rate
        self.burst = burst
        self._clock = clock
        self._lock = threading.Lock()
        self._tokens = burst
        self._at = clock()
        #: Bodies refused since the bucket was made (for the tests and benchmarks).
        self.refused = 0

    def _filled_locked(self) -> float:
        now = self._clock()
        self._tokens = min(self.burst, self._tokens + (now - self._at) * self.rate)
        self._at = now
        return self._tokens

    def open(self) -> bool:
        """Whether a body may be inflated now (the bucket holds anything); a refusal is
        counted and said (debug, once a minute)."""
        with self._lock:
            if self._filled_locked() > 0:
                return True
            self.refused += 1
            refused = self.refused
        _SAID.log(logging.DEBUG, "spent",
                  "readme_metrics: zip bodies inflate past %d KiB a second in this process: "
                  "until the budget fills again, a zip body whose entries are compressed "
                  "is hidden whole unread (%d so far)", self.rate // 1024, refused)
        return False

    def spend(self, inflated: int) -> None:
        """Takes the ``inflated`` bytes a body was read to."""
        with self._lock:
            self._filled_locked()
            self._tokens -= inflated

    def refill(self) -> None:
        """Fills the bucket whole (a test starts with a full budget)."""
        with self._lock:
            self._tokens, self._at = self.burst, self._clock()

    def forked(self) -> None:
        """A forked child's bucket: a new lock (one held by another thread at the fork
        would be held forever), the budget full, as a new process's."""
        self._lock = threading.Lock()
        self._tokens, self._at = self.burst, self._clock()


#: The process's bucket.
BUDGET = Bucket()

if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=lambda: BUDGET.forked())
