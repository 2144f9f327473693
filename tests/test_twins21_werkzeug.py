"""werkzeug's server: the unread body copied as the answer's first chunk goes out
(``InputRest.record_held``, twins21) is neither counted twice nor taken from the app.

An app that answers first and reads its body while it streams the answer (werkzeug
hands it the body from the same connection reader the copy looked into) gets every
byte, once, in order, and the log has the body as sent, whatever the body's size and
however the app reads it (hypothesis: sizes under and over max_body_bytes, reads of any
length, stopping anywhere). The client shuts its side once it has sent the request:
werkzeug's discard of an unread rest reads until the client's end (a blocking 10 MB
read), so a client that waits for the connection to close waits for ever, bare too.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from readme_metrics import MetricsApiConfig, MetricsMiddleware
from tests.support.fake_api import INLINE_TIMEOUT, Collector
from tests.support.raw_requests import half_closed_answer
from tests.support.wsgi_servers import served

LIMIT = 4096  # max_body_bytes


def reading_late(reads: list[int], got: list[bytes]) -> Any:
    """A WSGI app whose answer's first chunk goes out before it reads its body, then
    reads it in ``reads`` (sizes) and answers what it got; ``got``: those bytes."""

    def app(environ: dict[str, Any], start_response: Any) -> Iterator[bytes]:
        start_response("200 OK", [("Content-Type", "text/plain")])
        yield b"first\n"
        stream = environ["wsgi.input"]
        left = int(environ.get("CONTENT_LENGTH") or 0)
        for size in reads:
            data = stream.read(min(size, left))
            got.append(data)
            left -= len(data)
            if not data or not left:
                break
        yield b"".join(got)

    return app


@pytest.fixture
def collector() -> Iterator[Collector]:
    made = Collector().start()
    yield made
    made.stop()


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(size=st.integers(1, 3 * LIMIT), reads=st.lists(st.integers(1, 5000), max_size=6))
def test_a_body_read_after_the_first_chunk_is_logged_once(
        collector: Collector, size: int, reads: list[int]) -> None:
    body = bytes(i % 251 for i in range(size))
    got: list[bytes] = []
    middleware = MetricsMiddleware(reading_late(reads, got), MetricsApiConfig(
        api_key="rdme_twins21_project_key", metrics_api=collector.url, buffer_length=1,
        grouping_function=lambda request: {"api_key": "twins21-caller"},
        background_worker_mode=False, timeout=INLINE_TIMEOUT, max_body_bytes=LIMIT))
    with served("werkzeug", middleware) as port:
        answer = half_closed_answer(port, (
            b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
            b"Content-Type: application/octet-stream\r\n"
            + f"Content-Length: {size}\r\n\r\n".encode() + body), timeout=10)
    middleware.close()
    read = b"".join(got)
    assert body.startswith(read)  # the app's reads: in order, nothing lost nor repeated
    assert answer.endswith(b"6\r\nfirst\n\r\n" + (
        f"{len(read):x}\r\n".encode() + read + b"\r\n" if read else b"") + b"0\r\n\r\n")
    request = collector.logs[-1]["request"]["log"]["entries"][0]["request"]
    logged = base64.b64decode(request["postData"]["text"])
    assert request["bodySize"] == size, request["postData"].get("comment")
    assert logged == body[:LIMIT], request["postData"].get("comment")
