"""blackbox16: a client leaving Apache + mod_wsgi mid-upload and mid-stream, the app bare
and wrapped (the plain middleware, Flask's extension), a real collector on 127.0.0.1.

What was seen (no defect): mid-upload, mod_wsgi's ``wsgi.input.read`` raises
``OSError: mod_wsgi request data read error`` in the app, bare and wrapped alike (the
wrapper passes it on, its frames in the traceback), and the call is logged once as
the 500 the app's error makes, with no body (the app read none of it); mid-stream,
mod_wsgi stops iterating once its write fails, and the log has the 200 and the bytes
the app gave before then (at least what the client read), nothing said by the
library. Skipped where mod_wsgi-express or Apache is not installed."""

from __future__ import annotations

import socket
from typing import Any

import pytest

from tests.support.fake_api import Collector
from tests.support.mod_wsgi_express import Express, unavailable
from tests.support.polling import wait_until

REASON = unavailable()
pytestmark = [pytest.mark.skipif(REASON is not None, reason=REASON or ""),
              pytest.mark.timeout(240)]

READ_ERROR = "OSError: mod_wsgi request data read error"
#: 64 KiB parts the stream has: far more than the sockets between hold.
PARTS = 400


@pytest.fixture
def collector() -> Any:
    api = Collector().start()
    yield api
    api.stop()


def _upload_and_leave(server: Express) -> None:
    """A POST that says 100,000 bytes and sends 1,000, then closes."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as sock:
        sock.sendall(b"POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n"
                     + b"y" * 1000)
    wait_until(lambda: READ_ERROR in server.log, 30)


def _stream_and_leave(server: Express) -> int:
    """A GET of a 25 MiB stream, left after 200 KB; the bytes read."""
    read = 0
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as sock:
        sock.sendall(b"GET /big/%d HTTP/1.1\r\nHost: x\r\n\r\n" % PARTS)
        while read < 200_000:
            chunk = sock.recv(65536)
            if not chunk:
                break
            read += len(chunk)
    return read


@pytest.mark.parametrize("kind", ["bare", "plain", "flask"])
def test_a_client_leaving_mid_upload_and_mid_stream(collector: Collector, kind: str) -> None:
    with Express(kind, collector.url, "--processes", "1", "--threads", "5") as server:
        _upload_and_leave(server)
        read = _stream_and_leave(server)
        if kind != "bare":
            wait_until(lambda: len(collector.logs) == 2, 30)
        log = server.stop()
    assert log.count(READ_ERROR) == 1, log  # the app saw the same error, bare or not
    assert "readme_metrics:" not in log  # no line of the library's
    if kind == "bare":
        assert collector.logs == []
        return
    entries = {entry["request"]["url"]: entry for entry in
               (log_["request"]["log"]["entries"][0] for log_ in collector.logs)}
    upload, stream = entries["http://x/up"], entries[f"http://x/big/{PARTS}"]
    assert upload["response"]["status"] == 500
    assert not upload["request"].get("postData", {}).get("text")
    assert stream["response"]["status"] == 200
    assert read <= stream["response"]["content"]["size"] < PARTS * 65536
