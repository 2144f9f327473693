"""SPEC 3: "The request thread does only capture and the grouping call; building the HAR,
redacting and serialising JSON happen on the worker thread in background mode."

A real threaded server answers real requests through the public middleware; spies that
call through to the library's own functions (HAR building, redaction, JSON encoding)
note the thread each runs on. In background mode none of them runs on a thread that
served a request, and the grouping function runs on the request's own thread; in inline
mode (``background_worker_mode=False``) the request thread sends, as documented.
"""

from __future__ import annotations

import threading
from typing import Any, Callable

import pytest
import requests

from readme_metrics import MetricsApiConfig, MetricsMiddleware
from readme_metrics.har.redaction import Redactor
from tests.support.contract import API_KEY, CALLER, DOCS
from tests.support.fake_api import Collector
from tests.support.polling import PATIENCE, wait_until
from tests.support.ports import free_port
from tests.support.wsgi import ThreadedWSGIServer

REQUESTS = 12


def _spy(seen: list[str], function: Callable[..., Any]) -> Callable[..., Any]:
    def spy(*args: Any, **kwargs: Any) -> Any:
        seen.append(threading.current_thread().name)
        return function(*args, **kwargs)

    return spy


@pytest.mark.parametrize("background", [True, False], ids=["background", "inline"])
def test_har_redaction_and_json_run_off_the_request_thread(
        monkeypatch: pytest.MonkeyPatch, collector: Collector, background: bool) -> None:
    import readme_metrics.delivery.sender as sender
    import readme_metrics.pipeline as pipeline

    built: list[str] = []
    redacted: list[str] = []
    encoded: list[str] = []
    served: list[str] = []
    grouped: list[str] = []
    monkeypatch.setattr(pipeline, "build_log", _spy(built, pipeline.build_log))
    monkeypatch.setattr(sender, "dumps", _spy(encoded, sender.dumps))
    monkeypatch.setattr(Redactor, "json_text", _spy(redacted, Redactor.json_text))

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        served.append(threading.current_thread().name)
        environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        start_response("200 OK", [("Content-Type", "application/json")])
        return [b'{"password": "hunter2", "ok": true}']

    def grouping(request: Any) -> dict[str, str]:
        grouped.append(threading.current_thread().name)
        return dict(CALLER)

    middleware = MetricsMiddleware(app, MetricsApiConfig(
        api_key=API_KEY, grouping_function=grouping, metrics_api=collector.url,
        base_log_url=DOCS, denylist=["password"], buffer_length=3,
        background_worker_mode=background))
    try:
        with ThreadedWSGIServer(middleware) as server, requests.Session() as session:
            for n in range(REQUESTS):
                answer = session.post(f"{server.url}/pets/{n}", json={"password": "pw"},
                                      timeout=30)
                assert answer.status_code == 200
        assert middleware.flush(10.0) is True
    finally:
        middleware.close()

    logs = collector.logs
    assert len(logs) == REQUESTS and "hunter2" not in str(logs)
    assert len(built) == len(encoded) == REQUESTS
    assert len(redacted) >= REQUESTS  # request and response bodies
    request_threads = set(served)
    assert set(grouped) <= request_threads and len(grouped) == REQUESTS
    work = set(built) | set(encoded) | set(redacted)
    if background:
        assert not work & request_threads, (work, request_threads)
        assert all(name.startswith("readme-metrics-worker") for name in work), work
    else:
        assert work <= request_threads, (work, request_threads)


# -- the adapters: the same split (SPEC 3: "Adapters only produce an Exchange") ----------


def _spies(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """One list noting the thread of every HAR build, redaction and JSON encoding."""
    import readme_metrics.delivery.sender as sender
    import readme_metrics.pipeline as pipeline

    work: list[str] = []
    monkeypatch.setattr(pipeline, "build_log", _spy(work, pipeline.build_log))
    monkeypatch.setattr(sender, "dumps", _spy(work, sender.dumps))
    monkeypatch.setattr(Redactor, "json_text", _spy(work, Redactor.json_text))
    return work


def _posts(base: str, logs: Collector, flush: Callable[[float], bool]) -> None:
    with requests.Session() as session:
        for n in range(REQUESTS):
            answer = session.post(f"{base}/pets/{n}", json={"password": "pw"}, timeout=30)
            assert answer.status_code == 200 and b"hunter2" in answer.content
    # The client has its answer a moment before the adapter hands the log over.
    wait_until(lambda: flush(10.0) and len(logs.logs) == REQUESTS)
    assert "hunter2" not in str(logs.logs) and '"pw"' not in str(logs.logs)


@pytest.mark.parametrize("background", [True, False], ids=["background", "inline"])
def test_asgi_under_uvicorn_builds_off_the_event_loop(
        monkeypatch: pytest.MonkeyPatch, collector: Collector, background: bool) -> None:
    """The ASGI middleware under a real uvicorn: the grouping call runs on the event
    loop's thread (the request's), the HAR, redaction and JSON on the worker in background
    mode; inline, they still run off the loop (SPEC 7: the loop is never blocked)."""
    import asyncio

    import uvicorn

    from readme_metrics.asgi import MetricsMiddleware as AsgiMetricsMiddleware

    work = _spies(monkeypatch)
    loop: list[str] = []
    grouped: list[str] = []

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        loop.append(threading.current_thread().name)
        while (await receive()).get("more_body"):
            pass
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": b'{"password": "hunter2"}'})

    def grouping(request: Any) -> dict[str, str]:
        grouped.append(threading.current_thread().name)
        return dict(CALLER)

    middleware = AsgiMetricsMiddleware(app, MetricsApiConfig(
        api_key=API_KEY, grouping_function=grouping, metrics_api=collector.url,
        base_log_url=DOCS, denylist=["password"], buffer_length=3,
        background_worker_mode=background))
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(middleware, host="127.0.0.1", port=port,
                                           lifespan="off", log_level="warning"))
    thread = threading.Thread(target=lambda: asyncio.run(server.serve()), daemon=True)
    thread.start()
    try:
        wait_until(lambda: server.started)
        _posts(f"http://127.0.0.1:{port}", collector, middleware.flush)
    finally:
        server.should_exit = True
        thread.join(PATIENCE)
        middleware.close()

    assert set(loop) == set(grouped) and len(set(loop)) == 1, (loop, grouped)
    assert len(work) >= 3 * REQUESTS  # a build, an encoding, two redactions each
    assert not set(work) & set(loop), (work, loop)
    if background:
        assert all(name.startswith("readme-metrics-worker") for name in work), set(work)


def test_flask_extension_builds_on_the_worker(
        monkeypatch: pytest.MonkeyPatch, collector: Collector) -> None:
    """README's Flask quick start (``ReadMeMetrics(config, app)``) under a real threaded
    server: the grouping call on the request's thread, the rest on the worker."""
    import flask

    from readme_metrics.flask_readme import ReadMeMetrics

    work = _spies(monkeypatch)
    served: list[str] = []
    grouped: list[str] = []
    app = flask.Flask(__name__)

    @app.post("/pets/<int:number>")
    def pet(number: int) -> Any:
        served.append(threading.current_thread().name)
        assert flask.request.get_json() == {"password": "pw"}
        return {"password": "hunter2"}

    def grouping(request: Any) -> dict[str, str]:
        grouped.append(threading.current_thread().name)
        return dict(CALLER)

    metrics = ReadMeMetrics(MetricsApiConfig(
        api_key=API_KEY, grouping_function=grouping, metrics_api=collector.url,
        base_log_url=DOCS, denylist=["password"], buffer_length=3), app)
    try:
        with ThreadedWSGIServer(app) as server:
            _posts(server.url, collector, metrics.flush)
    finally:
        metrics.close()

    assert set(grouped) <= set(served) and len(grouped) == REQUESTS
    assert len(work) >= 3 * REQUESTS
    assert all(name.startswith("readme-metrics-worker") for name in work), set(work)
