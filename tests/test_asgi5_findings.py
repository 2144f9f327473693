"""asgi5's items: an adversarial pass over the ASGI side under the real servers (raw
sockets, the collector on 127.0.0.1, apps served bare and wrapped side by side in one
server process). Each test failed on main at dc108ce and passes with its fix."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from readme_metrics.capture.asgi_messages import CLIENT_GONE_COMMENT
from tests.support.asgi_cases import LATE
from tests.support.fake_api import Collector, free_port
from tests.test_asgi_client_got import ALL, _entries, _servers
from tests.test_asgi_conformance import SAFETY, _raw
from tests.test_e2e_servers import serve, server_env
from tests.test_odds12_findings import GZIP_OUTSIDE
from tests.test_slow_client import normalized, read_answer

pytestmark = pytest.mark.e2e

# -- 1. Expect: 100-continue behind a middleware outside that holds the start ------------

_BODY = b"z" * 100


def _expecting(port: int, prefix: str, trace: str, with_body: bool) -> bytes:
    """POST /noread with ``Expect: 100-continue``: the body sent with the head, or (as
    curl and browsers do) held back until a 100 Continue, which never comes from the
    bare app: the client gets the final answer instead, and sends no body."""
    head = _raw(port, prefix, trace, "POST", "/noread", b"", "Expect: 100-continue",
                "Content-Type: text/plain", f"Content-Length: {len(_BODY)}")
    with socket.create_connection(("127.0.0.1", port), timeout=SAFETY) as sock:
        sock.sendall(head + (_BODY if with_body else b""))
        return read_answer(sock, SAFETY)


@pytest.mark.parametrize("server", _servers("uvicorn-h11", "uvicorn-httptools"))
def test_no_100_continue_behind_a_middleware_outside_that_holds_the_start(
        collector: Collector, tmp_path: Path, server: str) -> None:
    """Starlette's GZipMiddleware added after the metrics middleware (so outside it)
    holds the app's response start until the first body message. The capture took the
    start as written once GZip's ``send`` returned, and read the unread body before the
    last body message: uvicorn, still waiting to send its 100 Continue (its start had
    not come), answered ``HTTP/1.1 100 Continue`` before the 200, asking the client for
    a body the app never read (the bare app's client got the 200 alone). No read then:
    the body is logged as far as it could be read without asking for it (none)."""
    port = free_port()
    answers = {}
    with serve(ALL[server](port, GZIP_OUTSIDE), server_env(collector), tmp_path, port):
        for case in ("waits", "sends"):
            for prefix in ("bare", "wrap"):
                answers[prefix, case] = _expecting(port, prefix, case, case == "sends")
        entries = _entries(collector, 2)
    for case in ("waits", "sends"):
        assert b"100 Continue" not in answers["wrap", case], answers["wrap", case]
        assert normalized(answers["wrap", case], server) == normalized(
            answers["bare", case], server)
    assert [entries[case]["response"]["status"] for case in ("waits", "sends")] == [200, 200]
    waited = entries["waits"]["request"]["postData"]
    assert waited["text"] == "" and waited["comment"].startswith("incomplete: 0 of 100")


# -- 2. HTTP/2: a stream the client cancelled, its connection kept open -------------------


@pytest.mark.parametrize("server", _servers("hypercorn", "hypercorn-trio"))
def test_an_http2_stream_the_client_reset_is_logged_as_far_as_it_went(
        collector: Collector, tmp_path: Path, server: str) -> None:
    """Over HTTP/2 (h2c) the client reads four chunks of ``/left`` and cancels the
    stream (RST_STREAM: a browser's aborted fetch, a closed EventSource), keeping the
    connection for its other streams; the app, never calling ``receive``, streams
    LATE more chunks. hypercorn drops them (the stream is gone), but its connection is
    alive, so nothing the capture asked told that the client had left: the log said
    the whole stream was sent (1,722 bytes where the client got 32). A hypercorn
    HTTP/2 stream is closed only by a reset, the connection's end or its own end: once
    it is, what is sent goes nowhere. Logged as HTTP/1.1's client that left mid-answer
    is, with the trio worker too: its comment says the client left before the answer's
    end (delivery66)."""
    from tests.support.h2c import h2_reset_after

    port = free_port()
    barrier = tmp_path / "barrier"
    with serve(ALL[server](port, "tests.support.asgi_cases:plain_root"),
               server_env(collector), tmp_path, port):
        got = h2_reset_after(port, f"/wrap/left?barrier={barrier}", b"chunk 3\n",
                             barrier.touch, lambda: bool(collector.logs),
                             (("x-trace", "left"),), SAFETY)
        entry = _entries(collector, 1)["left"]
    content = entry["response"]["content"]
    assert entry["request"]["httpVersion"] == "HTTP/2"
    assert got == b"chunk 0\nchunk 1\nchunk 2\nchunk 3\n"
    assert content["text"].startswith(got.decode())
    assert content["size"] == len(content["text"].encode())
    everything = len(got) + sum(len(b"late %d\n" % i) for i in range(LATE))
    assert content["size"] < everything, "logged as sent in full"
    # delivery66: and marked as HTTP/1.1's client that left mid-answer is (capture11),
    # under each worker (it fails with hypercorn_dead's HTTP/2 branch taken out)
    assert "the client left before the answer's end" in content.get("comment", ""), content


@pytest.mark.parametrize("server", _servers("hypercorn", "hypercorn-trio"))
def test_an_http2_stream_reset_before_the_answer_is_logged_as_closed_by_the_client(
        collector: Collector, tmp_path: Path, server: str) -> None:
    """The same when the client cancels the stream before the response starts (the app,
    ``/late``, answers once the barrier exists, never calling ``receive``): the client got
    nothing, and the log said 200 with the app's body. It is a 499, as over HTTP/1."""
    from tests.support.h2c import h2_reset_after

    port = free_port()
    barrier = tmp_path / "barrier"
    with serve(ALL[server](port, "tests.support.asgi_left:plain_root"),
               server_env(collector), tmp_path, port):
        got = h2_reset_after(port, f"/wrap/late?barrier={barrier}", b"", barrier.touch,
                             lambda: bool(collector.logs), (("x-trace", "late"),), SAFETY)
        response = _entries(collector, 1)["late"]["response"]
    assert got == b""
    assert (response["status"], response["content"]["size"]) == (499, 0)
    assert response["comment"] == CLIENT_GONE_COMMENT + "; the app answered 200"
