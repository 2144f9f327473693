"""Logging that cannot hurt the app: rate-limited, and never raising.

The library logs from the request path and from the delivery worker, where one fault
(a grouping function that always raises, a Metrics API that is down) repeats thousands of
times a second. :class:`LogLimiter` is the one place that decides whether a line is due:
per *key* at most once per ``interval`` seconds, or, with ``interval=None``, once ever
(bounded: past ``max_keys`` distinct keys new ones are not logged, so a flood of distinct
messages cannot grow memory).

The logger is the app's to configure, and a filter or handler of the app's may raise
(``logging`` lets a filter's exception, and a handler's from ``emit`` without
``handleError``, out of the call). :class:`QuietLogger` wraps it so that a log line
never raises into the app, or out of a sender thread's error handling.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any, Callable, Optional, Union


class LogLimiter:
    """Logs a message for a key at most once per ``interval`` (or once, if None).

    .. code-block:: python

        limiter = LogLimiter(logger, interval=60.0)
        limiter.log(logging.WARNING, "queue_full", "queue full: %d dropped", n)
        once = LogLimiter(logger, interval=None)
        once.log(logging.ERROR, message, message)   # the message is its own key
    """

    def __init__(self, logger: Union[logging.Logger, QuietLogger],
                 interval: Optional[float] = 60.0, *,
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


class QuietLogger:
    """``logger``'s methods, which never raise: an exception from the app's logging
    configuration (a filter, a handler) loses that line only.

    .. code-block:: python

        logger = QuietLogger(config.logger)
        logger.warning("readme_metrics: %s", message)   # whatever the handlers do

    The library logs on the request path only on rare events, so the wrapper costs one
    call there and then; the records are the logger's own (same name, and the caller's
    line through ``stacklevel``).
    """

    __slots__ = ("logger",)

    def __init__(self, logger: Union[logging.Logger, QuietLogger]) -> None:
        self.logger: logging.Logger = (logger.logger if isinstance(logger, QuietLogger)
                                       else logger)

    @property
    def name(self) -> str:
        return self.logger.name

    def isEnabledFor(self, level: int) -> bool:  # noqa: N802 - logging's name
        try:
            return self.logger.isEnabledFor(level)
        except Exception:
            return False

    def log(self, level: int, msg: object, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("stacklevel", 2)
        try:
            self.logger.log(level, msg, *args, **kwargs)
        except Exception:  # the app's filter or handler: not the app's request's business
            pass

    def debug(self, msg: object, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("stacklevel", 3)
        self.log(logging.DEBUG, msg, *args, **kwargs)

    def info(self, msg: object, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("stacklevel", 3)
        self.log(logging.INFO, msg, *args, **kwargs)

    def warning(self, msg: object, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("stacklevel", 3)
        self.log(logging.WARNING, msg, *args, **kwargs)

    def error(self, msg: object, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("stacklevel", 3)
        self.log(logging.ERROR, msg, *args, **kwargs)

    def exception(self, msg: object, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("stacklevel", 3)
        kwargs.setdefault("exc_info", True)
        self.log(logging.ERROR, msg, *args, **kwargs)

    def __repr__(self) -> str:
        return f"<QuietLogger {self.logger!r}>"
