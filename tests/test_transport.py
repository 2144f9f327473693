"""Transport: what goes over the wire to the Metrics API, against a real loopback server."""

from __future__ import annotations

import json
import time
from typing import Callable

import pytest
import requests

from readme_metrics.config import MetricsApiConfig
from readme_metrics.transport import USER_AGENT, Transport
from readme_metrics.version import __version__
from tests.support.drip import DripServer
from tests.support.fake_api import Collector, Reply, basic_auth, free_port

API_KEY = "rdme_transport_SECRET_key_4242"


def make_transport(metrics_api: str, **options: object) -> Transport:
    config = MetricsApiConfig(api_key=API_KEY, grouping_function=lambda req: None,
                              metrics_api=metrics_api, **options)  # type: ignore[arg-type]
    return Transport(config)


@pytest.mark.parametrize("suffix", [
    pytest.param("", id="bare-base"),
    pytest.param("/", id="trailing-slash"),
])
def test_post_logs_sends_the_payload_contract(collector: Collector, suffix: str) -> None:
    transport = make_transport(collector.url + suffix)
    body = json.dumps([{"_id": "a", "text": "café"}], ensure_ascii=False).encode()
    response = transport.post_logs(body)
    transport.close()

    assert response.status_code == 202
    [received] = collector.received
    assert (received.method, received.path) == ("POST", "/v1/request")
    assert received.body == body
    headers = {name.lower(): value for name, value in received.headers.items()}
    assert headers["authorization"] == basic_auth(API_KEY)
    assert headers["content-type"] == "application/json"
    assert headers["user-agent"] == f"readme-metrics-python@{__version__}" == USER_AGENT
    assert headers["content-length"] == str(len(body))


def test_one_keep_alive_connection_for_many_posts(collector: Collector) -> None:
    transport = make_transport(collector.url)
    for n in range(5):
        assert transport.post_logs(json.dumps([{"n": n}]).encode()).status_code == 202
    pools = transport.session.get_adapter(transport.url).poolmanager.pools
    [key] = pools.keys()
    pool = pools[key]
    assert pool.num_connections == 1
    assert pool.num_requests == 5
    transport.close()


def test_each_post_carries_its_own_body_and_length(collector: Collector) -> None:
    # Every POST copies one request prepared in advance: nothing of one body may leak
    # into the next (a longer body first, then a shorter one, then an empty array).
    transport = make_transport(collector.url)
    bodies = [json.dumps([{"n": "x" * 300}]).encode(), b'[{"n":1}]', b"[]"]
    for body in bodies:
        assert transport.post_logs(body).status_code == 202
    transport.close()
    assert [received.body for received in collector.received] == bodies
    for received, body in zip(collector.received, bodies):
        headers = {name.lower(): value for name, value in received.headers.items()}
        assert headers["content-length"] == str(len(body))
        assert headers["authorization"] == basic_auth(API_KEY)


def test_a_cookie_the_api_sets_is_sent_back(collector: Collector) -> None:
    # As Session.post would: the request prepared in advance has no cookie jar.
    collector.default = Reply(202, headers={"Set-Cookie": "lb=node-7; Path=/"})
    transport = make_transport(collector.url)
    for _ in range(2):
        assert transport.post_logs(b"[]").status_code == 202
    transport.close()
    first, second = collector.received
    assert "cookie" not in {name.lower() for name in first.headers}
    assert {name.lower(): value for name, value in second.headers.items()}["cookie"] == (
        "lb=node-7")


@pytest.mark.parametrize("reply", [
    pytest.param(Reply(500, b"oops"), id="500"),
    pytest.param(Reply(429, headers={"Retry-After": "7"}), id="429"),
    pytest.param(Reply(401, b'{"error":"unauthorized"}'), id="401"),
    pytest.param(Reply(400, b'{"error":"bad"}'), id="400"),
])
def test_error_statuses_are_returned_not_raised(collector: Collector, reply: Reply) -> None:
    # Deciding what a status means is delivery's job; the transport only reports it.
    collector.default = reply
    transport = make_transport(collector.url)
    response = transport.post_logs(b"[]")
    assert response.status_code == reply.status
    assert response.content == reply.body
    for name, value in reply.headers.items():
        assert response.headers[name] == value
    transport.close()


@pytest.mark.parametrize(("reply", "timeout", "error"), [
    pytest.param(Reply(hang=2.0), 0.2, requests.Timeout, id="hang-config-timeout"),
    pytest.param(Reply(hang=2.0), None, requests.Timeout, id="hang-call-timeout"),
    pytest.param(Reply(drop=True), None, requests.ConnectionError, id="connection-dropped"),
])
def test_io_failures_raise_requests_exceptions(collector: Collector, reply: Reply,
                                               timeout: float | None,
                                               error: type[Exception]) -> None:
    collector.default = reply
    transport = make_transport(collector.url, timeout=timeout or 30.0)
    with pytest.raises(error):
        transport.post_logs(b"[]", timeout=None if timeout else 0.2)
    transport.close()


def test_connection_refused_raises_connection_error() -> None:
    transport = make_transport(f"http://127.0.0.1:{free_port()}")
    with pytest.raises(requests.ConnectionError) as info:
        transport.post_logs(b"[]")
    assert API_KEY not in str(info.value)
    transport.close()


def test_environment_proxy_is_honoured(collector: Collector,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    # The proxy settings are read once at construction; they must still apply.
    monkeypatch.setenv("HTTP_PROXY", collector.url)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    transport = make_transport("http://metrics.example.invalid")
    assert transport.post_logs(b"[]").status_code == 202
    [received] = collector.received
    assert received.path == "http://metrics.example.invalid/v1/request"
    transport.close()


def test_no_proxy_bypasses_the_proxy(collector: Collector,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{free_port()}")  # nothing there
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    transport = make_transport(collector.url)
    assert transport.post_logs(b"[]").status_code == 202
    assert collector.received[0].path == "/v1/request"
    transport.close()


def test_repr_does_not_show_the_key(collector: Collector) -> None:
    transport = make_transport(collector.url)
    assert API_KEY not in repr(transport)
    assert basic_auth(API_KEY).split()[1] not in repr(transport)
    transport.close()


@pytest.mark.parametrize("timeout", [pytest.param(1.0, id="config-timeout"),
                                     pytest.param(None, id="call-timeout")])
def test_timeout_bounds_the_whole_post_against_a_dripping_server(
        timeout: float | None) -> None:
    # One byte every 0.4 s never trips a per-read timeout of 1 s: only a limit on the
    # whole exchange stops it. Judged by how much of the answer the client waited for.
    server = DripServer(interval=0.4, max_bytes=100)
    transport = make_transport(server.url, timeout=timeout or 30.0)
    started = time.monotonic()
    try:
        with pytest.raises(requests.Timeout):
            transport.post_logs(b"[]", timeout=None if timeout else 1.0)
        elapsed = time.monotonic() - started
        transport.close()
        wait_for(lambda: server.sent)
    finally:
        server.close()
    assert server.requests == 1
    assert server.sent[0] < 10, server.sent  # a few bytes (about 1 s), not 100 (40 s)
    assert elapsed < 10.0


def test_posts_after_a_cut_post_use_a_fresh_connection(collector: Collector) -> None:
    server = DripServer(interval=0.4, max_bytes=100)
    transport = make_transport(server.url, timeout=0.5)
    try:
        with pytest.raises(requests.Timeout):
            transport.post_logs(b"[]")
    finally:
        server.close()
    # The same transport, pointed elsewhere, still works (nothing left armed).
    transport.url = collector.url + "/v1/request"
    for _ in range(3):
        assert transport.post_logs(b"[]").status_code == 202
    transport.close()


def wait_for(predicate: Callable[[], object], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.02)
