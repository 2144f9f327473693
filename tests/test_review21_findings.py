"""Findings of review21 (an adversarial read of the ASGI capture restructuring, the cookie
key decision, odds6's and odds7's changes): each test failed before its fix."""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

import pytest

from readme_metrics import MetricsApiConfig, MetricsMiddleware
from tests.support.fake_api import INLINE_TIMEOUT, Collector, free_port
from tests.support.raw_requests import answer_to
from tests.support.wsgi import run_wsgi, wsgi_environ
from tests.test_asgi_servers import SERVERS as ASGI_SERVERS
from tests.test_asgi_servers import _env as asgi_env
from tests.test_e2e_servers import SERVERS as E2E_SERVERS
from tests.test_e2e_servers import django_env, serve

# -- 1. a JSON document in a JSON string, too deep to read, holding a denied key ------------

SECRET = "hunter2-review21"


def _deep_message(depth: int) -> str:
    """A webhook-like body: a JSON string holding a JSON document ``depth`` levels deep,
    a denied key at the bottom."""
    inner = '{"a":' * depth + json.dumps({"secret": SECRET}) + "}" * depth
    return json.dumps({"Message": inner, "id": 7})


def _echo(environ: Any, start_response: Any) -> list[bytes]:
    body = environ["wsgi.input"].read()
    start_response("200 OK", [("Content-Type", "application/json")])
    return [body]


@pytest.mark.parametrize("depth", [1, 126, 127, 128, 200, 600])
def test_a_too_deep_document_in_a_json_string_is_not_sent_with_its_denied_key(
        collector: Collector, depth: int) -> None:
    """deep_json (odds6) made a document nested deeper than 128 levels no JSON to the
    Redactor; a JSON string holding one was then left as it was (Redactor._inner), the
    denied value in clear, in the request and the response body alike, where before it
    was read and redacted key by key. Now hidden whole, as a string past MAX_INNER_DEPTH
    is; the rest of the document is still redacted key by key."""
    middleware = MetricsMiddleware(_echo, MetricsApiConfig(
        api_key="rdme_review21_deep_key", metrics_api=collector.url, buffer_length=1,
        background_worker_mode=False, timeout=INLINE_TIMEOUT, denylist=["secret"],
        grouping_function=lambda req: {"api_key": "review21-caller"}))
    try:
        answer = run_wsgi(middleware, wsgi_environ(
            method="POST", body=_deep_message(depth).encode(),
            headers={"Content-Type": "application/json"}))
        assert answer.status.startswith("200")
        entry = collector.wait_for_logs(1)[0]["request"]["log"]["entries"][0]
    finally:
        middleware.close()
    for side in (entry["request"]["postData"]["text"], entry["response"]["content"]["text"]):
        assert SECRET not in side, (depth, side[-200:])
        document = json.loads(side)  # still JSON, the other members kept
        assert document["id"] == 7
        assert "[REDACTED" in document["Message"]


# -- 2. the HTTP version of an HTTP/1.0 exchange under the ASGI servers ---------------------


def _get_http10(port: int) -> bytes:
    """A GET /hello in HTTP/1.0 (as nginx's proxy_pass asks by default); the answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        conn.sendall(b"GET /hello?name=x HTTP/1.0\r\nHost: 127.0.0.1\r\n"
                     b"X-Api-Key: review21-caller\r\n\r\n")
        answer = b""
        while True:
            chunk = conn.recv(65536)
            if not chunk:
                return answer
            answer += chunk


@pytest.mark.e2e
@pytest.mark.parametrize("server", ["uvicorn", "hypercorn", "granian"])
def test_an_http10_exchange_logs_the_versions_the_client_and_the_server_used(
        collector: Collector, tmp_path: Path, server: str) -> None:
    """uvicorn and hypercorn answer an HTTP/1.0 request with an ``HTTP/1.1`` status line;
    the log's response said ``HTTP/1.0`` (the scope's), where the WSGI side logs the
    status line's version since a3c4c74. granian gives the scope's http_version as "1"
    for HTTP/1.0 (the ASGI spec says "1.0"): the log said ``HTTP/1`` for both, and its
    request without a body was not seen as bodiless (body_record). Checked against the
    status line the raw client read."""
    if server == "granian":
        pytest.importorskip("granian")
    port = free_port()
    with serve(ASGI_SERVERS[server](port, "tests.support.asgi_apps:starlette_app"),
               asgi_env(collector), tmp_path, port):
        answer = _get_http10(port)
        entry = collector.wait_for_logs(1)[0]["request"]["log"]["entries"][0]
    status_line = answer.split(b"\r\n", 1)[0].decode("latin-1")
    assert status_line.split(" ", 1)[1].startswith("200"), status_line
    assert entry["request"]["httpVersion"] == "HTTP/1.0", entry["request"]["httpVersion"]
    assert entry["response"]["httpVersion"] == status_line.split(" ", 1)[0], (
        server, status_line, entry["response"]["httpVersion"])


@pytest.mark.e2e
@pytest.mark.parametrize("version", ["1.0", "1.1"])
def test_the_django_middleware_under_runserver_logs_the_status_lines_version(
        collector: Collector, tmp_path: Path, version: str) -> None:
    """Django's runserver answers ``HTTP/1.1`` to an HTTP/1.0 request. The WSGI middleware
    logs that since a3c4c74; the Django middleware (what a Django project adds) still
    logged the request's ``HTTP/1.0`` for the response."""
    port = free_port()
    with serve(E2E_SERVERS["runserver"](port, "tests.support.e2e_apps:django_app"),
               django_env(collector), tmp_path, port):
        answer = answer_to(port, f"GET /hello?name=x HTTP/{version}\r\nHost: 127.0.0.1\r\n"
                           "X-Api-Key: review21-caller\r\nConnection: close\r\n\r\n".encode())
        entry = collector.wait_for_logs(1)[0]["request"]["log"]["entries"][0]
    status_line = answer.split(b"\r\n", 1)[0].decode("latin-1")
    assert status_line == "HTTP/1.1 200 OK", status_line
    assert entry["request"]["httpVersion"] == f"HTTP/{version}"
    assert entry["response"]["httpVersion"] == "HTTP/1.1", entry["response"]["httpVersion"]
