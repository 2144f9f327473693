"""A 401's pause as a retry waits, shared by the honest-lines tests
(tests/test_delivery85_honest_lines.py and tests/test_delivery86_honest_lines.py each
check a side of it; it sat in tests/support/held_head.py before house57, and in
delivery85's test module before flaky63)."""

from __future__ import annotations

from readme_metrics.delivery import Delivery
from tests.support.delivery import MakeDelivery, item
from tests.support.fake_api import Collector, Reply
from tests.support.polling import wait_until
from tests.support.processes import LINE_WAIT


def paused_with_a_retry_waiting(make_delivery: MakeDelivery,
                                collector: Collector) -> Delivery:
    """Log ``a``'s POST read in full and closed unanswered, its retry due in 30 s; log
    ``b``'s POST answered 401: the pause drops both. The Delivery, once it did."""
    collector.replies.extend([Reply(drop=True), Reply(status=401)])
    delivery = make_delivery(collector.url, buffer_length=1, backoff_base=30.0,
                             backoff_cap=30.0)
    assert delivery.submit(item("a"))
    queue = delivery._batcher.queue
    wait_until(lambda: bool(queue.retries), timeout=LINE_WAIT)
    assert delivery.submit(item("b"))
    wait_until(lambda: delivery.stats["dropped"] == 2, timeout=LINE_WAIT)
    return delivery
