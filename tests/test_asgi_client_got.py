"""ASGI under real servers: the log says what the client got, the app sees what it sees bare.

Raw clients against tests/support/asgi_cases.py's plain app, served bare and wrapped by
one server process (uvicorn with h11 and httptools, hypercorn's asyncio and trio
workers, granian, and daphne when installed), for what the servers do on their own:

- a client leaving a stream the app goes on sending without asking ``receive``: the
  servers drop the rest without a word, and the log ends where the client went;
- an app that ends after its response start and before any body message: granian holds
  the start until the first one and answers 500 itself;
- an app that receives after its response is complete: uvicorn says ``http.disconnect``
  then, whatever body is left unread, and the wrapped app is told the same.
"""

from __future__ import annotations

import itertools
import socket
import sys
import time
from pathlib import Path
from typing import Any, Iterator

import pytest

from tests.support.asgi_cases import LATE, ODD_FILE_SIZE
from tests.support.fake_api import Collector, free_port
from tests.support.polling import wait_until
from tests.test_asgi_conformance import _MISSING, SAFETY, SERVERS, _raw, _trace_of
from tests.test_e2e_servers import serve, server_env
from tests.test_slow_client import normalized, read_answer

pytestmark = pytest.mark.e2e

try:
    import daphne  # noqa: F401

    HAVE_DAPHNE = True
except ImportError:  # not in the test extra: checked where it is installed
    HAVE_DAPHNE = False

ALL = {**SERVERS, "daphne": lambda port, target: [
    sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), target]}
MISSING = {**_MISSING, "daphne": not HAVE_DAPHNE}


def _servers(*names: str) -> list[Any]:
    return [pytest.param(name, marks=pytest.mark.skipif(
        MISSING.get(name, False), reason=f"{name} is not installed")) for name in names]


def _entries(collector: Collector, count: int) -> dict[str, dict[str, Any]]:
    logs = collector.wait_for_logs(count, timeout=SAFETY)
    return {_trace_of(log): log["request"]["log"]["entries"][0] for log in logs}


_TRACES = itertools.count()


def _trace(name: str) -> str:
    """``name`` made unique among the traces sent to a server that several tests share
    (:func:`served`)."""
    return f"{name}-{next(_TRACES)}"


def _entry(collector: Collector, trace: str) -> dict[str, Any]:
    """The HAR entry of the log of the wrapped request sent with ``trace``, whatever
    else the collector got."""
    log = collector.wait_for_log(lambda log: _trace_of(log) == trace, timeout=SAFETY)
    return log["request"]["log"]["entries"][0]


@pytest.fixture(scope="module")
def served(server: str, module_collector: Collector,
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """``server`` serving tests.support.asgi_cases' plain app for every test of the module
    that asks for it (``server`` parametrized with ``scope="module"``: pytest runs them
    one after the other), posting to ``module_collector``: its port. Starting a server
    is most of such a test's time; each test sends its own trace (:func:`_trace`) and
    reads only its own log (:func:`_entry`)."""
    port = free_port()
    tmp = tmp_path_factory.mktemp(server)
    with serve(ALL[server](port, "tests.support.asgi_cases:plain_root"),
               server_env(module_collector), tmp, port):
        yield port


@pytest.mark.parametrize("server", _servers("uvicorn-h11", "uvicorn-httptools", "daphne",
                                             "hypercorn", "hypercorn-trio"), scope="module")
def test_a_stream_the_client_left_is_logged_as_far_as_it_went(
        module_collector: Collector, served: int, tmp_path: Path) -> None:
    """The client reads four chunks and leaves; the app, never calling ``receive``, sends
    LATE more once the client is gone (each after a turn of the loop, in which the server
    sees the connection closed). The servers take them and drop them without a word: the
    log has the four, and at most the few late chunks sent before the server saw it,
    never all of them. hypercorn knows only once a write brought the client's reset (it
    marks a stream closed at the end of the client's data, also when the client only
    half-closed, and still writes it the whole answer): it was logged as sent in full.
    (granian tells nothing: not here.)"""
    check_left_stream(module_collector, served, tmp_path / "barrier", _trace("left"))


def assert_left_stream_logged_as_far_as_it_went(
        collector: Collector, tmp_path: Path, server: str, target: str,
        *headers: str) -> None:
    """Serve ``target`` (an app with ``/wrap/left``: four chunks, then LATE more once the
    barrier file exists), read the four (asked for with ``headers``), leave, and check
    that the log, the only one, has the four and not all that the app sent."""
    port = free_port()
    with serve(ALL[server](port, target), server_env(collector), tmp_path, port):
        check_left_stream(collector, port, tmp_path / "barrier", "left", *headers)


def check_left_stream(collector: Collector, port: int, barrier: Path, trace: str,
                      *headers: str) -> None:
    """:func:`assert_left_stream_logged_as_far_as_it_went` on a server already serving
    the app at ``port`` (one that other tests share: the log looked for, and counted, is
    the one with ``trace``), ``barrier`` a path of the test's own."""
    with socket.create_connection(("127.0.0.1", port), timeout=SAFETY) as sock:
        sock.sendall(_raw(port, "wrap", trace, "GET", f"/left?barrier={barrier}", b"",
                          *headers))
        answer = b""
        while b"chunk 3\n" not in answer:
            chunk = sock.recv(65536)
            assert chunk, f"closed early: {answer!r}"
            answer += chunk
    barrier.touch()  # the socket is closed: now the app sends on
    content = _entry(collector, trace)["response"]["content"]
    time.sleep(0.3)  # the time a second log of it would take to come
    assert [_trace_of(log) for log in collector.logs].count(trace) == 1, (
        "logged more than once")
    everything = b"".join(b"chunk %d\n" % i for i in range(4)) + b"".join(
        b"late %d\n" % i for i in range(LATE))
    assert content["text"].startswith("chunk 0\nchunk 1\nchunk 2\nchunk 3\n")
    assert content["size"] == len(content["text"].encode())
    assert content["size"] < len(everything), "logged as sent in full"
    # capture11: and it says the client left before the answer's end (it said nothing:
    # a 200 of a few chunks read as a whole answer).
    assert "the client left before the answer's end" in content.get("comment", ""), content


@pytest.mark.parametrize("then", ["return", "raise"])
@pytest.mark.parametrize("server", _servers(*ALL), scope="module")
def test_an_app_ending_after_its_start_is_logged_as_the_client_got_it(
        module_collector: Collector, served: int, server: str, then: str) -> None:
    """The app sends its start (201) and returns, or raises, without a body message. Most
    servers have written the start: the client gets the 201. granian writes it only with
    the first body message, and answers its own 500. The answer is the bare app's, and
    the log has the status the client got."""
    trace, answers = _trace(then), []
    for prefix in ("bare", "wrap"):
        with socket.create_connection(("127.0.0.1", served), timeout=SAFETY) as sock:
            sock.sendall(_raw(served, prefix, trace, "GET", f"/start-only?then={then}"))
            # daphne holds the start too, and never answers: nothing to compare.
            answers.append(normalized(read_answer(sock, 2 if server == "daphne"
                                                  else SAFETY), server))
    response = _entry(module_collector, trace)["response"]
    bare, wrapped = answers
    assert wrapped == bare
    if server != "daphne":
        assert response["status"] == int(wrapped[0].split()[1])
    if response["status"] == 500:  # granian's own: the log says so, and what the app sent
        assert response["comment"] == (
            "the server answered 500 itself (the app ended before any body message) and "
            "sent none of the app's answer; the app answered 201"), response


@pytest.mark.parametrize("server", _servers(*ALL), scope="module")
def test_a_receive_after_the_response_gets_what_it_gets_bare(
        module_collector: Collector, served: int, tmp_path: Path) -> None:
    """The app answers without reading the body (5 bytes, sent whole), then calls
    ``receive`` once. The middleware read the body ahead for the log; the app's
    ``receive`` still gets what the server gives it bare: uvicorn says ``http.disconnect``
    once the response is complete, the others give the body."""
    trace, got = _trace("after"), {}
    for prefix in ("bare", "wrap"):
        out = tmp_path / f"after-{prefix}"
        with socket.create_connection(("127.0.0.1", served), timeout=SAFETY) as sock:
            sock.sendall(_raw(served, prefix, trace, "POST", f"/read-after?out={out}",
                              b"hello"))
            assert read_answer(sock, SAFETY).endswith(b"answered")
            wait_until(out.exists)  # held open: a close would say disconnect
        got[prefix] = out.read_text()
    post = _entry(module_collector, trace)["request"]["postData"]
    assert got["wrap"] == got["bare"]
    assert post["text"] == "hello"


@pytest.mark.parametrize("server", _servers("hypercorn", "hypercorn-trio"), scope="module")
def test_a_client_half_closing_after_its_request_is_logged_with_the_answer_it_got(
        module_collector: Collector, served: int) -> None:
    """The client sends its whole request and shuts its side (``shutdown(SHUT_WR)``);
    these servers still write it the whole answer, and the log has that answer's body
    (hypercorn marks the stream closed at the client's end of data: no sign that the
    client is gone)."""
    trace = _trace("half")
    with socket.create_connection(("127.0.0.1", served), timeout=SAFETY) as sock:
        sock.sendall(_raw(served, "wrap", trace, "POST", "/echo", b"hello"))
        sock.shutdown(socket.SHUT_WR)
        answer = read_answer(sock, SAFETY)
    content = _entry(module_collector, trace)["response"]["content"]
    assert answer.endswith(b"\r\n\r\nhello")
    assert (content["size"], content["text"]) == (5, "hello")


@pytest.mark.parametrize("server", _servers(*ALL))
def test_a_file_response_is_logged_with_all_the_client_got(
        collector: Collector, tmp_path: Path, server: str) -> None:
    """Starlette's ``FileResponse`` of 100,000 bytes (its last body message carries
    bytes; pathsend where offered). The client gets all of it, and so says the log. Under
    hypercorn's trio worker the last ``send`` used to be cancelled once the server had
    written it (hypercorn says ``http.disconnect`` from within it, and Starlette's
    listener then cancels the sender): the log had 65,536 bytes."""
    port = free_port()
    with serve(ALL[server](port, "tests.support.asgi_cases:starlette_root"),
               server_env(collector), tmp_path, port):
        with socket.create_connection(("127.0.0.1", port), timeout=SAFETY) as sock:
            sock.sendall(_raw(port, "wrap", "file", "GET", "/odd-file"))
            answer = read_answer(sock, SAFETY)
        content = _entries(collector, 1)["file"]["response"]["content"]
    assert len(answer.partition(b"\r\n\r\n")[2]) == ODD_FILE_SIZE
    assert content["size"] == ODD_FILE_SIZE


@pytest.mark.parametrize("args", [5, None, (), ("not daphne",)])
def test_a_send_with_odd_args_is_passed_to_untouched(collector: Collector, args: Any) -> None:
    """Whether the client is gone is looked up on the server's ``send``; a ``send`` that
    is no bound method and carries an ``args`` of its own (review10: ``args = 5`` raised
    TypeError into the app, and the body never went) gets every message, as bare."""
    import asyncio

    from readme_metrics import MetricsApiConfig
    from readme_metrics.asgi import MetricsMiddleware

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"hi"})

    got: list[str] = []

    class Send:
        async def __call__(self, message: Any) -> None:
            got.append(message["type"])

    send = Send()
    send.args = args  # type: ignore[attr-defined]

    async def receive() -> Any:
        return {"type": "http.request", "body": b"", "more_body": False}

    middleware = MetricsMiddleware(app, MetricsApiConfig(
        api_key="k" * 20, grouping_function=lambda request: {"api_key": "abcd1234"},
        metrics_api=collector.url))
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
             "method": "GET", "scheme": "http", "path": "/", "raw_path": b"/",
             "query_string": b"", "headers": [(b"host", b"x")], "server": ("x", 80),
             "client": ("1.2.3.4", 5)}
    try:
        asyncio.run(middleware(scope, receive, send))
        assert got == ["http.response.start", "http.response.body"]
        middleware.flush()
        assert len(collector.wait_for_logs(1)) == 1
    finally:
        middleware.close()
