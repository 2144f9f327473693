"""Delivery of logs to ReadMe's Metrics API (SPEC section 7).

``from readme_metrics.delivery import Delivery`` is the entry point; the parts live in
the submodules.
"""

from readme_metrics.delivery.core import (
    DROP_REASONS,
    PAUSE,
    REJECT,
    RETRY,
    RETRY_AFTER_CAP,
    SENT,
    Delivery,
    backoff_delay,
    classify,
    parse_retry_after,
)

__all__ = ["DROP_REASONS", "PAUSE", "REJECT", "RETRY", "RETRY_AFTER_CAP", "SENT", "Delivery",
           "backoff_delay", "classify", "parse_retry_after"]
