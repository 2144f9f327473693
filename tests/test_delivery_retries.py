"""Delivery (SPEC section 7) against a real, programmable collector on loopback.

Items are plain :class:`Exchange` objects and ``build`` a small function, so these tests
pin the queue, batching, retry and accounting rules independently of HAR building; the
middleware-level versions (threads, fork, gunicorn) are in test_fork.py.
"""

from __future__ import annotations

import base64
import email.utils
import gc
import json
import logging
import os
import subprocess
import sys
import textwrap
import threading
import time
import weakref
from pathlib import Path
from typing import Any, Callable, Iterator, Optional

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from readme_metrics import MetricsMiddleware
from readme_metrics.config import MetricsApiConfig
from readme_metrics.delivery import (
    MAX_POST_BYTES,
    MAX_POST_LOGS,
    MAX_SENDERS,
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
from readme_metrics.delivery.batcher import Batcher
from readme_metrics.delivery.policy import post_size
from readme_metrics.delivery.queue import LogQueue
from readme_metrics.exchange import Exchange, Group
from tests.support.command import REPO_ROOT
from tests.support.contract import API_KEY as CONTRACT_API_KEY
from tests.support.contract import CALLER, hit, reading_app
from tests.support.drip import DripServer
from tests.support.fake_api import Collector, Reply, free_port
from tests.support.logs import assert_api_key_not_logged
from tests.support.wsgi import run_wsgi, wsgi_environ

ROOT = Path(__file__).resolve().parents[1]
API_KEY = "rdme_delivery_SECRET_key_31337"


# -- helpers ----------------------------------------------------------------------------


def item(name: str, body: bytes = b"") -> Exchange:
    return Exchange(id=name, started=0.0, method="GET", url="http://api.test/x",
                    http_version="HTTP/1.1", request_headers=[], client_ip="127.0.0.1",
                    group=Group("caller"), response_body=body, response_body_size=len(body))


def build_id(pending: Any) -> dict:
    exchange = pending.to_exchange()
    return {"_id": exchange.id, "size": exchange.response_body_size}


def ids(logs: list[dict]) -> list[str]:
    return [log["_id"] for log in logs]


def adds_up(stats: dict[str, int]) -> bool:
    reasons = sum(value for key, value in stats.items() if key.startswith("dropped_"))
    return (stats["captured"] == stats["sent"] + stats["dropped"] + stats["queued"]
            + stats["skipped"] and reasons == stats["dropped"])


def wait_until(predicate: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.01)


def worker_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "readme-metrics-worker"]


MakeDelivery = Callable[..., Delivery]


@pytest.fixture
def make_delivery() -> Iterator[MakeDelivery]:
    """Delivery factory with test-sized retry timings; closes them all afterwards."""
    made: list[Delivery] = []

    def make(metrics_api: str, build: Callable[[Any], dict] = build_id, *,
             max_attempts: int = 5, backoff_base: float = 0.01, backoff_cap: float = 0.05,
             auth_pause: float = 60.0, **options: Any) -> Delivery:
        options.setdefault("flush_interval", 0)
        options.setdefault("shutdown_timeout", 2.0)
        config = MetricsApiConfig(api_key=API_KEY, grouping_function=lambda req: None,
                                  metrics_api=metrics_api, **options)
        delivery = Delivery(config, build, max_attempts=max_attempts,
                            backoff_base=backoff_base, backoff_cap=backoff_cap,
                            auth_pause=auth_pause)
        made.append(delivery)
        return delivery

    yield make
    for delivery in made:
        delivery.close()


@pytest.fixture(autouse=True)
def _api_key_never_logged(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """Whatever happens in a test, no log record (any logger, DEBUG up) shows the key."""
    caplog.set_level(logging.DEBUG)
    yield
    for key in (API_KEY, CONTRACT_API_KEY):  # the black-box tests' key too
        assert_api_key_not_logged(caplog.get_records("call"), key)


def messages(caplog: pytest.LogCaptureFixture, level: int, needle: str) -> list[str]:
    return [r.getMessage() for r in caplog.records
            if r.levelno == level and r.name == "readme_metrics" and needle in r.getMessage()]


# -- pure decisions -----------------------------------------------------------------------


@pytest.mark.parametrize(("status", "verdict"), [
    pytest.param(200, SENT, id="200"),
    pytest.param(202, SENT, id="202"),
    pytest.param(204, SENT, id="204"),
    pytest.param(301, REJECT, id="301-not-followed"),
    pytest.param(400, REJECT, id="400"),
    pytest.param(404, REJECT, id="404"),
    pytest.param(413, REJECT, id="413"),
    pytest.param(422, REJECT, id="422"),
    pytest.param(401, PAUSE, id="401"),
    pytest.param(403, PAUSE, id="403"),
    pytest.param(408, RETRY, id="408"),
    pytest.param(429, RETRY, id="429"),
    pytest.param(500, RETRY, id="500"),
    pytest.param(502, RETRY, id="502"),
    pytest.param(503, RETRY, id="503"),
    pytest.param(504, RETRY, id="504"),
    pytest.param(599, RETRY, id="599"),
])
def test_classify(status: int, verdict: str) -> None:
    assert classify(status) == verdict


NOW = 1_800_000_000.0


@pytest.mark.parametrize(("value", "expected"), [
    pytest.param(None, None, id="absent"),
    pytest.param("", None, id="empty"),
    pytest.param("3", 3.0, id="seconds"),
    pytest.param(" 2 ", 2.0, id="blanks"),
    pytest.param("1.5", 1.5, id="fraction"),
    pytest.param("0", 0.0, id="zero"),
    pytest.param("-4", 0.0, id="negative"),
    pytest.param("100000", RETRY_AFTER_CAP, id="capped"),
    pytest.param("soon", None, id="garbage"),
    pytest.param("nan", None, id="nan"),
    pytest.param(email.utils.formatdate(NOW + 10, usegmt=True), 10.0, id="http-date"),
    pytest.param(email.utils.formatdate(NOW - 10, usegmt=True), 0.0, id="http-date-past"),
])
def test_parse_retry_after(value: Optional[str], expected: Optional[float]) -> None:
    assert parse_retry_after(value, now=NOW) == expected


@given(st.text(max_size=40))
def test_parse_retry_after_never_raises(value: str) -> None:
    seconds = parse_retry_after(value)
    assert seconds is None or 0.0 <= seconds <= RETRY_AFTER_CAP


@given(attempt=st.integers(1, 200), retry_after=st.none() | st.floats(0, 1e6),
       jitter=st.floats(0, 1, exclude_max=True))
def test_backoff_is_jittered_exponential_bounded_and_honours_retry_after(
        attempt: int, retry_after: Optional[float], jitter: float) -> None:
    delay = backoff_delay(attempt, retry_after, base=0.5, cap=30.0, rand=lambda: jitter)
    ceiling = min(30.0, 0.5 * 2 ** (attempt - 1))
    assert delay >= 0
    if retry_after is None:
        assert delay == pytest.approx(ceiling * jitter)
    else:
        assert delay >= min(retry_after, RETRY_AFTER_CAP)
        assert delay <= max(ceiling, RETRY_AFTER_CAP)


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

    assert ids(collector.logs) == names  # once each, in order
    assert all(1 <= len(batch) <= MAX_POST_LOGS for batch in collector.batches)
    stats = delivery.stats
    assert (stats["captured"], stats["sent"], stats["queued"], stats["dropped"]) == (
        count, count, 0, 0)
    assert stats["batches"] == len(collector.batches)
    assert adds_up(stats)


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
    # the next POSTs carry as many as the cap allows instead of ten each.
    collector.replies.append(Reply(delay=0.5))
    delivery = make_delivery(collector.url, buffer_length=10, flush_interval=0.05)
    names = [f"log-{n}" for n in range(1500)]
    delivery.submit(item(names[0]))
    delivery.submit(item(names[1]))
    delivery.flush(0.01)  # the first, small POST is now being held by the collector
    for name in names[2:]:
        assert delivery.submit(item(name))
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
    assert [ids(batch) for batch in collector.batches] == [
        ["big"], ["q0", "q1", "q2", "q3"], ["q4", "q5"]]


def test_flush_interval_sends_a_partial_batch(collector: Collector,
                                              make_delivery: MakeDelivery) -> None:
    delivery = make_delivery(collector.url, buffer_length=10, flush_interval=0.2)
    for n in range(3):
        delivery.submit(item(f"log-{n}"))
    logs = collector.wait_for_logs(3, timeout=10)  # no flush() call: the timer sends them
    assert ids(logs) == ["log-0", "log-1", "log-2"]
    assert len(collector.batches) == 1


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


# -- failures -------------------------------------------------------------------------------


@pytest.mark.parametrize(("failures", "timeout"), [
    pytest.param([Reply(500)], 3.0, id="500"),
    pytest.param([Reply(502), Reply(503), Reply(504)], 3.0, id="5xx-thrice"),
    pytest.param([Reply(408)], 3.0, id="408"),
    pytest.param([Reply(429)], 3.0, id="429"),
    pytest.param([Reply(drop=True)], 3.0, id="connection-dropped"),
    pytest.param([Reply(hang=1.0)], 0.2, id="timeout"),
    pytest.param([Reply(500), Reply(drop=True), Reply(hang=1.0), Reply(429)], 0.2,
                 id="mixed"),
])
def test_transient_failures_are_retried_then_delivered_exactly_once(
        collector: Collector, make_delivery: MakeDelivery, failures: list[Reply],
        timeout: float) -> None:
    collector.replies.extend(failures)
    delivery = make_delivery(collector.url, buffer_length=4, timeout=timeout)
    names = [f"log-{n}" for n in range(4)]
    for name in names:
        delivery.submit(item(name))
    assert delivery.flush(10.0) is True

    assert ids(collector.logs) == names  # once each, in order
    stats = delivery.stats
    assert stats["retries"] == len(failures)
    assert (stats["sent"], stats["dropped"], stats["failed_batches"]) == (4, 0, 0)
    assert adds_up(stats)


@pytest.mark.parametrize("retry_after", [
    pytest.param(lambda: "1", id="seconds"),
    pytest.param(lambda: email.utils.formatdate(time.time() + 2, usegmt=True), id="http-date"),
])
def test_429_retry_after_is_respected(collector: Collector, make_delivery: MakeDelivery,
                                      retry_after: Callable[[], str]) -> None:
    # Backoff alone would retry within 10 ms; the server asked for at least a second.
    collector.replies.append(Reply(429, headers={"Retry-After": retry_after()}))
    delivery = make_delivery(collector.url, buffer_length=2, backoff_base=0.01)
    started = time.monotonic()
    delivery.submit(item("a"))
    delivery.submit(item("b"))
    collector.wait_for_logs(2)
    assert time.monotonic() - started >= 0.9
    assert ids(collector.logs) == ["a", "b"]
    assert delivery.stats["retries"] == 1


def test_retries_are_bounded_then_the_batch_is_dropped(
        collector: Collector, make_delivery: MakeDelivery,
        caplog: pytest.LogCaptureFixture) -> None:
    collector.default = Reply(503)
    delivery = make_delivery(collector.url, buffer_length=2, max_attempts=3)
    for n in range(6):
        delivery.submit(item(f"log-{n}"))
    assert delivery.flush(10.0) is False

    assert collector.received == []
    stats = delivery.stats
    batches = stats["failed_batches"]
    assert 1 <= batches <= 3
    assert len(collector.failed) == 3 * batches  # three attempts each, no more
    assert stats["dropped_retries_exhausted"] == stats["dropped"] == 6
    assert (stats["retries"], stats["queued"]) == (2 * batches, 0)
    assert adds_up(stats)
    # Batches dropped, one warning: warnings are rate-limited per kind.
    assert len(messages(caplog, logging.WARNING, "after 3 attempts")) == 1


@pytest.mark.parametrize("status", [pytest.param(401, id="401"), pytest.param(403, id="403")])
def test_auth_failure_pauses_delivery_with_one_error_per_pause(
        collector: Collector, make_delivery: MakeDelivery,
        caplog: pytest.LogCaptureFixture, status: int) -> None:
    collector.replies.append(Reply(status, b'{"error":"bad key"}'))
    delivery = make_delivery(collector.url, buffer_length=2, auth_pause=0.6)
    delivery.submit(item("a"))
    delivery.submit(item("b"))
    wait_until(lambda: delivery.stats["dropped_auth"] == 2)

    # During the pause new logs are dropped and counted, and nothing is posted.
    for n in range(5):
        assert delivery.submit(item(f"paused-{n}")) is False
    assert delivery.flush(0.5) is False
    stats = delivery.stats
    assert (stats["dropped_auth"], stats["queued"], stats["sent"]) == (7, 0, 0)
    assert len(collector.failed) == 1 and collector.received == []
    errors = messages(caplog, logging.ERROR, str(status))
    assert len(errors) == 1
    assert "API key" in errors[0] and "README_API_KEY" in errors[0]

    # After the pause: a second refusal is a second pause with its own single error ...
    # (nothing waits, so flush() is True exactly when the pause is over: no fixed sleep)
    wait_until(lambda: delivery.flush(0.05))
    collector.replies.append(Reply(status))
    delivery.submit(item("c"))
    delivery.submit(item("d"))
    wait_until(lambda: delivery.stats["dropped_auth"] == 9)
    assert len(messages(caplog, logging.ERROR, str(status))) == 2

    # ... and once the key is accepted again, delivery resumes.
    wait_until(lambda: delivery.flush(0.05))
    delivery.submit(item("e"))
    delivery.submit(item("f"))
    assert delivery.flush(5.0) is True
    assert ids(collector.logs) == ["e", "f"]
    assert adds_up(delivery.stats)
    assert len(messages(caplog, logging.ERROR, str(status))) == 2


@pytest.mark.parametrize("reply", [
    pytest.param(Reply(400, b'{"error":"bad log XYZ"}'), id="400"),
    pytest.param(Reply(404, b"no such route XYZ"), id="404"),
    pytest.param(Reply(413, b"too large XYZ"), id="413"),
    pytest.param(Reply(422, b'{"errors":["XYZ"]}'), id="422"),
    pytest.param(Reply(400, f'{{"error":"key {API_KEY} XYZ"}}'.encode()), id="body-echoes-key"),
])
def test_other_4xx_drop_the_batch_and_log_the_body_at_debug(
        collector: Collector, make_delivery: MakeDelivery,
        caplog: pytest.LogCaptureFixture, reply: Reply) -> None:
    collector.replies.append(reply)
    delivery = make_delivery(collector.url, buffer_length=3)
    for name in ("a", "b", "c"):
        delivery.submit(item(name))
    wait_until(lambda: delivery.stats["dropped"] == 3)
    for name in ("d", "e", "f"):
        delivery.submit(item(name))
    assert delivery.flush(5.0) is True

    assert len(collector.failed) == 1  # not retried
    assert ids(collector.logs) == ["d", "e", "f"]
    stats = delivery.stats
    assert (stats["dropped_rejected"], stats["failed_batches"], stats["retries"]) == (3, 1, 0)
    assert adds_up(stats)
    debug = messages(caplog, logging.DEBUG, "XYZ")
    assert len(debug) == 1 and str(reply.status) in debug[0]
    assert len(messages(caplog, logging.WARNING, "rejected")) == 1


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


def test_hanging_collector_never_blocks_submit_and_close_is_bounded(
        collector: Collector, make_delivery: MakeDelivery) -> None:
    collector.default = Reply(hang=5.0)
    delivery = make_delivery(collector.url, buffer_length=10, timeout=30.0,
                             shutdown_timeout=0.5)
    results = [delivery.submit(item(f"log-{n}")) for n in range(10)]
    wait_until(lambda: len(collector.failed) == 1)  # the first POST is stuck
    results += [delivery.submit(item(f"log-{n}")) for n in range(10, 35)]
    assert all(results)  # queued while the worker is stuck on the first batch
    started = time.monotonic()
    delivery.close()
    assert time.monotonic() - started < 0.5 + 1.0
    stats = delivery.stats
    assert stats["sent"] == 0 and stats["dropped_shutdown"] >= 25
    assert adds_up(stats)  # the batch still in flight counts as queued


EXIT_SCRIPT = textwrap.dedent("""
    import sys, time
    from readme_metrics.config import MetricsApiConfig
    from readme_metrics.delivery import Delivery
    from readme_metrics.exchange import Exchange, Group

    url, background, backoff = sys.argv[1], sys.argv[2] == "1", float(sys.argv[3])
    config = MetricsApiConfig(api_key="k", grouping_function=lambda req: None,
                              metrics_api=url, buffer_length=10, timeout=30.0,
                              shutdown_timeout=1.0, background_worker_mode=background)
    delivery = Delivery(config, lambda item: {"_id": item.to_exchange().id},
                        backoff_base=backoff, backoff_cap=backoff)
    for n in range(25 if background else 9):
        delivery.submit(Exchange(str(n), 0.0, "GET", "http://a/", "HTTP/1.1", [], "1",
                                 Group("g")))
    print(time.time(), flush=True)  # exit starts now: atexit must not take > 1 s + 1 s
""")


@pytest.mark.parametrize(("background", "reply", "backoff"), [
    pytest.param(True, Reply(500), 30.0, id="background-long-backoff"),
    pytest.param(False, Reply(500), 30.0, id="inline-long-backoff"),
    pytest.param(True, None, 0.01, id="background-dripping"),
    pytest.param(False, None, 0.01, id="inline-dripping"),
])
def test_interpreter_exit_within_shutdown_timeout(collector: Collector, background: bool,
                                                  reply: Optional[Reply],
                                                  backoff: float) -> None:
    # reply None: an API that drips its answer one byte every 0.4 s (timeout is 30 s).
    drip = DripServer(interval=0.4, max_bytes=200) if reply is None else None
    if reply is not None:
        collector.default = reply
    process = subprocess.Popen(
        [sys.executable, "-c", EXIT_SCRIPT, drip.url if drip else collector.url,
         "1" if background else "0", str(backoff)], stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        out, err = process.communicate(timeout=30)
    finally:
        process.kill()
    ended = time.time()
    if drip is not None:
        drip.close()
    assert process.returncode == 0, err
    assert ended - float(out.split()[0]) < 1.0 + 1.0
    assert drip.requests >= 1 if drip else len(collector.failed) >= 1  # it did try


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

    assert ids(collector.logs) == ["ok-1", "ok-2", "ok-3", "ok-4", "ok-5"]
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


def test_one_lazily_started_named_daemon_worker(collector: Collector,
                                                make_delivery: MakeDelivery) -> None:
    before = set(worker_threads())
    delivery = make_delivery(collector.url, buffer_length=2)
    assert set(worker_threads()) == before  # lazy: nothing before the first log
    for n in range(60):  # 30 batches
        delivery.submit(item(f"log-{n}"))
    assert delivery.flush(5.0) is True
    new = set(worker_threads()) - before
    assert len(new) == 1
    [worker] = new
    assert worker.daemon
    delivery.close()
    worker.join(5.0)
    assert not worker.is_alive()


def test_inline_mode_sends_in_the_calling_thread(collector: Collector,
                                                 make_delivery: MakeDelivery) -> None:
    before = set(worker_threads())
    delivery = make_delivery(collector.url, buffer_length=3, background_worker_mode=False)
    delivery.submit(item("a"))
    delivery.submit(item("b"))
    assert collector.received == []
    delivery.submit(item("c"))  # fills the batch: posted before submit returns
    assert ids(collector.logs) == ["a", "b", "c"]
    delivery.submit(item("d"))
    assert delivery.flush(5.0) is True
    assert ids(collector.logs) == ["a", "b", "c", "d"]
    assert set(worker_threads()) == before
    assert adds_up(delivery.stats)


def test_inline_mode_sends_a_partial_batch_older_than_flush_interval_with_the_next_request(
        collector: Collector, make_delivery: MakeDelivery) -> None:
    delivery = make_delivery(collector.url, buffer_length=10, background_worker_mode=False,
                             flush_interval=0.2)
    delivery.submit(item("a"))
    assert collector.received == []  # no timer thread in inline mode
    time.sleep(0.3)
    delivery.submit(item("b"))  # the partial batch is now overdue: it goes, with this one
    assert ids(collector.logs) == ["a", "b"]
    delivery.submit(item("c"))  # a fresh partial batch waits again
    assert ids(collector.logs) == ["a", "b"]
    assert adds_up(delivery.stats)


def test_inline_mode_a_log_that_finds_the_sender_busy_is_not_stranded(
        collector: Collector, make_delivery: MakeDelivery) -> None:
    collector.replies.append(Reply(delay=0.5))
    delivery = make_delivery(collector.url, buffer_length=1, background_worker_mode=False)
    first = threading.Thread(target=delivery.submit, args=(item("a"),))
    first.start()
    wait_until(lambda: len(collector.received) == 1)  # a's POST is being held
    assert delivery.submit(item("b")) is True  # the inline sender is busy: b waits
    first.join(10)
    # a's request thread sent b as well: no later request or flush() was needed.
    assert ids(collector.logs) == ["a", "b"]
    assert delivery.stats["sent"] == 2


def test_inline_mode_never_raises_and_retries_on_flush(
        collector: Collector, make_delivery: MakeDelivery) -> None:
    collector.replies.extend([Reply(500), Reply(503)])
    delivery = make_delivery(collector.url, buffer_length=2, background_worker_mode=False)
    assert delivery.submit(item("a")) is True
    assert delivery.submit(item("b")) is True  # first attempt fails: kept for a retry
    assert collector.received == []
    assert delivery.stats["queued"] == 2
    assert delivery.flush(5.0) is True
    assert ids(collector.logs) == ["a", "b"]
    assert delivery.stats["retries"] == 2


def test_close_is_idempotent_and_later_logs_are_counted(collector: Collector,
                                                        make_delivery: MakeDelivery) -> None:
    delivery = make_delivery(collector.url, buffer_length=10)
    delivery.submit(item("a"))
    delivery.close()
    delivery.close()
    assert ids(collector.logs) == ["a"]  # close flushed the partial batch
    assert delivery.submit(item("late")) is False
    stats = delivery.stats
    assert (stats["sent"], stats["dropped_shutdown"]) == (1, 1)
    assert adds_up(stats)


def test_close_warns_about_a_batch_still_waiting_for_its_retry(
        collector: Collector, make_delivery: MakeDelivery,
        caplog: pytest.LogCaptureFixture) -> None:
    # The retry is due long after shutdown_timeout: close gives the batch up, and says so.
    collector.default = Reply(503, headers={"Retry-After": "30"})
    delivery = make_delivery(collector.url, buffer_length=2, shutdown_timeout=0.5)
    delivery.submit(item("a"))
    delivery.submit(item("b"))
    wait_until(lambda: len(collector.failed) == 1)
    delivery.close()
    stats = delivery.stats
    assert (stats["dropped_shutdown"], stats["failed_batches"], stats["queued"]) == (2, 1, 0)
    assert adds_up(stats)
    assert messages(caplog, logging.WARNING, "2 logs not delivered")


def test_a_closed_delivery_can_be_garbage_collected(collector: Collector) -> None:
    config = MetricsApiConfig(api_key=API_KEY, grouping_function=lambda req: None,
                              metrics_api=collector.url, buffer_length=2)
    delivery = Delivery(config, build_id)
    delivery.submit(item("a"))
    delivery.submit(item("b"))
    collector.wait_for_logs(2)
    delivery.close()
    ref = weakref.ref(delivery)
    del delivery
    gc.collect()
    assert ref() is None  # atexit and fork hooks hold it weakly


# -- random failure scripts -------------------------------------------------------------------

REPLIES = st.sampled_from([Reply(202), Reply(500), Reply(429), Reply(400), Reply(408),
                           Reply(drop=True)])


@settings(max_examples=15, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(script=st.lists(REPLIES, max_size=8), count=st.integers(1, 12),
       buffer_length=st.integers(1, 4))
def test_any_reply_script_delivers_at_most_once_and_adds_up(
        collector: Collector, script: list[Reply], count: int, buffer_length: int) -> None:
    collector.received.clear()
    collector.failed.clear()
    collector.replies.clear()
    collector.replies.extend(script)
    config = MetricsApiConfig(api_key=API_KEY, grouping_function=lambda req: None,
                              metrics_api=collector.url, buffer_length=buffer_length,
                              flush_interval=0)
    delivery = Delivery(config, build_id, max_attempts=3, backoff_base=0.001,
                        backoff_cap=0.002)
    try:
        for n in range(count):
            delivery.submit(item(f"log-{n}"))
        complete = delivery.flush(10.0)
        delivered = ids(collector.logs)
        stats = delivery.stats
        assert len(delivered) == len(set(delivered)) == stats["sent"]
        assert stats["queued"] == 0 and adds_up(stats)
        # flush() is False only when something was not delivered; it may be True with
        # drops when those were settled before flush() was called (not its logs).
        assert complete or stats["sent"] < count
        if stats["sent"] == count:
            assert complete
        assert stats["dropped"] == stats["dropped_rejected"] + stats[
            "dropped_retries_exhausted"]
    finally:
        delivery.close()


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


# -- slow, dripping and refusing APIs with several POSTs in flight ---------------------------


@pytest.mark.parametrize("delay", [pytest.param(0.05, id="50ms"), pytest.param(0.25, id="250ms")])
def test_thousands_of_logs_to_a_slow_api_are_each_delivered_exactly_once(
        collector: Collector, make_delivery: MakeDelivery, delay: float) -> None:
    # Default batching options; only the API is slow. Nothing may be lost or duplicated,
    # however the logs are spread over POSTs and senders.
    collector.default = Reply(delay=delay)
    delivery = make_delivery(collector.url, flush_interval=5.0, shutdown_timeout=60.0)
    names = [f"log-{n}" for n in range(4000)]
    for name in names:
        assert delivery.submit(item(name))
    delivery.close()

    delivered = ids(collector.logs)
    assert len(delivered) == len(set(delivered)) == 4000
    assert set(delivered) == set(names)
    stats = delivery.stats
    assert (stats["sent"], stats["dropped"], stats["queued"]) == (4000, 0, 0)
    assert adds_up(stats)
    assert len(worker_threads()) <= MAX_SENDERS


def _backlog_with_senders(collector: Collector, delivery: Delivery, count: int) -> set:
    """Submit ``count`` logs to a slow collector until several senders post at once."""
    before = set(worker_threads())
    collector.default = Reply(delay=0.3)
    for n in range(count):
        assert delivery.submit(item(f"log-{n}"))
    seen: list[set] = []

    def several() -> bool:
        # One look, kept: a sender may end between two looks once the backlog is cut.
        now = set(worker_threads()) - before
        if len(now) >= 2:
            seen.append(now)
        return bool(seen)

    wait_until(several)
    return seen[0]


def test_a_refused_key_with_several_posts_in_flight_is_one_pause_and_one_error(
        collector: Collector, make_delivery: MakeDelivery,
        caplog: pytest.LogCaptureFixture) -> None:
    delivery = make_delivery(collector.url, buffer_length=10, flush_interval=0.05)
    senders = _backlog_with_senders(collector, delivery, 2500)
    assert 2 <= len(senders) <= MAX_SENDERS
    collector.default = Reply(401, delay=0.1)
    assert delivery.flush(20.0) is False

    errors = messages(caplog, logging.ERROR, "401")
    assert len(errors) == 1, errors
    stats = delivery.stats
    assert stats["queued"] == 0 and stats["dropped_auth"] > 0
    assert stats["sent"] + stats["dropped_auth"] == 2500
    assert adds_up(stats)
    delivered = ids(collector.logs)
    assert len(delivered) == len(set(delivered)) == stats["sent"]


def test_failures_with_several_posts_in_flight_hold_every_sender(
        collector: Collector, make_delivery: MakeDelivery) -> None:
    # Once the API fails, the senders wait out one shared backoff (here Retry-After) and
    # then probe one POST at a time: the POSTs in flight when it began, and no storm.
    delivery = make_delivery(collector.url, buffer_length=10, flush_interval=0.05,
                             max_attempts=10)
    _backlog_with_senders(collector, delivery, 2500)
    collector.default = Reply(503, headers={"Retry-After": "3"})
    wait_until(lambda: len(collector.failed) >= 1)
    time.sleep(1.5)
    assert len(collector.failed) <= MAX_SENDERS  # only those already in flight
    collector.default = Reply()
    assert delivery.flush(30.0) is True
    delivered = ids(collector.logs)
    assert len(delivered) == len(set(delivered)) == 2500
    assert adds_up(delivery.stats)


def test_inline_mode_bounds_each_post_by_timeout_against_a_dripping_api(
        make_delivery: MakeDelivery) -> None:
    server = DripServer(interval=0.4, max_bytes=100)
    try:
        delivery = make_delivery(server.url, buffer_length=2, background_worker_mode=False,
                                 timeout=1.0, shutdown_timeout=1.0)
        delivery.submit(item("a"))
        delivery.submit(item("b"))  # a full batch: posted in this thread, cut at 1 s
        wait_until(lambda: server.sent)
        assert server.sent[0] < 10, server.sent  # not the 100 bytes (40 s) it offered
        stats = delivery.stats
        assert stats["queued"] == 2 and adds_up(stats)  # kept for a retry
        delivery.close()
        wait_until(lambda: len(server.sent) == 2)
        assert server.sent[1] < 10, server.sent
        assert delivery.stats["dropped_shutdown"] == 2
    finally:
        server.close()


# -- through the middleware: requests never wait, exit sends everything (SPEC 7, black box) ---


SLACK = 2.5


@pytest.mark.parametrize("stuck", [
    pytest.param("metrics-api", id="metrics-api-hanging"),
    pytest.param("docs-lookup", id="docs-url-lookup-hanging"),
])
def test_a_hanging_readme_never_slows_or_blocks_requests(
        collector: Collector, background_wrap: Any, stuck: str) -> None:
    """SPEC 7: the request thread only enqueues (no I/O, no lock held across I/O), and
    the docs URL lookup runs off the request path: a ReadMe that accepts the connection
    and never answers changes nothing for the app's clients."""
    release = threading.Event()
    if stuck == "metrics-api":
        collector.default = Reply(hang=20.0)
        middleware = background_wrap(buffer_length=1, timeout=30.0, shutdown_timeout=0.5)
    else:
        collector.get_v1 = lambda received: Reply(200, b'{"baseUrl": "https://x.test"}',
                                                  hang=20.0)
        middleware = background_wrap(buffer_length=1, base_log_url=None,
                                     readme_api_url=collector.url, timeout=30.0,
                                     shutdown_timeout=0.5)
    assert hit(middleware, "/first").status == "200 OK"
    # ReadMe now holds a connection open without answering.
    wait_until(lambda: bool(collector.failed if stuck == "metrics-api" else collector.gets))

    results: list[Any] = []
    stats: list[dict[str, int]] = []

    def clients() -> None:
        for n in range(200):
            results.append(hit(middleware, f"/during/{n}"))
            if n % 50 == 0:
                stats.append(middleware.stats)  # readable while the worker is stuck
        release.set()

    thread = threading.Thread(target=clients, daemon=True)
    thread.start()
    # Liveness, not speed: 200 requests finish while ReadMe is still hanging (20 s).
    assert release.wait(15.0), "requests were held up by the hanging ReadMe endpoint"
    assert [r.status for r in results] == ["200 OK"] * 200
    assert all(json.loads(r.body)["path"] == f"/during/{n}" for n, r in enumerate(results))
    assert all(adds_up(s) for s in stats)
    if stuck == "docs-lookup":
        # Until the base is known, no header (and no waiting for it).
        assert all(not r.header("x-documentation-url") for r in results)
        assert len(collector.gets) == 1, "one lookup, not one per request"
    else:
        started = time.monotonic()
        middleware.close()  # bounded by shutdown_timeout (0.5 s) even now
        assert time.monotonic() - started < 0.5 + SLACK
        stats_after = middleware.stats
        assert stats_after["sent"] == 0 and adds_up(stats_after)


MIDDLEWARE_EXIT_SCRIPT = textwrap.dedent("""
    import sys, time
    from wsgiref.util import setup_testing_defaults
    from readme_metrics import MetricsApiConfig, MetricsMiddleware

    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]

    url, background, count = sys.argv[1], sys.argv[2] == "1", int(sys.argv[3])
    middleware = MetricsMiddleware(app, MetricsApiConfig(
        api_key="rdme_exit_SECRET_key_5150", metrics_api=url, base_log_url="http://d.x",
        buffer_length=10, flush_interval=600, timeout=30, shutdown_timeout=1.0,
        background_worker_mode=background,
        grouping_function=lambda req: {"api_key": "caller"}))
    for n in range(count):
        environ = {"PATH_INFO": f"/{n}"}
        setup_testing_defaults(environ)
        b"".join(middleware(environ, lambda status, headers, exc_info=None: None))
    print(time.monotonic(), flush=True)  # no flush(), no close(): exit must do it
""")


@pytest.mark.parametrize(("background", "count", "reply", "delivered"), [
    pytest.param(True, 7, Reply(202), 7, id="background-partial-batch"),
    pytest.param(True, 25, Reply(202), 25, id="background-batches-and-tail"),
    pytest.param(False, 7, Reply(202), 7, id="inline-partial-batch"),
    pytest.param(True, 7, [Reply(503)], 7, id="background-retried-at-exit"),
    pytest.param(False, 7, [Reply(503)], 7, id="inline-retried-at-exit"),
    pytest.param(True, 25, Reply(hang=60.0), 0, id="background-hanging-api"),
    pytest.param(False, 9, Reply(hang=60.0), 0, id="inline-hanging-api"),
    pytest.param(True, 25, Reply(500), 0, id="background-always-500"),
    pytest.param(True, 25, None, 0, id="background-connection-refused"),
    pytest.param(True, 25, Reply(401), 0, id="background-401"),
])
def test_interpreter_exit_sends_everything_within_shutdown_timeout(
        collector: Collector, background: bool, count: int,
        reply: Optional[Reply | list[Reply]], delivered: int) -> None:
    """SPEC 7: at interpreter exit (atexit) everything queued is sent, within
    shutdown_timeout; never a hang. Also: no output on stdout, the key never shown."""
    url = collector.url if reply is not None else f"http://127.0.0.1:{free_port()}"
    if isinstance(reply, list):  # a failure first, then 202: retried within the bound
        collector.replies.extend(reply)
    elif reply is not None:
        collector.default = reply
    process = subprocess.Popen(
        [sys.executable, "-c", MIDDLEWARE_EXIT_SCRIPT, url, "1" if background else "0", str(count)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=str(REPO_ROOT),
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)}, stdin=subprocess.DEVNULL)
    assert process.stdout is not None
    line = process.stdout.readline()  # the moment the script's own code ended
    started = time.monotonic()
    try:
        rest, err = process.communicate(timeout=1.0 + 30)
    finally:
        process.kill()
    ended = time.monotonic()
    assert process.returncode == 0, err
    assert ended - started < 1.0 + SLACK, f"exit took {ended - started:.1f} s"
    assert float(line) > 0 and rest == "", "the library printed to stdout"
    assert "rdme_exit_SECRET_key_5150" not in err
    assert base64.b64encode(b"rdme_exit_SECRET_key_5150:").decode() not in err
    assert len(collector.logs) == delivered
    if isinstance(reply, Reply) and reply.status == 401:
        # The last-resort handler shows the library's one error for the pause.
        assert err.count("401") == 1, err


def test_failures_never_reach_the_app_or_stdout(
        collector: Collector, background_wrap: Callable[..., MetricsMiddleware],
        capfd: pytest.CaptureFixture[str]) -> None:
    """SPEC 7: nothing the library does may raise into the app or print to stdout."""
    collector.default = Reply(500)
    collector.get_v1 = lambda received: Reply(401, b'{"error":"APIKEY_NOTFOUND"}')

    def grouping(req: Any) -> Any:
        if req.path_info == "/bad-group":
            raise RuntimeError(f"grouping failed for {CONTRACT_API_KEY[:4]}")
        return {"api_key": CALLER["api_key"], "surprise": 1}

    middleware = background_wrap(grouping_function=grouping, buffer_length=2, base_log_url=None,
                      readme_api_url=collector.url, timeout=0.5, shutdown_timeout=0.5)
    for path in ("/a", "/bad-group", "/b", "/c", "/d"):
        result = hit(middleware, path)
        assert result.error is None and result.status == "200 OK"
    middleware.flush(1.0)
    middleware.close()
    out, _ = capfd.readouterr()
    assert out == ""


# -- flush, close and stats of the middleware, and the key never logged (SPEC 2, 7) --------


STATS_KEYS = {"captured", "skipped", "queued", "sent", "dropped", "failed_batches", "retries"}


def test_flush_sends_now_and_returns_true_close_is_idempotent(
        inline_wrap: Any, collector: Collector) -> None:
    # Background mode, a batch far from full and no flush interval: only flush() sends.
    middleware = inline_wrap(reading_app(), background_worker_mode=True, buffer_length=100,
                      flush_interval=0)
    for _ in range(3):
        run_wsgi(middleware, wsgi_environ())
    stats = middleware.stats
    assert set(stats) >= STATS_KEYS
    assert stats["captured"] == 3 and stats["queued"] == 3 and stats["sent"] == 0
    assert middleware.flush() is True
    assert len(collector.logs) == 3
    stats = middleware.stats
    assert (stats["sent"], stats["queued"], stats["dropped"]) == (3, 0, 0)
    middleware.close()
    middleware.close()  # idempotent: no error, no hang
    assert middleware.flush(0.5) is True  # nothing left to send


def test_flush_returns_false_when_a_log_was_not_delivered(inline_wrap: Any,
                                                        collector: Collector) -> None:
    collector.default = Reply(400, b'{"error": "bad log"}')  # rejected, not retried
    middleware = inline_wrap(reading_app(), background_worker_mode=True, buffer_length=100,
                      flush_interval=0)
    run_wsgi(middleware, wsgi_environ())
    assert middleware.flush(5.0) is False
    assert middleware.stats["dropped"] == 1


def test_api_key_is_never_logged(inline_wrap: Any, collector: Collector,
                                 caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    collector.default = Reply(401, b'{"error": "bad key"}')
    middleware = inline_wrap(reading_app(), grouping_function=lambda req: 1 / 0)
    run_wsgi(middleware, wsgi_environ())
    middleware2 = inline_wrap(reading_app())
    run_wsgi(middleware2, wsgi_environ())
    middleware2.flush(2.0)
    token = base64.b64encode(f"{CONTRACT_API_KEY}:".encode()).decode()
    assert caplog.records
    for record in caplog.records:
        text = record.getMessage() + str(record.args)
        assert CONTRACT_API_KEY not in text and token not in text
    assert CONTRACT_API_KEY not in repr(middleware2.config)


# -- the scheduling rules without sockets ------------------------------------------------------


def _queue_and_batcher(clock: Callable[[], float] = time.monotonic, **options: Any
                       ) -> tuple[LogQueue, Batcher]:
    queue = LogQueue(**{"batch_size": 1, "interval": 0.0, "max_size": 100,
                        "max_bytes": 10**6, "max_post_logs": 1, **options})
    return queue, Batcher(queue, backoff_base=1.0, backoff_cap=1.0, clock=clock)


def test_a_flush_waits_for_the_oldest_post_even_when_later_ones_settle_first() -> None:
    queue, batcher = _queue_and_batcher(batch_size=2, max_post_logs=2)
    for n in range(4):
        assert batcher.put(item(f"log-{n}"), 0, inline=False)[0] == ""
    with queue.lock:
        first, _ = batcher.take_locked()
        second, _ = batcher.take_locked()
        waiter = queue.add_waiter_locked()
    assert first is not None and second is not None and waiter is not None
    batcher.settle(second, None)  # the later POST answers first
    with queue.lock:
        assert not queue.settled_locked(waiter)
    assert queue.stats()["queued"] == 2
    batcher.settle(first, None)
    with queue.lock:
        assert queue.settled_locked(waiter) and waiter.ok
    assert adds_up(queue.stats())


def test_after_a_failure_senders_hold_then_probe_with_one_post_at_a_time() -> None:
    now = [100.0]
    queue, batcher = _queue_and_batcher(clock=lambda: now[0])
    for n in range(5):
        batcher.put(item(f"log-{n}"), 0, inline=False)
    with queue.lock:
        a, _ = batcher.take_locked()
        b, _ = batcher.take_locked()  # two POSTs in flight
    assert a is not None and b is not None
    batcher.retry_later(a, None)  # the first one fails
    with queue.lock:
        assert batcher.take_locked()[0] is None  # nothing new while failing
    batcher.retry_later(b, None)  # so does the second
    with queue.lock:
        assert batcher.take_locked()[0] is None  # everyone holds for the backoff
    now[0] += 2.0
    with queue.lock:
        probe, _ = batcher.take_locked()
        assert probe is a  # the oldest retry probes the API ...
        assert batcher.take_locked()[0] is None  # ... alone
    batcher.settle(a, None)  # it works again: back to parallel POSTs
    with queue.lock:
        assert batcher.take_locked()[0] is b
        assert batcher.take_locked()[0] is not None
    stats = queue.stats()
    assert stats["sent"] == 1 and adds_up(stats)
