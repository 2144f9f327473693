"""A close's "closing gave up" line read against its counts, shared by the settle and
honest-lines tests (tests/test_delivery86_settle_bound.py,
tests/test_delivery86_honest_lines.py, tests/test_delivery87_settle_reserve.py; the last
two imported these from delivery86's settle test module before house57)."""

from __future__ import annotations

import logging
import time
from typing import Any

from readme_metrics.delivery import Delivery
from tests.support.delivery import adds_up, said_counts
from tests.support.processes import LINE_WAIT


def closing_lines(caplog: Any) -> list[str]:
    """The WARNING-or-worse lines of a close that gave up, in the order said."""
    return [r.getMessage() for r in caplog.records
            if r.levelno >= logging.WARNING and "closing gave up" in r.getMessage()]


def said_as_counted(lines: list[str], stats: dict[str, int]) -> None:
    """One closing line, and the counts it says are the Delivery's."""
    assert len(lines) == 1, lines
    assert said_counts(lines[0]) == (stats["dropped_shutdown"], stats["dropped_unknown"]), (
        lines, stats)


def senders_back(delivery: Delivery) -> dict[str, int]:
    """The Delivery's counts once its senders are back, checked to add up."""
    assert delivery._pool.join(time.monotonic() + LINE_WAIT)
    stats = delivery.stats
    assert adds_up(stats), stats
    return stats
