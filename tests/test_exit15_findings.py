"""exit15's items: requests at exit, adversarially (after exit14 and review66).

1. A request the app is still computing when the process exits (waitress stopped while
   the app sleeps in its call, SIGTERM made an exit as README's troubleshooting says)
   was neither logged nor counted: stats captured 1 of 2, dropped 0. Now it is logged as
   unanswered where the grouping function has answered (the app called start_response),
   else counted dropped ("shutdown"); the exit's line says which. gunicorn finishes such
   a request before its worker exits: logged whole, as before.
2. The exit's line counted a response in flight whose grouping function returned None as
   "logged as far as it went".
3. Two threads settling one response at once (its close() and the exit's cut) lowered the
   count of open responses twice.
"""

from __future__ import annotations

import signal
import subprocess
import threading
import weakref
from pathlib import Path
from typing import Any, Callable

import pytest

from readme_metrics.capture import unclosed
from tests.support.fake_api import Collector
from tests.support.processes import end_stragglers, read_line
from tests.test_exit14_findings import (
    _PRELUDE,
    MARGIN,
    SHUTDOWN_TIMEOUT,
    WAITRESS_JOIN,
    _by_path,
    _connect,
    _get,
    _serve,
    _stats,
    _stopped,
    _stopped_in,
    _waitress,
)

_APP = _PRELUDE + """\
import logging
logging.getLogger("readme_metrics").setLevel(logging.INFO)  # the exit's INFO line too

from readme_metrics import MetricsApiConfig, MetricsMiddleware

def inner(environ, start_response):
    path = environ["PATH_INFO"]
    if path == "/ready":
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]
    if path.endswith("/started"):  # the grouping function answers at start_response
        start_response("200 OK", [("Content-Type", "text/plain")])
    if path.startswith("/computing"):  # still in the app's call at exit
        print("entered", flush=True)
        time.sleep(float(os.environ.get("COMPUTE", "600")))
        if not path.endswith("/started"):
            start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"computed"]
    def stream():
        start_response("200 OK", [("Content-Type", "text/plain")])
        for number in range(600):
            yield b"chunk %d\\n" % number
            if number == 3:  # after the yield: a SIGTERM sent on this word lands in the
                # app's sleep, not in the middleware's or the server's handling of the
                # chunk (where, at load, it left a log without its comment: fresh CI)
                print("entered", flush=True)
            time.sleep(0.1)
    return stream()

app = MetricsMiddleware(inner, MetricsApiConfig(
    grouping_function=lambda request: (
        None if request.path.startswith("/skipped") else {"api_key": "caller-1"}),
    shutdown_timeout=SHUTDOWN))
""".replace("SHUTDOWN", repr(SHUTDOWN_TIMEOUT))

_LIMIT = WAITRESS_JOIN + SHUTDOWN_TIMEOUT + MARGIN


def _waitress_app(port: int) -> list[str]:
    return [arg.replace("stream_app:", "exit15_app:") for arg in _waitress(port)]


def _waitress_stopped_in(tmp_path: Path, collector: Collector, path: str, count: int
                         ) -> tuple[str, dict[str, dict[str, Any]]]:
    """waitress serving exit15's app, stopped by SIGTERM (made an exit) with ``path`` in
    flight (:func:`_stopped_in`): its stderr, and the ``count`` logs by path."""
    process, port = _serve(tmp_path, collector, "exit15_app", _APP, _waitress_app,
                           TERM_EXITS="1")
    _, err = _stopped_in(process, port, path, signal.SIGTERM, _LIMIT)
    assert process.returncode == 0, err
    return err, _by_path(collector.wait_for_logs(count))


@pytest.mark.e2e
def test_a_request_the_app_is_still_computing_at_exit_is_counted_dropped(
        tmp_path: Path, collector: Collector) -> None:
    """waitress stopped (SIGTERM made an exit) while the app computes in its call,
    before start_response: the grouping function was never asked, and is not at exit.
    Before: stats captured 1, dropped 0, nothing said. Now: captured 2, dropped
    ("shutdown") 1, with a warning."""
    err, logs = _waitress_stopped_in(tmp_path, collector, "/computing", 1)
    assert sorted(logs) == ["ready"], err
    stats = _stats(err)
    assert (stats["captured"], stats["sent"], stats["dropped"],
            stats["dropped_shutdown"]) == (2, 1, 1, 1), stats
    assert ("WARNING" in err or "exiting with" in err) and (
        "exiting with 1 request unfinished (still being sent, or the app still computing "
        "it): 1 not delivered (the grouping function not asked yet: counted in "
        "dropped_shutdown)") in err, err


@pytest.mark.e2e
def test_a_request_computed_after_start_response_at_exit_is_logged_unanswered(
        tmp_path: Path, collector: Collector) -> None:
    """The app called start_response (the grouping function answered), then computes
    in its call when the process exits: no answer reaches the client (nothing was sent;
    the connection closes with the process). Before: lost without a word. Now: logged as
    the 500 of a request no answer reached, with a comment saying why."""
    err, logs = _waitress_stopped_in(tmp_path, collector, "/computing/started", 2)
    assert sorted(logs) == ["ready", "started"], err
    response = logs["started"]["response"]
    assert response["status"] == 500, response
    assert response["content"]["size"] == 0, response
    assert response["comment"] == (
        "no answer reached the client: the server exited while the app was still "
        "computing its answer and closed the connection; the app answered 200"), response
    stats = _stats(err)
    assert (stats["captured"], stats["sent"], stats["dropped"]) == (2, 2, 0), stats
    assert ("exiting with 1 request unfinished (still being sent, or the app still "
            "computing it): 1 logged as unanswered (the app was still computing it)"
            ) in err, err


@pytest.mark.e2e
def test_gunicorn_finishes_a_request_in_the_apps_call_before_its_worker_exits(
        tmp_path: Path, collector: Collector) -> None:
    """gunicorn's sync worker stopped by SIGTERM while the app computes in its call (2 s,
    within --graceful-timeout): the call returns, the answer goes out, then the worker
    exits and its exit flush delivers it whole (nothing for the exit to cut or count)."""
    process, port = _serve(tmp_path, collector, "exit15_app", _APP, lambda port: [
        "gunicorn", "-b", f"127.0.0.1:{port}", "--graceful-timeout", "60",
        "exit15_app:app"], COMPUTE="2")
    _, err = _stopped_in(process, port, "/computing", signal.SIGTERM, 2 + _LIMIT)
    assert process.returncode == 0, err
    logs = _by_path(collector.wait_for_logs(2))
    assert sorted(logs) == ["computing", "ready"], err
    assert logs["computing"]["response"]["content"]["text"] == "computed"
    stats = _stats(err)
    assert (stats["captured"], stats["sent"], stats["dropped"]) == (2, 2, 0), stats
    assert "exiting with" not in err, err


@pytest.mark.e2e
def test_a_stream_in_flight_the_grouping_function_skipped_is_not_said_logged(
        tmp_path: Path, collector: Collector) -> None:
    """A stream in flight at exit whose grouping function returned None: not logged, and
    counted skipped, as it would have been. Before: the exit's line said "1 logged as
    far as it went, marked incomplete" for it."""
    err, logs = _waitress_stopped_in(tmp_path, collector, "/skipped", 1)
    assert sorted(logs) == ["ready"], err
    stats = _stats(err)
    assert (stats["captured"], stats["sent"], stats["skipped"], stats["dropped"]
            ) == (2, 1, 1, 0), stats
    assert "logged as far as it went" not in err, err
    assert ("exiting with 1 request unfinished (still being sent, or the app still "
            "computing it): 1 not logged (the grouping function returned None)") in err


class _Held:
    """A stand-in for a response in flight (weakly referable)."""


def test_a_response_settled_by_two_threads_at_once_is_counted_once() -> None:
    """A response's close() in the server's thread and the exit's cut in the exiting
    thread both settle it, at once (two threads past a barrier). Before: unclosed.sent
    lowered the count of open responses once per call: two for one response, and the
    exit then skipped the collection another response still open needed."""
    unclosed.ready()
    other = _Held()
    unclosed.sending(other)  # another response, still open
    held = _Held()
    ref = unclosed.sending(held)
    before = len(unclosed._open)
    barrier = threading.Barrier(2)

    def settle() -> None:
        barrier.wait(timeout=30)
        unclosed.sent(ref)

    threads = [threading.Thread(target=settle) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
        assert not thread.is_alive()
    assert len(unclosed._open) == before - 1
    assert ref not in unclosed._in_flight
    del held  # its weakref's callback settles nothing more
    assert len(unclosed._open) == before - 1
    other_ref = weakref.ref(other)
    del other  # dropped without close(): the callback settles it, once
    assert other_ref() is None
    assert len(unclosed._open) == before - 2


_WSGIREF = """\
import sys
from wsgiref.simple_server import make_server

from exit15_app import app

make_server("127.0.0.1", int(sys.argv[1]), app).serve_forever()
"""


@pytest.mark.e2e
def test_wsgiref_takes_a_sigterm_mid_answer_as_the_apps_error_and_goes_on_serving(
        tmp_path: Path, collector: Collector) -> None:
    """What DELIVERY.md's Exit says of wsgiref (documented, not changed: the bare app
    does the same). With SIGTERM made an exit (README's troubleshooting), a SIGTERM while
    wsgiref sends a streamed answer raises SystemExit inside the app's iteration, and
    wsgiref's handler takes any exception there for the app's (a bare ``except:``): it
    prints the traceback, closes the response and serves on; the process does not end
    (``docker stop`` then SIGKILLs it: no exit flush). The stream's log is queued then,
    broken off; a second SIGTERM, between two requests, ends the process and its exit
    flush delivers every log (one that comes while wsgiref still writes an answer is
    taken the same way: the test reads the second answer to its end first)."""
    (tmp_path / "exit15_wsgiref.py").write_text(_WSGIREF)
    process, port = _serve(tmp_path, collector, "exit15_app", _APP,
                           lambda port: ["exit15_wsgiref", str(port)], TERM_EXITS="1")
    try:
        with _connect(port, process) as in_flight:
            _get(in_flight, "/stream")
            assert process.stdout is not None
            assert read_line(process.stdout, about="wsgiref").strip() == "entered"
            process.send_signal(signal.SIGTERM)
            in_flight.settimeout(60)
            while in_flight.recv(4096):  # wsgiref closes the stream's connection
                pass
        with _connect(port, process) as after:  # and answers the next request
            _get(after, "/ready")
            after.settimeout(60)
            answer = b""
            while True:  # to its end: a SIGTERM mid-answer would be taken again
                chunk = after.recv(4096)
                if not chunk:
                    break
                answer += chunk
            assert answer.startswith(b"HTTP/1.0 200"), "not served on"
        assert process.poll() is None
        _, err = _stopped(process, signal.SIGTERM, SHUTDOWN_TIMEOUT + MARGIN)
    finally:
        end_stragglers(process)
    assert process.returncode == 0, err
    assert "SystemExit" in err, err  # wsgiref's traceback of the first SIGTERM
    logs = _by_path(collector.wait_for_logs(2))
    assert sorted(logs) == ["ready", "stream"], err
    content = logs["stream"]["response"]["content"]
    assert content.get("comment", "").startswith("incomplete: the app's answer broke off"), content
    stats = _stats(err)
    assert (stats["captured"], stats["sent"], stats["dropped"]) == (2, 2, 0), stats


_LIFESPANS = """\
import os, signal, sys, threading

if os.environ.get("TERM_EXITS") and threading.current_thread() is threading.main_thread():
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # README's troubleshooting

from readme_metrics import MetricsApiConfig
from readme_metrics.asgi import MetricsMiddleware

async def _http(scope, receive, send):
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": b"ok"})

async def startup_failed(scope, receive, send):
    if scope["type"] == "lifespan":
        await receive()
        await send({"type": "lifespan.startup.failed", "message": "exit15 startup failed"})
        return
    await _http(scope, receive, send)

async def no_lifespan(scope, receive, send):
    assert scope["type"] == "http"
    await _http(scope, receive, send)

async def raises_after_startup(scope, receive, send):
    if scope["type"] == "lifespan":
        await receive()
        raise RuntimeError("exit15 lifespan broke after startup")
    await _http(scope, receive, send)

_config = MetricsApiConfig(grouping_function=lambda request: {"api_key": "caller-1"},
                           shutdown_timeout=SHUTDOWN)
wrapped_startup_failed = MetricsMiddleware(startup_failed, _config)
wrapped_no_lifespan = MetricsMiddleware(no_lifespan, _config)
wrapped_raises_after_startup = MetricsMiddleware(raises_after_startup, _config)
""".replace("SHUTDOWN", repr(SHUTDOWN_TIMEOUT))


def _uvicorn(lifespan: str, target: str) -> Callable[[int], list[str]]:
    return lambda port: ["uvicorn", "--host=127.0.0.1", f"--port={port}",
                         "--no-access-log", f"--lifespan={lifespan}", f"lifespans:{target}"]


def _refused_start(tmp_path: Path, collector: Collector, lifespan: str,
                   target: str) -> tuple[int, str]:
    """uvicorn serving ``target``, expected to stop by itself at start-up: its exit code
    and its output (uvicorn logs to stderr)."""
    process, _ = _serve(tmp_path, collector, "lifespans", _LIFESPANS,
                        _uvicorn(lifespan, target))
    try:
        _, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
        end_stragglers(process)
    return process.returncode, err


def _called_then_stopped(process: subprocess.Popen[str], port: int) -> str:
    """One GET answered 200, then SIGTERM: the server's output (stderr)."""
    try:
        with _connect(port, process) as sock:
            _get(sock, "/hello")
            sock.settimeout(60)
            assert sock.recv(4096).startswith(b"HTTP/1.1 200")
        _, err = _stopped(process, signal.SIGTERM, SHUTDOWN_TIMEOUT + MARGIN)
    finally:
        end_stragglers(process)
    return err


@pytest.mark.e2e
@pytest.mark.parametrize("lifespan", ["auto", "on"])
def test_uvicorn_stops_on_lifespan_startup_failed_wrapped_as_bare(
        tmp_path: Path, collector: Collector, lifespan: str) -> None:
    """review66's lifespan change, checked: an app that sends lifespan.startup.failed
    stops uvicorn at start-up (exit 3, its message said), wrapped as bare."""
    bare = _refused_start(tmp_path, collector, lifespan, "startup_failed")
    wrapped = _refused_start(tmp_path, collector, lifespan, "wrapped_startup_failed")
    for code, err in (bare, wrapped):
        assert code == 3, err
        assert "exit15 startup failed" in err and "Application startup failed" in err, err


@pytest.mark.e2e
def test_an_app_without_lifespan_starts_under_lifespan_on_once_wrapped(
        tmp_path: Path, collector: Collector) -> None:
    """The one difference the middleware makes at start-up, on purpose: an app that does
    not speak the lifespan protocol (it raises on the scope before taking a message) gets
    it answered by the middleware, so that its logs are flushed at shutdown. Under
    ``uvicorn --lifespan on`` the bare app stops at start-up (exit 3: "Exception in
    'lifespan' protocol"); wrapped, it starts (documented in SERVERS.md)."""
    code, err = _refused_start(tmp_path, collector, "on", "no_lifespan")
    assert code == 3 and "Exception in 'lifespan' protocol" in err, err
    process, port = _serve(tmp_path, collector, "lifespans", _LIFESPANS,
                           _uvicorn("on", "wrapped_no_lifespan"))
    err = _called_then_stopped(process, port)
    assert "Application shutdown complete" in err, err
    assert len(collector.wait_for_logs(1)) == 1, err


@pytest.mark.e2e
def test_a_lifespan_that_raises_after_startup_under_uvicorn_is_flushed_by_readmes_line(
        tmp_path: Path, collector: Collector) -> None:
    """An app whose lifespan raises once it took lifespan.startup: uvicorn (auto) says
    "ASGI 'lifespan' protocol appears unsupported" and serves on without a lifespan, wrapped
    as bare (the middleware re-raises: answering in its place would hide a real startup
    failure under --lifespan on). It never sends lifespan.shutdown then, and re-raises
    SIGTERM at its stop: no exit hook runs, and the logs still queued were lost (0 of 1),
    as under --lifespan off. README's troubleshooting line (SIGTERM made an exit) is the
    remedy, checked here: exit 0, the log delivered by the exit flush."""
    process, port = _serve(tmp_path, collector, "lifespans", _LIFESPANS,
                           _uvicorn("auto", "wrapped_raises_after_startup"),
                           TERM_EXITS="1")
    err = _called_then_stopped(process, port)
    assert "appears unsupported" in err, err
    assert process.returncode == 0, err
    assert len(collector.wait_for_logs(1)) == 1, err
