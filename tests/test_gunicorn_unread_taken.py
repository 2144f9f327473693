"""An unread body under gunicorn is taken through gunicorn's own ``wsgi.input`` as far as
it has arrived (readme_metrics/capture/rest_gunicorn.py): past the receive buffer's worth
a copy could have, and without costing the client anything, on a kept-alive connection
with a request pipelined behind the body too.

The bare and the wrapped app are served by one server (tests/support/hostile_apps.py):
each exchange is made under both prefixes, and the answers must be the same bytes.
"""

from __future__ import annotations

import socket
import time
from pathlib import Path
from typing import Any

import pytest

from tests.support.fake_api import Collector, free_port
from tests.support.unread_gunicorn import READS_UNREAD
from tests.test_e2e_servers import SERVERS, serve, server_env

pytestmark = [pytest.mark.e2e, READS_UNREAD]

APP = "tests.support.hostile_apps:wsgi_root"
SAFETY = 20.0  # seconds: only reached when a server never answers nor closes
IGNORED = (b"date:", b"server:")


def _post(port: int, prefix: str, path: str, trace: str, body: bytes, declared: int,
          connection: str) -> bytes:
    return (f"POST /{prefix}{path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            f"Content-Type: text/plain\r\nContent-Length: {declared}\r\nX-Trace: {trace}\r\n"
            f"Connection: {connection}\r\n\r\n").encode() + body


def _exchange(port: int, data: bytes, until_close: bool) -> tuple[bytes, float]:
    """(what the server answers, seconds from the last byte sent to the first answer's
    end). ``until_close``: read until the server closes, else until one answer is in."""
    with socket.create_connection(("127.0.0.1", port), timeout=SAFETY) as sock:
        sock.sendall(data)
        sent = time.monotonic()
        answer = b""
        took = None
        while True:
            try:
                chunk = sock.recv(65536)
            except OSError:
                break
            if not chunk:
                break
            answer += chunk
            if took is None and b"\r\n\r\nok" in answer:
                took = time.monotonic() - sent
                if not until_close:
                    break
    return answer, took if took is not None else SAFETY


def _lines(answer: bytes) -> list[bytes]:
    lines = answer.replace(b"/wrap/", b"/bare/").split(b"\r\n")
    return [line for line in lines if not line.lower().startswith(IGNORED)]


def _post_data(collector: Collector, trace: str) -> Any:
    deadline = time.monotonic() + SAFETY
    while time.monotonic() < deadline:
        for log in collector.logs:
            request = log["request"]["log"]["entries"][0]["request"]
            if any(h["name"].lower() == "x-trace" and h["value"] == trace
                   for h in request["headers"]):
                return request.get("postData")
        time.sleep(0.05)
    raise AssertionError(f"no log for {trace}")


@pytest.mark.parametrize("server", ["gunicorn-sync", "gunicorn-gthread"])
@pytest.mark.parametrize("size", [50_000, 200_000])
def test_an_unread_body_then_a_pipelined_request(collector: Collector, tmp_path: Path,
                                                 server: str, size: int) -> None:
    # A body the app never reads (200,000 bytes: more than the ~128 KiB a copy could
    # see), then a second request in the same write. gthread answers the second only
    # when it could drain the first's body (64 KiB at most, gunicorn 27): the wrapped
    # app's answers are the bare one's either way; sync closes after the first.
    body = b"x" * size
    port = free_port()
    answers = {}
    env = server_env(collector, README_MAX_BODY_BYTES="1000000")
    with serve(SERVERS[server](port, APP), env, tmp_path, port):
        for prefix in ("bare", "wrap"):
            data = (_post(port, prefix, "/noread", f"{prefix}-1", body, len(body),
                          "keep-alive")
                    + _post(port, prefix, "/echo", f"{prefix}-2", b"second", 6, "close"))
            answers[prefix] = _exchange(port, data, until_close=True)[0]
        assert _lines(answers["wrap"]) == _lines(answers["bare"])
        assert answers["wrap"].startswith(b"HTTP/1.1 200 ")
        assert answers["wrap"].endswith(b"second") == (
            server == "gunicorn-gthread" and size == 50_000)
        assert _post_data(collector, "wrap-1") == {"mimeType": "text/plain",
                                                    "text": body.decode()}


@pytest.mark.parametrize("server", ["gunicorn-sync", "gunicorn-gthread"])
@pytest.mark.parametrize("sent", [1500, 150_000])
def test_a_body_cut_short_is_taken_as_far_as_it_came_and_the_answer_is_not_late(
        collector: Collector, tmp_path: Path, server: str, sent: int) -> None:
    # 100,000 / 300,000 declared, 1,500 / 150,000 sent, and the client waits: what came
    # is logged (1,500: a 1 KiB read and a copy of the rest, too short for gunicorn's
    # reader to be asked for without a wait), the answer is not later than bare's.
    declared = sent * 2 if sent > 1500 else 100_000
    port = free_port()
    env = server_env(collector, README_MAX_BODY_BYTES="1000000")
    took = {}
    with serve(SERVERS[server](port, APP), env, tmp_path, port):
        # The wrapped app is built at its first request (hostile_apps' built_once): its
        # config and imports (0.2 to 0.6 s, over 1 s at a load of 10) are not the
        # request path's, so they are paid before the timed exchanges.
        _exchange(port, _post(port, "wrap", "/noread", "warm", b"", 0, "close"),
                  until_close=False)
        for prefix in ("bare", "wrap", "bare", "wrap"):
            data = _post(port, prefix, "/noread", f"{prefix}-{len(took)}", b"y" * sent,
                         declared, "keep-alive")
            answer, seconds = _exchange(port, data, until_close=False)
            assert answer.startswith(b"HTTP/1.1 200 "), answer[:100]
            took[f"{prefix}-{len(took)}"] = seconds
        # Waiting for the rest would take SAFETY (the client never sends it); the bound
        # is relative to bare's, so a loaded machine (both slower) does not fail it.
        bare = max(took["bare-0"], took["bare-2"])
        assert max(took["wrap-1"], took["wrap-3"]) < 1.0 + 2 * bare, took
        assert _post_data(collector, "wrap-1") == {
            "mimeType": "text/plain", "text": "y" * sent,
            "comment": f"incomplete: {sent} of {declared} bytes could be read without waiting"}
