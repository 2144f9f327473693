"""A client that declares a longer body than it sends must not stall the server (SPEC 5).

Raw sockets against real servers, each with one worker and one thread, so a worker held
by the capture would show as a next request never served: the slow client sends
``Content-Length: 100000`` and only ``abc``, keeps the connection open, and calls a view
that never reads the body. The answer it gets from the wrapped app must be the bare app's
(apart from Date, Server and x-documentation-url), the log must hold the ``abc`` that
arrived and say the body is incomplete, and a second client must be served while the
first still holds its connection. Safety timeouts are generous; nothing is timed.
A client that sends its body in full is recorded in full (no trade of one loss for another).
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import importlib.util
import json
import socket
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Iterable, Iterator, Optional

import pytest
import requests

from tests.support.fake_api import Collector, Reply, free_port, free_ports
from tests.support.sessions import close_connections
from tests.test_e2e_servers import (
    GUNICORN,
    MAX_BODY,
    UWSGI,
    django_env,
    serve,
    server_env,
    uwsgi_argv,
)
from tests.test_e2e_servers import SERVERS as E2E_SERVERS

pytestmark = pytest.mark.e2e

SAFETY = 30.0  # seconds: only ever reached when something is wrong


def _version(distribution: str) -> tuple[int, ...]:
    """The installed version of ``distribution`` as numbers, (0,) when it is not there."""
    try:
        text = importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return (0,)
    return tuple(int(part) for part in text.split(".")[:2] if part.isdigit())


QUIET = 2.0  # how long a server that answers nothing (waitress waits for the body) is given

SINGLE = {
    "gunicorn-sync": lambda port, target: [
        sys.executable, *GUNICORN, "--worker-class=sync", "--timeout=120",
        f"--bind=127.0.0.1:{port}", target,
    ],
    "gunicorn-gthread": lambda port, target: [
        sys.executable, *GUNICORN, "--worker-class=gthread", "--threads=1", "--timeout=120",
        f"--bind=127.0.0.1:{port}", target,
    ],
    "waitress": lambda port, target: [
        sys.executable, "-m", "waitress", f"--listen=127.0.0.1:{port}", "--threads=1", target,
    ],
    "werkzeug": lambda port, target: [
        sys.executable, "-m", "tests.support.e2e_apps", "werkzeug-single", target.split(":")[1],
        str(port),
    ],
    "granian": lambda port, target: [
        sys.executable, "-m", "granian", "--interface", "wsgi", "--host", "127.0.0.1",
        "--port", str(port), "--workers", "1", "--blocking-threads", "1", target,
    ],
    "wsgiref": lambda port, target: [
        sys.executable, "-m", "tests.support.e2e_apps", "wsgiref", target.split(":")[1], str(port),
    ],
    # A read waiting on the client would wait out --socket-timeout (4 s by default):
    # longer than SAFETY, so such a wait shows as the next request never served.
    "uwsgi": lambda port, target: uwsgi_argv(port, target, "--socket-timeout=120"),
    "uwsgi-http11": lambda port, target: uwsgi_argv(port, target, "--socket-timeout=120",
                                                    keep_alive=True),
}

# Also for a body sent in full: uWSGI reading every body before calling the app (in the
# worker, so a slow client holds the worker there, bare or wrapped).
FULL_BODY = {**SINGLE, "uwsgi-post-buffering": lambda port, target: uwsgi_argv(
    port, target, "--post-buffering=4096")}

IGNORED_HEADERS = (b"date:", b"server:", b"x-documentation-url:")


def request_bytes(port: int, declared: int, sent: bytes, trace: str,
                  path: str = "/noread", extra: str = "") -> bytes:
    return (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {declared}\r\n"
            f"X-Api-Key: slow-caller\r\nX-Trace: {trace}\r\n{extra}\r\n").encode() + sent


def complete(data: bytes) -> bool:
    """True once ``data`` holds a whole HTTP response (by Content-Length or chunks)."""
    head, sep, body = data.partition(b"\r\n\r\n")
    if not sep:
        return False
    for line in head.lower().split(b"\r\n"):
        if line.startswith(b"content-length:"):
            return len(body) >= int(line.split(b":", 1)[1])
        if line.startswith(b"transfer-encoding:") and b"chunked" in line:
            return body.endswith(b"0\r\n\r\n")
    return False


def read_answer(sock: socket.socket, wait: float, until: bytes = b"") -> bytes:
    """What the server answers within ``wait`` seconds, up to a complete response or close
    (or, for an answer without a length, up to its known end ``until``)."""
    sock.settimeout(wait)
    data = b""
    try:
        while not complete(data) and not (until and data.endswith(until)):
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    except socket.timeout:
        pass
    return data


def read_past(sock: socket.socket, end: bytes, quiet: float) -> bytes:
    """:func:`read_answer` up to ``end`` (an answer cut short there: daphne keeps such a
    connection open, and a read to its close waited the whole SAFETY), then what comes
    within ``quiet`` seconds more; at once when the server closes or the answer is
    complete."""
    answer = read_answer(sock, SAFETY, until=end)
    if answer.endswith(end) and not complete(answer):
        answer += read_answer(sock, quiet)
    return answer


def normalized(answer: bytes, server: str) -> list[bytes]:
    # granian closes a connection with unread input or not, by timing: bare apps too.
    ignored = IGNORED_HEADERS + ((b"connection:",) if server == "granian" else ())
    head, _, body = answer.partition(b"\r\n\r\n")
    lines = [line for line in head.split(b"\r\n") if not line.lower().startswith(ignored)]
    return [*lines, body]


def slow_exchange(base: str, port: int, declared: int, sent: bytes, trace: str,
                  answers: bool, path: str = "/noread"
                  ) -> tuple[bytes, Optional[requests.Response]]:
    """The slow client's answer, and a second client's, served while the first waits."""
    slow = socket.create_connection(("127.0.0.1", port), timeout=SAFETY)
    try:
        slow.sendall(request_bytes(port, declared, sent, trace, path))
        answer = read_answer(slow, SAFETY if answers else QUIET)
        # The first client still holds its connection open, its body unfinished.
        with requests.Session() as session:
            other = session.get(f"{base}/hello", headers={"X-Api-Key": "other"},
                                timeout=SAFETY)
            close_connections(session)  # else kept alive: gthread would serve it 2 s more
    finally:
        slow.close()
    return answer, other


def complete_logs(collector: Collector) -> list[dict[str, Any]]:
    """Logs of whole POSTs: the server is stopped right after the last request, which can
    cut the inline POST of that request's log short (the collector keeps the stub)."""
    logs: list[dict[str, Any]] = []
    for received in list(collector.received):
        if received.path == "/v1/request" and len(received.body) == int(
                received.headers.get("Content-Length") or 0):
            logs.extend(json.loads(received.body))
    return logs


def logged(collector: Collector, trace: str) -> dict[str, Any]:
    """The log of the request carrying the X-Trace header ``trace`` (waits for it)."""
    deadline = time.monotonic() + SAFETY
    while True:
        found = [log for log in complete_logs(collector)
                 for entry in log["request"]["log"]["entries"]
                 if any(h["value"] == trace for h in entry["request"]["headers"])]
        if found:
            assert len(found) == 1
            return found[0]
        assert time.monotonic() < deadline, "the slow request was never logged"
        time.sleep(0.02)


def logged_body(collector: Collector, trace: str) -> dict[str, Any]:
    """The logged request carrying the X-Trace header ``trace`` (waits for it)."""
    request: dict[str, Any] = logged(collector, trace)["request"]["log"]["entries"][0][
        "request"]
    return request


def exchange_case(base: str, port: int, server: str, declared: int, sent: bytes,
                  path: str, server_log: Path) -> tuple[bytes, str]:
    """:func:`slow_exchange` with a trace of its own against the server at ``port``: the
    next client is served, and the server's output so far has no worker timeout."""
    trace = uuid.uuid4().hex
    answer, other = slow_exchange(base, port, declared, sent, trace,
                                  answers=server != "waitress", path=path)
    assert other is not None and other.status_code == 200, "next request not served"
    assert other.content == json.dumps({"hello": ""}).encode()
    assert "WORKER TIMEOUT" not in server_log.read_text(errors="replace")
    return answer, trace


def _with_docs(collector: Collector) -> Collector:
    collector.get_v1 = lambda received: Reply(
        200, json.dumps({"baseUrl": "https://docs.example.test"}).encode())
    return collector


@pytest.fixture
def docs_collector(collector: Collector) -> Collector:
    return _with_docs(collector)


@pytest.fixture(scope="module")
def module_docs_collector(module_collector: Collector) -> Collector:
    """:func:`docs_collector` for the servers a module fixture keeps running: each test
    finds its own log by a trace of its own."""
    return _with_docs(module_collector)


@pytest.fixture(scope="module")
def bare_and_wrapped(server: str, module_docs_collector: Collector,
                     tmp_path_factory: pytest.TempPathFactory
                     ) -> Iterator[tuple[Path, list[tuple[str, int]]]]:
    """``server`` serving plain_bare and plain_app, each its own process started at the
    same time, for every test of the module that asks for that server (parametrized with
    ``scope="module"``, so pytest runs those tests one after the other): the servers'
    folder, and each one's base URL and port. Starting the two servers was most of such a
    test's CPU; each test sends its own trace and reads only its own log, and closes
    every connection it opened (a next client is served: checked in each test)."""
    tmp = tmp_path_factory.mktemp(f"slow-{server}")
    env = django_env(module_docs_collector)
    ports = free_ports(2)
    managers = [serve(FULL_BODY[server](port, f"tests.support.e2e_apps:{attribute}"), env,
                      tmp, port) for port, attribute in zip(ports, ("plain_bare", "plain_app"))]
    with contextlib.ExitStack() as stack:
        with ThreadPoolExecutor(2) as pool:
            starts = [pool.submit(manager.__enter__) for manager in managers]
        for manager, start in zip(managers, starts):
            if start.exception() is None:  # stopped at the end, whatever the other did
                stack.push(manager.__exit__)
        yield tmp, [(start.result(), port) for start, port in zip(starts, ports)]
    for port in ports:  # what the servers said to the end, stopped
        assert "WORKER TIMEOUT" not in (tmp / f"server-{port}.log").read_text(
            errors="replace")


def _missing(server: str) -> Optional[str]:
    if server == "granian" and importlib.util.find_spec("granian") is None:
        return "granian is not installed"
    if server.startswith("uwsgi") and UWSGI is None:
        return "uWSGI is not installed (pip install pyuwsgi, in the test extra)"
    return None


def server_params(names: Iterable[str]) -> list[Any]:
    return [pytest.param(name, marks=pytest.mark.skipif(_missing(name) is not None,
                                                        reason=str(_missing(name))))
            for name in names]


SERVER_PARAMS = server_params(SINGLE)


# servers8: also a 2 GiB Content-Length (past a 32-bit int), 3 bytes of it sent.
@pytest.mark.parametrize(("path", "declared"), [
    ("/noread", 100000), ("/noread-list", 100000), pytest.param("/noread", 2 << 30, id="2GiB")])
@pytest.mark.parametrize("server", SERVER_PARAMS, scope="module")
def test_client_declaring_more_than_it_sends_gets_the_bare_answer(
        module_docs_collector: Collector,
        bare_and_wrapped: tuple[Path, list[tuple[str, int]]], server: str, path: str,
        declared: int) -> None:
    # The bare and the wrapped app each in a server of their own (kept for the module's
    # tests of that server), asked at the same time: most of a case is the server's own
    # wait for the body that never comes (gunicorn's gthread worker gives it 5 s), and
    # the two servers share nothing but the collector.
    docs_collector = module_docs_collector
    tmp, ((bare_base, bare_port), (wrapped_base, wrapped_port)) = bare_and_wrapped
    with ThreadPoolExecutor(2) as pool:
        bare_case = pool.submit(exchange_case, bare_base, bare_port, server, declared,
                                b"abc", path, tmp / f"server-{bare_port}.log")
        wrapped_case = pool.submit(exchange_case, wrapped_base, wrapped_port, server,
                                   declared, b"abc", path, tmp / f"server-{wrapped_port}.log")
        bare, _ = bare_case.result()
        wrapped, trace = wrapped_case.result()
    assert normalized(wrapped, server) == normalized(bare, server)
    if server == "waitress":
        # waitress waits for the whole body before calling the app, bare or wrapped; one
        # over its max_request_body_size (1 GiB) it answers 413 itself, never calling it.
        assert wrapped == b"" if declared < 1 << 30 else wrapped.startswith(b"HTTP/1.1 413 ")
        return
    assert wrapped.startswith(b"HTTP/1.") and b" 200 " in wrapped.split(b"\r\n")[0]
    request = logged_body(docs_collector, trace)
    # granian cannot be asked what has arrived, and its reads wait: nothing is read there.
    arrived = "" if server == "granian" else "abc"
    assert request["bodySize"] == len(arrived)  # SPEC 4: the bytes received
    assert request["postData"]["text"] == arrived
    assert request["postData"]["comment"] == (
        f"incomplete: {len(arrived)} of {declared} bytes could be read without waiting")


#: The servers of the two tests of a body sent in full (the wrapped plain app of
#: :func:`served_plain_app`, kept for the module's tests of that server).
FULL_BODY_PARAMS = server_params(name for name in FULL_BODY if name != "granian")


@pytest.mark.parametrize("server", FULL_BODY_PARAMS, scope="module")
def test_body_sent_in_full_is_recorded_though_the_view_never_reads_it(
        module_docs_collector: Collector, served_plain_app: tuple[str, int, Path],
        server: str) -> None:
    docs_collector = module_docs_collector
    body = json.dumps({"items": ["x" * 20] * 100}).encode()  # about 2.5 KB, under 4 KiB
    answer, trace = exchange_case(*served_plain_app[:2], server, len(body), body, "/noread",
                                  served_plain_app[2])
    assert b" 200 " in answer.split(b"\r\n")[0]
    request = logged_body(docs_collector, trace)
    assert request["bodySize"] == len(body) - (server == "uwsgi-http11")  # bytes received
    if server == "uwsgi-http11":
        # Its last byte is left to uWSGI, which then closes the keep-alive connection
        # as it does bare (readme_metrics/capture/rest_uwsgi.py).
        assert request["postData"] == {"mimeType": "application/json",
                                       "text": body[:-1].decode(), "comment": (
            f"incomplete: {len(body) - 1} of {len(body)} bytes could be read without waiting")}
        return
    assert request["postData"] == {"mimeType": "application/json", "text": body.decode()}


@pytest.mark.parametrize("server", FULL_BODY_PARAMS, scope="module")
def test_long_body_sent_in_full_is_kept_to_max_body_bytes(
        module_docs_collector: Collector, served_plain_app: tuple[str, int, Path],
        server: str) -> None:
    """50 KB the view never reads, mostly still on the socket when the app answers: the
    first max_body_bytes are logged, not called incomplete. The client half-closes after
    sending: werkzeug's development server, bare or wrapped, discards unread input by
    reading until the client's end, and closes the response (which ends the log) after."""
    docs_collector = module_docs_collector
    body = json.dumps({"items": ["x" * 20] * 2000}).encode()
    port = served_plain_app[1]
    trace = uuid.uuid4().hex
    with socket.create_connection(("127.0.0.1", port), timeout=SAFETY) as client:
        client.sendall(request_bytes(port, len(body), body, trace))
        with contextlib.suppress(OSError):  # wsgiref may have answered and closed already
            client.shutdown(socket.SHUT_WR)
        request = logged_body(docs_collector, trace)
    assert request["bodySize"] == len(body)
    post = request["postData"]
    assert post["text"] == body[:MAX_BODY].decode()
    assert "incomplete" not in post.get("comment", ""), post["comment"]


@pytest.mark.parametrize(("app", "path"), [
    ("plain_app", "/noread-stream"),
    # The Django middleware answers after the view, streamed or not.
    ("django_app", "/noread"), ("django_app", "/noread-stream")])
@pytest.mark.parametrize("server", ["gunicorn-sync", "gunicorn-gthread"])
def test_answer_ends_before_the_wait_for_a_body_in_flight(
        docs_collector: Collector, tmp_path: Path, server: str, app: str, path: str) -> None:
    """A chunked answer ends when the server writes its last chunk, after the app's
    iterable is exhausted. gunicorn reads no unread input before it closes the
    response, so the wait for a body still in flight (GRACE, made 60 s here) belongs in
    close(): the client gets the end of its answer at once, as from the bare app, and the
    rest of its body, sent only then, is still logged. Waiting before the last chunk (or,
    in Django, before the view's response is returned), the client would get nothing
    until the wait ran out."""
    port = free_port()
    trace = uuid.uuid4().hex
    env = django_env(docs_collector, E2E_BODY_GRACE="60")
    with serve(SINGLE[server](port, f"tests.support.e2e_apps:{app}"), env, tmp_path,
               port), socket.create_connection(("127.0.0.1", port), timeout=SAFETY) as client:
        client.sendall(request_bytes(port, 6, b"abc", trace, path))
        answer = read_answer(client, SAFETY)
        assert complete(answer), f"the answer did not end before the body's rest: {answer!r}"
        assert answer.endswith(b"\r\n2\r\nok\r\n0\r\n\r\n")
        client.sendall(b"def")
        request = logged_body(docs_collector, trace)
    assert request["bodySize"] == 6
    assert request["postData"] == {"mimeType": "application/json", "text": "abcdef"}


@pytest.mark.parametrize("server", ["werkzeug", "wsgiref", "runserver", "gunicorn-sync",
                                    "gunicorn-gthread"], scope="module")
def test_unread_body_sent_after_expect_100_continue_is_recorded(
        module_docs_collector: Collector, tmp_path: Path, server: str,
        request: pytest.FixtureRequest) -> None:
    """These servers answer ``100 Continue`` before they call the app (werkzeug,
    runserver, gunicorn) or never (wsgiref), so reading what has arrived cannot make them
    ask the client for its body after the answer: a body sent with ``Expect:
    100-continue`` (after the 100, or without waiting for it, as curl does after a
    second) is logged whole though the view never reads it. The wrapped plain app of
    :func:`served_plain_app` (kept for the module's tests of that server); runserver,
    which is not among them, a server of its own."""
    docs_collector = module_docs_collector
    body = json.dumps({"items": ["x" * 20] * 10}).encode()
    trace = uuid.uuid4().hex
    with contextlib.ExitStack() as stack:
        if server == "runserver":
            port = free_port()
            stack.enter_context(serve(E2E_SERVERS[server](
                port, "tests.support.e2e_apps:plain_app"), django_env(docs_collector),
                tmp_path, port))
        else:
            port = request.getfixturevalue("served_plain_app")[1]
        client = stack.enter_context(socket.create_connection(("127.0.0.1", port),
                                                              timeout=SAFETY))
        client.sendall(request_bytes(port, len(body), body, trace,
                                     extra="Expect: 100-continue\r\n"))
        got = logged_body(docs_collector, trace)
    assert got["bodySize"] == len(body)
    assert got["postData"] == {"mimeType": "application/json", "text": body.decode()}


@pytest.mark.parametrize(("server", "path"), [
    *((server, path) for server in ("gunicorn-sync", "gunicorn-gthread")
      for path in ("/noread-list", "/noread-stream")),
    # These two end an answer without Content-Length by closing the connection, after
    # close(); werkzeug's server reads the body before the end of a streamed answer.
    ("werkzeug", "/noread-list"), ("wsgiref", "/noread-list")])
def test_chunked_body_in_flight_is_waited_for_after_the_answer(
        docs_collector: Collector, tmp_path: Path, server: str, path: str) -> None:
    """A chunked request body the view never reads, still in flight when the answer is
    complete, gets the same wait as one with a Content-Length (GRACE, 60 s here), once
    the answer has gone out: the client sends its chunks only once it has the whole
    answer, and they are logged."""
    port = free_port()
    trace = uuid.uuid4().hex
    env = server_env(docs_collector, E2E_BODY_GRACE="60")
    head = (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            f"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n"
            f"X-Api-Key: slow-caller\r\nX-Trace: {trace}\r\n\r\n").encode()
    with serve(SINGLE[server](port, "tests.support.e2e_apps:plain_app"), env, tmp_path,
               port), socket.create_connection(("127.0.0.1", port), timeout=SAFETY) as client:
        client.sendall(head)
        answer = read_answer(client, SAFETY)
        assert complete(answer), f"the answer did not end before the body came: {answer!r}"
        client.sendall(b"3\r\nabc\r\n3\r\ndef\r\n0\r\n\r\n")
        # werkzeug's server, bare or wrapped, reads unread input to the client's end.
        client.shutdown(socket.SHUT_WR)
        request = logged_body(docs_collector, trace)
    assert request["bodySize"] == 6
    assert request["postData"] == {"mimeType": "application/json", "text": "abcdef"}


@pytest.mark.parametrize("chunked", [False, True], ids=["length", "chunked"])
@pytest.mark.parametrize("server", ["gunicorn-sync", "gunicorn-gthread"])
def test_worker_is_free_once_a_client_with_an_unfinished_body_shuts_its_side(
        docs_collector: Collector, tmp_path: Path, server: str, chunked: bool) -> None:
    """The wait for a body in flight (GRACE, 60 s here) ends when the client shuts its
    side of the connection: nothing more can come. One worker, one thread: a next
    client is served, as from the bare app, while the wait would still run; the log has
    what had arrived and says the body is incomplete."""
    port = free_port()
    trace = uuid.uuid4().hex
    env = server_env(docs_collector, E2E_BODY_GRACE="60")
    framing = ("Transfer-Encoding: chunked" if chunked else "Content-Length: 100000")
    head = (f"POST /noread HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            f"Content-Type: application/json\r\n{framing}\r\n"
            f"X-Api-Key: slow-caller\r\nX-Trace: {trace}\r\n\r\n").encode()
    with serve(SINGLE[server](port, "tests.support.e2e_apps:plain_app"), env, tmp_path,
               port) as base, socket.create_connection(("127.0.0.1", port),
                                                       timeout=SAFETY) as client:
        client.sendall(head + (b"3\r\nabc\r\n" if chunked else b"abc"))
        assert complete(read_answer(client, SAFETY))
        client.shutdown(socket.SHUT_WR)
        with requests.Session() as session:
            other = session.get(f"{base}/hello", headers={"X-Api-Key": "other"},
                                timeout=SAFETY)
            close_connections(session)
        assert other.status_code == 200
        request = logged_body(docs_collector, trace)
    assert request["postData"]["text"] == "abc"
    assert request["postData"]["comment"].startswith("incomplete: 3 of ")


@pytest.mark.parametrize("server", ["runserver", "werkzeug", "gunicorn-sync", "wsgiref"])
def test_django_logs_a_body_that_arrives_after_the_view_has_answered(
        docs_collector: Collector, tmp_path: Path, server: str) -> None:
    """The client sends the rest of its body once the view has run (it creates a file).
    runserver and werkzeug's server read unread input out before they close the
    response: there the rest is waited for (GRACE, 60 s here) before the answer goes
    out; gunicorn and wsgiref keep it, and it is read in close(). Logged whole either
    way."""
    port = free_port()
    trace = uuid.uuid4().hex
    ran = tmp_path / "view-ran"
    env = django_env(docs_collector, E2E_BODY_GRACE="60")
    argv = {**E2E_SERVERS, **SINGLE}[server](port, "tests.support.e2e_apps:django_app")
    with serve(argv, env, tmp_path, port), socket.create_connection(
            ("127.0.0.1", port), timeout=SAFETY) as client:
        client.sendall(request_bytes(port, 6, b"abc", trace, f"/noread?ran={ran}"))
        deadline = time.monotonic() + SAFETY
        while not ran.exists():
            assert time.monotonic() < deadline, "the view never ran"
            time.sleep(0.01)
        client.sendall(b"def")
        assert b" 200 " in read_answer(client, SAFETY).split(b"\r\n")[0]
        request = logged_body(docs_collector, trace)
    assert request["bodySize"] == 6
    assert request["postData"] == {"mimeType": "application/json", "text": "abcdef"}


@pytest.mark.parametrize(("declared", "post_data"), [
    pytest.param(6, {"mimeType": "application/json", "text": "abcdef"}, id="sent"),
    pytest.param(1000, {"mimeType": "application/json", "text": "abcdef", "comment": (
        "incomplete: 6 of 1000 bytes could be read without waiting")}, id="declared-more"),
    # Declared longer than max_body_bytes: read as far as it arrived all the same.
    pytest.param(4 * MAX_BODY, {"mimeType": "application/json", "text": "abcdef", "comment": (
        f"incomplete: 6 of {4 * MAX_BODY} bytes could be read without waiting")},
        id="declared-over-max-body-bytes"),
])
@pytest.mark.parametrize("server", ["gunicorn-sync", "runserver", "wsgiref"], scope="module")
def test_django_grouping_function_reads_a_body_the_view_left_unread(
        module_docs_collector: Collector, served_django_app: tuple[str, int], server: str,
        declared: int, post_data: dict[str, str]) -> None:
    """The grouping function runs after the view and may read ``request.body`` the view
    never read: it gets what has arrived (waiting GRACE at most, the default here), the
    same bytes the log has, each once; the answer comes, and a next client is served."""
    log = grouping_request(module_docs_collector, *served_django_app, declared)
    assert log["group"]["label"] == "body:abcdef"  # what the grouping function read
    request = log["request"]["log"]["entries"][0]["request"]
    # SPEC 4: the bytes received (all that is here is kept), the comment says of how many.
    assert request["bodySize"] == len(post_data["text"])
    assert request["postData"] == post_data


@pytest.fixture(scope="module")
def served_django_app(server: str, module_docs_collector: Collector,
                      tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int]]:
    """``server`` serving tests.support.e2e_apps' wrapped ``django_app`` (``django_env``:
    its settings and grouping function) for every test of the module that asks for that
    server (parametrized with ``scope="module"``): its base URL and port. Each test sends
    its own trace, reads only its own log and closes its connection once its exchange
    is complete (suite45: 15 starts were 3)."""
    port = free_port()
    tmp = tmp_path_factory.mktemp(f"{server}-django")
    argv = {**E2E_SERVERS, **SINGLE}[server](port, "tests.support.e2e_apps:django_app")
    with serve(argv, django_env(module_docs_collector), tmp, port) as base:
        yield base, port


def grouping_request(collector: Collector, base: str, port: int, declared: int
                     ) -> dict[str, Any]:
    """A client declaring ``declared`` bytes sends ``abcdef`` to a view that never reads
    it, with X-Read-Body (the grouping function reads it) to the server at ``port``: the
    answer comes before the client sends anything more, and a next client is served.
    Returns the log."""
    trace = uuid.uuid4().hex
    with socket.create_connection(("127.0.0.1", port), timeout=SAFETY) as client:
        client.sendall(request_bytes(port, declared, b"abcdef", trace,
                                     extra="X-Read-Body: 1\r\n"))
        # runserver answers without a length and closes only once it has drained the
        # declared body (bare too): the answer's end is its text, "ok"
        answer = read_answer(client, SAFETY, until=b"\r\n\r\nok")
        assert b" 200 " in answer.split(b"\r\n")[0], answer
    # Inline mode (server_env): Django's middleware sends the log from the response's
    # close(), after the answer, which runserver calls once it has drained the
    # declared body, that is once this client is gone.
    log = logged(collector, trace)
    other = requests.get(f"{base}/hello", headers={"X-Api-Key": "other"}, timeout=SAFETY)
    assert other.status_code == 200
    return log


@pytest.mark.parametrize("read_body", [False, True], ids=["view-reads", "grouping-reads-too"])
@pytest.mark.parametrize("server", ["gunicorn-sync", "wsgiref", "runserver"], scope="module")
def test_django_streamed_answer_reads_the_whole_body_as_it_goes(
        module_docs_collector: Collector, served_django_app: tuple[str, int], server: str,
        read_body: bool) -> None:
    """A streaming view that reads the body as its answer goes (not before it returns)
    gets all of it, as without the middleware, though the client sends its rest late
    (here: once QUIET has passed without an answer, as the bare app gives none before);
    the log has it once. Under gunicorn and wsgiref the unread rest is read in close();
    runserver discards unread input before that, so what has arrived is read before the
    answer, and handed on to the view. A grouping function reading the body first (it
    runs before the answer) gets what had arrived, and the view still all of it."""
    docs_collector = module_docs_collector
    port = served_django_app[1]
    trace = uuid.uuid4().hex
    extra = "X-Read-Body: 1\r\n" if read_body else ""
    with socket.create_connection(("127.0.0.1", port), timeout=SAFETY) as client:
        client.sendall(request_bytes(port, 6, b"abc", trace, "/read-stream", extra))
        answer = read_answer(client, QUIET)  # the app reads on: nothing complete yet
        assert not complete(answer), answer
        client.sendall(b"def")
        answer += read_answer(client, SAFETY, until=b"6:abcdef")
        assert answer.endswith(b"6:abcdef\r\n0\r\n\r\n") or answer.endswith(b"6:abcdef"), answer
        log = logged(docs_collector, trace)
    assert log["group"]["label"] == ("body:abc" if read_body
                                     else "django.core.handlers.wsgi.WSGIRequest")
    request = log["request"]["log"]["entries"][0]["request"]
    assert request["bodySize"] == 6
    assert request["postData"] == {"mimeType": "application/json", "text": "abcdef"}


@pytest.fixture(scope="module")
def served_app(server: str, app: str, module_docs_collector: Collector,
               tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int]]:
    """``server`` (one worker) serving the wrapped ``app`` for every test of the module
    that asks for that pair (both parametrized with ``scope="module"``): its base URL and
    port. Each test sends its own trace, reads only its own log, closes its connection
    once its exchange is complete, and checks that a next client is served."""
    port = free_port()
    tmp = tmp_path_factory.mktemp(f"{server}-{app}")
    argv = SINGLE[server](port, f"tests.support.e2e_apps:{app}")
    with serve(argv, server_env(module_docs_collector), tmp, port) as base:
        yield base, port


# The WSGI middleware's grouping function (webob's request.body, with X-Read-Body) reads
# a body the app never read, when the app starts its response.
# granian's input can only wait: there the grouping function reads as the app would.
GROUPING_READS = ["gunicorn-sync", "gunicorn-gthread", "werkzeug", "wsgiref", "uwsgi",
                  "uwsgi-http11"]


@pytest.mark.parametrize(("declared", "post_data"), [
    pytest.param(6, {"mimeType": "application/json", "text": "abcdef"}, id="sent"),
    pytest.param(1000, {"mimeType": "application/json", "text": "abcdef", "comment": (
        "incomplete: 6 of 1000 bytes could be read without waiting")}, id="declared-more"),
])
@pytest.mark.parametrize("app", ["plain_app", "flask_app"], scope="module")
@pytest.mark.parametrize("server", server_params(GROUPING_READS), scope="module")
def test_wsgi_grouping_function_reads_a_body_the_app_left_unread(
        module_docs_collector: Collector, served_app: tuple[str, int], server: str,
        app: str, declared: int, post_data: dict[str, str]) -> None:
    """The grouping function runs when the app starts its response and may read the body
    the app never read (webob's request.body; Flask's request.get_data()): it gets what
    has arrived (GRACE at most, the default here), the same bytes the log has, each
    once. The client gets the whole answer before it sends anything more (a read
    waiting for the client would hold the worker until the server's timeout), and a
    next client is served."""
    log = grouping_request(module_docs_collector, *served_app, declared)
    request = log["request"]["log"]["entries"][0]["request"]
    # SPEC 4: the bytes received (all that is here is kept), the comment says of how many.
    assert request["bodySize"] == len(post_data["text"])
    # uWSGI included: what it holds of the body is read a byte at a time there, so the
    # read that meets the end loses nothing (rest_uwsgi.py).
    assert request["postData"] == post_data
    # What the grouping function read: the body as logged.
    assert log["group"]["label"] == "body:" + post_data["text"]


@pytest.fixture(scope="module")
def served_plain_app(server: str, module_docs_collector: Collector,
                     tmp_path_factory: pytest.TempPathFactory
                     ) -> Iterator[tuple[str, int, Path]]:
    """:func:`served_app` for plain_app, to tests that do not parametrize ``app`` (a
    module fixture ``app`` standing in for the parameter was not enough: pytest kept a
    flask_app server cached by the tests that do, and gave it to these): its base URL,
    port and output file. The bodies sent in full share it too (suite45: 16 servers
    were 4 new ones)."""
    port = free_port()
    tmp = tmp_path_factory.mktemp(f"{server}-plain")
    argv = FULL_BODY[server](port, "tests.support.e2e_apps:plain_app")
    with serve(argv, server_env(module_docs_collector), tmp, port) as base:
        yield base, port, tmp / f"server-{port}.log"


@contextlib.contextmanager
def plain_app_client(served: tuple[str, int, Path]) -> Iterator[tuple[socket.socket, int]]:
    """A connection to the wrapped plain app :func:`served_plain_app` serves under
    ``server`` (one worker), and its port."""
    port = served[1]
    with socket.create_connection(("127.0.0.1", port), timeout=SAFETY) as client:
        yield client, port


@pytest.mark.parametrize("server", server_params(["uwsgi", "uwsgi-http11"]), scope="module")
def test_wsgi_app_reads_on_after_the_grouping_function_read_an_unfinished_body(
        module_docs_collector: Collector, served_plain_app: tuple[str, int, Path], server: str
        ) -> None:
    """The grouping function reads the first half of a body, all that has arrived (uWSGI
    holds it, read with the request head); the client sends the rest once the answer has
    begun, and the app, reading only once it is in, gets the whole body, as without the
    middleware. A read of what uWSGI holds that met the end used to lose the bytes it
    took: the app got the body with a gap (``8:abcfghij``)."""
    trace = uuid.uuid4().hex
    docs_collector = module_docs_collector
    with plain_app_client(served_plain_app) as (client, port):
        client.sendall(request_bytes(port, 10, b"abcde", trace, "/read-later?rest=5",
                                     extra="X-Read-Body: 1\r\n"))
        answer = read_answer(client, SAFETY, until=b"first;")
        assert answer.endswith(b"first;"), answer
        client.sendall(b"fghij")
        answer += read_answer(client, SAFETY, until=b"abcdefghij")
        log = logged(docs_collector, trace)
    assert b"first;10:abcdefghij" in answer, answer
    assert log["group"]["label"] == "body:abcde"
    request = log["request"]["log"]["entries"][0]["request"]
    assert request["postData"] == {"mimeType": "application/json", "text": "abcdefghij"}


# uWSGI too: the grouping function's read there used to shut the connection's read side
# down (rest_uwsgi.py), and the app's read of a rest not there yet failed at once.
@pytest.mark.parametrize("server", server_params(["gunicorn-sync", "gunicorn-gthread",
                                                  "werkzeug", "wsgiref", "uwsgi",
                                                  "uwsgi-http11"]), scope="module")
def test_wsgi_app_reads_after_the_grouping_function_the_whole_body(
        module_docs_collector: Collector, served_plain_app: tuple[str, int, Path], server: str
        ) -> None:
    """The grouping function reads the body first (at start_response), the app after,
    as its answer goes: the grouping function gets what had arrived, the app all of it,
    as without the middleware (its read waits for the rest: the app's own doing, as
    bare), and the log has it once."""
    trace = uuid.uuid4().hex
    docs_collector = module_docs_collector
    with plain_app_client(served_plain_app) as (client, port):
        client.sendall(request_bytes(port, 6, b"abc", trace, "/read-stream",
                                     extra="X-Read-Body: 1\r\n"))
        answer = read_answer(client, QUIET)  # the app reads on: nothing complete yet
        assert not complete(answer), answer
        client.sendall(b"def")
        answer += read_answer(client, SAFETY, until=b"6:abcdef")
        assert answer.endswith((b"6:abcdef\r\n0\r\n\r\n", b"6:abcdef")), answer
        log = logged(docs_collector, trace)
    assert log["group"]["label"] == "body:abc"
    request = log["request"]["log"]["entries"][0]["request"]
    assert request["bodySize"] == 6
    assert request["postData"] == {"mimeType": "application/json", "text": "abcdef"}


@pytest.mark.parametrize("server", ["gunicorn-sync", "gunicorn-gthread"], scope="module")
def test_malformed_chunked_body_is_logged_with_the_servers_400(
        module_docs_collector: Collector, served_plain_app: tuple[str, int, Path], server: str
        ) -> None:
    """gunicorn's wsgi.input raises for a chunk size that is no hex number; out of the
    app, gunicorn answers that with 400, not 500: the log says what the client got.
    gunicorn 23 (the last on Python 3.9) answers nothing there (its chunk errors are
    OSErrors, taken for a broken connection); the log says 400 all the same, as the ASGI
    side logs a malformed body its server cut (CUT_STATUS), and nginx such a request."""
    docs_collector = module_docs_collector
    port = served_plain_app[1]
    trace = uuid.uuid4().hex
    head = (f"POST /read-all HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            f"Content-Type: text/plain\r\nTransfer-Encoding: chunked\r\n"
            f"Connection: close\r\nX-Api-Key: bad-body\r\nX-Trace: {trace}\r\n\r\n").encode()
    with socket.create_connection(("127.0.0.1", port), timeout=SAFETY) as client:
        client.sendall(head + b"zz\r\nabc\r\n0\r\n\r\n")
        answer = read_answer(client, SAFETY)
        log = logged(docs_collector, trace)
    if _version("gunicorn") < (24,):
        assert answer == b""
    else:
        assert answer.split(b"\r\n")[0] == b"HTTP/1.1 400 Bad Request"
    response = log["request"]["log"]["entries"][0]["response"]
    assert response["status"] == 400
    assert response["comment"] == ("the server answered 400 itself (a malformed request "
                                   "body) and sent none of the app's answer")


def cut_short_answer(collector: Collector, tmp_path: Path, server: str, attribute: str,
                     path: str, port: int) -> tuple[bytes, str]:
    """A client declaring 10 bytes sends ``abc`` and shuts its side; the app reads the
    body at ``path``. Returns the answer (to the connection's end) and the trace."""
    trace = uuid.uuid4().hex
    with serve(SINGLE[server](port, f"tests.support.e2e_apps:{attribute}"),
               server_env(collector), tmp_path, port), socket.create_connection(
            ("127.0.0.1", port), timeout=SAFETY) as client:
        client.sendall(request_bytes(port, 10, b"abc", trace, path))
        client.shutdown(socket.SHUT_WR)
        answer = read_answer(client, SAFETY)
        if attribute == "plain_app":
            logged(collector, trace)
    return answer, trace


@pytest.mark.parametrize("path", ["/read-all", "/echo"])  # read(), read(CONTENT_LENGTH)
@pytest.mark.parametrize("server", server_params(["granian", "gunicorn-sync"]))
def test_a_server_that_ends_the_input_gets_the_apps_own_reads(
        docs_collector: Collector, tmp_path: Path, server: str, path: str) -> None:
    """These servers end ``wsgi.input`` at the body's end (``wsgi.input_terminated``), so
    the app's reads go to them as it makes them, not held to CONTENT_LENGTH: granian
    answers ``read()`` of a body cut short with b"" and ``read(10)`` with what arrived,
    and the app got ``abc`` from ``read()`` where bare it gets b"". granian 2.5 (the last
    on Python 3.9) sets no ``wsgi.input_terminated``: its input is known by its type, and
    the app got ``abc`` there until it was. Answers compared bare and wrapped, each server
    on its own, at the same time."""
    bare_port, wrapped_port = free_ports(2)
    with ThreadPoolExecutor(2) as pool:
        bare_case = pool.submit(cut_short_answer, docs_collector, tmp_path, server,
                                "plain_bare", path, bare_port)
        wrapped_case = pool.submit(cut_short_answer, docs_collector, tmp_path, server,
                                   "plain_app", path, wrapped_port)
        bare, _ = bare_case.result()
        wrapped, _ = wrapped_case.result()
    assert bare.startswith(b"HTTP/1.")
    assert normalized(wrapped, server) == normalized(bare, server)
