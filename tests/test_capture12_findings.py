"""capture12: a chunked upload under uWSGI, said as what it is.

uWSGI gives a chunked body with no Content-Length to ``uwsgi.chunked_read()`` alone: none
of it in ``wsgi.input``, under ``--http-socket`` as behind its ``--http`` router with
``--http-chunked-input`` (that option only lets chunked_read() work behind the router).
The log said "incomplete: 0 of a body of unknown length could be read without waiting",
as if the client had not sent it yet; it now says where the body went. The keep-alive
case is in tests/test_uwsgi_http11.py; here the router under --http-chunked-input (real
uWSGI), and the rule itself: only uWSGI, only chunked with no length, only when nothing
was read.
"""

from __future__ import annotations

import io
import socket
import uuid
from pathlib import Path

import pytest

from readme_metrics.capture.body import BodyRecord, WithheldChunks
from readme_metrics.capture.wsgi_request_body import tee_input
from readme_metrics.exchange import WITHHELD_CHUNKED
from readme_metrics.har.bodies import UWSGI_CHUNKED_COMMENT, post_data
from tests.support.fake_api import Collector, free_port
from tests.test_e2e_servers import NO_UWSGI, UWSGI, serve, server_env
from tests.test_slow_client import SAFETY, logged_body, read_answer

CHUNKED = b"3\r\n{\"n\r\n5\r\n\": 1}\r\n0\r\n\r\n"


def _start_response(status: str, headers: list[tuple[str, str]],
                    exc_info: object = None) -> object:
    return None


def _record(environ: dict[str, object]) -> BodyRecord:
    environ.setdefault("wsgi.input", io.BytesIO(b""))
    return tee_input(environ, environ["wsgi.input"], _start_response,  # type: ignore[arg-type]
                     1024).record


@pytest.mark.parametrize(("environ", "withheld"), [
    ({"uwsgi.version": b"2.0.30", "HTTP_TRANSFER_ENCODING": "chunked"}, True),
    # A length uWSGI reads the body by: in wsgi.input, as any.
    ({"uwsgi.version": b"2.0.30", "HTTP_TRANSFER_ENCODING": "chunked",
      "CONTENT_LENGTH": "11"}, False),
    ({"uwsgi.version": b"2.0.30", "CONTENT_LENGTH": "11"}, False),
    ({"HTTP_TRANSFER_ENCODING": "chunked"}, False),  # another server's
])
def test_only_uwsgis_chunked_body_with_no_length_is_withheld(
        environ: dict[str, object], withheld: bool) -> None:
    assert isinstance(_record(environ), WithheldChunks) is withheld


def test_the_comment_says_where_the_body_went_only_when_none_was_read() -> None:
    head = {"content-type": "application/json", "Content-Type": "application/json"}
    none = post_data(b"", -1, head, None, 1024, True, WITHHELD_CHUNKED)
    assert none["comment"] == UWSGI_CHUNKED_COMMENT and none["text"] == ""
    # Bytes read all the same (by the app, through some other way in): as before.
    some = post_data(b"{\"n", 3, head, None, 1024, True, WITHHELD_CHUNKED)
    assert some["comment"] == (
        "incomplete: 3 of a body of unknown length could be read without waiting")
    other = post_data(b"", -1, head, None, 1024, True, -1)
    assert other["comment"] == (
        "incomplete: 0 of a body of unknown length could be read without waiting")


@pytest.mark.e2e
@NO_UWSGI
def test_uwsgi_router_with_http_chunked_input_gives_no_body_either(
        collector: Collector, tmp_path: Path) -> None:
    port = free_port()
    entry = "import tests.support.e2e_apps as m; application = m.plain_app"
    argv = [str(UWSGI), "--http", f"127.0.0.1:{port}", "--http-chunked-input",
            "--eval", entry, "--master", "--die-on-term", "--need-app", "--processes=1"]
    trace = uuid.uuid4().hex
    with serve(argv, server_env(collector), tmp_path, port):
        with socket.create_connection(("127.0.0.1", port), timeout=SAFETY) as sock:
            sock.sendall(
                (f"POST /echo HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Api-Key: router"
                 f"\r\nX-Trace: {trace}\r\nContent-Type: application/json\r\n"
                 "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n").encode()
                + CHUNKED)
            answer = read_answer(sock, SAFETY)
        assert answer.startswith(b"HTTP/1.1 200") and answer.endswith(b"\r\n\r\n")
        request = logged_body(collector, trace)
    assert request["bodySize"] == -1
    assert request["postData"]["comment"] == UWSGI_CHUNKED_COMMENT
