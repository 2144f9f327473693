"""delivery50: a ``pyuwsgi.run()`` worker with ``--threads`` whose logged requests ran in
its other threads was never armed for a stop in a request.

Where the library came before uWSGI (``pyuwsgi.run()`` from a script that imported the
app first: delivery47, tests/test_delivery47_pyuwsgi.py), each worker arms its stop at
its first logged request; the main thread's part (``signal.signal``,
``set_wakeup_fd``) waited for a logged request in that thread. On main (e40ae273), one
worker, ``--threads 2``, its main thread in an unlogged request, 3 logged calls then a
fourth held in the other thread, SIGINT to the master: 0 of the 4 logs delivered, none
said. Now the main thread is asked to arm it at the next Python it runs
(``delivery/main_thread.py``): the 3 delivered, the one cut in flight said.

Real uWSGI (the pyuwsgi wheel of the test extra), a collector answering in 1 s; which
thread serves what is told by files the app writes, whatever the machine's load. The
stop is sent once the main thread has run Python since the ask (it answers a ``ping``
file a turn of its loop later): the arming is promised then, not sooner. Sent as soon
as the calls were answered, it raced the main thread's 50 ms sleep (flaky35: failed
every time on a quiet machine, passed under load).
"""

from __future__ import annotations

import importlib.util
import signal
import threading
from pathlib import Path

import pytest
import requests

from tests.support.blackbox14_run import said_in
from tests.support.fake_api import Collector, Reply
from tests.support.polling import wait_until
from tests.support.processes import LINE_WAIT
from tests.support.runserver import CALLER, held_env, serving
from tests.support.uwsgi_run import paths, wait_takes_its_stops

pytestmark = [pytest.mark.e2e, pytest.mark.skipif(
    importlib.util.find_spec("pyuwsgi") is None,
    reason="pyuwsgi is not installed (pip install pyuwsgi, in the test extra)")]

SCRIPT = '''\
import sys

import app50  # (the app, and the library, imported before uWSGI starts)
import pyuwsgi

pyuwsgi.run(["--master", "--processes", "1", "--threads", "2",
             "--http-socket", "127.0.0.1:" + sys.argv[1], "--disable-logging",
             "--binary-path", sys.executable,
             "--eval", "import app50; application = app50.app"])
'''

APP = '''\
import os
import threading
import time

from readme_metrics import MetricsApiConfig, MetricsMiddleware

HERE = os.path.dirname(os.path.abspath(__file__))


def _wait(name, go):
    main = threading.current_thread() is threading.main_thread()
    open(os.path.join(HERE, "%s-%s" % (name, "main" if main else "other")), "w").close()
    pinged = False
    while not os.path.exists(os.path.join(HERE, go)):
        if pinged:  # a turn of the loop (a sleep, a jump back) since it saw the ping
            open(os.path.join(HERE, "pong"), "w").close()
        pinged = main and os.path.exists(os.path.join(HERE, "ping"))
        time.sleep(0.05)


def _app(environ, start_response):
    path = environ["PATH_INFO"]
    if path.startswith("/block"):  # OPTIONS (not logged): holds its core until go-<name>
        _wait("blocked-" + path[1:], "go-" + path[1:])
    elif path.startswith("/hold"):
        _wait("held", "go")
    main = threading.current_thread() is threading.main_thread()
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"main" if main else b"other"]


app = MetricsMiddleware(_app, MetricsApiConfig(
    grouping_function=lambda request: {"api_key": "caller-50"}))
'''


def _send(method: str, url: str) -> threading.Thread:
    def call() -> None:
        try:
            requests.request(method, url, timeout=60, headers={**CALLER, "Connection": "close"})
        except requests.RequestException:
            pass  # (cut by the stop)

    thread = threading.Thread(target=call, daemon=True)
    thread.start()
    return thread


def test_a_threads_workers_stop_in_a_request_sends_what_its_other_thread_served(
        tmp_path: Path) -> None:
    collector = Collector().start()
    collector.default = Reply(delay=1.0)
    (tmp_path / "app50.py").write_text(APP)
    (tmp_path / "serve50.py").write_text(SCRIPT)
    env = held_env(collector, tmp_path, "3", README_TIMEOUT="5")
    try:
        with serving(["serve50.py", "{port}"], env, tmp_path, "server.log") as served:
            wait_takes_its_stops(served.process, served.output)  # (flaky54)
            # Both cores held by an unlogged request; the one in the other thread let go:
            # the main thread stays in its own, each logged call goes to the other.
            for name in ("blockA", "blockB"):
                _send("OPTIONS", f"{served.url}/{name}")
            wait_until(lambda: len(list(tmp_path.glob("blocked-*"))) == 2, timeout=60)
            other = next(tmp_path.glob("blocked-*-other")).name.split("-")[1]
            (tmp_path / f"go-{other}").touch()
            answered = []
            for n in range(3):
                name = f"call{n}"
                answer = requests.get(f"{served.url}/{name}", timeout=30,
                                      headers={**CALLER, "Connection": "close"})
                assert answer.text == "other", served.said()
                answered.append(name)
            # The main thread was asked at call0 to arm at its next Python: once it has
            # run some since (its answer to a ping made after the ask), it is armed.
            (tmp_path / "ping").touch()
            wait_until((tmp_path / "pong").exists, timeout=60)
            _send("GET", f"{served.url}/hold0")
            wait_until(lambda: (tmp_path / "held-other").exists(), timeout=60)
            served.process.send_signal(signal.SIGINT)  # uWSGI's stop: "killing workers"
            served.process.wait(LINE_WAIT)
            said = served.said()
        delivered = paths(collector)
    finally:
        (tmp_path / "go").touch()
        for go in ("go-blockA", "go-blockB"):
            (tmp_path / go).touch()
        collector.stop()
    assert len(delivered) == len(set(delivered)), delivered
    # Before: 0 of 3 delivered, 0 said
    assert set(answered) <= set(delivered), (delivered, said[-3000:])
    assert said_in(said)[0] + delivered.count("hold0") == 1, said[-3000:]
