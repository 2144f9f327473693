"""exit14's items: a WSGI response the server still holds when the process exits.

A streaming response in flight when the process is asked to stop (waitress stopped by
Ctrl-C, or by SIGTERM made a normal exit as README's troubleshooting says), or a last
response a server keeps referenced and never closes, was neither closed nor finalized
before delivery closed at exit: its log was never queued, and no counter said so
(waitress, SIGINT, a 60 s stream in flight: 1 log of 2 delivered, stats captured 1,
dropped 0). Now the exit queues it as far as it went, its body marked incomplete (no code
of the app's runs: the grouping function answered when the response started); one whose
response had not started yet is counted dropped, with a warning.

ASGI needs nothing of the kind: the servers cancel a request still in flight when they
stop (uvicorn's --timeout-graceful-shutdown, its second Ctrl-C, hypercorn's graceful
timeout), and the middleware logs the cancelled stream as broken off before the lifespan's
flush; checked here under uvicorn. gunicorn finishes a request in flight before its worker
exits, and SIGKILLs the worker when that takes longer than --graceful-timeout (nothing of
the process's own can run then): checked with a stream that ends within it.
"""

from __future__ import annotations

import ast
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable

import pytest

from tests.support.fake_api import Collector, free_port
from tests.support.processes import end_stragglers, read_line, run_command, start_server
from tests.test_e2e_servers import server_env

SHUTDOWN_TIMEOUT = 2.0
# waitress waits up to 5 s for its threads (the stream's is one) before the exit: its
# own; the margin covers a busy machine's start-up and collection.
WAITRESS_JOIN = 5.0
MARGIN = 20.0

# The app module's start: its stats printed after the exit hook, SIGTERM made an exit
# with TERM_EXITS (exit15's app starts the same way).
_PRELUDE = """\
import atexit, os, signal, sys, threading, time

def _report():  # registered before the library's exit hook, so it runs after it
    print("stats", dict(app.stats), file=sys.stderr, flush=True)

atexit.register(_report)
if os.environ.get("TERM_EXITS") and threading.current_thread() is threading.main_thread():
    # README's troubleshooting: SIGTERM made a normal exit where no server takes it
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))

"""
_WSGI_APP = _PRELUDE + """\
from readme_metrics import MetricsApiConfig, MetricsMiddleware

def inner(environ, start_response):
    path = environ["PATH_INFO"]
    if path == "/ready":
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]
    def stream():
        if path == "/unstarted":  # the response has not started when the process exits
            print("entered", flush=True)
            time.sleep(600)
        start_response("200 OK", [("Content-Type", "text/plain")])
        for number in range(int(os.environ.get("CHUNKS", "600"))):
            if number == 3:
                print("entered", flush=True)
            yield b"chunk %d\\n" % number
            time.sleep(float(os.environ.get("CHUNK_EVERY", "0.1")))
    return stream()

app = MetricsMiddleware(inner, MetricsApiConfig(
    grouping_function=lambda request: {"api_key": "caller-1"}, shutdown_timeout=SHUTDOWN))
""".replace("SHUTDOWN", repr(SHUTDOWN_TIMEOUT))


def _serve(tmp_path: Path, collector: Collector, module: str, app: str,
           argv: Callable[[int], list[str]], background: bool = True,
           **extra: str) -> tuple[subprocess.Popen[str], int]:
    """``python -m argv(port)`` in ``tmp_path``, where ``app`` is ``module``.py, with
    this file's options (a partial batch waits for the exit) and ``extra``."""
    (tmp_path / f"{module}.py").write_text(app)
    port = free_port()
    env = server_env(collector, README_BACKGROUND_WORKER_MODE=str(background).lower(),
                     README_BUFFER_LENGTH="100", README_FLUSH_INTERVAL="600", **extra)
    env["PYTHONPATH"] = os.pathsep.join([env["PYTHONPATH"], str(tmp_path)])
    process = start_server([sys.executable, "-m", *argv(port)], cwd=tmp_path, env=env,
                           stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True)
    return process, port


def _connect(port: int, process: subprocess.Popen[str]) -> socket.socket:
    deadline = time.monotonic() + 60
    while True:
        try:
            return socket.create_connection(("127.0.0.1", port), timeout=30)
        except OSError:
            assert process.poll() is None and time.monotonic() < deadline, "no server"
            time.sleep(0.05)


def _get(sock: socket.socket, path: str) -> None:
    sock.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())


def _stopped(process: subprocess.Popen[str], how: signal.Signals,
             limit: float) -> tuple[float, str]:
    """Send ``how``; the time the exit took (at most ``limit``) and the stderr."""
    began = time.monotonic()
    process.send_signal(how)
    try:
        _, err = process.communicate(timeout=limit)
    finally:
        if process.poll() is None:
            process.kill()
        end_stragglers(process)
    return time.monotonic() - began, err


def _stopped_in(process: subprocess.Popen[str], port: int, path: str, how: signal.Signals,
                limit: float) -> tuple[float, str]:
    """A GET of /ready answered, then one of ``path`` in flight (the app printed
    "entered"), then :func:`_stopped`."""
    with _connect(port, process) as ready, _connect(port, process) as in_flight:
        _get(ready, "/ready")
        assert ready.recv(4096).startswith(b"HTTP/1.1 200")
        _get(in_flight, path)
        assert process.stdout is not None
        assert read_line(process.stdout, about=path).strip() == "entered"
        return _stopped(process, how, limit)


def _stats(err: str) -> dict[str, int]:
    found = re.findall(r"^stats (\{.*\})$", err, re.M)
    assert len(found) == 1, err
    stats: dict[str, int] = ast.literal_eval(found[0])
    return stats


def _entry(log: dict[str, Any]) -> dict[str, Any]:
    entry: dict[str, Any] = log["request"]["log"]["entries"][0]
    return entry


def _by_path(logs: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {_entry(log)["request"]["url"].rsplit("/", 1)[1]: _entry(log) for log in logs}


def _waitress(port: int) -> list[str]:
    return ["waitress", "--listen", f"127.0.0.1:{port}", "--threads", "2", "stream_app:app"]


@pytest.mark.e2e
@pytest.mark.parametrize("background", [pytest.param(True, id="background"),
                                        pytest.param(False, id="inline")])
@pytest.mark.parametrize("how", [pytest.param(signal.SIGINT, id="SIGINT"),
                                 pytest.param(signal.SIGTERM, id="SIGTERM-made-an-exit")])
def test_a_stream_in_flight_at_exit_is_logged_as_far_as_it_went(
        tmp_path: Path, collector: Collector, background: bool,
        how: signal.Signals) -> None:
    """waitress stopped while it streams a 60 s answer: its thread still holds the
    response when the process exits. Before: 1 log of 2 (the /ready one), stats
    captured 1, dropped 0: the stream's log lost without a word. Now both are delivered
    by the exit, the stream's body as far as it was sent then, marked incomplete."""
    process, port = _serve(tmp_path, collector, "stream_app", _WSGI_APP, _waitress,
                           background, TERM_EXITS="1")
    took, err = _stopped_in(process, port, "/stream", how,
                            WAITRESS_JOIN + SHUTDOWN_TIMEOUT + MARGIN)
    assert process.returncode == 0, err
    logs = _by_path(collector.wait_for_logs(2))
    assert sorted(logs) == ["ready", "stream"], err
    content = logs["stream"]["response"]["content"]
    assert content["text"].startswith("chunk 0\nchunk 1\nchunk 2\nchunk 3\n"), content
    assert content["size"] == len(content["text"])
    assert content["comment"].startswith(
        "incomplete: the process exited while the answer was being sent, after "
        f"{content['size']} bytes, with no end of its body"), content
    assert logs["stream"]["response"]["status"] == 200
    assert "comment" not in logs["ready"]["response"]["content"]
    stats = _stats(err)
    assert (stats["captured"], stats["sent"], stats["dropped"]) == (2, 2, 0), stats
    assert took < WAITRESS_JOIN + SHUTDOWN_TIMEOUT + MARGIN


@pytest.mark.e2e
def test_a_response_not_started_at_exit_is_counted_dropped_with_a_warning(
        tmp_path: Path, collector: Collector) -> None:
    """The app's iterable had not called start_response when the process exited: the
    grouping function never answered, and is not called at exit (it may block). Before:
    not counted anywhere. Now: dropped ("shutdown"), with one warning."""
    process, port = _serve(tmp_path, collector, "stream_app", _WSGI_APP, _waitress)
    _, err = _stopped_in(process, port, "/unstarted", signal.SIGINT,
                         WAITRESS_JOIN + SHUTDOWN_TIMEOUT + MARGIN)
    assert process.returncode == 0, err
    logs = _by_path(collector.wait_for_logs(1))
    assert sorted(logs) == ["ready"], err
    stats = _stats(err)
    assert (stats["captured"], stats["sent"], stats["dropped"],
            stats["dropped_shutdown"]) == (2, 1, 1, 1), stats
    assert ("exiting with 1 request unfinished (still being sent, or the app still "
            "computing it): 1 not delivered (the grouping function not asked yet: counted "
            "in dropped_shutdown)") in err


_HELD = """\
import sys
from readme_metrics import MetricsApiConfig, MetricsMiddleware

def app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "4")])
    return iter([b"do", b"ne"])

middleware = MetricsMiddleware(app, MetricsApiConfig(
    api_key="rdme_exit14_key", metrics_api=sys.argv[1], buffer_length=10,
    flush_interval=600, background_worker_mode=sys.argv[2] == "1", timeout=30,
    grouping_function=lambda request: {"api_key": "caller-1"}))
environ = {"REQUEST_METHOD": "GET", "PATH_INFO": "/held", "SERVER_NAME": "127.0.0.1",
           "SERVER_PORT": "80", "SERVER_PROTOCOL": "HTTP/1.1", "wsgi.url_scheme": "http",
           "wsgi.input": __import__("io").BytesIO()}
# The server's last response, kept referenced and never closed; read to its end or not
HELD = middleware(environ, lambda status, headers, exc_info=None: None)
if sys.argv[3] == "read":
    assert b"".join(HELD) == b"done"
"""


# (Background mode queues the log of a response read to its end then: not at exit.)
@pytest.mark.parametrize(("background", "read"), [
    pytest.param(True, "unread", id="background-unread"),
    pytest.param(False, "unread", id="inline-unread"),
    pytest.param(False, "read", id="inline-read")])
def test_a_last_response_the_server_never_closes_is_logged_at_exit(
        collector: Collector, background: bool, read: str) -> None:
    """A response still referenced at exit and never closed. Read to its end in inline
    mode (whose log waits for close()), or not read at all: lost before (0 logs). Now
    logged at exit; marked incomplete only where its body had not all gone out."""
    done = run_command([sys.executable, "-c", _HELD, collector.url,
                        "1" if background else "0", read], capture_output=True, text=True,
                       timeout=60)
    assert done.returncode == 0, done.stderr
    logs = collector.wait_for_logs(1)
    assert len(logs) == 1, done.stderr
    content = _entry(logs[0])["response"]["content"]
    if read == "read":
        assert content["text"] == "done" and "comment" not in content, content
    else:
        assert content["size"] == 0 and content["comment"].startswith(
            "incomplete: the process exited while the answer was being sent, after 0 of "
            "the 4 bytes its Content-Length declared"), content


_ASGI_APP = """\
import asyncio, os
from readme_metrics import MetricsApiConfig
from readme_metrics.asgi import MetricsMiddleware
from tests.support.side_by_side import lifespan

async def inner(scope, receive, send):
    if scope["type"] == "lifespan":
        return await lifespan(receive, send)
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"text/plain")]})
    for number in range(600):
        if number == 3:
            print("entered", flush=True)
        await send({"type": "http.response.body", "body": b"chunk %d\\n" % number,
                    "more_body": True})
        await asyncio.sleep(0.1)
    await send({"type": "http.response.body", "body": b""})

app = MetricsMiddleware(inner, MetricsApiConfig(
    grouping_function=lambda request: {"api_key": "caller-1"}, shutdown_timeout=SHUTDOWN))
""".replace("SHUTDOWN", repr(SHUTDOWN_TIMEOUT))


@pytest.mark.e2e
def test_uvicorns_graceful_timeout_cuts_a_stream_in_flight_and_it_is_logged(
        tmp_path: Path, collector: Collector) -> None:
    """uvicorn stopped by SIGTERM while it streams: after --timeout-graceful-shutdown it
    cancels the request, and the middleware logs the stream as broken off before the
    lifespan's flush (uvicorn then ends by SIGTERM again: no atexit, no stats line)."""
    process, port = _serve(tmp_path, collector, "asgi_stream", _ASGI_APP, lambda port: [
        "uvicorn", "--host=127.0.0.1", f"--port={port}", "--no-access-log",
        "--timeout-graceful-shutdown=1", "asgi_stream:app"])
    with _connect(port, process) as streamed:
        _get(streamed, "/stream")
        assert process.stdout is not None
        assert read_line(process.stdout, about="uvicorn").strip() == "entered"
        _, err = _stopped(process, signal.SIGTERM, 1.0 + SHUTDOWN_TIMEOUT + MARGIN)
    logs = collector.wait_for_logs(1)
    assert len(logs) == 1, err
    content = _entry(logs[0])["response"]["content"]
    assert content["text"].startswith("chunk 0\nchunk 1\nchunk 2\nchunk 3\n"), content
    assert content["comment"].startswith("incomplete: the app's answer broke off"), content


@pytest.mark.e2e
def test_gunicorn_finishes_a_stream_in_flight_before_its_worker_exits(
        tmp_path: Path, collector: Collector) -> None:
    """gunicorn's sync worker stopped by SIGTERM while it streams (here 40 chunks 0.05 s
    apart, within its --graceful-timeout): the stream goes on to its end, then the
    worker exits and its exit flush delivers both logs, the stream's whole. (A stream
    longer than --graceful-timeout has its worker SIGKILLed: no exit flush at all.)"""
    process, port = _serve(tmp_path, collector, "stream_app", _WSGI_APP, lambda port: [
        "gunicorn", "-b", f"127.0.0.1:{port}", "--graceful-timeout", "60",
        "stream_app:app"], CHUNK_EVERY="0.05", CHUNKS="40")
    _, err = _stopped_in(process, port, "/stream", signal.SIGTERM,
                         40 * 0.05 + SHUTDOWN_TIMEOUT + MARGIN)
    assert process.returncode == 0, err
    logs = _by_path(collector.wait_for_logs(2))
    assert sorted(logs) == ["ready", "stream"], err
    content = logs["stream"]["response"]["content"]
    assert content["text"].endswith("chunk 39\n") and "comment" not in content
    stats = _stats(err)
    assert (stats["captured"], stats["sent"], stats["dropped"]) == (2, 2, 0), stats
