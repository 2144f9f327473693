"""uWSGI behind a unix socket, spoken to in the uwsgi protocol as nginx's ``uwsgi_pass`` does.

A client that declares 100,000 bytes and sends ``abc`` must get the bare app's answer, a
second request must be served while it holds its connection (one worker, one thread,
``--socket-timeout`` longer than the test's patience, so a read waiting on the client
would show), and the log must hold the ``abc`` and say the body is incomplete. When it
sends 1,000 bytes, which uWSGI takes with the head, the read that meets their end loses
what it took (rest_uwsgi.py): the log keeps a prefix of at least half, and says how much.
A body sent in full and never read is logged whole, with and without ``post-buffering``.
"""

from __future__ import annotations

import socket
import struct
import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.support.fake_api import Collector
from tests.support.processes import start_server, stop_server
from tests.test_e2e_servers import UWSGI, server_env
from tests.test_slow_client import SAFETY, docs_collector, logged_body  # noqa: F401

pytestmark = [pytest.mark.e2e, pytest.mark.skipif(
    UWSGI is None, reason="uWSGI is not installed (pip install pyuwsgi, in the test extra)")]


def packet(path: str, method: str = "GET", body_headers: Any = (), **headers: str) -> bytes:
    """A request head in the uwsgi protocol: modifier1, size, modifier2, then variables."""
    variables = {"REQUEST_METHOD": method, "REQUEST_URI": path, "PATH_INFO": path,
                 "QUERY_STRING": "", "SERVER_PROTOCOL": "HTTP/1.1", "SERVER_NAME": "app",
                 "SERVER_PORT": "80", "REMOTE_ADDR": "127.0.0.1", "HTTP_HOST": "app",
                 **dict(body_headers), **{f"HTTP_{k.upper()}": v for k, v in headers.items()}}
    data = b"".join(struct.pack("<H", len(k)) + k + struct.pack("<H", len(v)) + v
                    for k, v in ((k.encode(), v.encode()) for k, v in variables.items()))
    return struct.pack("<BHB", 0, len(data), 0) + data


def body_head(declared: int) -> Any:
    return (("CONTENT_LENGTH", str(declared)), ("CONTENT_TYPE", "application/json"))


def answer_of(sock: socket.socket) -> bytes:
    """The whole answer: uWSGI closes the connection after it."""
    sock.settimeout(SAFETY)
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    return data


@contextmanager
def uwsgi_unix(tmp_path: Path, collector: Collector, attribute: str, *options: str
               ) -> Iterator[str]:
    """uWSGI serving tests.support.e2e_apps.``attribute`` on a unix socket; yields its path."""
    path = str(tmp_path / f"{attribute}-{uuid.uuid4().hex[:8]}.sock")
    entry = f"import tests.support.e2e_apps; application = tests.support.e2e_apps.{attribute}"
    argv = [str(UWSGI), "--socket", path, "--eval", entry, "--master", "--die-on-term",
            "--need-app", "--processes=1", *options]
    env = server_env(collector)
    with (tmp_path / "uwsgi.log").open("ab") as log:
        process = start_server(argv, env=env, cwd=tmp_path, stdout=log,
                                   stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 60
            while True:
                assert process.poll() is None, (tmp_path / "uwsgi.log").read_text()
                try:
                    with socket.socket(socket.AF_UNIX) as probe:
                        probe.connect(path)  # uWSGI drops it unanswered: nothing logged
                    break
                except OSError:
                    assert time.monotonic() < deadline, "uWSGI never listened"
                    time.sleep(0.05)
            yield path
        finally:
            stop_server(process)


def slow_then_other(path: str, trace: str, sent: bytes) -> tuple[bytes, bytes]:
    """The slow client's answer, and a second client's, served while the first holds on."""
    with socket.socket(socket.AF_UNIX) as slow:
        slow.connect(path)
        slow.sendall(packet("/noread", "POST", body_head(100000), x_api_key="slow",
                            x_trace=trace) + sent)
        answer = answer_of(slow)
        with socket.socket(socket.AF_UNIX) as other:
            other.connect(path)
            other.sendall(packet("/hello", x_api_key="other"))
            return answer, answer_of(other)


@pytest.mark.parametrize("sent", [b"abc", b"0123456789" * 100], ids=["3", "1000"])
def test_client_declaring_more_than_it_sends(docs_collector: Collector,  # noqa: F811
                                             tmp_path: Path, sent: bytes) -> None:
    answers = []
    for attribute in ("plain_bare", "plain_app"):
        with uwsgi_unix(tmp_path, docs_collector, attribute, "--socket-timeout=120") as path:
            trace = uuid.uuid4().hex
            answer, other = slow_then_other(path, trace, sent)
        assert other.startswith(b"HTTP/1.1 200 OK") and other.endswith(b'{"hello": ""}')
        answers.append([line for line in answer.split(b"\r\n")
                        if not line.lower().startswith(b"x-documentation-url:")])
    bare, wrapped = answers
    assert wrapped == bare and bare[0] == b"HTTP/1.1 200 OK" and bare[-1] == b"ok"
    request = logged_body(docs_collector, trace)
    text = request["postData"]["text"]
    assert request["bodySize"] == len(text)  # SPEC 4: the bytes received (all kept)
    if sent == b"abc":
        assert text == "abc"
    else:
        assert sent.decode().startswith(text) and len(text) >= len(sent) // 2
    assert request["postData"]["comment"] == (
        f"incomplete: {len(text)} of 100000 bytes could be read without waiting")


@pytest.mark.parametrize("options", [(), ("--post-buffering=4096",)],
                         ids=["streamed", "post-buffering"])
def test_body_sent_in_full(docs_collector: Collector,  # noqa: F811
                           tmp_path: Path, options: tuple[str, ...]) -> None:
    body = b'{"name": "Zo\xc3\xab", "n": 1}'
    trace = uuid.uuid4().hex
    with uwsgi_unix(tmp_path, docs_collector, "plain_app", *options) as path:
        with socket.socket(socket.AF_UNIX) as client:
            client.connect(path)
            client.sendall(packet("/noread", "POST", body_head(len(body)), x_api_key="c",
                                  x_trace=trace) + body)
            assert answer_of(client).startswith(b"HTTP/1.1 200 OK")
        request = logged_body(docs_collector, trace)
    assert request["postData"] == {"mimeType": "application/json", "text": body.decode()}
