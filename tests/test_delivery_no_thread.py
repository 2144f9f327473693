"""Background mode when no sender thread can start (a thread limit): logs wait in the
queue and go at flush, close or exit. That fallback was silent: nothing was logged until
the queue filled, so the logs of an app at its thread limit seemed lost."""

from __future__ import annotations

import logging

import pytest

from readme_metrics.delivery.core import WORKER_NAME
from tests.support.delivery import (
    MakeDelivery,
    adds_up,
    api_key_never_logged_fixture,  # noqa: F401 - autouse
    ids,
    item,
    make_delivery_fixture,  # noqa: F401 - ``make_delivery``
    messages,
)
from tests.support.fake_api import Collector
from tests.support.threads import no_thread_starts


def fail_to_start_senders(monkeypatch: pytest.MonkeyPatch) -> None:
    """The library's sender threads fail to start, as at a thread limit (the collector's
    own threads still start)."""
    no_thread_starts(monkeypatch, WORKER_NAME)


def test_logs_queued_for_want_of_a_thread_are_told_once_then_sent_at_flush(
        collector: Collector, make_delivery: MakeDelivery, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="readme_metrics")
    delivery = make_delivery(collector.url, buffer_length=2)
    fail_to_start_senders(monkeypatch)
    for name in ("a", "b", "c", "d", "e"):
        assert delivery.submit(item(name)) is True
    assert (delivery.stats["queued"], collector.received) == (5, [])
    warned = messages(caplog, logging.WARNING, "no delivery thread can start")
    assert len(warned) == 1, warned  # when the fallback begins, not per log
    assert "can't start new thread" in warned[0]
    assert "queue" in warned[0] and "flush()" in warned[0] and "exit" in warned[0]
    # flush() sends them from the calling thread, as the warning says.
    assert delivery.flush(5.0) is True
    assert ids(collector.logs) == ["a", "b", "c", "d", "e"]
    assert adds_up(delivery.stats)
    assert len(messages(caplog, logging.WARNING, "no delivery thread")) == 1


def test_no_warning_while_threads_start(collector: Collector, make_delivery: MakeDelivery,
                                        caplog: pytest.LogCaptureFixture) -> None:
    delivery = make_delivery(collector.url, buffer_length=1)
    for name in ("a", "b"):
        delivery.submit(item(name))
    assert delivery.flush(5.0) is True
    assert sorted(ids(collector.logs)) == ["a", "b"]  # two senders may post at once
    assert messages(caplog, logging.WARNING, "no delivery thread") == []
