"""exit18's items: what the log says when a signal's exception ends an answer.

1. A KeyboardInterrupt or SystemExit (Ctrl-C, a SIGTERM handler, gunicorn's SIGINT to its
   worker, an app's own ``sys.exit()``) raised out of the app before the server had any
   of its answer was logged as the server's own 500. Only wsgiref (and Django's
   runserver, built on it) answers 500 for it (its ``except:`` takes anything);
   werkzeug's, gunicorn's and waitress's handlers catch ``Exception`` only, so it passes
   through them: werkzeug and gunicorn close the connection with nothing sent, waitress
   leaves the request unanswered. Now logged as no answer (the 500 with the comment
   "no answer reached the client"), what the client got under each server.

The synchronisation points are exact: the app raises the signal itself (a real SIGINT,
handled in this process's main thread) or gets it from its own ``os.kill`` (gunicorn's
worker); waitress's thread logs the exception once it is done with the request.
"""

from __future__ import annotations

import logging
import signal
import socket
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Callable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.capture_wrap import only_log, wrap_fixture  # noqa: F401 - ``wrap``
from tests.support.fake_api import Collector
from tests.support.wsgi_servers import one_request
from tests.test_exit17_findings import _served, _Wire, sigint_at_second_write

_REQUEST = b"GET /stop HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"


def _stopping(where: str, stop: Callable[[], None]) -> Callable[..., Any]:
    """An app that started a 200 and calls ``stop`` (which raises, or has a signal raise)
    ``where``: "call" (before it returns) or "iterable" (before its first chunk)."""
    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        start_response("200 OK", [("Content-Type", "text/plain")])
        if where == "call":
            stop()
            return [b"never"]
        return _chunks(stop)
    return app


def _chunks(stop: Callable[[], None]) -> Iterator[bytes]:
    stop()
    yield b"never"


def _sigint() -> None:
    """A real SIGINT to this process, handled now (in the main thread)."""
    signal.raise_signal(signal.SIGINT)


def _no_answer(collector: Collector, why: str) -> None:
    """The one log says no answer reached the client (the server ``why``), the app
    having started a 200."""
    response = only_log(collector)["request"]["log"]["entries"][0]["response"]
    assert response["status"] == 500 and response["headers"] == [], response
    assert response["content"]["size"] == 0, response
    assert response["comment"] == (
        f"no answer reached the client: the server {why}; the app answered 200"), response


@contextmanager
def _sigint_raises() -> Iterator[None]:
    if threading.current_thread() is not threading.main_thread():
        pytest.skip("signals are handled in the main thread only")
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _read_all(sock: socket.socket) -> bytes:
    """What the server sent until it closed the connection."""
    return b"".join(iter(lambda: sock.recv(65536), b""))


@pytest.mark.e2e
@pytest.mark.parametrize("where", ["call", "iterable"])
@pytest.mark.parametrize("server", ["wsgiref", "werkzeug"])
def test_a_real_sigint_before_the_first_chunk_is_logged_as_what_the_client_got(
        wrap: Callable[..., Any], collector: Collector, server: str, where: str) -> None:
    """wsgiref's server and werkzeug's (unthreaded, as ``app.run()``) serving one request
    in this process's main thread, whose app gets a real SIGINT after it started its 200,
    before the server had a chunk. wsgiref takes the KeyboardInterrupt for the app's
    error and answers its own 500 (logged so, before and after); werkzeug lets it out of
    the server, which closes the connection with nothing sent: logged as no answer
    (before: the server's 500, which no client got)."""
    with one_request(server, wrap(_stopping(where, _sigint))) as (port, serve), \
            socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(_REQUEST)
        with _sigint_raises():
            serve()
        got = _read_all(sock)
    if server == "wsgiref":
        assert got.startswith(b"HTTP/1.0 500 Internal Server Error\r\n"), got
        response = only_log(collector)["request"]["log"]["entries"][0]["response"]
        assert response["status"] == 500, response
        assert response["comment"].startswith("the server answered 500"), response
    else:
        assert got == b""
        _no_answer(collector, "stopped serving the request at a KeyboardInterrupt and "
                   "closed the connection")


@pytest.mark.e2e
@pytest.mark.parametrize("where", ["call", "iterable"])
def test_waitress_leaves_an_answer_stopped_by_systemexit_unanswered(
        wrap: Callable[..., Any], collector: Collector, where: str) -> None:
    """waitress: an app's ``sys.exit()`` (a signal never lands in its worker threads)
    after it started its 200, before its first chunk. waitress's channel catches
    Exception only; its thread logs the SystemExit and leaves the request unanswered
    (the connection open, nothing sent). Logged as no answer (before: the server's 500,
    which no client got)."""
    from tests.support.wsgi_servers import waitress_served

    done = threading.Event()

    class Done(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if record.getMessage().startswith("Exception when servicing"):
                done.set()  # the thread is through with the request

    waitress_log = logging.getLogger("waitress")
    handler = Done()
    waitress_log.addHandler(handler)
    try:
        with waitress_served(wrap(_stopping(where, sys.exit)), threads=1) as port, \
                socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
            sock.sendall(_REQUEST)
            assert done.wait(30)
            sock.setblocking(False)
            with pytest.raises(BlockingIOError):  # open, and nothing came
                sock.recv(65536)
    finally:
        waitress_log.removeHandler(handler)
    _no_answer(collector, "left the request unanswered at a SystemExit, the connection open")


_GUNICORN_APP = """\
import os
import signal
import sys
import threading

from readme_metrics import MetricsApiConfig, MetricsMiddleware


def stop(environ):
    if threading.current_thread() is not threading.main_thread():
        sys.exit()  # (gthread: the app runs in a thread of a pool, no signal lands there)
    os.kill(os.getpid(), signal.SIGINT)  # the sync worker's handler: sys.exit(0)


def chunks(environ):
    stop(environ)
    yield b"never"


def inner(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    if environ["PATH_INFO"] == "/call":
        stop(environ)
        return [b"never"]
    return chunks(environ)


app = MetricsMiddleware(inner, MetricsApiConfig(
    grouping_function=lambda request: {"api_key": "caller-1"}))
"""


@pytest.mark.e2e
@pytest.mark.parametrize("where", ["call", "iterable"])
@pytest.mark.parametrize("worker", ["sync", "gthread"])
def test_gunicorn_answers_a_systemexit_before_the_first_chunk_as_its_worker_does(
        collector: Collector, where: str, worker: str, tmp_path: Any) -> None:
    """gunicorn: a SystemExit out of the app after it started its 200, before the
    server had a chunk: the sync worker's own, from a real SIGINT (its handler's
    ``sys.exit(0)``), and an app's ``sys.exit()`` in a gthread worker's thread. The sync
    worker's handler takes any exception and answers its own 500 (logged so, before and
    after); gthread's takes Exception only: the SystemExit ends the worker, and the
    client gets the connection closed with nothing sent, logged as no answer (before:
    the server's 500, which no client got)."""
    from tests.test_e2e_servers import GUNICORN

    threads = ["--threads=2"] if worker == "gthread" else []
    got, response = served_once(tmp_path, collector, _GUNICORN_APP, where, lambda port: [
        *GUNICORN[1:], f"--worker-class={worker}", *threads, f"--bind=127.0.0.1:{port}",
        "exit18_app:app"])
    assert response["status"] == 500 and response["headers"] == [], response
    if worker == "sync":
        assert got.startswith(b"HTTP/1.1 500 Internal Server Error\r\n"), got
        assert response["comment"].startswith("the server answered 500"), response
    else:
        assert got == b""
        assert response["comment"] == (
            "no answer reached the client: the server stopped serving the request at a "
            "SystemExit and closed the connection; the app answered 200"), response


def served_once(tmp_path: Any, collector: Collector, app: str, where: str,
                argv: Callable[[int], list[str]]) -> tuple[bytes, dict[str, Any]]:
    """``app`` as exit18_app.py, served by ``python -m argv(port)`` (inline mode), asked
    for ``/where`` once: what the client got until the server closed the connection,
    and the response of the one log (posted as the app raised, or at the exit)."""
    from tests.support.processes import end_stragglers
    from tests.test_exit14_findings import _connect, _serve

    process, port = _serve(tmp_path, collector, "exit18_app", app, argv, background=False)
    try:
        with _connect(port, process) as sock:
            sock.sendall(_REQUEST.replace(b"/stop", b"/" + where.encode()))
            got = _read_all(sock)
        logs = collector.wait_for_logs(1)
    finally:
        process.terminate()
        process.communicate(timeout=30)
        end_stragglers(process)
    assert len(logs) == 1
    return got, logs[0]["request"]["log"]["entries"][0]["response"]


# -- 4. "broke off after N bytes": N what the server was handed ---------------------


def _raising_in_record(chunk: bytes, calls: int, error: BaseException) -> Any:
    """A trace function raising ``error`` at the ``calls``-th call made inside the
    middleware's record of ``chunk`` (Kept's), once its count of the chunk may have
    begun, or at the record's return (the chunk counted) if fewer calls came: an
    asynchronous exception landing there. The server never gets the chunk."""
    from readme_metrics.capture.recorder import Recorder

    state = {"inside": False, "left": calls}

    def left(frame: Any, event: str, arg: Any) -> Any:
        if event == "return":
            state["inside"] = False  # (the record's calls only)
            sys.settrace(None)
            raise error  # at its return, the chunk counted, if no call came before
        return left

    def trace(frame: Any, event: str, arg: Any) -> Any:
        if event != "call":
            return None
        if frame.f_code is Recorder.record.__code__:
            state["inside"] = frame.f_locals.get("chunk") == chunk
            return left if state["inside"] else None
        if state["inside"]:
            state["left"] -= 1
            if not state["left"]:
                sys.settrace(None)
                raise error
        return None

    return trace


@settings(max_examples=30, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(sizes=st.lists(st.integers(1, 3000), min_size=2, max_size=4), data=st.data())
def test_an_answer_broken_off_in_the_record_of_a_chunk_counts_what_went_out(
        wrap: Callable[..., Any], collector: Collector, sizes: list[int],
        data: st.DataObject) -> None:
    """Random answers (chunks small and large, so kept as they are or copied), a signal
    landing inside the middleware's record of a later chunk, after its count began: the
    server never got that chunk, and the log's size and text are what wsgiref's client
    got (before: the chunk counted, "broke off after N" N too many)."""
    chunks = tuple(bytes([65 + n]) * size for n, size in enumerate(sizes))
    at = data.draw(st.integers(1, len(chunks) - 1), label="at")
    calls = data.draw(st.integers(1, 3), label="calls")
    before = len(collector.logs)
    path = f"/case{before}"
    app = wrap(_stream_of(chunks))
    wire = _Wire()
    sys.settrace(_raising_in_record(chunks[at], calls, KeyboardInterrupt()))
    try:
        _served(app, wire, path)
    finally:
        sys.settrace(None)
    logs = collector.wait_for_logs(before + 1)
    (log,) = [log for log in logs
              if log["request"]["log"]["entries"][0]["request"]["url"].endswith(path)]
    content = log["request"]["log"]["entries"][0]["response"]["content"]
    body = wire.getvalue().split(b"\r\n\r\n", 1)[1]
    assert body == b"".join(chunks[:at])
    assert content["size"] == len(body), content.get("comment")
    assert content["text"] == body.decode()
    assert content["comment"].startswith(
        f"incomplete: the app's answer broke off after {len(body)} bytes"), content


def _stream_of(chunks: tuple[bytes, ...]) -> Callable[..., Iterator[bytes]]:
    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterator[bytes]:
        start_response("200 OK", [("Content-Type", "text/plain")])
        yield from chunks
    return app


# -- 1. a list answer under a server that runs the app in the main thread ------------


@pytest.mark.e2e
@pytest.mark.parametrize("kind", [list, tuple])
@pytest.mark.parametrize("server", ["wsgiref", "werkzeug"])
def test_a_real_sigint_in_a_real_servers_write_of_a_list_breaks_the_answer_off(
        wrap: Callable[..., Any], collector: Collector, server: str, kind: type) -> None:
    """wsgiref's server and werkzeug's (unthreaded, as ``app.run()``) serving an app that
    returns a list (or tuple) of three chunks, in this process's main thread; a real
    SIGINT arrives as the server starts writing the second. The client got the head and
    "first", then a closed connection; the log says the answer broke off after what the
    server was handed (before: complete, "firstsecondthird", the list logged when the
    app returned it)."""
    def listing(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        start_response("200 OK", [("Content-Type", "text/plain")])
        return kind([b"first", b"second", b"third"])

    sigint_at_second_write(server, wrap(listing), collector)


# -- a signal at the entry of wsgiref's write of the first chunk ---------------------


@pytest.mark.parametrize("error", [KeyboardInterrupt, SystemExit])
def test_a_signal_before_wsgirefs_head_went_out_is_logged_as_its_500(
        wrap: Callable[..., Any], collector: Collector, error: type) -> None:
    """A signal's exception landing as wsgiref's handler begins writing the first chunk,
    before it marks the head sent: wsgiref answers its own 500, none of the app's
    answer sent. Logged so (before: 200, "broke off after 5 bytes", a head and body no
    client got). Once the head went out, the answer breaks off (exit17's tests)."""
    from wsgiref.simple_server import ServerHandler

    from tests.test_exit17_findings import _content, _stream

    class Stopped(ServerHandler):
        def write(self, data: bytes) -> None:
            if data == b"first":
                raise error()
            super().write(data)

    wire = _Wire()
    _served(wrap(_stream()), wire, handler_class=Stopped)
    assert wire.getvalue().startswith(b"HTTP/1.0 500 Internal Server Error\r\n")
    status, content, response = _content(collector)
    assert status == 500 and content["size"] == 0, response
    assert "comment" not in content, content
    assert response["comment"] == (
        "the server answered 500 itself (the app raised) and sent none of the app's "
        "answer; the app answered 200"), response
