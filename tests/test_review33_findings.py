"""review33's items: an adversarial look at review29's, review32's and the lead's nesting
landings. Each test failed without its fix (on main at cbfc2d6) and passes with it."""

from __future__ import annotations

import socket
import time

import pytest

from tests.support.fake_api import Collector
from tests.support.wsgi_servers import served
from tests.test_hostile8_findings import BODIES, _digest, _logged_body, _middleware, _reads_in_close

# -- 1. werkzeug: the app's own reads in close() went through the discard's tap ---------


def _post_in_two(port: int, body: bytes, split: int, read: list[str]) -> None:
    """POST ``body``: its head and first ``split`` bytes, then, once the answer is in
    (werkzeug's 10 ms discard found nothing to read), the rest, for the app's close()."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                     b"Content-Type: application/octet-stream\r\n"
                     + f"Content-Length: {len(body)}\r\n\r\n".encode() + body[:split])
        answer = b""
        while b"accepted" not in answer:
            data = sock.recv(65536)
            assert data, answer
            answer += data
        time.sleep(0.05)
        sock.sendall(body[split:])
        deadline = time.monotonic() + 10
        while not read and time.monotonic() < deadline:
            time.sleep(0.01)


@pytest.mark.parametrize("kind", ["werkzeug", "werkzeug-unthreaded"])
@pytest.mark.parametrize("background", [True, False], ids=["background", "inline"])
def test_werkzeug_a_close_reading_the_rest_as_it_arrives_is_logged_once(
        collector: Collector, background: bool, kind: str) -> None:
    """Part of the body arrives with the head, the rest after werkzeug's discard found
    nothing to read: the app's close() reads it (bare and wrapped: the whole body). The
    socket under werkzeug's reader was still tapped for the discard then, so the rest the
    app read went to the log twice, once through the tap and once through the tee: a
    2048-byte body logged as 3096 bytes, its last 1048 repeated."""
    body = BODIES["under-the-limit"]
    read: dict[str, list[str]] = {"bare": [], "wrapped": []}
    with served(kind, _reads_in_close(read["bare"])) as port:
        _post_in_two(port, body, 1000, read["bare"])
    middleware = _middleware(_reads_in_close(read["wrapped"]), collector, background)
    with served(kind, middleware) as port:
        _post_in_two(port, body, 1000, read["wrapped"])
    logged = _logged_body(collector, middleware)
    middleware.close()
    assert read["bare"] == [_digest(body)]
    assert read["wrapped"] == read["bare"]
    assert logged == (len(body), body)
