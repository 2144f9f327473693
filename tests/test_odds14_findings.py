"""odds14: ASGI leftovers under the real servers (uvicorn with h11 and httptools,
hypercorn, granian, daphne), each serving tests/support/asgi_cases.py bare and wrapped
in one process, against the collector on 127.0.0.1.

1. ``Expect: 100-continue``: the capture never asked for a body sent with it, so a body
   the client sent all the same (without waiting for the 100, or after hypercorn's or
   daphne's own) was logged empty, "incomplete", though the server had it. It is read
   now once the response head is written, when no server answers 100 any more; a
   client that waits for the 100 is still never asked for its body.
"""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import pytest

from tests.support.fake_api import Collector, free_port
from tests.test_asgi_client_got import ALL, _servers
from tests.test_asgi_conformance import SAFETY, _exchange, _raw, _trace_of, _wait_logs
from tests.test_e2e_servers import serve, server_env
from tests.test_slow_client import IGNORED_HEADERS, read_answer

pytestmark = pytest.mark.e2e

PLAIN = "tests.support.asgi_cases:plain_root"
EXPECT = ("Expect: 100-continue", "Content-Type: application/json")
# The servers that answer 100 Continue only when the app first calls receive().
ON_RECEIVE = ("uvicorn-h11", "uvicorn-httptools", "granian")


def _entries(collector: Collector, traces: Path) -> dict[str, dict[str, Any]]:
    """Each call that reached the wrapped app, logged once: trace -> its entry."""
    reached = traces.read_text(encoding="latin-1").split()
    logs = _wait_logs(collector, traces, len(reached))
    logged = [_trace_of(log) for log in logs]
    assert sorted(logged) == sorted(reached), "each call logged once"
    return {_trace_of(log): log["request"]["log"]["entries"][0] for log in logs}


def _lines(answer: bytes, server: str) -> list[bytes]:
    """The answer's lines but the Date, Server and x-documentation-url headers (and
    granian's Connection, which it sends or not by timing, bare too), in every head: a
    100 Continue comes before the final one."""
    ignored = IGNORED_HEADERS + ((b"connection:",) if server == "granian" else ())
    return [line for line in answer.split(b"\r\n") if not line.lower().startswith(ignored)]


def _waiting(port: int, prefix: str, trace: str, path: str, body: bytes) -> bytes:
    """A client that waits for 100 Continue: its head only; the body once the 100 came
    (never, if the answer came first). What it got, to the close."""
    with socket.create_connection(("127.0.0.1", port), timeout=SAFETY) as sock:
        sock.sendall(_raw(port, prefix, trace, "POST", path, b"", *EXPECT, length=len(body)))
        first = read_answer(sock, SAFETY, until=b"\r\n\r\n")
        if first.startswith(b"HTTP/1.1 100"):
            sock.sendall(body)
        return first + read_answer(sock, SAFETY)


@pytest.mark.parametrize("server", _servers("uvicorn-h11", "uvicorn-httptools", "hypercorn",
                                             "granian", "daphne"))
def test_expect_100_continue_same_wire_and_the_body_sent_is_logged(
        collector: Collector, tmp_path: Path, server: str) -> None:
    """Bare, uvicorn and granian answer 100 only when the app first calls ``receive``;
    hypercorn and daphne send it before the app runs (daphne calls the app only once
    the whole body is in). Wrapped, each answer is the bare app's bytes: the capture
    forces no 100 (reading before granian writes the head, which it does with the first
    body message, made hyper send one), and the log has the body the client sent."""
    body = b'{"sent": "with its head"}'
    traces = tmp_path / "traces"
    port = free_port()
    env = server_env(collector, ASGI_TRACES=str(traces))
    differ = {}
    # granian hands the body over from its own threads: on a loaded machine it can miss
    # the read's 5 ms grace (asgi_receive.GRACE), then the log says "incomplete".
    tries = 3 if server == "granian" else 1
    with serve(ALL[server](port, PLAIN), env, tmp_path, port):
        for attempt in range(tries):
            # Sent with its head, not waiting for the 100; the app does not read it.
            bare, wrapped = (_lines(_exchange(port, _raw(
                port, prefix, f"{prefix}-together-{attempt}", "POST", "/noread", body,
                *EXPECT)), server) for prefix in ("bare", "wrap"))
            if wrapped != bare:
                differ[f"together-{attempt}"] = (bare, wrapped)
        if server != "daphne":  # which waits for the body before it calls the app
            # Waits for the 100; the app answers without reading: never asked for it.
            bare, wrapped = (_lines(_waiting(port, prefix, f"{prefix}-waits", "/noread",
                                                 body), server) for prefix in ("bare", "wrap"))
            if wrapped != bare:
                differ["waits"] = (bare, wrapped)
            if server in ON_RECEIVE:
                assert not wrapped[0].startswith(b"HTTP/1.1 100"), wrapped
        # Waits for the 100, then sends; the app reads it (asks for the 100 itself).
        bare, wrapped = (_lines(_waiting(port, prefix, f"{prefix}-echo", "/echo", body),
                                    server) for prefix in ("bare", "wrap"))
        if wrapped != bare:
            differ["echo"] = (bare, wrapped)
        assert wrapped[-1] == body
        entries = _entries(collector, traces)
    assert not differ, f"answers differ (bare, wrapped): {differ}"
    together = [entries[f"wrap-together-{attempt}"]["request"] for attempt in range(tries)]
    assert {request["bodySize"] for request in together} == {len(body)}
    assert {"mimeType": "application/json", "text": body.decode()} in [
        request["postData"] for request in together], together
    if server in ON_RECEIVE:  # (hypercorn's 100 brought the body: there in time or not)
        assert entries["wrap-waits"]["request"]["postData"] == {
            "mimeType": "application/json", "text": "",
            "comment": f"incomplete: 0 of {len(body)} bytes could be read without waiting"}
    assert entries["wrap-echo"]["request"]["postData"]["text"] == body.decode()
