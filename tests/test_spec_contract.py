"""Acceptance audit of SPEC sections 1-6, as an outside tester: public API only.

Every test here goes through the documented import paths (``readme_metrics``,
``readme_metrics.flask_readme``, ``readme_metrics.django``, ``readme_metrics.VerifyWebhook``,
``readme_metrics.webhooks``) and the real collector of tests/utils.py. Expected values are
computed from the SPEC's words (the mask from hashlib, the creator from platform), never
from the library's helpers, so a drift in the library cannot hide in the test.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Callable, Optional
from urllib.parse import urlsplit

import pytest
import requests

from readme_metrics import MetricsApiConfig, MetricsMiddleware
from tests.support.contract import pairs
from tests.utils import (
    Collector,
    Reply,
    ThreadedWSGIServer,
    assert_valid_log,
    basic_auth,
    run_wsgi,
    wsgi_environ,
)

ROOT = Path(__file__).resolve().parent.parent
API_KEY = "rdme_contract_audit_key_9876"
DOCS = "https://docs.example.com"
CALLER = {"api_key": "caller-key-0042", "label": "Owlbert", "email": "owlbert@example.com"}


def spec_mask(value: str) -> str:
    """SPEC 4: "sha512-" + base64(sha512(value)) + "?" + value[-4:]."""
    digest = hashlib.sha512(value.encode("utf-8")).digest()
    return "sha512-" + base64.b64encode(digest).decode("ascii") + "?" + value[-4:]


def caller(req: Any) -> dict[str, str]:
    return dict(CALLER)


# -- helpers -----------------------------------------------------------------------------


@pytest.fixture
def inline_wrap(collector: Collector) -> Iterator[Callable[..., MetricsMiddleware]]:
    """MetricsMiddleware(app, config) sending each log at once (inline, batches of 1)."""
    made: list[MetricsMiddleware] = []

    def make(app: Any, **options: Any) -> MetricsMiddleware:
        options.setdefault("grouping_function", caller)
        options.setdefault("buffer_length", 1)
        options.setdefault("background_worker_mode", False)
        options.setdefault("base_log_url", DOCS)
        middleware = MetricsMiddleware(
            app, MetricsApiConfig(api_key=API_KEY, metrics_api=collector.url, **options)
        )
        made.append(middleware)
        return middleware

    yield make
    for middleware in made:
        middleware.close()


def reading_app(status: str = "200 OK", headers: Optional[list[tuple[str, str]]] = None,
                body: Optional[list[bytes]] = None) -> Any:
    """An app that reads its whole body (as PEP 3333 allows) and answers as told."""
    seen: dict[str, Any] = {}

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        length = environ.get("CONTENT_LENGTH")
        stream = environ["wsgi.input"]
        seen["body"] = stream.read(int(length)) if length else stream.read()
        start_response(status, list(headers if headers is not None else
                                    [("Content-Type", "text/plain")]))
        return list(body if body is not None else [b"ok"])

    app.seen = seen  # type: ignore[attr-defined]  # what the app read, for assertions
    return app


def exchange(middleware: MetricsMiddleware, collector: Collector, **request: Any
             ) -> tuple[Any, dict[str, Any], dict[str, Any]]:
    """Send one request straight through the middleware; (result, log, HAR entry)."""
    before = len(collector.logs)
    result = run_wsgi(middleware, wsgi_environ(**request))
    assert middleware.flush(5.0) is True
    logs = collector.wait_for_logs(before + 1)
    assert len(logs) == before + 1, "one exchange must give exactly one log"
    log = logs[-1]
    assert_valid_log(log)
    return result, log, log["request"]["log"]["entries"][0]


def no_log_sent(middleware: MetricsMiddleware, collector: Collector) -> None:
    middleware.flush(2.0)
    assert collector.logs == []


# == SPEC 1: what it is ====================================================================


# == SPEC 2: public API ====================================================================


# -- MetricsMiddleware -------------------------------------------------------------------------

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


EXIT_SCRIPT = """
import sys
from readme_metrics import MetricsApiConfig, MetricsMiddleware
from tests.utils import run_wsgi, wsgi_environ

def app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"bye"]

middleware = MetricsMiddleware(app, MetricsApiConfig(
    api_key="rdme_exit", grouping_function=lambda req: {"api_key": "exit-caller"},
    metrics_api=sys.argv[1], base_log_url="https://docs.example.com",
    buffer_length=100, flush_interval=0))
run_wsgi(middleware, wsgi_environ())
# no close(): the interpreter exit must send the queued log
"""


def test_close_runs_at_interpreter_exit(collector: Collector) -> None:
    done = subprocess.run([sys.executable, "-c", EXIT_SCRIPT, collector.url],
                          capture_output=True, text=True, cwd=str(ROOT), timeout=60,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""  # never prints
    assert len(collector.wait_for_logs(1)) == 1


# == SPEC 4: the payload contract ============================================================


def test_post_path_and_headers(inline_wrap: Any, collector: Collector) -> None:
    from readme_metrics import __version__

    exchange(inline_wrap(reading_app()), collector)
    [post] = collector.received
    assert post.method == "POST" and post.path == "/v1/request"
    headers = {name.lower(): value for name, value in post.headers.items()}
    assert headers["authorization"] == basic_auth(API_KEY)
    assert headers["authorization"] == "Basic " + base64.b64encode(
        f"{API_KEY}:".encode()).decode()
    assert headers["content-type"].split(";")[0].strip() == "application/json"
    assert headers["user-agent"] == f"readme-metrics-python@{__version__}"
    assert isinstance(json.loads(post.body), list)


# -- request -------------------------------------------------------------------------------


# -- response ------------------------------------------------------------------------------


# == SPEC 5: capture rules ==================================================================


# == SPEC 6: identification ================================================================


def test_api_key_is_never_logged(inline_wrap: Any, collector: Collector,
                                 caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    collector.default = Reply(401, b'{"error": "bad key"}')
    middleware = inline_wrap(reading_app(), grouping_function=lambda req: 1 / 0)
    run_wsgi(middleware, wsgi_environ())
    middleware2 = inline_wrap(reading_app())
    run_wsgi(middleware2, wsgi_environ())
    middleware2.flush(2.0)
    token = base64.b64encode(f"{API_KEY}:".encode()).decode()
    assert caplog.records
    for record in caplog.records:
        text = record.getMessage() + str(record.args)
        assert API_KEY not in text and token not in text
    assert API_KEY not in repr(middleware2.config)


# -- redaction -------------------------------------------------------------------------------


# == adapters: Flask and Django ================================================================


def test_flask_extension_hands_flask_request_to_grouping(collector: Collector) -> None:
    flask = pytest.importorskip("flask")
    from readme_metrics.flask_readme import ReadMeMetrics

    seen: list[Any] = []

    def grouping(req: Any) -> dict[str, str]:
        seen.append((req, req.get_json()))
        return {"api_key": req.headers["X-Api-Key"]}

    app = flask.Flask(__name__)

    @app.post("/echo")
    def echo() -> Any:
        return {"got": flask.request.get_json()}

    metrics = ReadMeMetrics(MetricsApiConfig(
        api_key=API_KEY, grouping_function=grouping, metrics_api=collector.url,
        base_log_url=DOCS, background_worker_mode=False, buffer_length=1))
    metrics.init_app(app)
    try:
        # Closed as a server would: the log is finished when the response is closed.
        with app.test_client().post("/echo", json={"n": 1},
                                    headers={"X-Api-Key": "flask-key"}) as response:
            assert response.get_json() == {"got": {"n": 1}}
        [log] = collector.wait_for_logs(1)
        assert_valid_log(log)
        assert response.headers["x-documentation-url"] == f"{DOCS}/logs/{log['_id']}"
        assert len(seen) == 1 and isinstance(seen[0][0], flask.Request)
        assert seen[0][1] == {"n": 1}
        assert log["group"] == {"id": spec_mask("flask-key")}
        assert log["request"]["log"]["entries"][0]["request"]["postData"] == {
            "mimeType": "application/json", "text": '{"n": 1}'}
    finally:
        metrics.close()


def test_django_middleware_reads_settings_and_hands_http_request(collector: Collector) -> None:
    pytest.importorskip("django")
    import types

    from django.http import HttpRequest, HttpResponse
    from django.test import Client, override_settings
    from django.urls import path
    from django.views.decorators.csrf import csrf_exempt

    import tests.test_django  # noqa: F401 - configures Django once for the whole session

    seen: list[Any] = []

    def grouping(req: Any) -> dict[str, str]:
        seen.append((req, req.body))
        return {"api_key": req.headers["X-Api-Key"], "label": "django"}

    @csrf_exempt
    def echo(request: HttpRequest) -> HttpResponse:
        return HttpResponse(request.body, content_type="application/json")

    urls = types.ModuleType("spec_contract_urls")
    urls.urlpatterns = [path("echo", echo)]  # type: ignore[attr-defined]
    settings_config = MetricsApiConfig(
        api_key=API_KEY, grouping_function=grouping, metrics_api=collector.url,
        base_log_url=DOCS, background_worker_mode=False, buffer_length=1)
    with override_settings(ROOT_URLCONF=urls, README_METRICS_CONFIG=settings_config,
                           MIDDLEWARE=["readme_metrics.django.MetricsMiddleware"]):
        response = Client().post("/echo", data=b'{"d": 1}', content_type="application/json",
                                 HTTP_X_API_KEY="django-key")
    assert response.content == b'{"d": 1}'
    [log] = collector.wait_for_logs(1)
    assert_valid_log(log)
    assert response["x-documentation-url"] == f"{DOCS}/logs/{log['_id']}"
    assert len(seen) == 1 and isinstance(seen[0][0], HttpRequest)
    assert seen[0][1] == b'{"d": 1}'
    assert log["group"] == {"id": spec_mask("django-key"), "label": "django"}
    entry = log["request"]["log"]["entries"][0]
    assert entry["request"]["postData"] == {"mimeType": "application/json", "text": '{"d": 1}'}


# == end to end: a real server ===================================================================


def test_real_server_round_trip(collector: Collector) -> None:
    """wsgiref's server (decoded PATH_INFO, no raw URI) with a real HTTP client."""

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        start_response("200 OK", [("Content-Type", "application/json")])
        return [json.dumps({"len": len(body)}).encode()]

    middleware = MetricsMiddleware(app, MetricsApiConfig(
        api_key=API_KEY, grouping_function=caller, metrics_api=collector.url,
        base_log_url=DOCS, background_worker_mode=True, buffer_length=2, flush_interval=0))
    try:
        with ThreadedWSGIServer(middleware) as server:
            first = requests.get(server.url + "/files/100%25/a%3Fb?q=a+b&q=%26&e=",
                                 timeout=10)
            second = requests.post(server.url + "/items", json={"name": "ä"}, timeout=10)
        assert first.json() == {"len": 0} and second.json() == {"len": 18}
        logs = collector.wait_for_logs(2)
    finally:
        middleware.close()
    for log in logs:
        assert_valid_log(log)
    get, post = (log["request"]["log"]["entries"][0]["request"] for log in logs)
    host = urlsplit(server.url).netloc
    assert get["url"] == f"http://{host}/files/100%25/a%3Fb?q=a+b&q=%26&e="
    assert pairs(get["queryString"]) == {"q": "&", "e": ""}
    assert [p["value"] for p in get["queryString"]] == ["a b", "&", ""]
    assert post["postData"] == {"mimeType": "application/json", "text": '{"name": "\\u00e4"}'}
    assert first.headers["x-documentation-url"] == f"{DOCS}/logs/{logs[0]['_id']}"
