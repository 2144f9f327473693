"""servers10's findings: request and response bodies as the client and the server saw them.

1. A client that declares a Content-Length of 24, sends 17 bytes and stops had its
   request logged with bodySize 24: SPEC 4 says the bytes received (17); the comment
   still says "incomplete: 17 of 24 bytes".
2. cheroot never recorded a body the app left unread: on a connection it keeps alive it
   reads the rest itself, through its own input, past the tee, as it sends the head; on
   one it closes nothing read it ("incomplete: 0 of N bytes").
3. A body the app never received, larger than max_body_bytes (10 MB under uvicorn and
   hypercorn), was logged "truncated to 65536 of 10485760 bytes", as a whole body read
   and cut would be: the log now says that only what was drained was read.
4. An app that returns less than its own Content-Length, raising nothing, left the
   client a broken answer (the servers send what they got, then close, or leave the
   client waiting) and the log said nothing: it says so now, under every WSGI server
   and uvicorn and hypercorn.
5. hypercorn over HTTP/2 answers an app whose only message is ``http.response.trailers``
   (gRPC's trailers-only answer) with a 200 carrying those headers: it was logged as the
   server's 500 for an app that never started its response.

Each under real servers, raw sockets (tests/support/hostile_apps.py; h2c for 5), the
bare app's answer the same as the wrapped one's.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import pytest

from readme_metrics.capture.body import BodyRecord
from tests.support.exchanges import entry_of, post
from tests.support.fake_api import Collector, free_port
from tests.test_e2e_servers import NO_CHEROOT, serve, server_env
from tests.test_hostile_servers import (
    SERVERS,
    _answer,
    _body_sent,
    _pipelined,
    _post,
    _request,
    _trace_of,
)

pytestmark = pytest.mark.e2e

LIMIT = 65536


def _declaring(declared: int, sent: int) -> Callable[[int, str, str], bytes]:
    """A POST to /noread declaring ``declared`` bytes and sending ``sent`` of them."""
    def make(port: int, prefix: str, trace: str) -> bytes:
        return (f"POST /{prefix}/noread HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                f"X-Trace: {trace}\r\nConnection: close\r\nContent-Type: text/plain\r\n"
                f"Content-Length: {declared}\r\n\r\n").encode() + b"a" * sent
    return make


def _logged(server: str, collector: Collector, tmp_path: Path,
            cases: dict[str, Callable[[int, str, str], bytes]], half_close: bool = False
            ) -> tuple[dict[str, bytes], dict[str, dict[str, Any]]]:
    """The wrapped app's answer to each case (the bare app's must be the same, Date and
    Server aside), and each case's log entry."""
    port = free_port()
    answers = {}
    env = server_env(collector, README_MAX_BODY_BYTES=str(LIMIT))
    with serve(SERVERS[server](port), env, tmp_path, port):
        for name, make in cases.items():
            bare = _answer(port, make(port, "bare", "bare"), half_close)
            answers[name] = _answer(port, make(port, "wrap", name), half_close)
            assert _status_and_body(answers[name]) == _status_and_body(bare), name
        logs = collector.wait_for_logs(len(cases))
    return answers, {_trace_of(log): log["request"]["log"]["entries"][0] for log in logs}


def _status_and_body(answer: bytes) -> tuple[bytes, int]:
    return answer.split(b"\r\n", 1)[0], _body_sent(answer)


# -- 1. bodySize is the bytes received ------------------------------------------------------

@pytest.mark.parametrize("server", ["werkzeug", "gunicorn-sync", "wsgiref", "uvicorn",
                                    "hypercorn"])
def test_a_body_sent_short_of_its_length_is_logged_with_the_bytes_received(
        server: str, collector: Collector, tmp_path: Path) -> None:
    # The client sends 17 of 24 bytes and stops: the app never reads the body. (It shuts
    # its side for werkzeug, which reads an unread body to the client's end; not for the
    # ASGI servers: there uvicorn was seen to answer the bare app and close on the
    # wrapped one, whose drain of the body meets the client's end first: servers10's
    # report.)
    _, entries = _logged(server, collector, tmp_path, {"short": _declaring(24, 17)},
                         half_close=server not in ("uvicorn", "hypercorn"))
    request = entries["short"]["request"]
    assert request["bodySize"] == 17
    assert request["postData"] == {
        "mimeType": "text/plain", "text": "a" * 17,
        "comment": "incomplete: 17 of 24 bytes could be read without waiting"}


def test_an_incomplete_body_over_the_limit_keeps_its_received_size_and_says_both() -> None:
    record = BodyRecord(10, declared=24)
    record.feed(b"a" * 17)
    record.give_up()  # the rest could not be had without waiting
    assert (record.body_size, record.kept, record.incomplete) == (17, 10, True)
    exchange = post("text/plain", b"a" * 10, 17, request_body_incomplete=True,
                    request_body_declared=24)
    request = entry_of(exchange, max_body_bytes=10)["request"]
    assert request["bodySize"] == 17
    assert request["postData"]["comment"] == (
        "incomplete: 17 of 24 bytes could be read without waiting; "
        "truncated to 10 of 17 bytes")


def test_a_body_never_read_past_the_limit_keeps_its_declared_size() -> None:
    """Not incomplete: the capture stopped at max_body_bytes with the rest not read
    (the app did not read it, the server holds or drops it): the declared length is the
    one size there is, and the comment says that only part was read."""
    record = BodyRecord(10, declared=1000)
    record.feed(b"a" * 64)
    assert (record.body_size, record.eof, record.incomplete) == (1000, False, False)


# -- 3. a large body the app never received -------------------------------------------------

@pytest.mark.parametrize("server", ["uvicorn", "hypercorn"])
def test_an_asgi_body_never_received_says_only_part_was_drained(
        server: str, collector: Collector, tmp_path: Path) -> None:
    size = 10 << 20
    _, entries = _logged(server, collector, tmp_path, {"big": _declaring(size, size)})
    request = entries["big"]["request"]
    assert request["bodySize"] == size  # the declared length: the rest was never read
    post_data = request["postData"]
    assert post_data["text"] == "a" * LIMIT
    comment = post_data["comment"]
    truncated, _, read = comment.partition("; ")
    assert truncated == f"truncated to {LIMIT} of {size} bytes"
    drained = int(read.split()[1])
    assert LIMIT <= drained < size
    assert read == (f"only {drained} bytes were read: the app did not read the body to its "
                    "end, nor did the capture past max_body_bytes")


# -- 4. an answer shorter than its own Content-Length ----------------------------------------

SHORT_SERVERS = ["waitress", "gunicorn-sync", "gunicorn-gthread", "werkzeug", "wsgiref",
                 pytest.param("cheroot", marks=NO_CHEROOT), "uvicorn", "hypercorn"]
SHORT_COMMENT = ("incomplete: the app's answer was shorter than its Content-Length: 3 of 10 "
                 "bytes; the client's answer was cut short there")


@pytest.mark.parametrize("server", SHORT_SERVERS)
def test_an_answer_shorter_than_its_content_length_is_logged_so(
        server: str, collector: Collector, tmp_path: Path) -> None:
    answers, entries = _logged(server, collector, tmp_path,
                               {"short": _request("GET", "/length-short")})
    assert _body_sent(answers["short"]) == 3  # of the 10 its Content-Length said
    content = entries["short"]["response"]["content"]
    assert (content["size"], content["text"]) == (3, "abc")
    assert content["comment"] == SHORT_COMMENT


def test_a_list_shorter_than_its_content_length_is_logged_so(inline_wrap: Any,
                                                              collector: Collector) -> None:
    from tests.support.wsgi import run_wsgi, wsgi_environ

    def app(environ: Any, start_response: Any) -> list[bytes]:
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "10")])
        return [b"abc"]  # a list goes back to the server as it is

    def head(environ: Any, start_response: Any) -> list[bytes]:
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "10")])
        return []  # a HEAD's answer has no body: nothing is short

    run_wsgi(inline_wrap(app), wsgi_environ("GET", "/list"))
    run_wsgi(inline_wrap(head), wsgi_environ("HEAD", "/head"))
    logs = collector.wait_for_logs(2)
    contents = {log["request"]["log"]["entries"][0]["request"]["method"]:
                log["request"]["log"]["entries"][0]["response"]["content"] for log in logs}
    assert contents["GET"]["comment"] == SHORT_COMMENT
    assert "comment" not in contents["HEAD"]


def test_an_answer_of_its_whole_content_length_has_no_comment() -> None:
    from tests.support.exchanges import make_exchange

    content = entry_of(make_exchange(
        response_headers=[("Content-Type", "text/plain"), ("Content-Length", "3")],
        response_body=b"abc", response_body_size=3))["response"]["content"]
    assert "comment" not in content


# -- 2. cheroot: a body the app left unread ------------------------------------------------

@NO_CHEROOT
def test_cheroot_records_a_body_the_app_left_unread(collector: Collector,
                                                    tmp_path: Path) -> None:
    """On a connection it keeps alive cheroot reads the unread rest itself, as it sends
    the head (through its own input, past the tee): recorded as it reads. On one it
    closes it reads nothing: what has arrived is read after the answer, no wait."""
    body = b'{"unread": "' + b"b" * 40 + b'"}'
    first = _post("/noread", body, b"Content-Type: application/json")
    cases = {
        "close": first,
        "kept-alive": _pipelined(first, _request("GET", "/noread")),
        "over-the-limit": _post("/noread", b"c" * (LIMIT + 100), b"Content-Type: text/plain"),
    }
    answers, entries = _logged("cheroot", collector, tmp_path, cases)
    # The next request on the kept connection was read from its start, and answered.
    assert answers["kept-alive"].count(b"HTTP/1.1 200 OK") == 2
    assert "kept-alive-2" in entries
    for name in ("close", "kept-alive"):
        request = entries[name]["request"]
        assert request["bodySize"] == len(body), name
        assert request["postData"] == {"mimeType": "application/json",
                                       "text": body.decode()}, name
    request = entries["over-the-limit"]["request"]
    assert request["bodySize"] == LIMIT + 100
    assert request["postData"]["text"] == "c" * LIMIT
    assert request["postData"]["comment"].startswith(f"truncated to {LIMIT} of {LIMIT + 100}")


# -- 5. hypercorn: a trailers-only answer --------------------------------------------------

@pytest.mark.parametrize("server", ["hypercorn", "hypercorn-trio"])
def test_a_trailers_only_answer_is_logged_as_the_client_got_it(
        collector: Collector, tmp_path: Path, server: str) -> None:
    """Over HTTP/2, to a client that sent ``te: trailers``, hypercorn answers an app whose
    only message is ``http.response.trailers`` (no start, no body: gRPC's trailers-only
    errors) with a 200 whose headers are those trailers, and an empty body. It was
    logged as the server's 500 for an app that never started its response."""
    from tests.support.h2c import h2_get
    from tests.test_asgi_servers import SERVERS as ASGI_SERVERS

    port = free_port()
    with serve(ASGI_SERVERS[server](port, "tests.support.asgi_cases:plain_root"),
               server_env(collector), tmp_path, port):
        bare = h2_get(port, "/bare/trailers?then=only", (("te", "trailers"),))
        wrapped = h2_get(port, "/wrap/trailers?then=only", (("te", "trailers"),))
        (log,) = collector.wait_for_logs(1)
    assert wrapped == bare
    headers = dict(wrapped)["headers"]
    assert (b":status", b"200") in headers and (b"grpc-status", b"5") in headers
    response = log["request"]["log"]["entries"][0]["response"]
    assert response["status"] == 200
    assert {h["name"]: h["value"] for h in response["headers"]}["grpc-status"] == "5"
    assert response["content"]["size"] == 0 and "comment" not in response["content"]
    assert "comment" not in response
