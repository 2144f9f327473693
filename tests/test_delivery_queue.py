"""Delivery (SPEC section 7): the queue's bounds and the accounting, against a real,
programmable collector on loopback.

The queue stays bounded by count and by bytes under a dead collector; eight threads
submitting at once are counted exactly; a log that cannot be built is dropped alone and
counted.

Items and ``build`` are plain (tests.support.delivery), so these pin the accounting apart
from HAR building. In every test, no log record shows the API key.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

import pytest

from tests.support.delivery import (
    API_KEY,
    MakeDelivery,
    adds_up,
    api_key_never_logged_fixture,  # noqa: F401 - autouse
    build_id,
    ids,
    item,
    make_delivery_fixture,  # noqa: F401 - ``make_delivery``
    messages,
)
from tests.support.fake_api import Collector, Reply, free_port
from tests.support.polling import wait_until


@pytest.mark.parametrize(("options", "body", "bound"), [
    pytest.param({"max_queue_size": 20}, b"", ("queued", 20), id="by-count"),
    pytest.param({"max_queue_bytes": 10_000}, b"x" * 1000, ("queued_bytes", 10_000),
                 id="by-bytes"),
])
def test_queue_stays_bounded_under_a_dead_collector(
        make_delivery: MakeDelivery, caplog: pytest.LogCaptureFixture,
        options: dict[str, int], body: bytes, bound: tuple[str, int]) -> None:
    delivery = make_delivery(f"http://127.0.0.1:{free_port()}", buffer_length=5,
                             max_attempts=3, backoff_base=0.2, backoff_cap=0.2,
                             shutdown_timeout=0.5, **options)
    key, limit = bound
    accepted = 0
    for n in range(500):
        accepted += delivery.submit(item(f"log-{n}", body))
        stats = delivery.stats
        assert stats[key] <= limit
        assert adds_up(stats)
    stats = delivery.stats
    assert stats["captured"] == 500
    assert stats["dropped_queue_full"] == 500 - accepted > 0
    assert len(messages(caplog, logging.WARNING, "queue is full")) == 1

    delivery.close()
    wait_until(lambda: delivery.stats["queued"] == 0)
    stats = delivery.stats
    assert stats["sent"] == 0 and stats["dropped"] == 500
    assert adds_up(stats)


def test_queue_stays_bounded_while_every_post_is_held(
        collector: Collector, make_delivery: MakeDelivery) -> None:
    # A slow API (every POST held at a gate): the logs in the POSTs in flight, several
    # senders' worth, count against max_queue_size as the waiting ones do.
    answer = threading.Event()
    collector.default = Reply(gate=answer)
    delivery = make_delivery(collector.url, buffer_length=10, max_queue_size=100,
                             timeout=30.0, shutdown_timeout=5.0)
    try:
        accepted = 0
        for n in range(1000):
            accepted += delivery.submit(item(f"log-{n}"))
            stats = delivery.stats
            assert stats["queued"] <= 100 and adds_up(stats)
            if n == 9:  # the lone sender's POST of these ten is held; the rest is a burst
                wait_until(lambda: collector.in_flight == 1)
        wait_until(lambda: collector.in_flight >= 2)  # several POSTs held at once
        assert accepted == 100  # nothing settles while they are held
    finally:
        answer.set()
    # Every accepted log delivered, but 900 were refused since the last answer (spec19).
    assert delivery.flush(20.0) is False
    stats = delivery.stats
    assert (stats["sent"], stats["dropped_queue_full"], stats["queued"]) == (100, 900, 0)
    assert delivery.flush(5.0) is True  # said once
    assert len(set(ids(collector.logs))) == 100


# -- accounting and threads -------------------------------------------------------------------


def test_eight_threads_deliver_every_log_once_and_count_exactly(
        collector: Collector, make_delivery: MakeDelivery) -> None:
    delivery = make_delivery(collector.url, buffer_length=10, flush_interval=0.05)
    barrier = threading.Barrier(8)

    def run(thread: int) -> None:
        barrier.wait()
        for n in range(200):
            delivery.submit(item(f"t{thread}-{n}"))
            if n % 4 == 0:
                delivery.count_skipped()

    threads = [threading.Thread(target=run, args=(t,)) for t in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert delivery.flush(10.0) is True

    delivered = ids(collector.logs)
    assert len(delivered) == len(set(delivered)) == 1600
    stats = delivery.stats
    assert (stats["captured"], stats["sent"], stats["skipped"], stats["queued"]) == (
        1600 + 400, 1600, 400, 0)
    assert adds_up(stats)


def test_build_errors_drop_only_that_log_and_are_logged_once_per_message(
        collector: Collector, make_delivery: MakeDelivery,
        caplog: pytest.LogCaptureFixture) -> None:
    def build(pending: Any) -> dict:
        name = pending.to_exchange().id
        if name.startswith("bad"):
            raise ValueError("cannot build this one")
        if name.startswith("weird"):
            return {"_id": name, "value": {1, 2}}  # not JSON-serialisable
        if name.startswith("exit"):
            raise SystemExit("build called sys.exit")
        if name.startswith("leaky"):
            raise RuntimeError(f"an error quoting the key {API_KEY}")
        return build_id(pending)

    delivery = make_delivery(collector.url, build, buffer_length=4)
    names = ["ok-1", "bad-1", "ok-2", "weird-1", "bad-2", "ok-3", "bad-3", "ok-4", "exit-1",
             "leaky-1", "ok-5"]
    for name in names:
        delivery.submit(item(name))
    assert delivery.flush(5.0) is False

    # In any order: flush() may start one more sender beside a POST in flight.
    assert sorted(ids(collector.logs)) == ["ok-1", "ok-2", "ok-3", "ok-4", "ok-5"]
    stats = delivery.stats
    assert stats["dropped_build_error"] == 6 and stats["sent"] == 5
    assert stats["queued_bytes"] == 0
    assert adds_up(stats)
    assert len(messages(caplog, logging.ERROR, "cannot build this one")) == 1
    assert len(messages(caplog, logging.ERROR, "not JSON serializable")) == 1
    assert len(messages(caplog, logging.ERROR, "sys.exit")) == 1
    # The key is scrubbed from the message and from the traceback logged at debug.
    assert len(messages(caplog, logging.ERROR, "quoting the key [REDACTED]")) == 1
    assert messages(caplog, logging.DEBUG, "Traceback")
    # The worker survived: later logs still go out.
    delivery.submit(item("ok-6"))
    assert delivery.flush(5.0) is True
