"""What is said of an error in delivery: a log that could not be built (dropped alone,
said once per message), and an unexpected error with its traceback at debug, each
scrubbed of the API key and of the caller's key. :class:`ErrorLines` is a mixin of
:class:`~readme_metrics.delivery.attempt.Attempt` (its state is Attempt's).
"""

from __future__ import annotations

import logging
import traceback
from typing import TYPE_CHECKING, Any, Iterable

from readme_metrics._logging import LogLimiter, QuietLogger, hidden, shown

if TYPE_CHECKING:
    from readme_metrics.delivery.batcher import Batcher
    from readme_metrics.delivery.queue import Batch, LogQueue
    from readme_metrics.delivery.sender import Sender

__all__ = ["ErrorLines"]


class ErrorLines:
    """Attempt's error lines: a log that could not be built, an unexpected error."""

    _batcher: Batcher
    _queue: LogQueue
    _sender: Sender
    _logger: QuietLogger
    _build_errors: LogLimiter

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


def _caller_key(item: Any) -> tuple[str, ...]:
    """The caller's key of a queued ``item`` (its group's id), if it has one."""
    try:
        key = item.group.id
    except Exception:  # an item of another shape (the tests' own): no caller known
        return ()
    return (key,) if isinstance(key, str) and key else ()
