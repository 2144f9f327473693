"""asgi5's items: an adversarial pass over the ASGI side under the real servers (raw
sockets, the collector on 127.0.0.1, apps served bare and wrapped side by side in one
server process). Each test failed on main at dc108ce and passes with its fix."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

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
