"""Shared parts of the black-box acceptance suite (tests/test_acceptance_*.py).

Written from /work/shared/SPEC.md alone: a tiny real Metrics API stand-in on 127.0.0.1
(http.server, no mock of requests), and helpers to drive a wrapped app and read back what
it posted. A test module imports ``clean_env_fixture`` (autouse: no README_* variable, no
stray .env file) and ``collector_fixture`` (a :class:`Collector`, closed afterwards) to have
those fixtures.
"""

import http.server
import io
import json
import sys
import threading
import time
import wsgiref.util

import pytest

from tests.support.fake_api import INLINE_TIMEOUT

ENV_PREFIXES = ("README_", "CORS_", "REQUEST_ID_", "LOG_TOKENS")


def clean_env(monkeypatch, tmp_path=None):
    """No README_* variable leaks into a test, and no stray .env file is read."""
    import os

    for name in list(os.environ):
        if name.startswith(ENV_PREFIXES):
            monkeypatch.delenv(name, raising=False)
    if tmp_path is not None:
        monkeypatch.chdir(tmp_path)



@pytest.fixture(autouse=True, name="_clean")
def clean_env_fixture(monkeypatch, tmp_path):
    clean_env(monkeypatch, tmp_path)

class Collector:
    """A real HTTP server on 127.0.0.1 recording every request it gets."""

    def __init__(self, status=202, delay=0.0):
        self.status = status
        self.delay = delay  # seconds a POST waits for its answer (a slow or starved API)
        self.requests = []  # (method, path, headers dict (lower-cased names), body bytes)
        self.lock = threading.Lock()
        self.arrived = threading.Condition(self.lock)
        collector = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _answer(self, body=b"{}", status=None):
                self.send_response(status or collector.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                with collector.lock:
                    collector.requests.append(
                        ("POST", self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                    )
                    collector.arrived.notify_all()
                time.sleep(collector.delay)
                self._answer()

            def do_GET(self):
                with collector.lock:
                    collector.requests.append(
                        ("GET", self.path, {k.lower(): v for k, v in self.headers.items()}, b"")
                    )
                self._answer(b'{"baseUrl": "http://docs.example"}', 200)

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def posts(self):
        with self.lock:
            return [r for r in self.requests if r[0] == "POST"]

    def logs(self):
        out = []
        for _m, _p, _h, body in self.posts():
            out.extend(json.loads(body))
        return out

    def wait_logs(self, n, timeout=10.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            logs = self.logs()
            if len(logs) >= n:
                return logs
            time.sleep(0.02)
        return self.logs()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def make_config(collector, **kwargs):
    from readme_metrics import MetricsApiConfig

    options = dict(
        api_key="rdme_test_key_1234",
        grouping_function=lambda req: {"api_key": "caller-key-0001", "label": "L",
                                       "email": "e@x.io"},
        metrics_api=collector.url,
        base_log_url="http://docs.example",
        buffer_length=1,
        background_worker_mode=False,
        # Answered after README_TIMEOUT's 3 s (this collector's thread starved on a loaded
        # machine), a POST is sent again, the collector having read it: two logs where a
        # test counts one (flaky58). Tests of the timeout pass their own.
        timeout=INLINE_TIMEOUT,
    )
    options.update(kwargs)
    return MetricsApiConfig(**options)


def environ_for(path="/", method="GET", body=b"", headers=None, query="", host="api.example"):
    environ = {}
    wsgiref.util.setup_testing_defaults(environ)
    environ.update(
        {
            "REQUEST_METHOD": method,
            "PATH_INFO": path,
            "QUERY_STRING": query,
            "HTTP_HOST": host,
            "SERVER_NAME": host,
            "SERVER_PORT": "80",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "REMOTE_ADDR": "10.1.2.3",
            "wsgi.input": io.BytesIO(body),
            "wsgi.errors": sys.stderr,
        }
    )
    if body:
        environ["CONTENT_LENGTH"] = str(len(body))
    for name, value in (headers or {}).items():
        key = name.upper().replace("-", "_")
        if key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            environ[key] = value
        else:
            environ["HTTP_" + key] = value
    return environ


def call(app, environ):
    """Run a WSGI app to the end; returns (status, headers, body)."""
    got = {}

    def start_response(status, headers, exc_info=None):
        got["status"] = status
        got["headers"] = headers
        return lambda data: None

    result = app(environ, start_response)
    try:
        body = b"".join(result)
    finally:
        if hasattr(result, "close"):
            result.close()
    return got["status"], got["headers"], body


def simple_app(status="200 OK", headers=None, body=b'{"ok": true}', read_body=True):
    def app(environ, start_response):
        if read_body:
            environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        start_response(status, list(headers or [("Content-Type", "application/json")]))
        return [body]

    return app


@pytest.fixture(name="collector")
def collector_fixture():
    c = Collector()
    yield c
    c.close()
