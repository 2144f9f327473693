"""A logging filter or handler of the app's that raises must never reach the app.

The library logs on the request thread only on rare events (a full queue, its own POST
arriving at the app, a grouping function that fails, an inline POST that fails) and on
its own threads otherwise. The app's logging configuration (a filter on the
``readme_metrics`` logger, a handler that raises in ``emit``) is user code: whatever it
raises stays in the library, as a grouping function's exception does, and the library
keeps its books (no batch left unsettled, no sender thread dead).

Each case runs the middleware under a real server (wsgiref) on 127.0.0.1 posting to the
real collector, and a WSGI layer between server and middleware records anything the
middleware raised, at the call, the iteration or ``close()`` (after a response with a
Content-Length was sent, the client alone could not tell).
"""

from __future__ import annotations

import http.client
import logging
import threading
import uuid
from collections.abc import Iterator
from typing import Any, Callable

import pytest

from readme_metrics import MetricsApiConfig, MetricsMiddleware
from readme_metrics.delivery import Delivery
from tests.support.contract import API_KEY, DOCS, caller
from tests.support.delivery import adds_up, build_id, item
from tests.support.fake_api import Collector, Reply
from tests.support.polling import wait_until
from tests.support.wsgi import ThreadedWSGIServer

BODY = b'{"ok": true}'


def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
    """A small API that never reads its request body."""
    start_response("200 OK", [("Content-Type", "application/json"),
                              ("Content-Length", str(len(BODY)))])
    return [BODY]


class Broken(Exception):
    """What the app's logging configuration raises."""


class RaisingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        raise Broken(f"filter refused {record.msg!r}")


class RaisingHandler(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:  # no handleError: it raises on
        raise Broken(f"handler refused {record.msg!r}")


@pytest.fixture(params=["filter", "handler"])
def raising_logger(request: pytest.FixtureRequest) -> Iterator[logging.Logger]:
    """A logger of its own (other tests' threads never see it) that raises on every
    record, by a filter on it or by its handler."""
    logger = logging.getLogger(f"readme_metrics.raising.{uuid.uuid4().hex}")
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    if request.param == "filter":
        logger.addFilter(RaisingFilter())
    else:
        logger.addHandler(RaisingHandler())
    yield logger
    logger.filters.clear()
    logger.handlers.clear()


class ServerEye:
    """The WSGI server's view of ``wrapped``: every exception it raised, wherever."""

    def __init__(self, wrapped: Any) -> None:
        self.wrapped = wrapped
        self.raised: list[BaseException] = []

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]
                 ) -> Iterator[bytes]:
        try:
            result = self.wrapped(environ, start_response)
        except BaseException as exc:
            self.raised.append(exc)
            raise
        return self._each(result)

    def _each(self, result: Any) -> Iterator[bytes]:
        try:
            yield from result
        except BaseException as exc:
            self.raised.append(exc)
            raise
        finally:
            try:
                if hasattr(result, "close"):
                    result.close()
            except BaseException as exc:
                self.raised.append(exc)
                raise


def _request(url: str, method: str = "GET", path: str = "/", body: bytes = b"",
             headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    host, port = url.split("//")[1].split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=20)
    try:
        conn.request(method, path, body=body or None, headers=headers or {})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def _serve(middleware: MetricsMiddleware, requests: list[dict[str, Any]]) -> ServerEye:
    """Each request through ``middleware`` under wsgiref; each answered as the bare app."""
    eye = ServerEye(middleware)
    with ThreadedWSGIServer(eye) as server:
        for request in requests:
            assert _request(server.url, **request) == (200, BODY)
    return eye


def _middleware(collector: Collector, logger: logging.Logger, **options: Any
                ) -> MetricsMiddleware:
    options.setdefault("grouping_function", caller)
    options.setdefault("base_log_url", DOCS)
    return MetricsMiddleware(app, MetricsApiConfig(
        api_key=API_KEY, metrics_api=collector.url, logger=logger, **options))


def test_a_full_queue_warned_about_on_the_request_thread(
        collector: Collector, raising_logger: logging.Logger) -> None:
    answer = threading.Event()
    collector.default = Reply(gate=answer)  # the first POST is held: the queue fills
    middleware = _middleware(collector, raising_logger, buffer_length=1, max_queue_size=2,
                             timeout=30.0, shutdown_timeout=10.0)
    try:
        eye = _serve(middleware, [{"path": f"/{n}"} for n in range(6)])
        assert middleware.stats["dropped_queue_full"] >= 1
    finally:
        answer.set()
    middleware.close()
    assert eye.raised == []
    assert adds_up(middleware.stats)


def test_the_librarys_own_post_arriving_at_the_app(
        collector: Collector, raising_logger: logging.Logger) -> None:
    middleware = _middleware(collector, raising_logger)
    eye = _serve(middleware, [{"method": "POST", "path": "/v1/request", "body": b"[]",
                               "headers": {"User-Agent": "readme-metrics-python@9.9.9"}}])
    middleware.close()
    assert eye.raised == []
    assert middleware.stats["captured"] == middleware.stats["skipped"] == 1


def test_a_grouping_function_that_raises(
        collector: Collector, raising_logger: logging.Logger) -> None:
    def grouping(request: Any) -> dict[str, str]:
        raise KeyError("no caller")

    middleware = _middleware(collector, raising_logger, grouping_function=grouping)
    eye = _serve(middleware, [{"path": "/a"}, {"path": "/b"}])
    middleware.close()
    assert eye.raised == []


@pytest.mark.parametrize("reply", [
    pytest.param(Reply(400, b'{"error": "bad"}'), id="rejected"),
    pytest.param(Reply(503), id="retried"),
    pytest.param(Reply(202), id="delivered"),
])
def test_an_inline_post_from_the_request_thread(
        collector: Collector, raising_logger: logging.Logger, reply: Reply) -> None:
    collector.default = reply
    middleware = _middleware(collector, raising_logger, background_worker_mode=False,
                             buffer_length=1, timeout=5.0, shutdown_timeout=2.0)
    eye = _serve(middleware, [{"path": f"/{n}"} for n in range(3)])
    assert eye.raised == []
    # A 503 holds inline delivery for a backoff: the first request's POST is the one.
    posts = 1 if reply.status == 503 else 3
    wait_until(lambda: len(collector.received) + len(collector.failed) >= posts)
    middleware.close()
    stats = middleware.stats
    assert stats["queued"] == 0 and adds_up(stats), stats  # no batch left in flight
    assert stats["sent"] == (3 if reply.status == 202 else 0)


def test_a_sender_thread_survives_and_every_batch_is_settled(
        collector: Collector, raising_logger: logging.Logger) -> None:
    # On a sender thread: a rejected batch (a warning, then settled), then batches
    # delivered by the same pool. The thread must not die in its error handler.
    collector.replies.append(Reply(400, b'{"error": "bad"}'))
    config = MetricsApiConfig(api_key=API_KEY, grouping_function=caller,
                              metrics_api=collector.url, logger=raising_logger,
                              buffer_length=1, flush_interval=0)
    delivery = Delivery(config, build_id)
    try:
        assert delivery.submit(item("first"))
        wait_until(lambda: delivery.stats["queued"] == 0)
        assert delivery.flush(10.0) is False  # "first" was rejected: said once
        for n in range(5):
            assert delivery.submit(item(f"log-{n}"))
        assert delivery.flush(10.0) is True
        stats = delivery.stats
        assert (stats["sent"], stats["dropped_rejected"]) == (5, 1) and adds_up(stats)
    finally:
        delivery.close()


# -- the ASGI middleware under uvicorn: the event loop ------------------------------------


async def asgi_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(BODY)).encode())]})
    await send({"type": "http.response.body", "body": BODY})


class AsgiEye:
    """The ASGI server's view of ``wrapped``: every exception it raised."""

    def __init__(self, wrapped: Any) -> None:
        self.wrapped = wrapped
        self.raised: list[BaseException] = []

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        try:
            await self.wrapped(scope, receive, send)
        except BaseException as exc:
            self.raised.append(exc)
            raise


def _serve_asgi(middleware: Any, requests: list[dict[str, Any]]) -> AsgiEye:
    """Each request through ``middleware`` under uvicorn; each answered as the bare app."""
    import asyncio

    import uvicorn

    from tests.support.fake_api import free_port
    from tests.support.polling import PATIENCE

    eye = AsgiEye(middleware)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(eye, host="127.0.0.1", port=port,
                                           lifespan="off", log_level="critical"))
    thread = threading.Thread(target=lambda: asyncio.run(server.serve()), daemon=True)
    thread.start()
    try:
        wait_until(lambda: server.started)
        for request in requests:
            assert _request(f"http://127.0.0.1:{port}", **request) == (200, BODY)
    finally:
        server.should_exit = True
        thread.join(PATIENCE)
    return eye


def _asgi_middleware(collector: Collector, logger: logging.Logger, **options: Any) -> Any:
    from readme_metrics.asgi import MetricsMiddleware as AsgiMetricsMiddleware

    options.setdefault("grouping_function", caller)
    options.setdefault("base_log_url", DOCS)
    return AsgiMetricsMiddleware(asgi_app, MetricsApiConfig(
        api_key=API_KEY, metrics_api=collector.url, logger=logger, **options))


def _serve_with_grouping(collector: Collector, logger: logging.Logger,
                         grouping: Callable[[Any], Any]) -> tuple[AsgiEye, Any]:
    """GET /a and GET /b through an ASGI middleware with ``grouping`` and ``logger``, under
    uvicorn; what the server saw, and the middleware (closed)."""
    middleware = _asgi_middleware(collector, logger, grouping_function=grouping)
    try:
        eye = _serve_asgi(middleware, [{"path": "/a"}, {"path": "/b"}])
    finally:
        middleware.close()
    return eye, middleware


def test_asgi_a_full_queue_and_the_librarys_own_post(
        collector: Collector, raising_logger: logging.Logger) -> None:
    answer = threading.Event()
    collector.default = Reply(gate=answer)
    middleware = _asgi_middleware(collector, raising_logger, buffer_length=1,
                                  max_queue_size=2, timeout=30.0, shutdown_timeout=10.0)
    try:
        eye = _serve_asgi(middleware, [
            *({"path": f"/{n}"} for n in range(6)),
            {"method": "POST", "path": "/v1/request", "body": b"[]",
             "headers": {"User-Agent": "readme-metrics-python@9.9.9"}}])
        stats = middleware.stats
        assert stats["dropped_queue_full"] >= 1 and stats["skipped"] == 1
    finally:
        answer.set()
    middleware.close()
    assert eye.raised == []
    assert adds_up(middleware.stats)


def test_asgi_a_grouping_function_that_raises(
        collector: Collector, raising_logger: logging.Logger) -> None:
    def grouping(request: Any) -> dict[str, str]:
        raise KeyError("no caller")

    eye, middleware = _serve_with_grouping(collector, raising_logger, grouping)
    assert eye.raised == []


def test_a_start_up_warning_through_a_raising_logger_still_makes_the_config(
        raising_logger: logging.Logger, monkeypatch: pytest.MonkeyPatch) -> None:
    # README_METRIC_SERVER, a near miss of README_METRICS_SERVER: a start-up warning, on
    # the config's own logger, while the app makes its config (its own code, at import).
    monkeypatch.setenv("README_METRIC_SERVER", "http://127.0.0.1:9")
    config = MetricsApiConfig(API_KEY, caller, logger=raising_logger)
    assert config.logger is raising_logger
