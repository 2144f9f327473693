"""delivery14: the delivery promise (SPEC 7) against a sick Metrics API, findings.

A 413 (Content Too Large) for a POST of several logs dropped them all, counted as
``dropped_rejected``: after an outage the backlog goes in POSTs of up to 500 logs, and an
API (or a proxy before it) that takes fewer bytes in one request refused each of them, so
every log of the outage was lost. The batch is now sent again in halves, and no later
POST is larger than the half that was sent.

A close that began while a batch waited out a backoff lasting past shutdown_timeout gave
it up at once (``dropped_shutdown``), without an attempt, even when the API answered
again: the close now cuts the library's own backoff short once (a Retry-After stands).

A 3xx (never followed) dropped each batch with a warning that did not say where the API
pointed: it now names the target's scheme and host.

Real collector on 127.0.0.1 (tests/support/fake_api.py), its ``judge`` answering each
POST by its size; no timed assertions.
"""

from __future__ import annotations

import logging
from typing import Callable

import pytest

from tests.support.delivery import (
    MakeDelivery,
    adds_up,
    api_key_never_logged_fixture,  # noqa: F401 - autouse
    full_jitter_fixture,  # noqa: F401 - ``full_jitter``
    ids,
    item,
    make_delivery_fixture,  # noqa: F401 - ``make_delivery``
    messages,
)
from tests.support.fake_api import Collector, Received, Reply
from tests.support.polling import wait_until

#: The most logs the collector takes in one POST in these tests.
MOST = 3


def too_large_above(most: int) -> Callable[[Received], Reply]:
    """A Metrics API that answers 413 to a POST of more than ``most`` logs."""
    def judge(received: Received) -> Reply:
        if len(received.json()) > most:
            return Reply(413, b'{"error":"payload too large XYZ"}')
        return Reply(202)
    return judge



@pytest.mark.parametrize("background", [True, False], ids=["background", "inline"])
def test_a_batch_the_api_finds_too_large_is_sent_in_halves_not_dropped(
        collector: Collector, make_delivery: MakeDelivery,
        caplog: pytest.LogCaptureFixture, background: bool) -> None:
    collector.judge = too_large_above(MOST)
    delivery = make_delivery(collector.url, buffer_length=12,
                             background_worker_mode=background)
    names = [f"log-{n:02d}" for n in range(12)]
    for name in names:
        delivery.submit(item(name, b"x" * 100))
    assert delivery.flush(10.0) is True

    # Every log once, in order: 12 refused, its halves of 6 refused, then 4 POSTs of 3.
    assert ids(collector.logs) == names
    assert [len(batch) for batch in collector.batches] == [MOST] * 4
    assert [len(r.json()) for r in collector.failed] == [12, 6, 6]
    stats = delivery.stats
    assert (stats["sent"], stats["dropped"], stats["batches"]) == (12, 0, 4)
    assert adds_up(stats)
    assert len(messages(caplog, logging.WARNING, "too large (HTTP 413")) == 1
    assert len(messages(caplog, logging.DEBUG, "XYZ")) == 3

    # From then on a POST is no larger than the part that went through: none refused.
    more = [f"more-{n:02d}" for n in range(12)]
    for name in more:
        delivery.submit(item(name, b"x" * 100))
    assert delivery.flush(10.0) is True
    # (In POSTs at once, as a flush behind a busy sender sends them: delivery26.)
    assert ids(collector.logs)[:12] == names and sorted(ids(collector.logs)[12:]) == more
    assert len(collector.failed) == 3
    assert all(len(batch) <= MOST for batch in collector.batches)
    assert adds_up(delivery.stats)


def test_a_single_log_the_api_finds_too_large_is_dropped_alone(
        collector: Collector, make_delivery: MakeDelivery,
        caplog: pytest.LogCaptureFixture) -> None:
    """Split down to one log, a 413 drops that log only (``dropped_rejected``), once."""
    def judge(received: Received) -> Reply:
        logs = received.json()
        if len(logs) > 1 or logs[0]["size"] > 1000:
            return Reply(413, b"too large XYZ")
        return Reply(202)
    collector.judge = judge
    delivery = make_delivery(collector.url, buffer_length=4)
    for name, size in (("a", 10), ("big", 5000), ("c", 10), ("d", 10)):
        delivery.submit(item(name, b"x" * size))
    assert delivery.flush(10.0) is False  # "big" was dropped

    assert ids(collector.logs) == ["a", "c", "d"]
    stats = delivery.stats
    assert (stats["sent"], stats["dropped"], stats["dropped_rejected"]) == (3, 1, 1)
    assert stats["retries"] == 0
    assert adds_up(stats)
    assert len(messages(caplog, logging.WARNING, "rejected a batch of 1 log")) == 1


# -- the close after a failure -------------------------------------------------------


@pytest.mark.usefixtures("full_jitter")
@pytest.mark.parametrize("background", [True, False], ids=["background", "inline"])
def test_close_tries_once_the_logs_a_backoff_holds_past_its_deadline(
        collector: Collector, make_delivery: MakeDelivery,
        caplog: pytest.LogCaptureFixture, background: bool) -> None:
    """One 503, then the API answers again: the close (shutdown_timeout 2 s) gave up at
    once on the batch its 60 s backoff held, ``dropped_shutdown``, without an attempt."""
    caplog.set_level(logging.DEBUG, logger="readme_metrics")
    collector.replies.append(Reply(503))
    delivery = make_delivery(collector.url, buffer_length=2, backoff_base=60.0,
                             backoff_cap=60.0, background_worker_mode=background)
    delivery.submit(item("a"))
    delivery.submit(item("b"))
    if not background:
        assert delivery.flush(0.5) is False  # the 503; its retry waits 60 s
    wait_until(lambda: messages(caplog, logging.DEBUG, "retrying in 60.00s"))
    delivery.close()

    assert ids(collector.logs) == ["a", "b"]
    assert len(collector.failed) == 1
    stats = delivery.stats
    assert (stats["sent"], stats["dropped"], stats["retries"]) == (2, 0, 1)
    assert adds_up(stats)


@pytest.mark.usefixtures("full_jitter")
def test_close_still_honours_a_retry_after_past_its_deadline(
        collector: Collector, make_delivery: MakeDelivery,
        caplog: pytest.LogCaptureFixture) -> None:
    """The Metrics API asked for 60 s: the close sends nothing before then, and gives the
    logs up (``dropped_shutdown``) within its shutdown_timeout."""
    caplog.set_level(logging.DEBUG, logger="readme_metrics")
    collector.replies.append(Reply(429, headers={"Retry-After": "60"}))
    delivery = make_delivery(collector.url, buffer_length=2, backoff_base=0.01,
                             backoff_cap=0.01)
    delivery.submit(item("a"))
    delivery.submit(item("b"))
    wait_until(lambda: messages(caplog, logging.DEBUG, "retrying in 60.00s"))
    delivery.close()

    assert collector.logs == []
    assert len(collector.failed) == 1
    stats = delivery.stats
    assert (stats["sent"], stats["dropped_shutdown"]) == (0, 2)
    assert adds_up(stats)


# -- a redirect ------------------------------------------------------------------------


@pytest.mark.parametrize("status", [301, 307, 308])
def test_a_redirect_is_not_followed_and_its_warning_names_where_it_points(
        collector: Collector, make_delivery: MakeDelivery,
        caplog: pytest.LogCaptureFixture, status: int) -> None:
    """The batch is dropped (``dropped_rejected``), the key sent nowhere else; the warning
    said only "rejected ... (HTTP 301 Moved Permanently)", so an http:// metrics_api that
    the API moves to https:// lost every log with nothing said of why. It names the
    target's scheme and host (never its path or query, nor a user and password)."""
    collector.replies.append(Reply(status, headers={
        "Location": "https://user:pw@metrics.example:8443/v1/request?token=SECRETTOKEN"}))
    delivery = make_delivery(collector.url, buffer_length=2)
    delivery.submit(item("a"))
    delivery.submit(item("b"))
    assert delivery.flush(5.0) is False

    assert collector.logs == [] and len(collector.failed) == 1
    stats = delivery.stats
    assert (stats["dropped_rejected"], stats["retries"]) == (2, 0)
    warnings = messages(caplog, logging.WARNING, "rejected a batch of 2 logs")
    assert len(warnings) == 1
    assert f"HTTP {status}" in warnings[0]
    assert "to https://metrics.example:8443" in warnings[0]
    assert "README_METRICS_SERVER" in warnings[0]
    assert not [r for r in caplog.records
                if "SECRETTOKEN" in r.getMessage() or "pw@" in r.getMessage()]
