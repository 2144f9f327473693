"""blackbox9: delivery across process lifecycles, as users run apps.

The interpreter's exit waits for every non-daemon thread of the app before it runs the
``atexit`` hooks, and the library's exit flush is one of them: the logs waiting in the
queue were posted only once the app's last thread had ended. gunicorn's gthread worker
is such an app at a quick stop (SIGQUIT, or SIGINT: Ctrl-C): its main thread leaves at
once, and the exit waits for the requests its thread pool still serves; one slower than
``--graceful-timeout`` (or the 2 s of a second Ctrl-C) has the master SIGKILL the
worker, the exit flush never ran, and every log the worker held was lost, with no word
(the master only says "Worker (pid:N) was sent SIGKILL! Perhaps out of memory?").
Measured (a buffer of 1,000, ``flush_interval`` 60 s, 100 requests served, then one of
10 s and the signal, ``--graceful-timeout 3``): 0 of 100 delivered at SIGQUIT and at
SIGINT. A script whose main thread ends while a thread of its own runs on (a scheduler,
a consumer loop) had its logs wait for that thread, for ever if it never ends.

Now the library posts what waits as the exit begins to wait for those threads
(``threading``'s own exit hook, which runs before that wait), and the exit flush sends
the rest as before: 100 of 100 at SIGQUIT and at SIGINT. At SIGTERM (the graceful stop)
gunicorn's worker waits for its requests in its own code, before its main thread ends,
and nothing of the library's runs until then: a request slower than
``--graceful-timeout`` still costs the logs waiting for their batch (with the defaults,
fewer than ``buffer_length`` and younger than ``flush_interval``: 101 of 101 delivered
there; 0 of 100 with the buffer of 1,000). A request still being served when the worker
is SIGKILLed has no log (docs/DELIVERY.md, Exit).

Real parts: gunicorn and a Python script in subprocesses, the loopback collector;
nothing here is timed (the logs are awaited while the thread still runs).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest
import requests

from tests.support.delivery import (
    MakeDelivery,
    adds_up,
    api_key_never_logged_fixture,  # noqa: F401 - autouse
    ids,
    item,
    make_delivery_fixture,  # noqa: F401 - ``make_delivery``
)
from tests.support.fake_api import INLINE_TIMEOUT, Collector, Reply
from tests.support.lingering_exit import logs_while_it_lingers, script
from tests.support.polling import wait_until
from tests.support.processes import LINE_WAIT, read_line, start_server
from tests.test_greenlet_servers import _check_quiet, _paths, _start, _stop

ROOT = Path(__file__).resolve().parents[1]

#: The gunicorn app of test_greenlet_servers, with a request that never ends by itself.
HANG_APP = textwrap.dedent("""
    import pathlib, threading
    from green_app import application as logged

    def application(environ, start_response):
        if environ["PATH_INFO"] == "/hang":
            pathlib.Path("hang_began").touch()
            threading.Event().wait(120)  # served until the worker is killed
        return logged(environ, start_response)
""")

SCRIPT = script("rdme_blackbox9_key", "caller-9", """
    # The app's own thread (not a daemon) runs on after the main thread ends: here,
    # until the test closes stdin.
    import threading
    threading.Thread(target=sys.stdin.read).start()
""")


@pytest.mark.e2e
@pytest.mark.parametrize("mode", ["background", "inline"])
def test_logs_go_while_the_exit_waits_for_the_apps_own_threads(
        collector: Collector, tmp_path: Path, mode: str) -> None:
    """A script serves 30 requests (a buffer of 1,000, a 600 s flush interval: only
    the exit sends them) and ends its main thread while a thread of its own runs on:
    the 30 logs arrive while that thread still runs (before: only once it had ended),
    each once. Inline mode too (review114: it sent none until that thread had ended)."""
    logs_while_it_lingers(collector, tmp_path, SCRIPT, mode)


@pytest.mark.e2e
@pytest.mark.parametrize("stop", ["SIGQUIT", "SIGINT"])
def test_gthread_worker_killed_past_graceful_timeout_sent_what_it_held(
        stop: str, collector: Collector, tmp_path: Path) -> None:
    """gunicorn's gthread worker holds the logs of 20 requests served (a buffer of 100,
    a 600 s flush interval) and serves one that never ends; the master is told to stop
    at once (SIGQUIT, or SIGINT: Ctrl-C) and SIGKILLs the worker once
    ``--graceful-timeout`` (3 s: each case waits it out; 5 s before suite49) has passed.
    The 20 logs arrive before that kill (before: none, the exit waiting for that
    request first), each once; the request
    still in flight has no log (nothing of a SIGKILLed process runs)."""
    process, base = _start_hang_app(collector, tmp_path)
    served = []
    hanging = threading.Thread(target=_hang, args=(base,), daemon=True)
    try:
        with requests.Session() as session:
            for n in range(20):
                assert session.get(f"{base}/r/{n}", timeout=10).status_code == 200
                served.append(f"r/{n}")
        hanging.start()
        wait_until((tmp_path / "hang_began").exists)
        process.send_signal(getattr(signal, stop))
        # Within the graceful timeout, while the worker waits for the hanging request.
        collector.wait_for_logs(21)  # and the readiness probe's
    finally:
        out, err = _stop(process)
    paths = [path for path in _paths(collector) if path.startswith("r/")]
    assert sorted(paths) == sorted(served), paths  # each exactly once
    assert "hang" not in _paths(collector)
    assert "was sent SIGKILL" in err, err  # the worker was killed indeed
    _check_quiet(out, err.replace("was sent SIGKILL", ""))


def _start_hang_app(collector: Collector, tmp_path: Path
                    ) -> tuple[subprocess.Popen[bytes], str]:
    """test_greenlet_servers' gunicorn start, with the gthread worker and HANG_APP."""
    (tmp_path / "hang_app.py").write_text(HANG_APP)
    return _start("gthread", collector, tmp_path, "--threads=4", "--graceful-timeout=3",
                  buffer_length=100, flush_interval=600, app="hang_app:application")


def _hang(base: str) -> None:
    try:
        requests.get(f"{base}/hang", timeout=60)
    except requests.RequestException:
        pass  # the worker is killed under it



def test_posting_as_the_main_thread_ends_waits_for_nothing_and_answers_for_nothing(
        collector: Collector, make_delivery: MakeDelivery) -> None:
    """What ``threading``'s exit hook asks of a Delivery: 3 logs of a partial batch
    (buffer 100, a 600 s flush interval) are posted at once, nothing waits for the
    API's answer (held by a gate), and the flush after it still answers for a log the
    full queue refused before (False once), as it did with no post before it."""
    gate = threading.Event()
    collector.default = Reply(gate=gate)
    delivery = make_delivery(collector.url, buffer_length=100, flush_interval=600,
                             max_queue_size=3, timeout=INLINE_TIMEOUT)  # (held: flaky62)
    for name in ("a", "b", "c", "refused"):
        delivery.submit(item(name))
    assert delivery.stats["dropped_queue_full"] == 1
    delivery.post_waiting()  # returns at once: the API holds its answer
    wait_until(lambda: len(collector.received) == 1)
    gate.set()
    assert delivery.flush(30) is False  # the refused log, answered for once
    assert delivery.flush(30) is True
    assert ids(collector.logs) == ["a", "b", "c"] and adds_up(delivery.stats)


FROZEN = textwrap.dedent("""
    import os, sys
    from werkzeug.test import Client
    from readme_metrics import MetricsApiConfig, MetricsMiddleware

    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]

    middleware = MetricsMiddleware(app, MetricsApiConfig(
        api_key="rdme_blackbox9_key", metrics_api=os.environ["METRICS_URL"],
        base_log_url="http://docs.example", buffer_length=10, flush_interval=600,
        timeout=0.5, grouping_function=lambda request: {"api_key": "caller-9"}))
    client = Client(middleware)
    for batch in "ab":
        sys.stdin.readline()  # the test's go
        for n in range(10):
            client.get(f"/{batch}/{n}")
        print(middleware.flush(30), flush=True)
""")


@pytest.mark.e2e
def test_a_frozen_process_does_not_blame_the_api(collector: Collector,
                                                 tmp_path: Path) -> None:
    """A process stopped (SIGSTOP) just after the API read its POST, for four times
    its ``timeout``, and continued (SIGCONT): the API answered within 0.3 s, during the
    freeze, so the POST is delivered once, and no warning should say the API answered
    later than ``timeout``. One did ("answered a POST in 2.0s, later than timeout ...
    of 0.5s"), the bound doubled: nothing in the process told a freeze from a slow API.
    Now the watchdog thread's lateness (it wakes every 0.1 s while a POST is in flight)
    is taken for a freeze, not counted against the API (blackbox10)."""
    collector.default = Reply(delay=0.3)
    (tmp_path / "frozen.py").write_text(FROZEN)
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("README_")},
           "METRICS_URL": collector.url, "PYTHONPATH": str(ROOT)}
    process = start_server([sys.executable, str(tmp_path / "frozen.py")], env=env,
                           stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE)
    try:
        assert process.stdin is not None
        process.stdin.write(b"a\n")
        process.stdin.flush()
        assert read_line(process.stdout) == b"True\n"  # answered at once
        process.stdin.write(b"b\n")
        process.stdin.flush()
        collector.wait_for_posts(2)  # the API read the second POST (and answers it)
        process.send_signal(signal.SIGSTOP)
        threading.Event().wait(2.0)  # the freeze itself: four times `timeout`
        process.send_signal(signal.SIGCONT)
        assert read_line(process.stdout) == b"True\n"
    finally:
        out, err = process.communicate(b"", timeout=LINE_WAIT)
    assert sorted(_paths(collector)) == sorted(f"{b}/{n}" for b in "ab" for n in range(10))
    assert "later than timeout" not in err.decode(errors="replace"), err
