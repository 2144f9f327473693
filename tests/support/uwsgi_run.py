"""uWSGI serving a wrapped app for the tests of its stops (a master, one worker, logs
sent in tens or at the worker's exit): delivery36's, imported by delivery40, delivery41,
flake30, review119 and review123.

Ready is a worker that answers *and* a server that takes its stop. uWSGI's master
(2.0.30) ignores SIGTERM and SIGHUP, and leaves SIGQUIT at its default, from its start
until its loop, which sets its handlers only after it has spawned every worker; its
first worker serves meanwhile. A SIGTERM sent as soon as a worker answered could come in
that window on a loaded machine and was lost: the master served on until the next one
(flaky50: test_delivery36's ``--processes=2`` stop, no end in 60 s in 2 of 3 whole-suite
runs, exit 0 at stop_server's SIGTERM). And a worker just spawned takes the master's
SIGINT ("killing workers") only once uWSGI set its handlers: before, it went to the
Python handler inherited from the master, never run, and the master waited for the
worker until its --worker-reload-mercy (60 s)."""

from __future__ import annotations

import signal
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path

import pytest
import requests

from tests.support.fake_api import Collector
from tests.support.polling import wait_until
from tests.support.ports import free_ports
from tests.support.processes import LINE_WAIT, start_server, stop_server
from tests.support.runserver import children
from tests.support.signal_dispositions import catches
from tests.test_e2e_servers import UWSGI, server_env, uwsgi_argv

NO_UWSGI = pytest.mark.skipif(
    UWSGI is None, reason="uWSGI is not installed (pip install pyuwsgi, in the test extra)")

APP = '''\
import os

from readme_metrics import MetricsApiConfig, MetricsMiddleware


def _app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [str(os.getpid()).encode()]


def grouping(request):
    return {"api_key": "caller-36", "label": "delivery36"}


app = MetricsMiddleware(_app, MetricsApiConfig(grouping_function=grouping))
'''


def paths(collector: Collector) -> list[str]:
    return [log["request"]["log"]["entries"][0]["request"]["url"].rsplit("/", 1)[1]
            for log in collector.logs]


@contextmanager
def uwsgi(tmp_path: Path, collector: Collector, *options: str, app: str = APP,
          shutdown_timeout: str = "5") -> Iterator[tuple[subprocess.Popen[bytes], str, Path]]:
    """uWSGI (a master, one worker) serving the wrapped app; logs are sent only when 10
    wait (no flush timer), or at the worker's exit. Yields the process, the base URL and
    the file of its output."""
    (tmp_path / "d36_app.py").write_text(app)
    port = free_ports(1)[0]
    env = server_env(collector, README_BACKGROUND_WORKER_MODE="true",
                     README_BUFFER_LENGTH="10", README_FLUSH_INTERVAL="0",
                     README_SHUTDOWN_TIMEOUT=shutdown_timeout)
    output = tmp_path / "uwsgi.log"
    with output.open("wb") as log:
        process = start_server(uwsgi_argv(port, "d36_app:app", *options), env=env,
                               cwd=tmp_path, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until(partial(answers, process, base, output), timeout=60)
        wait_takes_its_stops(process, output)
        yield process, base, output
    finally:
        stop_server(process)


def answers(process: subprocess.Popen[bytes], base: str, output: Path) -> bool:
    """Whether the server at ``base`` answers an OPTIONS of /nolog (skipped: no log, but
    one of a worker's requests); it has not ended (its ``output`` said if it has)."""
    assert process.poll() is None, output.read_text(errors="replace")
    try:
        requests.options(f"{base}/nolog", timeout=2)
    except requests.RequestException:
        return False
    return True


#: The signals uWSGI's master stops or reloads on: its loop catches each of them.
MASTER_STOPS = (signal.SIGHUP, signal.SIGINT, signal.SIGQUIT, signal.SIGTERM)
#: What a worker catches once uWSGI set its handlers (SIGPIPE last; it inherited
#: SIGTERM, SIGHUP and SIGPIPE ignored from a master not yet in its loop).
WORKER_STOPS = (signal.SIGHUP, signal.SIGINT, signal.SIGTERM, signal.SIGPIPE)


def takes_its_stops(process: subprocess.Popen[bytes], output: Path) -> bool:
    """Whether uWSGI's master has reached its loop (it catches each of its stop signals:
    before, SIGTERM and SIGHUP are ignored and SIGQUIT kills it) and each of its workers
    has uWSGI's handlers (the master's "killing workers" is a SIGINT to each: one that
    came before went to the Python handler the worker inherited, never run, and the
    master waited for it until --worker-reload-mercy); it has not ended."""
    assert process.poll() is None, output.read_text(errors="replace")
    if not all(catches(process.pid, stop) for stop in MASTER_STOPS):
        return False
    workers = children(process.pid)
    return bool(workers) and all(catches(worker, stop) for worker in workers
                                 for stop in WORKER_STOPS)


def wait_takes_its_stops(process: subprocess.Popen[bytes], output: Path) -> None:
    """Wait (60 s at most) until :func:`takes_its_stops`: a stop sent before was lost,
    the server ran on (pyuwsgi's master and a worker just spawned have Python's SIGINT
    handler until then, which only notes it: flaky54)."""
    wait_until(partial(takes_its_stops, process, output), timeout=60)


def stopped(process: subprocess.Popen[bytes]) -> int:
    """SIGTERM (uWSGI's --die-on-term stop), and its exit code once it has ended."""
    process.send_signal(signal.SIGTERM)
    return process.wait(LINE_WAIT)
