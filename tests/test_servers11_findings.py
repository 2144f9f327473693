"""servers11's findings: request and response bodies under the servers people run
(the leftovers of servers10 and hostile14), each under a real server and a raw socket.

1. The Django adapter's answer shorter than its own Content-Length (a view setting
   ``Content-Length: 20`` on 8 bytes) left the client a broken answer and the log said
   nothing; the WSGI and ASGI middlewares say so (servers10): the Django one does now,
   under WSGI servers and Django's ASGI handler alike.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.fake_api import Collector, free_port
from tests.test_asgi_servers import SERVERS as ASGI_SERVERS
from tests.test_e2e_servers import (
    CALLER,
    describe,
    django_env,
    entry_of,
    raw_answer,
    serve,
    serving_django,
)

pytestmark = pytest.mark.e2e

# -- 1. the Django adapter: an answer shorter than its own Content-Length ------------------

DJANGO_SHORT = ("incomplete: the app's answer was shorter than its Content-Length: 8 of 20 "
                "bytes; the client's answer was cut short there")


def _django_short(port: int, collector: Collector) -> tuple[bytes, dict]:
    answer = raw_answer(port, f"GET /length-lie?n=20 HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                              f"X-Api-Key: {CALLER}\r\nConnection: close\r\n\r\n".encode())
    logs = collector.wait_for_logs(1)
    assert len(logs) == 1, describe(logs)
    return answer, entry_of(logs[0])["response"]["content"]


@pytest.mark.parametrize("server", ["gunicorn-sync", "runserver", "waitress"])
def test_a_django_answer_shorter_than_its_content_length_is_logged_so(
        server: str, collector: Collector, tmp_path: Path) -> None:
    with serving_django(server, collector, tmp_path) as port:
        answer, content = _django_short(port, collector)
    assert answer.partition(b"\r\n\r\n")[2] == "caf\u00e9 ok".encode()  # 8 of the 20
    assert (content["size"], content["comment"]) == (8, DJANGO_SHORT)


@pytest.mark.parametrize("server", ["uvicorn", "daphne"])
def test_a_django_asgi_answer_shorter_than_its_content_length_is_logged_so(
        server: str, collector: Collector, tmp_path: Path) -> None:
    port = free_port()
    with serve(ASGI_SERVERS[server](port, "tests.support.e2e_apps:django_asgi_app"),
               django_env(collector), tmp_path, port):
        answer, content = _django_short(port, collector)
    assert answer.partition(b"\r\n\r\n")[2] == "caf\u00e9 ok".encode()
    assert (content["size"], content["comment"]) == (8, DJANGO_SHORT)
