"""review111's findings: an adversarial read of exit18 (a signal's exception in the log).

1. A str (not bytes) first chunk under wsgiref's server: wsgiref's write() asserts the
   chunk is bytes before it sends the head and answers its own 500 for the refusal.
   exit18's check of wsgiref's head (``wsgiref_head_unsent``), asked before the refusal
   was, took it for the app's raise: "the server answered 500 itself (the app raised)"
   instead of "(it refused the answer's start)", the reason it had before exit18.
2. The size before a chunk whose record a signal cut short, read back from the
   traceback (exit18's ``_size_before``), was read from the first frame of
   ``Response.__next__`` there: under a middleware of another project outside, that
   middleware's, which had none yet, so nothing was taken back.
3. cheroot, "taken to answer as for any error (not checked)" by exit18's
   ``unanswered_at``, lets a SystemExit or KeyboardInterrupt through (it stops the
   server) and closes the connection: from the app's call with nothing sent, logged as
   the server's 500, which no client got.
"""

from __future__ import annotations

import socket
import sys
from typing import Any, Callable

import pytest

from readme_metrics import MetricsApiConfig, MetricsMiddleware
from tests.support.capture_wrap import only_log, owlbert, wrap_fixture  # noqa: F401
from tests.support.fake_api import INLINE_TIMEOUT, Collector
from tests.support.wsgi_servers import served
from tests.test_e2e_servers import NO_CHEROOT
from tests.test_exit17_findings import _served, _Wire
from tests.test_exit18_findings import _raising_in_record, _read_all, _stream_of, served_once

_REQUEST = b"GET /text HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"


@pytest.mark.e2e
@pytest.mark.parametrize("kind", ["generator", "list"])
def test_wsgirefs_refusal_of_a_str_first_chunk_keeps_its_reason(
        wrap: Callable[..., Any], collector: Collector, kind: str) -> None:
    """A real wsgiref server (in a thread) and an app whose first chunk is a str: the
    client gets wsgiref's own 500, and the log says the server refused the answer's
    start (before this fix, since exit18: "the app raised", which it did not)."""
    def texting(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        start_response("200 OK", [("Content-Type", "text/plain")])
        if kind == "list":
            return ["text, not bytes"]
        return iter(["text, not bytes"])

    with served("wsgiref", wrap(texting)) as port, \
            socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(_REQUEST)
        got = _read_all(sock)
    assert got.startswith(b"HTTP/1.0 500 Internal Server Error\r\n"), got
    response = only_log(collector)["request"]["log"]["entries"][0]["response"]
    assert response["status"] == 500 and response["content"]["size"] == 0, response
    assert response["comment"] == (
        "the server answered 500 itself (it refused the answer's start) and sent none of "
        "the app's answer; the app answered 200"), response


# -- 2. the size read back from the traceback, under a second middleware -------------


def test_a_record_cut_short_in_a_nested_middleware_counts_what_went_out(
        wrap: Callable[..., Any], collector: Collector) -> None:
    """Two of these middlewares, one inside the other (two projects: each logs), under wsgiref's
    handler; a signal lands in the inner one's record of the second chunk, so neither
    hands it on and the client gets "first" only. Both logs say the answer broke off
    after 5 bytes. Before this fix the inner one read the size from the outer one's
    frame of ``Response.__next__`` (the first in the traceback), which had none yet, and
    counted the chunk: size 11, "truncated to 5 of 11 bytes; ... broke off after 11
    bytes"."""
    wire = _Wire()
    inner = MetricsMiddleware(_stream_of((b"first", b"second", b"third")), MetricsApiConfig(
        api_key="rdme_anotherprojectskeyabcdefg", metrics_api=collector.url,
        grouping_function=owlbert, buffer_length=1, background_worker_mode=False,
        timeout=INLINE_TIMEOUT))
    app = wrap(inner)  # (another project's key: each logs)
    sys.settrace(_raising_in_record(b"second", 1, KeyboardInterrupt()))
    try:
        _served(app, wire)
    finally:
        sys.settrace(None)
    assert wire.getvalue().split(b"\r\n\r\n", 1)[1] == b"first"
    logs = collector.wait_for_logs(2)
    assert len(logs) == 2
    for log in logs:
        content = log["request"]["log"]["entries"][0]["response"]["content"]
        assert (content["size"], content["text"]) == (5, "first"), content
        assert content["comment"].startswith(
            "incomplete: the app's answer broke off after 5 bytes"), content
    inner.close()


# -- 3. cheroot and an app's SystemExit -----------------------------------------------

_CHEROOT_APP = """\
import sys

from readme_metrics import MetricsApiConfig, MetricsMiddleware


def chunks():
    sys.exit()
    yield b"never"


def inner(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    if environ["PATH_INFO"] == "/call":
        sys.exit()
    return chunks()


app = MetricsMiddleware(inner, MetricsApiConfig(
    grouping_function=lambda request: {"api_key": "caller-1"}))
"""


@NO_CHEROOT
@pytest.mark.e2e
@pytest.mark.parametrize("where", ["call", "iterable"])
def test_cheroot_and_a_systemexit_before_the_first_chunk(
        collector: Collector, where: str, tmp_path: Any) -> None:
    """cheroot (``python -m cheroot``): an app's ``sys.exit()`` after it started its 200,
    before the server had a chunk. cheroot lets a SystemExit through its connection's
    handler (it stops the server): raised from the app's call, nothing was sent, and the
    client gets the connection closed, logged as no answer (before: "the server answered
    500 itself", which no client got); raised from the iterable, cheroot's ``finally``
    sends the started head first (answers_500): 200, broken off, before and after."""
    from tests.test_e2e_servers import SERVERS

    got, response = served_once(tmp_path, collector, _CHEROOT_APP, where, lambda port:
                                SERVERS["cheroot"](port, "exit18_app:app")[2:])
    if where == "iterable":
        assert got.startswith(b"HTTP/1.1 200 OK\r\n"), got
        assert response["status"] == 200, response
        assert response["content"]["comment"].startswith(
            "incomplete: the app's answer broke off after 0 bytes"), response
    else:
        assert got == b""
        assert (response["status"], response["headers"]) == (500, []), response
        assert response["comment"] == (
            "no answer reached the client: the server stopped serving the request at a "
            "SystemExit and closed the connection; the app answered 200"), response
