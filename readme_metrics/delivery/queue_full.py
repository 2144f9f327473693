"""What a full delivery queue dropped, said in numbers.

The queue is bounded (``max_queue_size``, ``max_queue_bytes``): while the Metrics API is
down, new logs are dropped. The warning as it fills is said at most once a minute, so
the logs dropped after it were said by no line: an outage of a minute at 3,000 requests
a second dropped 190,000 logs and the only line said ``(1 so far)``. This says, once the
queue takes logs again (or at a flush, both at most once a minute, or the close), how many it
dropped since the last line that counted them, and for how long.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Callable, Optional

from readme_metrics._logging import LogLimiter
from readme_metrics._wording import counted


class QueueFullNotice:
    """Counts the logs a full queue drops and says them: one warning as it fills, and,
    when it takes a log again, the logs dropped meanwhile (at most once a minute each:
    the count of a line held back is said by the next one, or at the close).

    .. code-block:: python

        notice = QueueFullNotice(limiter, max_size=10000, max_bytes=64 << 20)
        notice.dropped(so_far)   # a log the full queue refused (its reason's total)
        notice.accepted()        # a log it took: says the run of drops, if one is open
        notice.say_rest()        # the close: the drops no line counted yet
        notice.say_rest(limited=True)  # a flush: the same, at most once a minute
    """

    def __init__(self, warnings: LogLimiter, max_size: int, max_bytes: int,
                 counted_so_far: Callable[[], int] = lambda: 0) -> None:
        self._warnings = warnings
        self._bounds = (max_size, max_bytes)
        #: The queue's own count of such drops (stats['dropped_queue_full']), counted
        #: under its lock as the log is refused: read by the close's line, which a drop
        #: refused just before the close but not yet told here (:meth:`dropped` runs
        #: after the queue's lock) would otherwise miss (delivery34).
        self._counted = counted_so_far
        self._lock = threading.Lock()
        self._total = 0  # the queue-full drops so far (the queue's count)
        self._said = 0  # ... as of the last line that counted them
        #: When the first drop no line counted yet came (time.monotonic()); None when
        #: every drop was said. Read without the lock on the request path.
        self.since: Optional[float] = None

    def dropped(self, so_far: int) -> None:
        """The full queue refused a log; ``so_far`` is its count of such drops."""
        with self._lock:
            self._total = max(self._total, so_far)
            if self.since is None and so_far > self._said:  # (not one a close said)
                self.since = time.monotonic()
        self._warnings.log(
            logging.WARNING, "queue_full", "readme_metrics: the delivery queue is full "
            "(max_queue_size (README_MAX_QUEUE_SIZE) is %d logs, max_queue_bytes "
            "(README_MAX_QUEUE_BYTES) %d bytes): new logs are dropped (%d so far)",
            *self._bounds, so_far)

    def accepted(self) -> None:
        """The queue took a log: say the drops since the last line, if any (at most once
        a minute; a log taken in between leaves them for the next line)."""
        if self.since is not None and self._warnings.due("queue_room"):
            self._say("readme_metrics: the delivery queue takes logs again: %s dropped "
                      "while it was full, in the last %ds (stats['dropped_queue_full'] is %d)")

    def say_rest(self, limited: bool = False) -> None:
        """At the close (or the ASGI lifespan's flush at shutdown): say the drops no line
        counted yet, if any. ``limited`` (any other flush): at most once a minute, as the
        line of a queue taking logs again: a serverless app calling ``flush()`` after
        each request, the API down, had one warning per request (review109).

        Not limited, it also says the drops the queue counted that :meth:`dropped` has
        not been told of yet: a log refused as the close began (its request thread
        between the queue's lock and :meth:`dropped`) was in ``stats`` but in no line:
        the close, having said nothing, left it to a warning limited to one a minute."""
        if not limited:
            with self._lock:
                counted = self._counted()
                if counted > self._total:
                    self._total = counted
                    if self.since is None:
                        self.since = time.monotonic()
        if self.since is not None and (not limited or self._warnings.due("queue_room")):
            self._say("readme_metrics: %s dropped as the delivery queue was full in the last "
                      "%ds, not said yet (stats['dropped_queue_full'] is %d)")

    def _say(self, message: str) -> None:
        with self._lock:
            since, total = self.since, self._total
            if since is None:
                return
            count = total - self._said
            self._said, self.since = total, None
        if count > 0:
            self._warnings.logger.log(logging.WARNING, message, counted(count, "log"),
                                      round(time.monotonic() - since), total)
