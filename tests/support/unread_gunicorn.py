"""README's WSGI quick start under gunicorn, sent a body it never reads (the newcomer's
finding in tests/test_newcomer_findings.py, and README's sentence on it in
tests/test_readme.py)."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from tests.support.command import app_environment
from tests.support.fake_api import Collector, free_port
from tests.support.processes import start_server, stop_server

_APP = """
def app(environ, start_response):  # never reads the body, as README's quick start
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "2")])
    return [b"ok"]
"""


def unread_body_under_gunicorn(tmp_path: Path, collector: Collector, worker: str,
                               size: int) -> dict[str, Any]:
    """The logged ``postData`` of a POST of ``size`` bytes, all sent at once by the
    client, to an app that never reads it, under ``gunicorn -k worker``."""
    (tmp_path / "unread_app.py").write_text(
        "from readme_metrics import MetricsApiConfig, MetricsMiddleware\n" + _APP
        + "app = MetricsMiddleware(app, MetricsApiConfig(grouping_function=lambda r: "
          "{'api_key': 'caller-key-1'}))\n")
    port = free_port()
    env = app_environment(collector.url, tmp_path, README_FLUSH_INTERVAL="0.2")
    proc = start_server(
        [sys.executable, "-m", "gunicorn", "-k", worker, "-b", f"127.0.0.1:{port}",
         "unread_app:app"], cwd=tmp_path, env=env, stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                sock = socket.create_connection(("127.0.0.1", port), timeout=10)
                break
            except OSError:
                assert time.monotonic() < deadline and proc.poll() is None
                time.sleep(0.1)
        head = (f"POST /upload HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: "
                f"text/plain\r\nContent-Length: {size}\r\nConnection: close\r\n\r\n")
        sender = threading.Thread(target=sock.sendall, args=(head.encode() + b"x" * size,))
        sender.start()
        with sock:
            # The answer read to its end, as a client does: closed with the answer's
            # bytes unread, the socket would reset the connection, and the body's bytes
            # still on their way with it.
            answer = b""
            while True:
                data = sock.recv(65536)
                if not data:
                    break
                answer += data
            assert answer.startswith(b"HTTP/1.1 200 ")
            sender.join(10)
        (log,) = collector.wait_for_logs(1, timeout=30)
    finally:
        stop_server(proc, patience=20)  # (killed and waited for past its 20 s too)
    post: dict[str, Any] = log["request"]["log"]["entries"][0]["request"]["postData"]
    return post


def _reads_unread_bodies() -> bool:
    """Whether the middleware reads an unread body under this gunicorn (one with
    ``_DRAIN_MAX_BYTES``, 27 and later; gunicorn 23, the last on Python 3.9, keeps the
    copy, as far as the socket's receive buffer holds)."""
    try:
        from gunicorn.http import parser
    except ImportError:
        return False
    return isinstance(getattr(parser, "_DRAIN_MAX_BYTES", None), int)


#: Skip mark for tests of bodies read past the socket's receive buffer.
READS_UNREAD = pytest.mark.skipif(
    not _reads_unread_bodies(), reason="this gunicorn has no _DRAIN_MAX_BYTES: an unread "
    "body is copied, as far as the socket's receive buffer holds (rest_gunicorn)")
