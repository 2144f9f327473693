"""When to try a POST again and how much one carries, as pure functions: backoff with
full jitter, a batch's retry budget, the next attempt's bound, the hold of an API taken
for down, the logs the next POST takes.

Nothing here does I/O, keeps state or reads a clock it was not given, so these rules of
SPEC section 7 are tested with tables; the parts that act on them (queue, worker, sender)
only apply the answers, as sentry-python's transport keeps its decisions apart from the
I/O that sends. The numbers are :mod:`.limits`', what an answer means :mod:`.outcome`'s;
both are importable from here as before.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Callable, Optional

from readme_metrics._random import uniform01
from readme_metrics.delivery.limits import (  # noqa: F401 (as before)
    AUTH_PAUSE,
    BACKOFF_BASE,
    BACKOFF_CAP,
    CHECK_BOUND,
    CHECK_GAP,
    DOWN_AFTER,
    HOLD_SHARE,
    LOST_CAP,
    MAX_ATTEMPTS,
    MAX_DOWN_ATTEMPTS,
    MAX_POST_BYTES,
    MAX_POST_LOGS,
    MAX_SENDERS,
    PROBE_CAP,
    PROBE_OVERLAP_CAP,
    RAISE_POST_BYTES_AFTER,
    RETRY_AFTER_CAP,
    RETRY_AFTER_HOLD,
    TIMEOUT_CAP,
    WARN_INTERVAL,
)
from readme_metrics.delivery.outcome import (  # noqa: F401 (as before)
    DROP_REASONS,
    FAIL,
    PAUSE,
    REJECT,
    RETRY,
    SENT,
    SPLIT,
    UNHEALING_TLS,
    UNUSABLE_PROXY,
    Outcome,
    classify,
    outcome_of_error,
    outcome_of_status,
    parse_retry_after,
    redirected_to,
    unhealing_tls,
)


def backoff_delay(attempt: int, retry_after: Optional[float] = None,
                  base: float = BACKOFF_BASE, cap: float = BACKOFF_CAP,
                  rand: Callable[[], float] = uniform01) -> float:
    """Wait before the next attempt: exponential backoff with full jitter.

    ``attempt`` counts the failures so far (>= 1). A server's Retry-After is a floor.
    """
    delay = backoff_ceiling(attempt, base, cap) * rand()
    if retry_after is not None:
        delay = max(delay, min(retry_after, RETRY_AFTER_CAP))
    return delay


def backoff_ceiling(attempt: int, base: float = BACKOFF_BASE,
                    cap: float = BACKOFF_CAP) -> float:
    """The longest wait after ``attempt`` failures (>= 1): ``base`` doubling, at most ``cap``."""
    return min(cap, base * (2 ** min(attempt - 1, 32)))


def spends_attempt(attempts: int, base: float = BACKOFF_BASE,
                   cap: float = BACKOFF_CAP) -> bool:
    """True if a batch's failed attempt, its ``attempts``-th, counts against
    ``max_attempts``: the backoff that follows it (:func:`backoff_delay` of ``attempts``)
    has its ceiling at ``cap``. The one rule of a batch's retry budget."""
    return backoff_ceiling(attempts, base, cap) >= cap


def next_timeout(used: float, timeout: float, cap: float = TIMEOUT_CAP) -> float:
    """The bound of the next attempt of a batch whose attempt bounded to ``used`` seconds
    timed out: twice that, at most ``cap`` (never less than ``timeout``, the option,
    which stays as it is when above ``cap``)."""
    return max(timeout, min(cap, 2 * used))


def hold_step(failures: int) -> int:
    """The exponent of the hold of every sender (``backoff_delay``'s ``attempt``) after
    ``failures`` in a row, the API taken for down (>= ``DOWN_AFTER``): 1 at the
    ``DOWN_AFTER``-th, growing by one with each failed probe."""
    return failures - DOWN_AFTER + 1


def post_size(sizes: Iterable[int], max_logs: int = MAX_POST_LOGS,
              max_bytes: int = MAX_POST_BYTES) -> int:
    """How many of the waiting logs (their captured sizes, oldest first) the next POST takes.

    As many as fit under both caps, and always at least one: a log larger than
    ``max_bytes`` goes alone rather than never.
    """
    count = 0
    total = 0
    for size in sizes:
        if count >= max_logs or (count and total + size > max_bytes):
            break
        count += 1
        total += size
    return count
