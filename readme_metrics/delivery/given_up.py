"""What came of a POST that a close gave up on while it ran, once its sender is back.

A close at its deadline (or an interrupt's) waits a moment for the senders of the POSTs
it cut (``BatchClosing.settle_in_flight``: their answers are in its line), then counts
the logs of those still in flight as it ends (``Batcher.end_close``):
``dropped_unknown`` once a request went in full, ``dropped_shutdown`` if not. Their
senders come back after it, some with an answer (its status line and headers read as
the close cut the POST). Before delivery81 nothing more was counted then: a 202 so read
stayed ``dropped_unknown`` for good. Now the logs are counted as what came of it
(``BatchClosing.ended_late``), each once.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Optional

from readme_metrics._wording import counted
from readme_metrics.delivery.batcher_close import stop_reason
from readme_metrics.delivery.outcome import FAIL, PAUSE, REJECT, SENT, SPLIT, Outcome

if TYPE_CHECKING:
    from readme_metrics._logging import LogLimiter, QuietLogger
    from readme_metrics.delivery.queue import Batch

__all__ = ["late_reason", "say_given_up"]


def late_reason(batch: Batch, outcome: Outcome) -> Optional[str]:
    """The reason the logs of ``batch`` are counted under, its POST having come to
    ``outcome`` after a close gave it up (None: delivered). Not sent again: no time is
    left, so a failure is a drop at shutdown, ``unknown`` where a POST of it went in
    full unanswered (``Batch.cut_short``: set by the attempt, this one included), as
    :func:`~.batcher_close.stop_reason` counts any batch given up on at a stop."""
    verdict = outcome.verdict
    if verdict == SENT:
        return None
    if verdict in (REJECT, SPLIT):
        return "rejected"
    # (unknown if an earlier POST of it went in full: delivery85; a TLS or proxy failure
    # too, as Attempt counts it: delivery86)
    if verdict in (PAUSE, FAIL):
        return "unknown" if batch.cut_short else (
            "auth" if verdict == PAUSE else outcome.reason or "tls")
    return stop_reason(batch)


def say_given_up(logger: QuietLogger, warnings: LogLimiter, endpoint: str, count: int,
                 outcome: Outcome, now: str, hint: str) -> None:
    """Say the answer to a POST of ``count`` logs that the close had given up on,
    counted ``now`` (a stats key): a 4xx as a warning (with ``hint``), else at debug.
    A late 400 was said "rejected a batch of 0 logs" (delivery33)."""
    verdict, cause = outcome.verdict, outcome.cause
    if verdict in (REJECT, SPLIT):
        logger.debug("readme_metrics: the Metrics API answered %s: %s", cause,
                     outcome.detail)
        warnings.log(logging.WARNING, "rejected", "readme_metrics: the Metrics API at %s "
                     "rejected a batch of %s (%s), which the close had given up on "
                     "already (counted %s)%s", endpoint, counted(count, "log"), cause,
                     now, hint)
    else:
        logger.debug("readme_metrics: the POST of %s that the close had given up on "
                     "ended: %s (counted %s)", counted(count, "log"), cause, now)
