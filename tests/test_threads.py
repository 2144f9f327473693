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
