"""HTTP/1.1 pipelining: several requests in one write on one connection (SPEC 5, 10).

A client may send its next requests before the first answer arrives. The servers that
take them (waitress, gunicorn's gthread worker, uvicorn, hypercorn) answer in order;
uWSGI's --http11-socket and werkzeug's development server answer the first only and drop
the rest, bare apps too, so they are not here. The middleware must record each request's
own body and nothing of the next one's, even where the app never reads its body (the
capture reads the rest itself, never past Content-Length), and give each exchange
exactly one log, with the bare app's answers."""

from __future__ import annotations

import socket
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.support.fake_api import Collector, describe, free_port
from tests.test_asgi_servers import SERVERS as ASGI_SERVERS
from tests.test_asgi_servers import _env as asgi_env
from tests.test_e2e_servers import CALLER, SERVERS, entry_of, serve, server_env

pytestmark = pytest.mark.e2e

UNREAD = b'{"unread": "first body"}'
ECHOED = b'{"echoed": "second body"}'

CASES = [
    pytest.param(SERVERS["waitress"], "tests.support.e2e_apps:plain_app", "ok", False,
                 id="waitress"),
    pytest.param(SERVERS["gunicorn-gthread"], "tests.support.e2e_apps:plain_app", "ok",
                 False, id="gunicorn-gthread"),
    pytest.param(ASGI_SERVERS["uvicorn"], "tests.support.asgi_apps:starlette_app",
                 "not read", True, id="uvicorn"),
    pytest.param(ASGI_SERVERS["hypercorn"], "tests.support.asgi_apps:fastapi_app",
                 "not read", True, id="hypercorn"),
]


def _pipelined(port: int) -> bytes:
    def request(method: str, path: str, body: bytes = b"", last: bool = False) -> bytes:
        head = [f"{method} {path} HTTP/1.1", f"Host: 127.0.0.1:{port}",
                f"X-Api-Key: {CALLER}"]
        if body:
            head += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
        if last:
            head.append("Connection: close")
        return ("\r\n".join(head) + "\r\n\r\n").encode() + body

    return (request("POST", "/noread?n=1", UNREAD) + request("POST", "/echo?n=2", ECHOED)
            + request("GET", "/hello?n=3", last=True))


def _answers(port: int) -> list[tuple[int, bytes]]:
    """Send the three requests in one write; the statuses and bodies, in order."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(_pipelined(port))
        raw = b""
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            raw += chunk
    answers = []
    while raw:
        head, _, rest = raw.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
        if "content-length" in headers:
            length = int(headers["content-length"])
            body, raw = rest[:length], rest[length:]
        else:  # chunked
            body = b""
            while True:
                size_line, _, rest = rest.partition(b"\r\n")
                size = int(size_line.split(b";")[0], 16)
                if size == 0:
                    raw = rest.partition(b"\r\n")[2]
                    break
                body, rest = body + rest[:size], rest[size + 2:]
        answers.append((int(lines[0].split()[1]), body))
    return answers


@pytest.mark.parametrize(("argv", "target", "unread_answer", "asgi"), CASES)
def test_pipelined_requests_each_get_their_answer_and_their_own_log(
        collector: Collector, tmp_path: Path, argv: Any, target: str, unread_answer: str,
        asgi: bool) -> None:
    port = free_port()
    env = asgi_env(collector) if asgi else server_env(collector)
    with serve(argv(port, target), env, tmp_path, port):
        answers = _answers(port)
        logs = collector.wait_for_logs(3)
    assert [status for status, _ in answers] == [200, 200, 200], answers
    assert answers[0][1] == unread_answer.encode() and answers[1][1] == ECHOED
    assert b"hello" in answers[2][1]
    assert len(logs) == 3, describe(logs)
    entries = sorted((entry_of(log) for log in logs),
                     key=lambda entry: entry["request"]["url"].rsplit("=", 1)[1])
    noread, echo, hello = (entry["request"] for entry in entries)
    assert noread["url"].endswith("/noread?n=1") and noread["bodySize"] == len(UNREAD)
    assert noread["postData"] == {"mimeType": "application/json", "text": UNREAD.decode()}
    assert echo["url"].endswith("/echo?n=2") and echo["bodySize"] == len(ECHOED)
    assert echo["postData"] == {"mimeType": "application/json", "text": ECHOED.decode()}
    assert hello["url"].endswith("/hello?n=3") and "postData" not in hello
    assert entries[1]["response"]["content"]["text"] == ECHOED.decode()


if sys.platform == "win32":  # pragma: no cover - the servers above are POSIX ones
    pytest.skip("POSIX servers", allow_module_level=True)
