"""Findings of review22 (an adversarial read of the previous session's landings: flush(),
deep_json, the HTTP versions, masking, the ASGI capture): each test failed before its fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.fake_api import Collector, free_port
from tests.support.raw_requests import answer_to
from tests.test_asgi_servers import SERVERS as ASGI_SERVERS
from tests.test_asgi_servers import _env as asgi_env
from tests.test_e2e_servers import SERVERS as E2E_SERVERS
from tests.test_e2e_servers import django_env, serve, server_env

# -- 1. uvicorn's and hypercorn's HTTP/1.1 answer to HTTP/1.0, a bound send outside ----


def _get_http10(port: int) -> bytes:
    """A GET /hello in HTTP/1.0 (nginx's proxy_pass asks so by default); the answer."""
    return answer_to(port, b"GET /hello?name=x HTTP/1.0\r\nHost: 127.0.0.1\r\n"
                           b"X-Api-Key: review22-caller\r\n\r\n")


@pytest.mark.e2e
@pytest.mark.parametrize("http", ["auto", "h11", "hypercorn"])
def test_the_status_line_version_is_logged_under_gzip_outside(
        collector: Collector, tmp_path: Path, http: str) -> None:
    """uvicorn answers an HTTP/1.0 request with an ``HTTP/1.1`` status line, which the
    log's response says since 95cfd99, found from the server's ``send``. With Starlette's
    GZipMiddleware outside the metrics middleware (``add_middleware`` of the metrics,
    then of GZip), that ``send`` is a bound method of GZip's responder: the log said
    ``HTTP/1.0``. hypercorn the same (its ``receive`` is an asyncio queue's). Checked
    against the status line the raw client read."""
    port = free_port()
    target = "tests.support.asgi_apps:starlette_gzip_outside_app"
    argv = (ASGI_SERVERS["hypercorn"](port, target) if http == "hypercorn"
            else [*ASGI_SERVERS["uvicorn"](port, target), f"--http={http}"])
    with serve(argv, asgi_env(collector), tmp_path, port):
        answer = _get_http10(port)
        entry = collector.wait_for_logs(1)[0]["request"]["log"]["entries"][0]
    status_line = answer.split(b"\r\n", 1)[0].decode("latin-1")
    assert status_line.split(" ")[:2] == ["HTTP/1.1", "200"], status_line  # (hypercorn: no reason)
    assert entry["request"]["httpVersion"] == "HTTP/1.0", entry["request"]["httpVersion"]
    assert entry["response"]["httpVersion"] == "HTTP/1.1", entry["response"]["httpVersion"]


# -- 2. the same under the Django middleware on ASGI ----------------------------------------


@pytest.mark.e2e
@pytest.mark.parametrize("http", ["auto", "h11"])
def test_the_django_middleware_under_uvicorn_logs_the_status_lines_version(
        collector: Collector, tmp_path: Path, http: str) -> None:
    """Django's ASGI handler under uvicorn, the Django middleware logging: uvicorn answers
    an HTTP/1.0 request with ``HTTP/1.1``, and the log's response said ``HTTP/1.0``
    (95cfd99 taught the ASGI middleware, b11fda3 the Django one under runserver; the
    Django middleware never sees the server's ``send``)."""
    port = free_port()
    argv = ASGI_SERVERS["uvicorn"](port, "tests.support.e2e_apps:django_asgi_app")
    with serve([*argv, f"--http={http}"], django_env(collector), tmp_path, port):
        answer = _get_http10(port)
        entry = collector.wait_for_logs(1)[0]["request"]["log"]["entries"][0]
    status_line = answer.split(b"\r\n", 1)[0].decode("latin-1")
    assert status_line == "HTTP/1.1 200 OK", status_line
    assert entry["request"]["httpVersion"] == "HTTP/1.0", entry["request"]["httpVersion"]
    assert entry["response"]["httpVersion"] == "HTTP/1.1", entry["response"]["httpVersion"]


# -- 3. a development server's own 500, when the app raised, in its status line's version ---


@pytest.mark.e2e
@pytest.mark.parametrize(("server", "version"), [("wsgiref", "1.1"), ("werkzeug", "1.0")])
@pytest.mark.parametrize("mode", ["before-start", "after-start"])
def test_a_dev_servers_500_for_an_app_that_raised_logs_its_status_lines_version(
        collector: Collector, tmp_path: Path, server: str, version: str, mode: str) -> None:
    """wsgiref answers in HTTP/1.0 whatever the request's version, werkzeug (threaded) in
    HTTP/1.1: a3c4c74 logs that, from the response the app returned. An app that raises
    from its call returns none, and the server's 500 was logged in the request's version."""
    port = free_port()
    with serve(E2E_SERVERS[server](port, "tests.support.e2e_apps:plain_app"),
               server_env(collector), tmp_path, port):
        answer = answer_to(port, f"GET /raise/{mode} HTTP/{version}\r\nHost: 127.0.0.1\r\n"
                           "X-Api-Key: review22-caller\r\nConnection: close\r\n\r\n".encode())
        entry = collector.wait_for_logs(1)[0]["request"]["log"]["entries"][0]
    status_line = answer.split(b"\r\n", 1)[0].decode("latin-1")
    assert status_line.lower().endswith(" 500 internal server error"), status_line
    assert entry["response"]["status"] == 500
    assert entry["request"]["httpVersion"] == f"HTTP/{version}"
    assert entry["response"]["httpVersion"] == status_line.split(" ", 1)[0], (
        status_line, entry["response"]["httpVersion"])
