"""uWSGI's ``--http11-socket``: HTTP/1.1 keep-alive, real HTTP, the real collector.

Unlike ``--http-socket`` (tests/test_e2e_servers.py), uWSGI keeps the connection open
after each response, unless the request's body was not read to its end: then it closes
it. Raw sockets talk to the plain app of tests/support/e2e_apps.py, bare and wrapped,
and every answer of the wrapped app must be the bare app's (apart from Date, Server and
x-documentation-url), on the same connections. The matrix's checks do not fit here:
uWSGI gives REMOTE_ADDR 0.0.0.0 to the second and later requests of a connection (bare
too), and an answer without Content-Length ends only when the idle connection times out.
The slow-client checks run under it in tests/test_slow_client.py (``uwsgi-http11``).
"""

from __future__ import annotations

import json
import socket
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.support.fake_api import Collector, Reply, free_port
from tests.support.polling import wait_until
from tests.test_e2e_servers import (
    DOCS,
    MAX_BODY,
    NO_UWSGI,
    entry_of,
    serve,
    server_env,
    uwsgi_argv,
)
from tests.test_slow_client import (
    SAFETY,
    complete_logs,
    logged_body,
    normalized,
    read_answer,
)

pytestmark = [pytest.mark.e2e, NO_UWSGI]

#: The comment of a chunked body under uWSGI, none of it in wsgi.input.
UWSGI_CHUNKED = ("incomplete: uWSGI gives a chunked body not in wsgi.input but to "
                 "uwsgi.chunked_read(): none of it could be recorded")

HOST = "Host: 127.0.0.1\r\nX-Api-Key: keep-alive-caller\r\n"


def post(path: str, body: bytes, trace: str, content_type: str = "application/json",
         **headers: str) -> bytes:
    extra = "".join(f"{name.replace('_', '-')}: {value}\r\n" for name, value in headers.items())
    length = "" if "Transfer_Encoding" in headers else f"Content-Length: {len(body)}\r\n"
    return (f"POST {path} HTTP/1.1\r\n{HOST}X-Trace: {trace}\r\nContent-Type: {content_type}"
            f"\r\n{length}{extra}\r\n").encode() + body


def get(path: str, trace: str) -> bytes:
    return f"GET {path} HTTP/1.1\r\n{HOST}X-Trace: {trace}\r\n\r\n".encode()


def ask(sock: socket.socket, data: bytes) -> list[bytes]:
    """Send ``data`` and read one answer (NO_ANSWER: the connection was closed)."""
    try:
        sock.sendall(data)
        answer = read_answer(sock, SAFETY)
    except ConnectionError:  # closed by the server: a reset
        answer = b""
    return normalized(answer, "uwsgi")


NO_ANSWER = normalized(b"", "uwsgi")


def conversation(collector: Collector, tmp_path: Path, attribute: str,
                 traces: dict[str, str], wrapped: bool) -> dict[str, Any]:
    """The keep-alive conversations of the test, under ``attribute``; what came back.

    ``wrapped``: the app logs (four logs before the unread body, six in all)."""
    port = free_port()
    env = server_env(collector, README_BASE_LOG_URL=DOCS)
    echo = json.dumps({"name": "Zoë", "n": [1, 2]}).encode()
    big = b"0123456789abcdef" * 6250  # 100 000 bytes, over max_body_bytes
    unread = json.dumps({"unread": True}).encode()
    seen: dict[str, Any] = {"echo": echo, "big": big, "unread": unread}
    with serve(uwsgi_argv(port, f"tests.support.e2e_apps:{attribute}", keep_alive=True),
               env, tmp_path, port):
        # One connection: bodies read by the app, then one it does not read.
        with socket.create_connection(("127.0.0.1", port), timeout=SAFETY) as sock:
            seen["hello"] = ask(sock, get("/hello?name=a", traces["hello"]))
            seen["echo-answer"] = ask(sock, post("/echo", echo, traces["echo"]))
            seen["big-answer"] = ask(sock, post("/echo", big, traces["big"], "text/plain"))
            seen["hello-again"] = ask(sock, get("/hello?name=b", traces["hello-again"]))
            # A body the app never reads: uWSGI closes the connection after the
            # answer. The inline send of its log holds the worker a while (the
            # collector answers slowly), so the next request is surely waiting by
            # the time uWSGI would read it: it must get no answer, as from the bare app.
            wait_until(lambda: len(collector.logs) == (4 if wrapped else 0))
            collector.replies.append(Reply(delay=0.5))
            seen["noread"] = ask(sock, post("/noread", unread, traces["noread"]))
            seen["after-noread"] = ask(sock, get("/hello?name=c", traces["after-noread"]))
        # A chunked body: uWSGI does not de-chunk it (no CONTENT_LENGTH), so the app
        # reads nothing; what follows on the connection is no request of its own.
        with socket.create_connection(("127.0.0.1", port), timeout=SAFETY) as sock:
            seen["chunked"] = ask(sock, post(
                "/echo", b"3\r\n{\"n\r\n5\r\n\": 1}\r\n0\r\n\r\n", traces["chunked"],
                Transfer_Encoding="chunked"))
        # Before the server stops: stopping it could cut the last inline send short.
        wait_until(lambda: len(complete_logs(collector)) == (6 if wrapped else 0))
    return seen


def test_keep_alive_answers_are_the_bare_apps_and_each_is_logged(
        collector: Collector, tmp_path: Path) -> None:
    names = ["hello", "echo", "big", "hello-again", "noread", "after-noread", "chunked"]
    bare = conversation(collector, tmp_path, "plain_bare",
                        {n: uuid.uuid4().hex for n in names}, wrapped=False)
    assert collector.logs == []
    collector.replies.clear()
    traces = {n: uuid.uuid4().hex for n in names}
    wrapped = conversation(collector, tmp_path, "plain_app", traces, wrapped=True)
    assert wrapped == bare
    # The conversation went as described: keep-alive until the unread body.
    assert bare["hello"][0] == bare["noread"][0] == b"HTTP/1.1 200 OK"
    assert bare["echo-answer"][-1] == bare["echo"] and bare["big-answer"][-1] == bare["big"]
    assert bare["after-noread"] == NO_ANSWER
    assert bare["chunked"][-1] == b""

    assert logged_body(collector, traces["hello"])["queryString"] == [
        {"name": "name", "value": "a"}]
    assert logged_body(collector, traces["echo"])["postData"]["text"] == (
        bare["echo"].decode())
    big = logged_body(collector, traces["big"])
    assert big["bodySize"] == len(bare["big"])
    assert big["postData"]["text"] == bare["big"][:MAX_BODY].decode()
    # The body the app never read: all but its last byte, which is left to uWSGI so
    # that it closes the connection as it does bare (rest_uwsgi.py says why).
    unread = bare["unread"]
    noread = logged_body(collector, traces["noread"])
    assert noread["bodySize"] == len(unread) - 1  # SPEC 4: the bytes received
    assert noread["postData"]["text"] == unread[:-1].decode()
    assert noread["postData"]["comment"] == (
        f"incomplete: {len(unread) - 1} of {len(unread)} bytes could be read without waiting")
    # The app saw nothing of the chunked body: uWSGI gives none of it in wsgi.input (not
    # even under --http-chunked-input, a router's option), only to uwsgi.chunked_read().
    # A body was sent, of unknown size, and the log says where it went (capture12:
    # before, "0 of a body of unknown length could be read without waiting").
    chunked = logged_body(collector, traces["chunked"])
    assert chunked["bodySize"] == -1 and chunked["postData"]["comment"] == UWSGI_CHUNKED
    # One log per answered request, none for the one never answered.
    logs = collector.wait_for_logs(6)
    assert len(logs) == 6
    assert sorted(entry_of(log)["request"]["method"] for log in logs) == [
        "GET", "GET", "POST", "POST", "POST", "POST"]
