"""Rate-limited logging: report a recurring problem once, not once per request.

The library logs from the request path and from the delivery worker, where one fault
(a grouping function that always raises, a Metrics API that is down) repeats thousands of
times a second. :class:`LogLimiter` is the one place that decides whether a line is due:
per *key* at most once per ``interval`` seconds, or, with ``interval=None``, once ever
(bounded: past ``max_keys`` distinct keys new ones are not logged, so a flood of distinct
messages cannot grow memory).
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any, Callable, Optional


class LogLimiter:
    """Logs a message for a key at most once per ``interval`` (or once, if None).

    .. code-block:: python

        limiter = LogLimiter(logger, interval=60.0)
        limiter.log(logging.WARNING, "queue_full", "queue full: %d dropped", n)
        once = LogLimiter(logger, interval=None)
        once.log(logging.ERROR, message, message)   # the message is its own key
    """

    def __init__(self, logger: logging.Logger, interval: Optional[float] = 60.0, *,
                 max_keys: int = 256, clock: Callable[[], float] = time.monotonic) -> None:
        self.logger = logger
        self.interval = interval
        self._max_keys = max_keys
        self._clock = clock
        self._last: dict[str, float] = {}
        self._lock = threading.Lock()

    def due(self, key: str) -> bool:
        """True (and the key marked as logged now) when a line for ``key`` may go out."""
        now = self._clock()
        with self._lock:
            last = self._last.get(key)
            if last is not None:
                if self.interval is None or now - last < self.interval:
                    return False
            elif len(self._last) >= self._max_keys:
                return False
            self._last[key] = now
            return True

    def log(self, level: int, key: str, message: str, *args: Any, **kwargs: Any) -> bool:
        """Log ``message % args`` at ``level`` if ``key`` is due; True when it was logged."""
        if not self.due(key):
            return False
        self.logger.log(level, message, *args, **kwargs)
        return True

    def reset(self) -> None:
        """Forget what was logged (a forked child starts afresh)."""
        with self._lock:
            self._last.clear()
