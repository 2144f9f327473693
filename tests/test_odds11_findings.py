"""odds11's items (NOTE21's leftovers): each test failed on main at 56b32bc and passes
with its fix, under real parts (real servers over a socket, the collector as the
Metrics API and as a proxy)."""

from __future__ import annotations

import logging
from typing import Any, Callable

import pytest

from readme_metrics.cors import CORSMiddleware
from readme_metrics.request_id import RequestIdMiddleware
from tests.support.delivery import (
    MakeDelivery,
    adds_up,
    item,
    make_delivery_fixture,  # noqa: F401 - ``make_delivery``
    messages,
    through_proxy,
)
from tests.support.fake_api import Collector
from tests.support.polling import wait_until
from tests.support.ports import free_port
from tests.support.proxy import Proxy
from tests.support.raw_requests import answer_to
from tests.support.wsgi_servers import served

# -- 1. the companion middlewares keep the container of the app's headers ---------------


class _HeaderList(list):  # type: ignore[type-arg]
    """A list of headers that is not exactly a list (wsgiref refuses it, as a tuple)."""


HEADER_SHAPES: dict[str, Callable[[list[tuple[str, str]]], Any]] = {
    "tuple": tuple,
    "list-subclass": _HeaderList,
    "generator": lambda pairs: (pair for pair in pairs),
    "dict-items": lambda pairs: dict(pairs).items(),
}
COMPANIONS: dict[str, Callable[[Any], Any]] = {
    "cors": lambda app: CORSMiddleware(app, allowed_origins=["https://app.example"]),
    "request-id": RequestIdMiddleware,
}
GET = b"GET /h HTTP/1.0\r\nHost: x\r\nOrigin: https://app.example\r\n\r\n"


def _shaped(shape: str) -> Any:
    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        start_response("200 OK", HEADER_SHAPES[shape](
            [("Content-Type", "text/plain"), ("X-App", "1")]))
        return [b"ok"]
    return app


def _lines(answer: bytes) -> list[bytes]:
    return [line for line in answer.split(b"\r\n") if not line.startswith(b"Date: ")]


@pytest.mark.parametrize("companion", list(COMPANIONS))
@pytest.mark.parametrize("shape", list(HEADER_SHAPES))
def test_headers_wsgiref_refuses_are_refused_under_the_companions_too(
        companion: str, shape: str) -> None:
    """wsgiref (``python app.py``, Django's runserver) answers 500 to headers that are
    not exactly a list. CORSMiddleware and RequestIdMiddleware handed the server a new
    list, so the same app answered 200 wrapped: the server gets the app's kind of
    container now (a tuple, a list of another class, an iterator) and refuses it as
    bare."""
    with served("wsgiref", _shaped(shape)) as port:
        bare = _lines(answer_to(port, GET))
    with served("wsgiref", COMPANIONS[companion](_shaped(shape))) as port:
        wrapped = _lines(answer_to(port, GET))
    assert bare[0] == b"HTTP/1.0 500 Internal Server Error"
    assert wrapped == bare


@pytest.mark.parametrize("companion", list(COMPANIONS))
@pytest.mark.parametrize("shape", list(HEADER_SHAPES))
def test_servers_that_take_any_headers_get_the_apps_and_the_companions(
        companion: str, shape: str) -> None:
    """werkzeug iterates whatever it is given: the app's headers and the companion's
    reach the client (CORS read a generator twice and sent none of the app's)."""
    with served("werkzeug", COMPANIONS[companion](_shaped(shape))) as port:
        answer = answer_to(port, GET)
    assert answer.startswith(b"HTTP/1.1 200 OK\r\n")
    assert b"\r\nContent-Type: text/plain\r\n" in answer
    assert b"\r\nX-App: 1\r\n" in answer
    added = b"Access-Control-Allow-Origin: " if companion == "cors" else b"X-Request-Id: "
    assert b"\r\n" + added in answer


# -- 3. a proxy requests cannot use: said once, each batch dropped at its first attempt ----

BAD_PROXIES = {
    "bracket-left-out": "http://[::1:3128",
    "port-out-of-range": "http://127.0.0.1:99999",
    "no-host": "http://",
    "scheme-requests-cannot-use": "ftp://127.0.0.1:2121",
}


@pytest.mark.parametrize("proxy", list(BAD_PROXIES.values()), ids=list(BAD_PROXIES))
def test_a_proxy_requests_cannot_use_is_said_once_and_not_retried(
        collector: Collector, make_delivery: MakeDelivery, caplog: pytest.LogCaptureFixture,
        monkeypatch: pytest.MonkeyPatch, proxy: str) -> None:
    """``http_proxy=http://[::1:3128`` (a bracket left out): requests raises InvalidURL
    for every POST before any I/O, and the transport reads the proxy once. Each batch was
    retried 5 times (a debug line each) and dropped as retries_exhausted, with a warning
    per minute ending in the loopback proxy hint. Now the first attempt drops it, counted
    as dropped_proxy, and one error says what to correct."""
    through_proxy(monkeypatch, proxy)
    delivery = make_delivery(collector.url, buffer_length=1)
    for done, name in enumerate(("a", "b", "c"), 1):
        delivery.submit(item(name))
        wait_until(lambda done=done: delivery.stats["failed_batches"] >= done)
    stats = delivery.stats
    assert (stats["dropped_proxy"], stats["failed_batches"], stats["retries"]) == (3, 3, 0)
    assert adds_up(stats) and collector.received == []
    said = [r.getMessage() for r in caplog.records
            if r.name == "readme_metrics" and r.levelno >= logging.WARNING]
    assert len(said) == 1 and said[0].startswith(
        f"readme_metrics: no log can be posted to {collector.url}/v1/request: the proxy "
        "that http_proxy, HTTP_PROXY or ALL_PROXY names is not one requests can use ("), said
    assert said[0].endswith(
        "), so each batch of logs is dropped at its first attempt (stats: dropped_proxy); "
        "correct that variable (http://host:port), or set NO_PROXY=127.0.0.1 (keeping what "
        "it holds, comma-separated) for the POSTs to go without the proxy, and restart the "
        "app."), said


def test_the_password_of_a_proxy_requests_cannot_use_is_never_logged(
        collector: Collector, make_delivery: MakeDelivery, caplog: pytest.LogCaptureFixture,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """urllib3 quotes some proxy URLs it cannot parse whole (``Failed to parse:
    http://user:password@proxy:99999``): the password was in each attempt's debug line
    and in the warning that gave the batch up. Such an error's message is withheld when
    the proxy URL holds an ``@``."""
    password = "odds11-proxy-password"
    through_proxy(monkeypatch, f"http://owl:{password}@127.0.0.1:99999")
    delivery = make_delivery(collector.url, buffer_length=1)
    delivery.submit(item("a"))
    wait_until(lambda: delivery.stats["failed_batches"] == 1)
    assert not [r for r in caplog.records if password in r.getMessage()]
    (said,) = messages(caplog, logging.ERROR, "is not one requests can use")
    assert ("(InvalidURL: its message withheld, as it may quote the proxy's user and "
            "password)") in said, said


# -- 4. a pipeline forgets the holders collected since ------------------------------------


def test_a_pipeline_keeps_no_ref_of_a_holder_collected() -> None:
    """``MetricsPipeline.held_by`` kept a weak ref per holder registered, dead or alive:
    a pipeline outliving its holders (InlineSends, the ASGI middleware's and Django's)
    piled them up. Today each pipeline gets one holder, made with it (capture/asgi.py,
    django.py), so this guards the next caller; real pipeline and InlineSends, nothing
    posted (metrics_api on a port nothing listens on, nothing captured)."""
    import gc

    from readme_metrics import MetricsApiConfig
    from readme_metrics.capture.asgi_inline import InlineSends
    from readme_metrics.pipeline import MetricsPipeline

    config = MetricsApiConfig(api_key="any-key", grouping_function=lambda request: None,
                              metrics_api="http://127.0.0.1:9")
    pipeline = MetricsPipeline(config)
    try:
        kept = InlineSends(pipeline.submit, 10)
        pipeline.held_by(kept.hand_over)
        for _ in range(5):
            pipeline.held_by(InlineSends(pipeline.submit, 10).hand_over)
            gc.collect()
        pipeline.held_by(InlineSends(pipeline.submit, 10).hand_over)
        assert len(pipeline._holders) <= 3
        assert any(ref() == kept.hand_over for ref in pipeline._holders)
    finally:
        pipeline.close()


# -- 2. the proxy's own refusal (407; 403 to a CONNECT): said as the proxy's, not retried ----

PROXY_REFUSALS = {
    # (status the proxy answers, scheme of metrics_api, what the error says of it)
    "407-to-the-post": (407, "http", "asks for credentials (HTTP 407 Proxy Authentication "
                                     "Required), so each batch of logs is dropped at its "
                                     "first attempt (stats: dropped_proxy); give them (or "
                                     "the right ones) in that variable "
                                     "(http://user:password@host:port)"),
    "407-to-the-connect": (407, "https", "asks for credentials (ProxyError: "),
    "403-to-the-connect": (403, "https", "refused to let the POSTs through to 127.0.0.1 "
                                         "(ProxyError: "),
}


@pytest.mark.parametrize("case", list(PROXY_REFUSALS))
def test_the_proxys_own_refusal_is_said_as_the_proxys_and_not_retried(
        make_delivery: MakeDelivery, caplog: pytest.LogCaptureFixture,
        monkeypatch: pytest.MonkeyPatch, case: str) -> None:
    """A proxy that answers itself: 407 (only a proxy asks for its credentials), or
    403/407 to the CONNECT of an https tunnel (a CONNECT is the proxy's alone). The 407
    to a POST was "the Metrics API ... rejected a batch" (dropped_rejected), and a refused
    CONNECT was retried 5 times per batch (a ProxyError). Now each batch is dropped at
    its first attempt, counted as dropped_proxy, and one error says it was the proxy.
    (A 401/403 to a POST through a plain-HTTP proxy may be the proxy's or the API's:
    still the pause, its error saying both.) The proxy is a real one on 127.0.0.1; the
    https metrics_api is a port nothing listens on (the tunnel is never opened)."""
    status, scheme, said_of_it = PROXY_REFUSALS[case]
    proxy = Proxy(refuse=status)
    try:
        through_proxy(monkeypatch, proxy.url)
        delivery = make_delivery(f"{scheme}://127.0.0.1:{free_port()}", buffer_length=1)
        for done, name in enumerate(("a", "b"), 1):
            delivery.submit(item(name))
            wait_until(lambda done=done: delivery.stats["failed_batches"] >= done)
        stats = delivery.stats
        assert (stats["dropped_proxy"], stats["retries"]) == (2, 0), stats
        assert len(proxy.seen) == 2 and adds_up(stats)
        said = [r.getMessage() for r in caplog.records
                if r.name == "readme_metrics" and r.levelno >= logging.WARNING]
        assert len(said) == 1 and (
            "the proxy that http_proxy, HTTP_PROXY or ALL_PROXY names " if scheme == "http"
            else "the proxy that https_proxy, HTTPS_PROXY or ALL_PROXY names ") in said[0]
        assert said_of_it in said[0], said
    finally:
        proxy.stop()
