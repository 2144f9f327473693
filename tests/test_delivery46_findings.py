"""delivery46: a signal handler's raise inside the library's close lost the log.

CI58 once had 0 of 1 log from test_newcomer16's bottle.run (wsgiref) example: the client
had the answer while the main thread still ran the response's end, and the example's
SIGTERM handler (``sys.exit(0)``) raised there. Landing in the library's hand-off before
the exchange was queued, the log was gone without a word (wsgiref's bare ``except`` takes
the SystemExit for the app's error and serves on). Now each step queues first, or
finishes the queueing before the raise goes on, unchanged, to the server.

The landing points are real ones: a profile hook counts, in the library's code only, the
places CPython runs a signal handler (a function's entry, a C call's return) from the
app's last byte on, and at the Nth sends the main thread a real SIGTERM, whose handler
(the examples') raises there. One wsgiref server is swept from N = 0 to the end of the
library's part, a request per N.
"""

from __future__ import annotations

import ast
import logging
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any, Callable, Optional

import pytest
import requests

from tests.support.command import app_environment
from tests.support.delivery import make_delivery_fixture  # noqa: F401 (fixture)
from tests.support.fake_api import Collector
from tests.support.ports import free_port
from tests.support.processes import LINE_WAIT

# The server: the app's generator arms the hook once its last byte is out (the server
# wrote it before asking for the end); /report says where the raise landed.
_SERVER = '''
import os
import signal
import sys

from readme_metrics import MetricsApiConfig, MetricsMiddleware
from tests.support import landing_hook

landing = landing_hook.hook(lambda code: code.co_filename.endswith("socketserver.py"))
state = landing.state


# As examples/bottle/app.py does:
signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))


def pets(environ, start_response):
    start_response("200 OK", [("Content-Type", "application/json")])
    target = int(environ.get("QUERY_STRING") or "-1")
    yield b'{"pets": []}'
    landing_hook.arm(target, landing)  # the app's last byte is out


wrapped = MetricsMiddleware(pets, MetricsApiConfig(
    grouping_function=lambda request: {"api_key": "owlbert-key"},
    # (inline: a POST per request, each sends: its lock, encode and POST swept too)
    background_worker_mode=os.environ.get("LANDING_INLINE") != "1",
    buffer_length=1 if os.environ.get("LANDING_INLINE") == "1" else 10,
    timeout=30))  # (each log once: a late answer past 3 s went twice)


def app(environ, start_response):
    if environ["PATH_INFO"] == "/report":
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [repr((state["raised"], state["count"])).encode()]
    if environ["PATH_INFO"] == "/flush":
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [repr((wrapped.flush(10), wrapped.stats)).encode()]
    return wrapped(environ, start_response)


port = int(os.environ["PORT"])
if sys.argv[1] == "wsgiref":
    from wsgiref.simple_server import WSGIRequestHandler, make_server

    class Quiet(WSGIRequestHandler):
        def log_request(self, *args):
            pass

    make_server("127.0.0.1", port, app, handler_class=Quiet).serve_forever()
else:
    from werkzeug.serving import run_simple

    run_simple("127.0.0.1", port, app, threaded=False)
'''


def serve(tmp_path: Path, collector: Collector, server: str,
           **extra: str) -> tuple[Any, int, Path]:
    from tests.test_readme import _start_app

    script = tmp_path / "landing_server.py"
    script.write_text(_SERVER)
    port = free_port()
    env = app_environment(collector.url, tmp_path, PORT=str(port), **extra)
    log = tmp_path / f"{server}-output.txt"
    return _start_app([sys.executable, str(script), server], tmp_path, env, port, log), port, log


def sweep(port: int, flushes: Optional[list[bool]] = None,
          before: Optional[Callable[[], None]] = None) -> list[str]:
    """A request per landing point N = 0, 1, ... to the server ``port`` serves
    (_SERVER), each raise landing at the Nth; where each landed (until one did not: the
    library's part was over). With ``flushes``, a flush after each (its answer added):
    each point met from an empty queue (inline, a batch cut short goes again in the next
    request's send: its path as long as the backlog, the sweep never at its end).
    ``before()``, if given, runs before each request (a wait for the server to settle,
    so that each request takes the same path whatever the machine's load)."""
    places: list[str] = []
    for target in range(400):
        if before is not None:
            before()
        answer = requests.get(f"http://127.0.0.1:{port}/pets?{target}", timeout=30)
        assert answer.status_code == 200 and answer.content == b'{"pets": []}'
        raised, _ = ast.literal_eval(
            requests.get(f"http://127.0.0.1:{port}/report", timeout=30).text)
        if flushes is not None:
            flushes.append(flush(port)[0])
        if raised is None:  # past the library's part: the sweep is over
            break
        places.append(raised)
    return places


def flush(port: int) -> tuple[bool, dict[str, int]]:
    """The swept server's flush: whether it emptied the queue, and the stats after."""
    flushed: tuple[bool, dict[str, int]] = ast.literal_eval(
        requests.get(f"http://127.0.0.1:{port}/flush", timeout=60).text)
    return flushed


def swept(proc: Any, port: int, stop: Callable[[Any], None],
          flushes: Optional[list[bool]] = None) -> tuple[list[str], bool, dict[str, int]]:
    """:func:`sweep` of the server ``proc`` serves on ``port``, then its :func:`flush`;
    the server stopped with ``stop(proc)`` either way. Where each raise landed, whether
    the flush emptied the queue, the stats."""
    try:
        places = sweep(port, flushes)
        flushed, stats = flush(port)
    finally:
        stop(proc)
        proc.wait(30)
    return places, flushed, stats


def kill(proc: Any) -> None:
    proc.kill()  # (all was flushed; a SIGTERM may land in a write: wsgiref serves on)


def sigterm(proc: Any) -> None:
    proc.send_signal(signal.SIGTERM)


@pytest.mark.e2e
def test_a_sigterm_handlers_raise_at_every_landing_point_of_the_close_under_wsgiref(
        tmp_path: Path, collector: Collector) -> None:
    proc, port, log = serve(tmp_path, collector, "wsgiref")
    places, flushed, stats = swept(proc, port, kill)
    calls = len(places) + 1
    output = log.read_text()
    assert 20 < len(places) < 399, places
    # Every call's log, once, whichever point the raise landed at (before: 33 of 43)
    assert flushed, (stats, places)
    assert stats["captured"] == stats["sent"] == calls, (stats, places)
    assert stats["queued"] == 0 and stats["dropped"] == 0, stats
    logs = collector.wait_for_logs(calls, timeout=10)
    ids = {log["request"]["log"]["entries"][0]["_id"] if "_id" in log["request"]["log"][
        "entries"][0] else id(log) for log in logs}
    assert len(logs) == len(ids) == calls
    # ... and the raise went on to wsgiref, which printed it (its handle_error), as it
    # does for a SystemExit landing in its own code. One landing in Response.__del__ is
    # Python's to print ("Exception ignored"), as for any finalizer.
    finalizer = sum(":__del__:" in place for place in places)
    assert output.count("SystemExit: 0") >= len(places), output[-3000:]
    assert output.count("Exception ignored in") == finalizer, output[-3000:]


@pytest.mark.e2e
def test_a_sigterm_handlers_raise_in_the_close_under_werkzeugs_server_exits_with_the_log(
        tmp_path: Path, collector: Collector) -> None:
    """werkzeug's server (``flask run``, ``run_simple`` without threads) lets the raise
    end the process: its exit sends what is queued. Before, a raise landing from the
    log's build to its queueing (14 landing points of 55) ended it with the log lost."""
    raised = 0
    for target in range(1, 60, 6):
        proc, port, log = serve(tmp_path, collector, "werkzeug")
        before = len(collector.logs)
        try:
            answer = requests.get(f"http://127.0.0.1:{port}/pets?{target}", timeout=30)
            if not _exits(proc, port):  # past the library's part: no raise
                proc.send_signal(signal.SIGTERM)
            proc.wait(30)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(30)
        output = log.read_text()
        assert answer.status_code == 200 and proc.returncode == 0, output
        if "raised at" not in output:
            break
        raised += 1
        assert len(collector.wait_for_logs(before + 1, timeout=10)) == before + 1, output
    assert raised > 5


def _exits(proc: Any, port: int) -> bool:
    """Whether the server ``proc`` is exiting after its answer (a raise landed), else
    serves on (its /report says none did)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return True
        try:
            raised, _ = ast.literal_eval(
                requests.get(f"http://127.0.0.1:{port}/report", timeout=2).text)
        except (requests.RequestException, ValueError, SyntaxError):
            continue  # (exiting: it listens no more)
        if raised is None:
            return False
        proc.wait(30)
        return True
    return False


# -- the senders' encoding lock, waited for within a close's deadline ---------------------
#
# delivery45 had the senders encode one batch at a time (Attempt.encoding). The close's
# own thread posts beside them (closing._drain_exit), and it waited for that lock as
# long as a sender's encode took: a close of 0.5 s held by a slow build of 30 s.


class _HeldBuild:
    """A build that holds the log named ``hold`` until ``release``."""

    def __init__(self, hold: str) -> None:
        from tests.support.delivery import build_id

        self.hold = hold
        self.build_id = build_id
        self.holding = threading.Event()
        self.release = threading.Event()

    def __call__(self, pending: Any) -> dict:
        if pending.id == self.hold:
            self.holding.set()
            self.release.wait(2 * LINE_WAIT)
        return self.build_id(pending)


def test_a_close_waits_for_a_senders_encoding_only_until_its_deadline(
        make_delivery: Any, collector: Collector, caplog: pytest.LogCaptureFixture) -> None:
    from tests.support.delivery import item

    builds = _HeldBuild(hold="b0-0")
    delivery = make_delivery(collector.url, builds, buffer_length=10, shutdown_timeout=0.5)
    delivery._batcher.staffing.max_senders = 1  # the second batch waits for the close
    try:
        for n in range(10):
            delivery.submit(item(f"b0-{n}"))
        assert builds.holding.wait(LINE_WAIT)  # the sender holds the lock in its build
        for n in range(10):
            delivery.submit(item(f"b1-{n}"))
        closer = threading.Thread(target=delivery.close)
        with caplog.at_level(logging.WARNING, logger="readme_metrics"):
            closer.start()
            closer.join(LINE_WAIT)  # (before: as long as the build held)
            assert not closer.is_alive()
            # ... while the build still held the lock: the close did not wait for it
            assert not builds.release.is_set()
    finally:
        builds.release.set()
    # What it did not send, it said: the second batch, never encoded, not delivered.
    stats = delivery.stats
    assert stats["dropped_shutdown"] >= 10, stats
    said = caplog.text
    assert "not delivered" in said or "not sent" in said, said
