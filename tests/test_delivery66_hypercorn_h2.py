"""delivery66: hypercorn leftovers of delivery64, over HTTP/2 (h2c by prior knowledge).

delivery64 logs a client that left hypercorn after its stop cancelled Django's handler
(before the view returned) as gone (499), reading the connection's error: a write into
the connection the client reset failed. Over HTTP/2 the client leaves by resetting its
stream (RST_STREAM, a browser's aborted fetch), its connection alive: hypercorn drops
the view's answer without a word, the connection holds no error, and the log said the
view's 200. The HTTP/2 state machine hypercorn's protocol keeps says who closed the
stream: the client's reset is read there (``asgi_servers.hypercorn_reset``).

Real parts: hypercorn in a subprocess, delivery56's stop site (delivery62's routes), the
loopback collector, an h2 frame client (tests/support/h2c.py). Nothing timed: the view
waits for files the test writes once the server cancelled the handler and the client's
reset reached the site (its ``http.disconnect``). Each case takes 6 to 8 s on the loaded
machine (hypercorn's spawn, its 1 s graceful timeout, the join slowed 1 s), as
delivery62's hypercorn cases.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.fake_api import Collector
from tests.test_delivery56_django_cancelled import SLOW_JOIN, _hypercorn, _stopped_mid_view
from tests.test_delivery62_streamed_stop import SITE

pytest.importorskip("django", minversion="5.0")  # (the handler's own task: 5.0+)
pytest.importorskip("hypercorn")
pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("stream", ["", "late"], ids=["whole", "streamed"])
def test_an_http2_stream_the_client_reset_before_any_answer_is_logged_as_gone(
        collector: Collector, tmp_path: Path, stream: str) -> None:
    """The handler cancelled, the client resets its HTTP/2 stream, then the view returns:
    hypercorn drops the view's answer (the stream is closed), and the client got no
    head and no byte of it. Logged as the client gone before the response started (499,
    no body, the view's 200 quoted), as delivery64 logs HTTP/1.1's client that closed
    its connection (before delivery66: the view's 200 with its body)."""
    got, said, entries = _stopped_mid_view(collector, tmp_path, _hypercorn, SLOW_JOIN + SITE,
                                           leave="reset", D62_STREAM=stream,
                                           D56_NO_HOLD="1")
    assert sorted(entries) == ["quick", "sync"], said
    assert got == b"", (got, said)
    assert entries["sync"]["request"]["httpVersion"] == "HTTP/2"
    response = entries["sync"]["response"]
    assert (response["status"], response["content"]["size"]) == (499, 0), response
    assert response["comment"] == (
        "the client left before the response started and got none of it (499 is "
        "nginx's Client Closed Request); the app answered 200"), response
