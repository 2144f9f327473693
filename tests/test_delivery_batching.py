"""Delivery (SPEC section 7): batching and flush timing, against a real, programmable
collector on loopback.

Every log once, in POSTs within the log and byte caps; a full batch goes at
once, a partial one on flush_interval or flush(); a backlog goes in larger POSTs; each
POST is compact UTF-8 JSON.

Items and ``build`` are plain (tests.support.delivery), so these pin the batching rules
apart from HAR building. In every test, no log record shows the API key.
"""

from __future__ import annotations

import logging
import threading
import time

import pytest

from readme_metrics.delivery import MAX_POST_BYTES, MAX_POST_LOGS
from readme_metrics.delivery.encode import ENCODER
from readme_metrics.delivery.policy import post_size
from tests.support.delivery import (
    MakeDelivery,
    adds_up,
    api_key_never_logged_fixture,  # noqa: F401 - autouse
    ids,
    item,
    make_delivery_fixture,  # noqa: F401 - ``make_delivery``
    messages,
)
from tests.support.fake_api import INLINE_TIMEOUT, Collector, Reply, free_port
from tests.support.polling import wait_until

# -- batching -------------------------------------------------------------------------------


@pytest.mark.parametrize(("buffer_length", "count"), [
    pytest.param(1, 3, id="buffer-1"),
    pytest.param(3, 7, id="partial-tail"),
    pytest.param(5, 5, id="exactly-one-batch"),
    pytest.param(10, 25, id="default-buffer"),
])
def test_flush_sends_every_log_once_in_posts_within_the_cap(
        collector: Collector, make_delivery: MakeDelivery, buffer_length: int,
        count: int) -> None:
    delivery = make_delivery(collector.url, buffer_length=buffer_length)
    names = [f"log-{n}" for n in range(count)]
    assert all(delivery.submit(item(name)) for name in names)
    assert delivery.flush(5.0) is True

    # Once each; not in order across POSTs: flush() starts one more sender for what
    # waits behind a POST in flight, and the two may be answered in either order.
    delivered = ids(collector.logs)
    assert sorted(delivered) == sorted(names) and len(delivered) == count
    assert all(1 <= len(batch) <= MAX_POST_LOGS for batch in collector.batches)
    stats = delivery.stats
    assert (stats["captured"], stats["sent"], stats["queued"], stats["dropped"]) == (
        count, count, 0, 0)
    assert stats["batches"] == len(collector.batches)
    assert adds_up(stats)


def test_each_delivered_batch_is_one_debug_line(
        collector: Collector, make_delivery: MakeDelivery,
        caplog: pytest.LogCaptureFixture) -> None:
    # Where no stats handle is at hand (Django, FastAPI), the debug log shows delivery.
    caplog.set_level(logging.DEBUG, logger="readme_metrics")
    delivery = make_delivery(collector.url, buffer_length=3)
    for n in range(4):
        delivery.submit(item(f"log-{n}"))
    assert delivery.flush(5.0) is True
    delivery.submit(item("log-4"))
    assert delivery.flush(5.0) is True
    lines = messages(caplog, logging.DEBUG, "delivered")
    counts = [len(batch) for batch in collector.batches]
    assert lines == [f"readme_metrics: delivered {count} log{'' if count == 1 else 's'} "
                     "(HTTP 202 Accepted)" for count in counts]
    assert sum(counts) == 5 and 1 in counts  # a POST of one log says "1 log"


def test_the_log_lines_name_the_api_with_its_port_and_count_in_the_singular(
        collector: Collector, make_delivery: MakeDelivery,
        caplog: pytest.LogCaptureFixture) -> None:
    # Which server the logs go to is the first question when they do not arrive: the
    # port is part of the answer (a local collector is told apart by it alone).
    caplog.set_level(logging.DEBUG, logger="readme_metrics")
    port = collector.url.split(":")[2].split("/")[0]
    delivery = make_delivery(collector.url)
    delivery.submit(item("log-0"))
    assert delivery.flush(5.0) is True
    assert messages(caplog, logging.DEBUG, "posted to") == [
        f"readme_metrics: logs are posted to http://127.0.0.1:{port} directly "
        f"(kept-alive sockets); JSON encoder: {ENCODER}"]

    collector.default = Reply(400, b'{"error": "no"}')
    delivery.submit(item("log-1"))
    assert delivery.flush(5.0) is False
    (rejected,) = messages(caplog, logging.WARNING, "rejected")
    assert "rejected a batch of 1 log (HTTP 400" in rejected

    dead_port = free_port()  # the warning says where: the url, without its password
    # (Its backoff at the cap from the first failure: that one counts, delivery16.)
    dead = make_delivery(f"http://user:pw@127.0.0.1:{dead_port}", max_attempts=1,
                         backoff_base=0.05)
    dead.submit(item("log-2"))
    assert dead.flush(5.0) is False
    (exhausted,) = messages(caplog, logging.WARNING, "could not deliver")
    assert (f"could not deliver a batch of 1 log to http://127.0.0.1:{dead_port}/v1/request "
            "after 1 attempt (") in exhausted and "pw" not in exhausted


def test_a_full_batch_goes_without_flush_and_a_partial_one_waits(
        collector: Collector, make_delivery: MakeDelivery) -> None:
    delivery = make_delivery(collector.url, buffer_length=3, flush_interval=0)
    for n in range(3):
        delivery.submit(item(f"log-{n}"))
    assert ids(collector.wait_for_logs(3)) == ["log-0", "log-1", "log-2"]
    wait_until(lambda: delivery.stats["sent"] == 3)
    delivery.submit(item("log-3"))
    delivery.submit(item("log-4"))
    # The sentinel: the log that fills the batch. Had the two waiting logs gone alone (no
    # timer, no flush), the POSTs would be 3, 2, 1; no sleep needed to see that they waited.
    delivery.submit(item("log-5"))
    assert ids(collector.wait_for_logs(6))[3:] == ["log-3", "log-4", "log-5"]
    assert [len(batch) for batch in collector.batches] == [3, 3]


@pytest.mark.parametrize(("sizes", "max_logs", "max_bytes", "expected"), [
    pytest.param([], 500, 100, 0, id="nothing-waiting"),
    pytest.param([1] * 7, 500, 100, 7, id="all-fit"),
    pytest.param([1] * 700, 500, 10_000, 500, id="log-cap"),
    pytest.param([40, 40, 40], 500, 100, 2, id="byte-cap"),
    pytest.param([40, 60, 1], 500, 100, 2, id="byte-cap-exactly-reached"),
    pytest.param([250, 1, 1], 500, 100, 1, id="oversized-log-goes-alone"),
    pytest.param([1, 250], 500, 100, 1, id="oversized-log-waits-for-its-own-post"),
])
def test_post_size_caps_logs_and_bytes(sizes: list[int], max_logs: int, max_bytes: int,
                                       expected: int) -> None:
    assert post_size(sizes, max_logs, max_bytes) == expected


def test_a_backlog_goes_in_larger_posts_up_to_the_cap_every_log_once(
        collector: Collector, make_delivery: MakeDelivery) -> None:
    # The first POST is held: meanwhile far more than buffer_length logs pile up, and
    # the next POSTs carry as many as the cap allows instead of ten each. Held until
    # they are all queued (a 0.5 s hold could end first on a busy machine).
    held = threading.Event()
    collector.replies.append(Reply(gate=held))
    # (Held past 3 s while 1,498 logs are submitted on a loaded machine, the first POST
    # went again: its 2 logs twice. INLINE_TIMEOUT: flaky62.)
    delivery = make_delivery(collector.url, buffer_length=10, flush_interval=0.05,
                             timeout=INLINE_TIMEOUT)
    names = [f"log-{n}" for n in range(1500)]
    delivery.submit(item(names[0]))
    delivery.submit(item(names[1]))
    delivery.flush(0.01)  # the first, small POST is now being held by the collector
    for name in names[2:]:
        assert delivery.submit(item(name))
    held.set()
    assert delivery.flush(20.0) is True

    delivered = ids(collector.logs)
    assert sorted(delivered) == sorted(names) and len(set(delivered)) == 1500
    sizes = [len(batch) for batch in collector.batches]
    assert max(sizes) == MAX_POST_LOGS
    assert len(sizes) <= 1 + -(-1498 // 10) // 2, sizes  # far fewer than 10 logs a POST
    assert adds_up(delivery.stats)


def test_the_byte_cap_splits_posts_and_an_oversized_log_goes_alone(
        collector: Collector, make_delivery: MakeDelivery) -> None:
    quarter = b"q" * (MAX_POST_BYTES // 4 - 100)  # room for the url in each log's size
    delivery = make_delivery(collector.url, buffer_length=100, max_queue_bytes=64 << 20)
    bodies = {"big": b"B" * (MAX_POST_BYTES + 1), **{f"q{n}": quarter for n in range(6)}}
    for name, body in bodies.items():
        delivery.submit(item(name, body))
    assert delivery.flush(20.0) is True
    # (The flush's POSTs go at once, each with its sender: they arrive in any order.)
    assert sorted(ids(batch) for batch in collector.batches) == [
        ["big"], ["q0", "q1", "q2", "q3"], ["q4", "q5"]]


def test_flush_interval_sends_a_partial_batch(collector: Collector,
                                              make_delivery: MakeDelivery) -> None:
    delivery = make_delivery(collector.url, buffer_length=10, flush_interval=0.2)
    # The three are queued under the queue's lock (an RLock: this thread's submits take
    # it again): no sender sees one before all three wait, however long the submits take
    # on a loaded machine. Before, the timer could come due between two submits and the
    # first POST carry one or two of them (2 POSTs under a whole-suite run).
    with delivery._queue.lock:
        for n in range(3):
            assert delivery.submit(item(f"log-{n}"))
    logs = collector.wait_for_logs(3, timeout=10)  # no flush() call: the timer sends them
    assert ids(logs) == ["log-0", "log-1", "log-2"]
    assert len(collector.batches) == 1


def test_flush_interval_counts_from_the_first_waiting_log_not_the_last(
        collector: Collector, make_delivery: MakeDelivery) -> None:
    # SPEC 7: "or flush_interval after the first waiting log". A log arrives every
    # 0.1 s, far more often than flush_interval: a timer restarted by each new log would
    # never come due while they keep arriving. The first POST must come while they do,
    # and carry the first log. (A stalled machine can only let a restarted timer fire,
    # never keep a correct one from firing: this cannot fail for load.)
    delivery = make_delivery(collector.url, buffer_length=1000, flush_interval=0.5)
    submitted = 0
    while not collector.batches and submitted < 100:  # 10 s: twenty flush_intervals
        assert delivery.submit(item(f"log-{submitted}"))
        submitted += 1
        time.sleep(0.1)
    assert collector.batches, f"no POST while {submitted} logs arrived 0.1 s apart"
    assert ids(collector.batches[0])[0] == "log-0"
    assert delivery.flush(10.0) is True
    assert ids(collector.logs) == [f"log-{n}" for n in range(submitted)]


def test_flush_interval_zero_waits_for_a_full_batch_or_flush(
        collector: Collector, make_delivery: MakeDelivery) -> None:
    delivery = make_delivery(collector.url, buffer_length=10, flush_interval=0)
    for n in range(3):
        delivery.submit(item(f"log-{n}"))
    # The sentinel: seven more logs fill the batch. One POST of ten proves the first three
    # waited for it (sent as due, they would have gone alone first), without sleeping.
    for n in range(3, 10):
        delivery.submit(item(f"log-{n}"))
    collector.wait_for_logs(10)
    assert [len(batch) for batch in collector.batches] == [10]
    wait_until(lambda: delivery.stats["sent"] == 10)
    for n in range(10, 13):
        delivery.submit(item(f"log-{n}"))
    assert delivery.stats["queued"] == 3  # a partial batch waits for flush()
    assert delivery.flush(5.0) is True
    assert [len(batch) for batch in collector.batches] == [10, 3]
    assert ids(collector.logs) == [f"log-{n}" for n in range(13)]


@pytest.mark.parametrize(("log", "expected"), [
    pytest.param({"_id": "a", "text": "café ☕"}, '[{"_id":"a","text":"café ☕"}]'.encode(),
                 id="utf8-compact"),
    pytest.param({"_id": "a", "n": [1, 2.5, None, True]}, b'[{"_id":"a","n":[1,2.5,null,true]}]',
                 id="values"),
    pytest.param({"_id": "a", "text": "bad \ud800 surrogate"},
                 b'[{"_id":"a","text":"bad \\ud800 surrogate"}]', id="lone-surrogate-escaped"),
])
def test_batches_are_compact_utf8_json(collector: Collector, make_delivery: MakeDelivery,
                                       log: dict, expected: bytes) -> None:
    delivery = make_delivery(collector.url, lambda pending: log, buffer_length=1)
    delivery.submit(item("a"))
    assert delivery.flush(5.0) is True
    assert collector.received[0].body == expected
