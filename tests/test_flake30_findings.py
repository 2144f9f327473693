"""A uWSGI worker stopped while it serves a request (flake30, CI39's lost log).

uWSGI's stop (SIGTERM with --die-on-term, SIGINT, SIGQUIT) has its master send each
worker SIGINT, whose C handler calls exit() at once; uWSGI's python exit then runs
nothing (neither ``uwsgi.atexit`` nor ``atexit``) when the worker is in a request: from
its accept to the end of uWSGI's own close of it, after the client had its answer and
before uWSGI writes the request line (CI39: the client had its 200, the line never came,
the log neither arrived nor was said). Every log the worker held was lost without a
line: 0 of 2 here before (the one held for its batch, and the request's own). Now the
library takes the stop signals in a thread of its own, closes (the request in flight
logged as far as it went), and ends the worker as uWSGI would.

Deterministic: the app's answer waits in its ``close()`` (or mid-stream) until the test
is done; SIGTERM reaches the worker there, whatever the machine's load. Real uWSGI (the
pyuwsgi wheel of the test extra), a real collector on 127.0.0.1.
"""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from tests.support.fake_api import Collector
from tests.support.polling import wait_until
from tests.support.ports import free_ports
from tests.support.processes import LINE_WAIT, start_server, stop_server
from tests.support.uwsgi_run import NO_UWSGI, paths, stopped, uwsgi
from tests.test_e2e_servers import GUNICORN, server_env

pytestmark = pytest.mark.e2e

_APP = '''\
import os
import time

from readme_metrics import MetricsApiConfig, MetricsMiddleware

HERE = os.path.dirname(os.path.abspath(__file__))


def _waits(name):
    """Say so (a file), then wait until the test ends the worker, or lets it go on (the
    file ``go``)."""
    open(os.path.join(HERE, name), "w").close()
    while not os.path.exists(os.path.join(HERE, "go")):
        time.sleep(0.05)


class InClose:
    """The whole answer, then a close() still running as the stop comes."""

    def __iter__(self):
        yield b"hello"

    def close(self):
        _waits("in_close")


def _stream():
    yield b"first"
    _waits("in_stream")
    yield b"never"


def _app(environ, start_response):
    path = environ["PATH_INFO"]
    if path == "/close":
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "5")])
        return InClose()
    if path == "/stream":
        start_response("200 OK", [("Content-Type", "text/plain")])
        return _stream()
    if path == "/child":  # what a process the app starts has blocked
        import subprocess, sys
        blocked = subprocess.check_output(
            [sys.executable, "-c", "import signal; "
             "print(sorted(signal.pthread_sigmask(signal.SIG_BLOCK, [])))"],
            timeout=60)
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [blocked]
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"ok"]


def grouping(request):
    return {"api_key": "caller-30", "label": "flake30"}


app = MetricsMiddleware(_app, MetricsApiConfig(grouping_function=grouping))
'''


def _logs(collector: Collector) -> dict[str, dict]:
    return {path: log["request"]["log"]["entries"][0]["response"]
            for path, log in zip(paths(collector), collector.logs)}


@NO_UWSGI
@pytest.mark.parametrize("options", [(), ("--skip-atexit-teardown",), ("--lazy-apps",)])
@pytest.mark.parametrize("stop", ["SIGTERM", "SIGINT"])
def test_a_worker_stopped_in_its_answers_close_sends_what_it_held(
        tmp_path: Path, collector: Collector, options: tuple[str, ...], stop: str) -> None:
    """The client had the whole answer; uWSGI's worker was still in the app's close()
    (CI39's window, held open): before, 0 of 2 logs delivered and nothing said."""
    with uwsgi(tmp_path, collector, *options, app=_APP) as (process, base, output):
        assert requests.get(f"{base}/held", timeout=LINE_WAIT).text == "ok"
        with requests.get(f"{base}/close", timeout=LINE_WAIT, stream=True) as answer:
            assert answer.raw.read(5) == b"hello"  # all of it (Content-Length: 5)
            wait_until(lambda: (tmp_path / "in_close").exists(), timeout=LINE_WAIT)
            if stop == "SIGTERM":
                assert stopped(process) == 0
            else:
                process.send_signal(signal.SIGINT)
                assert process.wait(LINE_WAIT) == 0
    said = output.read_text(errors="replace")
    assert sorted(paths(collector)) == ["close", "held"], said
    closed = _logs(collector)["close"]
    assert closed["status"] == 200 and closed["content"]["size"] == 5, closed
    assert "comment" not in closed["content"], closed
    assert "NO MERCY" not in said, said


@NO_UWSGI
def test_a_stream_cut_by_uwsgis_stop_is_logged_as_far_as_it_went(
        tmp_path: Path, collector: Collector) -> None:
    """The app was still sending its answer: its log says how far it went (before: no
    log, and the one held for its batch lost too)."""
    with uwsgi(tmp_path, collector, app=_APP) as (process, base, output):
        assert requests.get(f"{base}/held", timeout=LINE_WAIT).text == "ok"
        with requests.get(f"{base}/stream", timeout=LINE_WAIT, stream=True) as answer:
            assert answer.raw.read(5) == b"first"
            wait_until(lambda: (tmp_path / "in_stream").exists(), timeout=LINE_WAIT)
            assert stopped(process) == 0
    said = output.read_text(errors="replace")
    assert sorted(paths(collector)) == ["held", "stream"], said
    content = _logs(collector)["stream"]["content"]
    assert content["text"] == "first", content
    assert content["comment"].startswith("incomplete: the process exited while the answer "
                                         "was being sent"), content


@NO_UWSGI
def test_an_idle_workers_stop_still_runs_the_apps_atexit(tmp_path: Path,
                                                          collector: Collector) -> None:
    """The library's thread ends the worker now, as uWSGI's handler did: an idle
    worker's exit still runs the app's ``atexit`` functions (uWSGI's ``Py_Finalize``
    did), after the logs went."""
    marker = tmp_path / "app_atexit_ran"
    app = _APP.replace(
        "from readme_metrics import",
        f"import atexit\natexit.register(lambda: open({str(marker)!r}, 'w').close())\n"
        "from readme_metrics import")
    with uwsgi(tmp_path, collector, app=app) as (process, base, output):
        assert requests.get(f"{base}/i0", timeout=LINE_WAIT).text == "ok"
        wait_until(lambda: "GET /i0 =>" in output.read_text(errors="replace"),
                   timeout=LINE_WAIT)
        assert stopped(process) == 0
    said = output.read_text(errors="replace")
    assert paths(collector) == ["i0"], said
    assert marker.exists(), said


@NO_UWSGI
def test_a_process_the_app_starts_can_still_be_stopped(tmp_path: Path,
                                                      collector: Collector) -> None:
    """The stop signals are not blocked in the worker (a first version did: the mask
    passed to every process the app started, which SIGTERM then no longer stopped)."""
    with uwsgi(tmp_path, collector, app=_APP) as (process, base, output):
        for _ in range(2):  # (the first request arms the worker's thread)
            blocked = requests.get(f"{base}/child", timeout=LINE_WAIT).text
            assert blocked.strip() == "[]", blocked
        assert stopped(process) == 0


# waitress ends on SIGTERM only with README's line (Troubleshooting): the app's module.
_SIGTERM_EXITS = ("import signal, sys, threading\n"
                  "if threading.current_thread() is threading.main_thread():\n"
                  "    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))\n")


@pytest.mark.parametrize("server", ["gunicorn-sync", "gunicorn-gthread", "waitress"])
def test_other_servers_stopped_in_an_answers_close_send_what_they_held(
        server: str, tmp_path: Path, collector: Collector) -> None:
    """The same window elsewhere (the client has the whole answer, the app's close()
    still runs as SIGTERM comes) was covered already: gunicorn's workers finish the
    request (the close is let go on after the signal) and exit; waitress, made to exit
    by README's line, exits with the close still running (never let go), its log queued
    by the exit. 2 of 2 each, before and after flake30."""
    (tmp_path / "r30_app.py").write_text(
        (_SIGTERM_EXITS if server == "waitress" else "") + _APP)
    port = free_ports(1)[0]
    env = server_env(collector, README_BACKGROUND_WORKER_MODE="true",
                     README_BUFFER_LENGTH="10", README_FLUSH_INTERVAL="0",
                     README_SHUTDOWN_TIMEOUT="5")
    if server == "waitress":
        argv = [sys.executable, "-m", "waitress", f"--listen=127.0.0.1:{port}",
                "r30_app:app"]
    else:
        argv = [sys.executable, *GUNICORN, f"--worker-class={server.split('-')[1]}",
                f"--bind=127.0.0.1:{port}", "r30_app:app"]
    output = tmp_path / "server.log"
    with output.open("wb") as log:
        process = start_server(argv, env=env, cwd=tmp_path, stdout=log,
                               stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        def answers() -> bool:
            assert process.poll() is None, output.read_text(errors="replace")
            try:
                requests.options(f"{base}/nolog", timeout=2)  # (OPTIONS: no log)
            except requests.RequestException:
                return False
            return True
        wait_until(answers, timeout=60)
        assert requests.get(f"{base}/held", timeout=LINE_WAIT).text == "ok"
        with requests.get(f"{base}/close", timeout=LINE_WAIT, stream=True) as answer:
            assert answer.raw.read(5) == b"hello"
            wait_until(lambda: (tmp_path / "in_close").exists(), timeout=LINE_WAIT)
            process.send_signal(signal.SIGTERM)
            if server != "waitress":
                (tmp_path / "go").touch()
            assert process.wait(LINE_WAIT) == 0
    finally:
        stop_server(process)
    said = output.read_text(errors="replace")
    assert sorted(paths(collector)) == ["close", "held"], said
