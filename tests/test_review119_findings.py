"""review119: adversarial review of flake30's uWSGI stop handling (delivery.uwsgi_stop).

1. A child the app forks (``os.fork``, multiprocessing's fork) inherited Python's handler
   of SIGTERM and the wakeup fd (the worker's own pipe), not the library's thread: its
   SIGTERM no longer ended it, and ended the WORKER instead (the worker's thread read the
   signal off the shared pipe): the request that stopped its child cut, "DAMN ! worker 1
   died", the child left running. Before flake30 the child ended (uWSGI's handler).
2. An event loop with a signal handler in a request (``loop.add_signal_handler``; its
   ``close()`` sets the wakeup fd to -1) took the library's wakeup fd for good: the
   worker's next stop was never seen while it waited for a request; it hung until the
   master's mercy (60 s, "NO MERCY"), its logs lost. Before flake30: 2.7 s, 2 of 2 sent.
3. The stop of a worker between requests no longer waited for the app's own threads
   (not daemons) as uWSGI's exit had (``Py_Finalize``): their work was cut (a thread's
   8 s of work: before flake30 the stop took 9.7 s and the work was done; after, 2.9 s
   and never done). Now the library's end of the worker waits for them as
   ``Py_Finalize`` does (``threading``'s exit functions first: an executor's threads).
4. In uWSGI's async mode (``--async``, ``--gevent``) its exit runs neither
   ``uwsgi.atexit`` nor ``atexit`` ("a real pain" there), idle or not: the library's end
   of the worker now ran the app's. As uWSGI again (the logs still sent: 0 of 2 before
   flake30 there, 2 of 2 since).

Real uWSGI (the pyuwsgi wheel of the test extra), a real collector on 127.0.0.1.
"""

from __future__ import annotations

import signal
from pathlib import Path

import pytest
import requests

from tests.support.fake_api import Collector
from tests.support.polling import wait_until
from tests.support.processes import LINE_WAIT
from tests.support.uwsgi_run import NO_UWSGI, paths, stopped, uwsgi

pytestmark = pytest.mark.e2e

_APP = '''\
import asyncio
import multiprocessing
import os
import signal
import threading
import time

from readme_metrics import MetricsApiConfig, MetricsMiddleware


def _forever(parent):
    while os.getppid() == parent:  # (ends with its worker, whatever the test saw)
        time.sleep(0.1)


def _app(environ, start_response):
    path = environ["PATH_INFO"]
    if path == "/fork":  # a child forked by the app (multiprocessing's fork), stopped
        child = multiprocessing.get_context("fork").Process(target=_forever, args=(os.getpid(),))
        child.start()
        child.terminate()  # SIGTERM
        child.join(20)
        code = child.exitcode
        if code is None:
            child.kill()
            child.join()
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [repr(code).encode()]
    if path == "/thread":  # work the app left to a thread of its own (not a daemon)
        here = os.path.dirname(os.path.abspath(__file__))

        def work():
            while not os.path.exists(os.path.join(here, "go")):
                time.sleep(0.5)
            open(os.path.join(here, "work_done"), "w").close()
        threading.Thread(target=work).start()
    if path == "/loop":  # an event loop with a signal handler, run in the request
        loop = asyncio.new_event_loop()
        loop.add_signal_handler(signal.SIGUSR2, lambda: None)
        loop.run_until_complete(asyncio.sleep(0))
        loop.close()  # (its signal handlers taken off: the wakeup fd set to -1)
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [str(os.getpid()).encode()]


def grouping(request):
    return {"api_key": "caller-119", "label": "review119"}


app = MetricsMiddleware(_app, MetricsApiConfig(grouping_function=grouping))
'''


@NO_UWSGI
def test_a_child_the_app_forks_still_ends_on_sigterm_and_leaves_the_worker_be(
        tmp_path: Path, collector: Collector) -> None:
    """The app forks a child in a request (multiprocessing's fork) and stops it with
    SIGTERM: the child inherits Python's handler and the wakeup fd (the worker's pipe),
    not the library's thread."""
    with uwsgi(tmp_path, collector, app=_APP) as (process, base, output):
        pid = requests.get(f"{base}/h0", timeout=LINE_WAIT).text  # (arms the worker)
        try:
            answer = requests.get(f"{base}/fork", timeout=LINE_WAIT).text
        except requests.ConnectionError as error:  # (the worker ended under it)
            answer = repr(error)
        said = output.read_text(errors="replace")
        assert answer == "-15", said  # the child ended by its SIGTERM
        assert "died" not in said, said
        assert requests.get(f"{base}/h1", timeout=LINE_WAIT).text == pid, said
        assert stopped(process) == 0
    said = output.read_text(errors="replace")
    assert sorted(paths(collector)) == ["fork", "h0", "h1"], said


@NO_UWSGI
def test_an_event_loop_in_a_request_leaves_the_workers_stop_seen(
        tmp_path: Path, collector: Collector) -> None:
    """The stop of a worker waiting for its next request, after a request that ran an
    event loop with a signal handler: seen, its logs sent (before this fix: the master's
    mercy, 60 s, then SIGKILL: "NO MERCY", 0 of 2 sent)."""
    with uwsgi(tmp_path, collector, "--worker-reload-mercy=20", app=_APP) as (
            process, base, output):
        requests.get(f"{base}/h0", timeout=LINE_WAIT)
        requests.get(f"{base}/loop", timeout=LINE_WAIT)
        wait_until(lambda: "GET /loop =>" in output.read_text(errors="replace"),
                   timeout=LINE_WAIT)
        assert stopped(process) == 0
    said = output.read_text(errors="replace")
    assert "NO MERCY" not in said, said
    assert sorted(paths(collector)) == ["h0", "loop"], said


@NO_UWSGI
def test_an_idle_workers_stop_still_waits_for_the_apps_own_threads(
        tmp_path: Path, collector: Collector) -> None:
    """The app's thread (not a daemon) still works as the worker, between requests, is
    stopped: its work is done before the worker ends, as ``Py_Finalize`` had it (before
    this fix: the worker ended at once, the work never done)."""
    with uwsgi(tmp_path, collector, app=_APP) as (process, base, output):
        requests.get(f"{base}/h0", timeout=LINE_WAIT)
        requests.get(f"{base}/thread", timeout=LINE_WAIT)
        wait_until(lambda: "GET /thread =>" in output.read_text(errors="replace"),
                   timeout=LINE_WAIT)
        process.send_signal(signal.SIGTERM)
        collector.wait_for_logs(2)  # (the library's close: the worker's end comes next)
        (tmp_path / "go").touch()
        assert process.wait(LINE_WAIT) == 0
    said = output.read_text(errors="replace")
    assert (tmp_path / "work_done").exists(), said
    assert sorted(paths(collector)) == ["h0", "thread"], said


@NO_UWSGI
def test_async_modes_stop_runs_no_app_atexit_as_uwsgi(tmp_path: Path,
                                                      collector: Collector) -> None:
    """``--async`` (uGreen): uWSGI's exit runs no ``atexit`` function of the app's; the
    library's end of the worker runs none either (before this fix: it ran them), and the
    logs go (they did not before flake30)."""
    marker = tmp_path / "app_atexit_ran"
    app = _APP.replace(
        "from readme_metrics import",
        f"import atexit\natexit.register(lambda: open({str(marker)!r}, 'w').close())\n"
        "from readme_metrics import")
    with uwsgi(tmp_path, collector, "--async=4", "--ugreen", app=app) as (process, base,
                                                                           output):
        requests.get(f"{base}/h0", timeout=LINE_WAIT)
        requests.get(f"{base}/h1", timeout=LINE_WAIT)
        wait_until(lambda: "GET /h1 =>" in output.read_text(errors="replace"),
                   timeout=LINE_WAIT)
        assert stopped(process) == 0
    said = output.read_text(errors="replace")
    assert sorted(paths(collector)) == ["h0", "h1"], said
    assert not marker.exists(), said
