"""README_METRICS_SERVER pointed at the app itself (its own port for the collector's).

The app answers the library's ``POST /v1/request`` with its own 200, so every log counts
as delivered and is lost; and when the grouping function logs calls without a key, that
POST was logged too and posted again at the next flush, for ever (README's WSGI quick
start with ``or "anyone"``: 9 self-POSTs in 5 s at flush_interval 0.5). The library's own
POST (its User-Agent, the Metrics API's path) is not logged, and one warning says where
README_METRICS_SERVER points. Real servers (wsgiref threaded, uvicorn), real requests.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Callable

import pytest
import requests

from readme_metrics import MetricsApiConfig, MetricsMiddleware
from readme_metrics.asgi import MetricsMiddleware as AsgiMetricsMiddleware
from tests.support.fake_api import free_port
from tests.support.polling import PATIENCE, wait_until
from tests.support.wsgi import ThreadedWSGIServer

API_KEY = "rdme_self_post_key_1234"
WARNING = "README_METRICS_SERVER points at this app"


def anyone(request: Any) -> dict[str, str]:
    """Logs every call, one without a key too: what made the loop endless."""
    return {"api_key": request.headers.get("X-Api-Key") or "anyone"}


def config(port: int) -> MetricsApiConfig:
    # Flushed by the test, never on a timer: each round of the loop is one flush.
    return MetricsApiConfig(api_key=API_KEY, grouping_function=anyone, flush_interval=0,
                            buffer_length=100, metrics_api=f"http://127.0.0.1:{port}")


@contextmanager
def wsgi_server(seen: list[tuple[str, str]], routes: bool = False
                ) -> Iterator[tuple[str, Any]]:
    """The base URL of a threaded wsgiref server and its wrapped app (``routes``: one
    that answers 404 to a path other than /hello, as a Flask, Django or FastAPI app)."""

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        seen.append((environ["REQUEST_METHOD"], environ["PATH_INFO"]))
        if routes and environ["PATH_INFO"] != "/hello":
            start_response("404 Not Found", [("Content-Type", "text/plain")])
            return [b"Not Found"]
        start_response("200 OK", [("Content-Type", "application/json")])
        return [b'{"hello": "world"}']  # to POST /v1/request too, as any app would

    server = ThreadedWSGIServer(app)
    middleware = MetricsMiddleware(app, config(server.server.server_port))
    server.server.set_app(middleware)
    try:
        with server:  # stopped before the middleware is closed, as a server would be
            yield server.url, middleware
    finally:
        middleware.close()


@contextmanager
def asgi_server(seen: list[tuple[str, str]]) -> Iterator[tuple[str, Any]]:
    """The base URL of uvicorn, in a thread, and its wrapped app."""
    import uvicorn

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        while (await receive()).get("more_body"):
            pass
        seen.append((scope["method"], scope["path"]))
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": b'{"hello": "world"}'})

    port = free_port()
    middleware = AsgiMetricsMiddleware(app, config(port))
    server = uvicorn.Server(uvicorn.Config(middleware, host="127.0.0.1", port=port,
                                           lifespan="off", log_level="warning"))
    thread = threading.Thread(target=lambda: asyncio.run(server.serve()), daemon=True)
    thread.start()
    try:
        wait_until(lambda: server.started)
        yield f"http://127.0.0.1:{port}", middleware
    finally:
        server.should_exit = True
        thread.join(PATIENCE)
        middleware.close()


@pytest.mark.parametrize("serve", [pytest.param(wsgi_server, id="wsgi"),
                                   pytest.param(asgi_server, id="asgi")])
def test_the_librarys_own_post_to_this_app_is_not_logged_and_is_warned_about_once(
        serve: Any, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="readme_metrics")
    seen: list[tuple[str, str]] = []
    with serve(seen) as (base, middleware):
        for call in (1, 2):
            assert requests.get(f"{base}/hello", timeout=PATIENCE).status_code == 200
            wait_until(lambda: middleware.stats["queued"] >= 1)
            # The log goes to the app, which answers 200: delivered, as far as it knows.
            assert middleware.flush(PATIENCE) is True
            # The POST was seen and decided on before the app answered it; had it been
            # logged, it would be captured by now or soon: wait for either count.
            wait_until(lambda call=call: middleware.stats["captured"]
                       + middleware.stats["skipped"] >= 2 * call)
            assert middleware.flush(PATIENCE) is True
        stats = middleware.stats
    # captured counts the skipped too: the two calls were sent, the two POSTs skipped.
    assert (stats["captured"], stats["skipped"], stats["sent"], stats["queued"]) == (
        4, 2, 2, 0), stats
    assert seen == [("GET", "/hello"), ("POST", "/v1/request")] * 2
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len([m for m in warnings if WARNING in m]) == 1, warnings
    assert [m for m in warnings if WARNING in m][0].startswith(
        "readme_metrics: README_METRICS_SERVER points at this app: this library's own "
        "POST to /v1/request arrived here")
    assert "not logging this library's own POST /v1/request" in caplog.text
    assert API_KEY not in caplog.text


@pytest.mark.parametrize("method, path, agent", [
    pytest.param("POST", "/v1/request", "curl/8.5.0", id="another-client"),
    pytest.param("GET", "/v1/request", "readme-metrics-python@4.0.0", id="not-a-post"),
    pytest.param("POST", "/v1/requests", "readme-metrics-python@4.0.0", id="another-path"),
])
def test_other_requests_to_the_metrics_path_are_logged_as_any(
        method: str, path: str, agent: str, caplog: pytest.LogCaptureFixture) -> None:
    seen: list[tuple[str, str]] = []
    with wsgi_server(seen) as (base, middleware):
        answer = requests.request(method, base + path, data=b"[]", timeout=PATIENCE,
                                  headers={"User-Agent": agent})
        assert answer.status_code == 200
        wait_until(lambda: middleware.stats["queued"] == 1)
        assert middleware.stats["skipped"] == 0
        assert WARNING not in caplog.text
        middleware.flush(PATIENCE)  # to the app, while it listens (then warned about)


def test_the_warning_says_what_the_apps_404_makes_of_the_logs(
        caplog: pytest.LogCaptureFixture) -> None:
    """An app with routes answers the library's POST with a 404 (newcomer20): its first
    warning said the app's answer "counts as delivered", and the next one said the batch
    was rejected and dropped. They agree now: the first says a 2xx counts as delivered
    and a 404 as rejected and dropped, the logs lost either way; the second is the 404's
    rejection it announced. Fails on df48492 (the first said "counts as delivered")."""
    caplog.set_level(logging.WARNING, logger="readme_metrics")
    seen: list[tuple[str, str]] = []
    with wsgi_server(seen, routes=True) as (base, middleware):
        assert requests.get(f"{base}/hello", timeout=PATIENCE).status_code == 200
        wait_until(lambda: middleware.stats["queued"] >= 1)
        middleware.flush(PATIENCE)
        wait_until(lambda: middleware.stats["dropped_rejected"] == 1)
        stats = middleware.stats
    assert (stats["sent"], stats["dropped_rejected"], stats["skipped"]) == (0, 1, 1), stats
    assert seen == [("GET", "/hello"), ("POST", "/v1/request")]
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 2, warnings
    first, second = warnings
    assert WARNING in first and "counts as delivered" not in first, first
    assert ("the app's answer to it is taken as the Metrics API's: a 2xx counts the logs "
            "as delivered, a 404 (no such route) as rejected and dropped, a 5xx as a "
            "failure to retry; they are lost either way") in first, first
    assert second.startswith(f"readme_metrics: the Metrics API at {base}/v1/request "
                             "rejected a batch of 1 log (HTTP 404 Not Found); dropping "
                             "it"), second
