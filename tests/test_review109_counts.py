"""review109: the counts under random interleavings of submit, flush, close and the API's
answers (hypothesis, stateful), against a real collector on 127.0.0.1.

In every snapshot ``captured == sent + dropped + queued + skipped`` and the drop reasons
add up; after the close nothing is queued, ``sent`` is what the API took (each log once),
and the queue-full lines (blackbox7's ``QueueFullNotice``) said every such drop once,
also one refused as the close runs (delivery34).
"""

from __future__ import annotations

import itertools
import logging
import re
import threading
import time
from collections import Counter
from typing import Any, Optional

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from readme_metrics.config import MetricsApiConfig
from readme_metrics.delivery import Delivery
from tests.support.delivery import (
    API_KEY,
    adds_up,
    api_key_never_logged_fixture,  # noqa: F401 - autouse
    build_id,
    item,
)
from tests.support.fake_api import Collector, Reply

#: The API's answers drawn: taken, failed (sent again), rejected, too large (split), the
#: connection closed unanswered, a head cut before it ended (no answer: sent again).
REPLIES = (*(Reply(status=status) for status in (202, 200, 503, 500, 400, 413)),
           Reply(drop=True), Reply(partial=b"HTTP/1.1 202 Acc"))
#: The counts each queue-full line says (the first warning's "(N so far)" is a total).
SAID = re.compile(r"(\d+) logs? dropped (?:while it was full|as the delivery queue was full)")
_runs = itertools.count()
#: A guard against a hang, not a synchronisation: the waits are ended by events.
GUARD = 60.0


class Lines(logging.Handler):
    """The messages logged on one Delivery's own logger."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def counts_machine(collector: Collector, background: bool, direct: bool) -> type:
    class Counts(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            self.run = next(_runs)
            self.ids = (f"r{self.run}-{n}" for n in itertools.count())
            self.lines = Lines()
            self.logger = logging.getLogger(f"review109.counts.{self.run}")
            self.logger.addHandler(self.lines)
            self.logger.setLevel(logging.DEBUG)
            self.logger.propagate = False
            self.delivery: Optional[Delivery] = None
            self.closed = False
            self.stale_mark = False  # the last stop's mark is older than its bound

        @initialize(buffer_length=st.integers(1, 3), max_queue_size=st.integers(1, 6),
                    max_queue_bytes=st.sampled_from([5, 200, 1 << 20]))
        def start(self, buffer_length: int, max_queue_size: int,
                  max_queue_bytes: int) -> None:
            collector.replies.clear()
            config = MetricsApiConfig(
                api_key=API_KEY, grouping_function=lambda req: None,
                metrics_api=collector.url, logger=self.logger, flush_interval=0,
                shutdown_timeout=5.0, timeout=5.0, buffer_length=buffer_length,
                max_queue_size=max_queue_size, max_queue_bytes=max_queue_bytes,
                background_worker_mode=background)
            from readme_metrics.delivery.transport import Transport
            self.transport = None if direct else Transport(config, direct=False)
            self.delivery = Delivery(config, build_id, max_attempts=3, backoff_base=0.001,
                                     backoff_cap=0.002, transport=self.transport)

        @rule(count=st.integers(1, 4), size=st.sampled_from([0, 300]))
        def submit(self, count: int, size: int) -> None:
            assert self.delivery is not None
            for _ in range(count):
                self.delivery.submit(item(next(self.ids), b"x" * size))
            self.stale_mark = False  # (a mark counts only while no log came since)

        @rule(replies=st.lists(st.sampled_from(REPLIES), max_size=3))
        def answers(self, replies: list[Reply]) -> None:
            collector.replies.extend(replies)

        @rule(timeout=st.sampled_from([0.0, 5.0]))
        def flush(self, timeout: float) -> None:
            assert self.delivery is not None
            self.delivery.flush(timeout)

        @rule()
        def stop_begins(self) -> None:
            """The ASGI lifespan's shutdown begins (delivery34): a close after it, no log
            since, ends within the same bound (review114)."""
            assert self.delivery is not None
            self.delivery.stop_begins()
            self.stale_mark = False

        @rule()
        def stop_began_long_ago(self) -> None:
            """A stop's mark 60 s back, no log since (a test client's lifespan ended long
            ago): a close now has its whole bound, not a deadline already past (before
            delivery35 it cut what was in flight at once, "after shutdown_timeout")."""
            assert self.delivery is not None
            self.delivery.stop_begins()
            when, accepted = self.delivery._stop_began
            self.delivery._stop_began = (when - 60.0, accepted)
            self.stale_mark = True

        @rule()
        def post_waiting(self) -> None:
            """The main thread ends (threading's exit hook): what waits is posted, no
            answer waited for (blackbox9; inline too since review114)."""
            assert self.delivery is not None
            self.delivery.post_waiting()

        @rule()
        def close(self) -> None:
            assert self.delivery is not None
            closing = time.monotonic()
            stale = self.stale_mark
            self.delivery.close()
            if stale and not self.closed:  # its own bound, from its call
                assert self.delivery._batcher.ends >= closing + 5.0
            self.closed = True
            self.after_close()

        @rule()
        def close_racing_a_drop(self) -> None:
            """A log submitted as close() runs: refused by a full queue, its request
            thread is held between the queue's count and the notice's until the close
            returned (delivery34: the close said its drops before that one was told)."""
            assert self.delivery is not None
            delivery = self.delivery
            notice: Any = delivery._queue_full
            told = notice.dropped
            refused, go = threading.Event(), threading.Event()

            def held(so_far: int) -> None:
                refused.set()
                go.wait(GUARD)
                told(so_far)

            notice.dropped = held
            log = item(next(self.ids))
            thread = threading.Thread(target=lambda: (delivery.submit(log), refused.set()))
            thread.start()
            try:
                assert refused.wait(GUARD)
                delivery.close()
            finally:
                go.set()
                thread.join(GUARD)
            assert not thread.is_alive()
            self.closed = True
            self.after_close()

        @invariant()
        def adds_up(self) -> None:
            if self.delivery is not None:
                stats = self.delivery.stats
                assert adds_up(stats), stats

        def after_close(self) -> None:
            assert self.delivery is not None
            stats = self.delivery.stats
            assert adds_up(stats), stats
            assert stats["queued"] == 0, stats
            prefix = f"r{self.run}-"
            taken = Counter(log["_id"] for log in collector.logs
                            if log["_id"].startswith(prefix))
            assert not [i for i, n in taken.items() if n > 1], taken
            assert stats["sent"] == len(taken), (stats, taken)
            said = sum(int(m.group(1)) for m in map(SAID.search, self.lines.messages) if m)
            assert said == stats["dropped_queue_full"], (said, stats, self.lines.messages)

        def teardown(self) -> None:
            try:
                if self.delivery is not None and not self.closed:
                    self.delivery.close()
                    self.after_close()
            finally:
                collector.replies.clear()
                self.logger.removeHandler(self.lines)
                if self.transport is not None:
                    self.transport.close()

    return Counts


@pytest.mark.parametrize("background", [True, False], ids=["background", "inline"])
@pytest.mark.parametrize("direct", [True, False], ids=["direct", "requests"])
def test_the_counts_add_up_in_any_order(collector: Collector, background: bool,
                                        direct: bool) -> None:
    machine: Any = counts_machine(collector, background, direct)
    machine.TestCase.settings = settings(
        max_examples=100, stateful_step_count=20, deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
    machine.TestCase().runTest()
