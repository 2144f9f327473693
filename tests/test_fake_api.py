"""The tests' Metrics API stand-in (tests/support/fake_api.py) waits as its callers rely on:
``wait_for_logs`` counts logs, not POSTs, only accepted ones, from what ``received`` holds
now, and raises :class:`LogsMissing` with what it got; and it parses each POST's body
once, however often it is polled or asked, so a test of many requests stays linear.
"""

from __future__ import annotations

import threading
from typing import Any

import pytest
import requests

from tests.support import fake_api
from tests.support.fake_api import Collector, LogsMissing, Reply
from tests.support.polling import wait_until


def _post(collector: Collector, logs: list[dict[str, Any]]) -> int:
    return requests.post(collector.url + "/v1/request", json=logs, timeout=10).status_code


@pytest.fixture
def collector() -> Any:
    server = Collector().start()
    try:
        yield server
    finally:
        server.stop()


def test_counts_logs_across_posts_and_returns_them_in_order(collector: Collector) -> None:
    _post(collector, [{"_id": "a"}, {"_id": "b"}])
    _post(collector, [{"_id": "c"}])
    assert [log["_id"] for log in collector.wait_for_logs(3)] == ["a", "b", "c"]
    assert [[log["_id"] for log in batch] for batch in collector.batches] == [["a", "b"],
                                                                             ["c"]]


def test_refused_posts_do_not_count(collector: Collector) -> None:
    collector.replies.append(Reply(status=500))
    assert _post(collector, [{"_id": "refused"}]) == 500
    with pytest.raises(LogsMissing, match="got 0 logs, expected 1"):
        collector.wait_for_logs(1, timeout=0.2)
    _post(collector, [{"_id": "kept"}])
    assert [log["_id"] for log in collector.wait_for_logs(1)] == ["kept"]


def test_counts_what_received_holds_after_a_test_clears_it(collector: Collector) -> None:
    _post(collector, [{"_id": "a"}, {"_id": "b"}])
    collector.wait_for_logs(2)
    collector.received.clear()
    with pytest.raises(LogsMissing, match="got 0 logs, expected 1"):
        collector.wait_for_logs(1, timeout=0.2)
    _post(collector, [{"_id": "c"}])
    assert [log["_id"] for log in collector.wait_for_logs(1)] == ["c"]


def test_wakes_for_logs_posted_while_it_waits(collector: Collector) -> None:
    poster = threading.Thread(target=lambda: [_post(collector, [{"_id": str(n)}])
                                              for n in range(5)])
    poster.start()
    try:
        assert len(collector.wait_for_logs(5)) == 5
    finally:
        poster.join()


def test_each_body_is_parsed_once_however_often_it_is_polled(
        collector: Collector, monkeypatch: pytest.MonkeyPatch) -> None:
    # A test that sends requests one at a time and waits for each log (as
    # tests/support/contract.py's exchange does) asked for every body again on each
    # call (and each poll): quadratic in the requests one collector saw.
    parses = []
    parse = fake_api.Received.json

    def counted(received: fake_api.Received) -> Any:
        parses.append(received.body)
        return parse(received)

    monkeypatch.setattr(fake_api.Received, "json", counted)
    posts = 30
    for n in range(posts):
        _post(collector, [{"_id": str(n)}])
        assert collector.wait_for_logs(n + 1)[-1]["_id"] == str(n)
        assert len(collector.logs) == n + 1
    assert len(collector.batches) == posts
    assert len(parses) == posts


def test_wait_for_log_finds_one_among_others_and_says_when_none_came(
        collector: Collector) -> None:
    poster = threading.Thread(target=lambda: [_post(collector, [{"_id": str(n)}])
                                              for n in range(5)])
    poster.start()
    try:
        assert collector.wait_for_log(lambda log: log["_id"] == "3") == {"_id": "3"}
    finally:
        poster.join()
    with pytest.raises(LogsMissing, match="no log of the 5 received matched"):
        collector.wait_for_log(lambda log: log["_id"] == "5", timeout=0.2)


def test_a_post_is_no_longer_in_flight_once_its_client_can_read_the_answer(
        collector: Collector) -> None:
    # in_flight counted a POST until its handler returned, after the whole answer was
    # written: a client that had the answer could post again (on a new connection) while
    # it still counted, and tests/test_delivery_senders.py's peak of MAX_SENDERS POSTs
    # at once read 17 of 16 under load. A large body keeps the handler writing while the
    # client holds the head: the POST must not count then.
    held = threading.Event()
    collector.replies.append(Reply(gate=held, body=b"x" * (16 << 20)))
    answered = []
    poster = threading.Thread(target=lambda: answered.append(requests.post(
        collector.url + "/v1/request", json=[{"_id": "a"}], stream=True, timeout=10)))
    poster.start()
    try:
        wait_until(lambda: collector.in_flight == 1)
        held.set()
        poster.join(10)
        assert answered and answered[0].status_code == 202
        assert collector.in_flight == 0
        assert collector.peak_in_flight == 1
    finally:
        held.set()
        poster.join(10)
        for response in answered:
            response.close()
