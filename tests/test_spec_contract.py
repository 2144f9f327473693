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

import pytest

from readme_metrics import MetricsApiConfig, MetricsMiddleware
from tests.utils import (
    Collector,
    Reply,
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


# == end to end: a real server ===================================================================


