"""flaky58: an unread body the client sends late still reaches the twins' log whole, the
app waiting for it (tests/support/body_sent.py).

tests/test_twins19_wsgi_asgi.py compares the log of a body the app leaves unread under
WSGI and ASGI servers. urllib3 sends a request's head and body apart; a client
descheduled between them (a loaded machine) sent the body after the capture's grace
(SPEC 5: read as far as it has arrived), and hypercorn's log said "incomplete: 0 of 93
bytes" (7 of 1,000 at load ~20). Here the client waits 0.1 s between the head and the
body, as such a client did: with the mark the twin app answers once the body is in the
server's hands, and the log has all of it.
"""

from __future__ import annotations

import socket
import time
from pathlib import Path

import pytest

from tests.support import body_sent
from tests.support.fake_api import Collector, free_port
from tests.test_e2e_servers import CALLER, serve, server_env
from tests.test_twins19_wsgi_asgi import JSON_BODY, argv

pytestmark = pytest.mark.e2e

#: Longer than the capture's grace (5 ms under ASGI, 50 ms under WSGI), by far.
LATE = 0.1


def late_post(port: int, marks: Path) -> bytes:
    """POST /noread with its body sent ``LATE`` after its head; the mark touched once the
    body went out. Returns the answer."""
    mark = marks / "late"
    mark.unlink(missing_ok=True)
    head = (f"POST /noread HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(JSON_BODY)}\r\n"
            f"X-Api-Key: {CALLER}\r\nX-Twin-Config: plain\r\n{body_sent.HEADER}: late\r\n"
            "Connection: close\r\n\r\n").encode()
    with socket.create_connection(("127.0.0.1", port)) as conn:
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        conn.sendall(head)
        time.sleep(LATE)
        conn.sendall(JSON_BODY)
        mark.touch()
        answer = b""
        while chunk := conn.recv(65536):
            answer += chunk
    return answer


@pytest.mark.parametrize("server", ["hypercorn", "uvicorn", "gunicorn"])
def test_a_body_sent_late_is_logged_whole(server: str, collector: Collector,
                                          tmp_path: Path) -> None:
    marks = tmp_path / "marks"
    marks.mkdir()
    port = free_port()
    env = server_env(collector, **{body_sent.MARKS_ENV: str(marks)})
    with serve(argv(server, port), env, tmp_path, port):
        answer = late_post(port, marks)
        assert answer.startswith(b"HTTP/1.1 200"), answer[:200]
        log, = collector.wait_for_logs(1)
    request = log["request"]["log"]["entries"][0]["request"]
    assert (request["bodySize"], request["postData"].get("comment")) == (len(JSON_BODY), None)
