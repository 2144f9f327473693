"""A request with both Transfer-Encoding and Content-Length (RFC 9112 6.3: the
Transfer-Encoding wins, the length means nothing).

werkzeug's development server (``flask run``) passes such a request on with its
CONTENT_LENGTH and a dechunked, terminated ``wsgi.input``; an app reading to the end of
the input (as werkzeug's own request does) gets the whole body. Clamped to the length, the
wrapped app got less than the bare one; a length above the body made the log call a
complete body incomplete. ASGI servers dechunk too: the length must not end the recording
before the last ``http.request`` message does. An unread chunked body that cannot be had
without waiting (an unknown socket reader; ASGI under trio) is logged as incomplete and
of unknown size, never as no body at all; under werkzeug's and wsgiref's servers its
chunks are copied from the connection. tests/test_hostile_servers.py sends the same
requests to the real servers.
"""

from __future__ import annotations

import asyncio
import io
import socket
from typing import Any, Callable

import pytest

from readme_metrics import MetricsApiConfig
from readme_metrics.asgi import MetricsMiddleware as AsgiMiddleware
from readme_metrics.cli.collector.validation import validate_log
from tests.support.asgi import body_messages, http_scope, run
from tests.support.capture_wrap import only_log, owlbert, wrap_fixture  # noqa: F401
from tests.support.fake_api import INLINE_TIMEOUT, Collector
from tests.support.minimal_server import call, environ_for
from tests.support.wsgi_servers import served

LENGTHS = [pytest.param("3", id="length-below-body"), pytest.param("30", id="length-above-body")]


def _request(collector: Collector) -> dict[str, Any]:
    log = only_log(collector)
    assert validate_log(log) == []
    request: dict[str, Any] = log["request"]["log"]["entries"][0]["request"]
    return request


def _reads_to_the_end(environ: dict[str, Any], start_response: Callable[..., Any]
                      ) -> list[bytes]:
    body = environ["wsgi.input"].read()
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [body]


def _chunked_environ(length: str) -> dict[str, Any]:
    return environ_for("POST", content_type="text/plain", length=length,
                       HTTP_TRANSFER_ENCODING="chunked",
                       **{"wsgi.input": io.BytesIO(b"hello"), "wsgi.input_terminated": True})


@pytest.mark.parametrize("length", LENGTHS)
def test_wsgi_terminated_input_is_read_to_its_end(wrap: Any, collector: Collector,
                                                  length: str) -> None:
    bare = call(_reads_to_the_end, _chunked_environ(length))
    wrapped = call(wrap(_reads_to_the_end), _chunked_environ(length))
    assert wrapped.body == bare.body == b"hello"
    request = _request(collector)
    assert (request["postData"]["text"], request["bodySize"]) == ("hello", 5)
    assert "comment" not in request["postData"]


@pytest.mark.parametrize("length", LENGTHS)
def test_asgi_chunked_body_is_recorded_to_its_last_message(collector: Collector,
                                                           length: str) -> None:
    async def noread(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    middleware = AsgiMiddleware(noread, MetricsApiConfig(
        api_key="rdme_framing_key", metrics_api=collector.url, grouping_function=owlbert,
        background_worker_mode=False, timeout=INLINE_TIMEOUT, buffer_length=1))
    scope = http_scope("POST", headers=[(b"content-type", b"text/plain"),
                                        (b"content-length", length.encode()),
                                        (b"transfer-encoding", b"chunked")])
    try:
        asyncio.run(run(middleware, scope, body_messages(b"hel", b"lo")))
    finally:
        middleware.close()
    request = _request(collector)
    assert (request["postData"]["text"], request["bodySize"]) == ("hello", 5)
    assert "comment" not in request["postData"]


def _noread(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"ok"]


def test_wsgi_unread_chunked_body_is_logged_incomplete(wrap: Any, collector: Collector) -> None:
    """A socket-backed, server-dechunked input (werkzeug): nothing is read from it."""
    server, client = socket.socketpair()
    try:
        client.sendall(b"5\r\nhello\r\n0\r\n\r\n")
        environ = environ_for("POST", content_type="text/plain", length=None,
                              HTTP_TRANSFER_ENCODING="chunked",
                              **{"wsgi.input": server.makefile("rb"),
                                 "wsgi.input_terminated": True})
        assert call(wrap(_noread), environ).body == b"ok"
    finally:
        server.close()
        client.close()
    request = _request(collector)
    assert request["bodySize"] == -1
    assert request["postData"]["text"] == ""
    assert request["postData"]["comment"] == (
        "incomplete: 0 of a body of unknown length could be read without waiting")


@pytest.mark.parametrize("kind", ["wsgiref", "werkzeug"])
@pytest.mark.parametrize(("sent", "text", "comment"), [
    pytest.param(b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n", "hello world", None, id="whole"),
    pytest.param(b"5\r\nhello\r\n6\r\n wo", "hello wo",
                 "incomplete: 8 of a body of unknown length could be read without waiting",
                 id="client-stops-sending"),
])
def test_unread_chunked_body_under_a_development_server(
        wrap: Any, collector: Collector, kind: str, sent: bytes, text: str,
        comment: Any) -> None:
    """SPEC 5: a body the view never reads is logged under every server. The development
    servers' readers wait on the client, so the chunks that arrived are copied from the
    connection (nothing consumed): whole, or as far as they came, said incomplete."""
    with served(kind, wrap(_noread)) as port:
        with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
            sock.sendall(b"POST /upload HTTP/1.1\r\nHost: api.example.com\r\n"
                         b"Content-Type: text/plain\r\nTransfer-Encoding: chunked\r\n"
                         b"Connection: close\r\n\r\n" + sent)
            answer = b""
            # The answer comes, and the connection is closed, though the body never ends.
            while data := sock.recv(65536):
                answer += data
        request = _request(collector)
    assert answer.startswith(b"HTTP/1.") and b"ok" in answer.partition(b"\r\n\r\n")[2]
    assert request["postData"]["text"] == text
    assert request["postData"].get("comment") == comment
    # SPEC 4: the bytes received; -1 for a chunked body none of which was had
    assert request["bodySize"] == (len(text) if text or comment is None else -1)


class _AskedInput(io.BytesIO):
    """A server's input that ends at the body's end, noting each read as the app made it."""

    def __init__(self, body: bytes) -> None:
        super().__init__(body)
        self.asked: list[tuple[str, tuple[Any, ...]]] = []

    def read(self, *args: Any) -> bytes:
        self.asked.append(("read", args))
        return super().read(*args)

    def readline(self, *args: Any) -> bytes:
        self.asked.append(("readline", args))
        return super().readline(*args)


def _reads_every_way(environ: dict[str, Any], start_response: Callable[..., Any]
                     ) -> list[bytes]:
    stream = environ["wsgi.input"]
    parts = [stream.readline(), stream.read(100), stream.read(), stream.readline(7)]
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"|".join(parts)]


def test_wsgi_terminated_input_gets_the_reads_the_app_makes(wrap: Any,
                                                            collector: Collector) -> None:
    """With ``wsgi.input_terminated`` (gunicorn, waitress, granian) the server ends the
    input, and its reads can answer differently by size (granian: ``read()`` of a body
    cut short gives b"", ``read(10)`` what arrived): each read reaches it as the app
    made it, not held to CONTENT_LENGTH. The body is logged whole."""
    body = b"line\nrest of it"

    def environ(stream: _AskedInput) -> dict[str, Any]:
        return environ_for("POST", body=body, content_type="text/plain",
                           **{"wsgi.input": stream, "wsgi.input_terminated": True})

    bare_input, wrapped_input = _AskedInput(body), _AskedInput(body)
    bare = call(_reads_every_way, environ(bare_input))
    wrapped = call(wrap(_reads_every_way), environ(wrapped_input))
    assert wrapped.body == bare.body == b"line\n|rest of it||"
    assert wrapped_input.asked == bare_input.asked
    request = _request(collector)
    assert (request["postData"]["text"], request["bodySize"]) == (body.decode(), len(body))
