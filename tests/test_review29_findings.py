"""review29's items: an adversarial look at hostile8's, odds11's and house2's landings.
Each test failed without its fix (on main at 9926957) and passes with it."""

from __future__ import annotations

import socket
import time

import pytest

from tests.support.fake_api import Collector
from tests.support.wsgi_servers import served
from tests.test_hostile8_findings import BODIES, _digest, _logged_body, _middleware, _reads_in_close

# -- 1. werkzeug: a body already in its reader's buffer, read in close() ----------------


def _post_to_werkzeug(port: int, body: bytes, read: list[str], hang_up: bool) -> bytes:
    """POST ``body`` with its head in one write, so that werkzeug's reader buffers it
    whole with the head. ``hang_up``: the client shuts its side right after (werkzeug's
    discard then finds the connection readable, and throws the buffered body away);
    else it keeps the connection open until the app's close() has read (werkzeug's
    discard finds nothing to read in its 10 ms, and leaves the buffer as it is)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                     b"Content-Type: application/octet-stream\r\n"
                     + f"Content-Length: {len(body)}\r\n\r\n".encode() + body)
        if hang_up:
            sock.shutdown(socket.SHUT_WR)
        answer = b""
        while not answer.endswith(b"accepted"):
            data = sock.recv(65536)
            if not data:
                break
            answer += data
        deadline = time.monotonic() + 10
        while not read and time.monotonic() < deadline:
            time.sleep(0.01)
    return answer


@pytest.mark.parametrize("hang_up", [False, True], ids=["kept-open", "hung-up"])
@pytest.mark.parametrize("background", [True, False], ids=["background", "inline"])
def test_werkzeug_a_close_reading_a_buffered_body_reads_what_it_reads_bare(
        collector: Collector, background: bool, hang_up: bool) -> None:
    """werkzeug discards the unread body before close() only when the connection is
    readable within 10 ms; a body sent with its head is in its reader's buffer already,
    and a client that keeps the connection open (keep-alive) leaves it there: bare, the
    app's close() reads it whole. Wrapped, the middleware had read it for the log as the
    iterable ended (record_discarded) and kept none of it (hostile8 kept the rest for
    the app everywhere but werkzeug and runserver): close() read b"". A client that hangs
    up makes werkzeug throw the buffer away: b"" bare and wrapped. The log has the body
    either way."""
    body = BODIES["under-the-limit"]
    answers, read = {}, {}
    for side in ("bare", "wrapped"):
        read[side] = []
        app = _reads_in_close(read[side])
        middleware = _middleware(app, collector, background) if side == "wrapped" else None
        with served("werkzeug", middleware or app) as port:
            answers[side] = _post_to_werkzeug(port, body, read[side], hang_up)
        if middleware is not None:
            logged = _logged_body(collector, middleware)
            middleware.close()
    assert answers["wrapped"].split(b"\r\n", 1)[0] == answers["bare"].split(b"\r\n", 1)[0]
    assert read["bare"] == [_digest(b"" if hang_up else body)]
    assert read["wrapped"] == read["bare"]
    assert logged == (len(body), body)
