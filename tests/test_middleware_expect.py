"""``Expect: 100-continue`` with a body the app leaves unread (SPEC section 5).

The client sends such a body only once the server asks for it (or after a wait of its
own), and some servers ask when the app reads (uvicorn, mod_wsgi, uWSGI): the capture
must not read such a connection for it, or the server would ask after its answer. What
the server already holds is another matter: waitress answers 100 Continue itself and
spools the whole body before calling the app. The servers over a socket reader (werkzeug,
runserver, wsgiref) answer 100 Continue before they call the app, or never: what has
arrived there is read like any unread body. When the body could not be had, the HAR
comment says it is incomplete (as for a client that declares more than it sends), never
that it was "truncated" to 0 bytes, which is what max_body_bytes does.
"""

from __future__ import annotations

import socket
from typing import Any, Callable

import pytest

from readme_metrics.cli.collector.validation import validate_log
from tests.support.capture_wrap import only_log, wrap_fixture  # noqa: F401 - the fixture
from tests.support.fake_api import Collector
from tests.support.minimal_server import call, environ_for
from tests.support.wsgi_servers import served

SAFETY = 20.0  # seconds: far beyond any answer here, far below the GRACE patched in


def _noread(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"refused"]


def _post_data(collector: Collector) -> dict[str, Any]:
    log = only_log(collector)
    assert validate_log(log) == []
    post: dict[str, Any] = log["request"]["log"]["entries"][0]["request"]["postData"]
    return post


def test_a_body_the_server_spooled_is_recorded(wrap: Any, collector: Collector) -> None:
    environ = environ_for("POST", body=b"hello", content_type="text/plain",
                          HTTP_EXPECT="100-continue")
    assert call(wrap(_noread), environ).body == b"refused"
    post = _post_data(collector)
    assert post["text"] == "hello" and "comment" not in post


def _socket_post(wrap: Any, sent: bytes) -> None:
    """A POST declaring ``hello`` over a socket-backed input (werkzeug, wsgiref), of
    which the client has sent ``sent``."""
    server, client = socket.socketpair()
    try:
        client.sendall(sent)
        environ = environ_for("POST", content_type="text/plain", length="5",
                              HTTP_EXPECT="100-continue", **{"wsgi.input": server.makefile("rb")})
        assert call(wrap(_noread), environ).body == b"refused"
    finally:
        server.close()
        client.close()


def test_a_body_sent_over_a_socket_reader_is_recorded(wrap: Any, collector: Collector) -> None:
    _socket_post(wrap, b"hello")
    post = _post_data(collector)
    assert post["text"] == "hello" and "comment" not in post


def test_a_body_not_sent_is_incomplete_not_truncated(wrap: Any, collector: Collector) -> None:
    _socket_post(wrap, b"")
    post = _post_data(collector)
    assert post["text"] == ""
    assert post["comment"].startswith("incomplete")


@pytest.fixture
def long_grace(monkeypatch: pytest.MonkeyPatch) -> None:
    """The wait for a body in flight, 60 s: a wait entered outlasts SAFETY."""
    monkeypatch.setattr("readme_metrics.capture.wsgi_response.GRACE", 60.0)


def _answer(client: socket.socket) -> bytes:
    """All of the answer: wsgiref closes the connection after it."""
    data = b""
    while chunk := client.recv(65536):
        data += chunk
    return data


@pytest.mark.parametrize("framing", ["Content-Length: 5", "Transfer-Encoding: chunked"])
def test_wsgiref_does_not_wait_for_a_body_it_never_asked_for(
        wrap: Any, collector: Collector, long_grace: None, framing: str) -> None:
    """wsgiref never answers 100 Continue, so a client that waits for it sends no body:
    the capture must not wait for one (GRACE, 60 s here) in close(), which would hold
    wsgiref's one thread. The client gets the end of the answer (no Content-Length:
    the connection closes), the next client is served, and the log says the body is
    incomplete."""
    with served("wsgiref", wrap(_noread)) as port:
        with socket.create_connection(("127.0.0.1", port), timeout=SAFETY) as client:
            client.sendall(f"POST / HTTP/1.1\r\nHost: x\r\n{framing}\r\n"
                           "Content-Type: text/plain\r\n"
                           "Expect: 100-continue\r\n\r\n".encode())
            answer = _answer(client)  # times out if the capture waits
        assert answer.startswith(b"HTTP/1.0 200 ") and answer.endswith(b"\r\n\r\nrefused")
        post = _post_data(collector)
        assert post["text"] == ""
        assert post["comment"].startswith("incomplete")
        with socket.create_connection(("127.0.0.1", port), timeout=SAFETY) as client:
            client.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            assert _answer(client).endswith(b"refused")
