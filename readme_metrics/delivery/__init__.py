"""Delivery of logs to ReadMe's Metrics API (SPEC section 7).

``from readme_metrics.delivery import Delivery`` is the entry point; the parts live in
the submodules (see :mod:`readme_metrics.delivery.core`).
"""

from readme_metrics.delivery.core import Delivery
from readme_metrics.delivery.policy import (
    DROP_REASONS,
    MAX_POST_BYTES,
    MAX_POST_LOGS,
    MAX_SENDERS,
    PAUSE,
    REJECT,
    RETRY,
    RETRY_AFTER_CAP,
    SENT,
    backoff_delay,
    classify,
    parse_retry_after,
)
from readme_metrics.delivery.queue import zero_stats

__all__ = ["DROP_REASONS", "MAX_POST_BYTES", "MAX_POST_LOGS", "MAX_SENDERS", "PAUSE",
           "REJECT", "RETRY", "RETRY_AFTER_CAP", "SENT", "Delivery", "backoff_delay",
           "classify", "parse_retry_after", "zero_stats"]
