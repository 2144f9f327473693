"""delivery37: the inline mode's exit within ``shutdown_timeout``, as the background's.

Inline (``background_worker_mode=False``), the exit's time had two parts each with a
bound of its own: as the main thread ends while a thread of the app's runs on, the
library posts what waits (``Delivery.post_waiting``, up to ``shutdown_timeout``) and a
request thread still serving posts its batch (up to ``timeout``); the close at
``atexit`` then had a whole ``shutdown_timeout`` of its own. Measured against an API
that reads every POST and answers none (``timeout`` 3 s, ``shutdown_timeout`` 2 s, a
plain script): 4.1 s from the main thread's end to the process's (an app thread of
0.3 s), 5.1 s (the last request served in a thread of its own), where the background
mode's took 2.1 to 2.5 s; the close sent the logs a second time, and its line said
"not delivered; the last attempt ... failed (Timeout ...)" of logs the API may have.

Now the exit's inline POSTs and its close share one ``shutdown_timeout`` counted from
the main thread's end (a POST in flight then is cut at its end too), unless a log comes
past it (the app's threads worked on: the close has a bound of its own); each cut POST
is said as the background close says it: 2.1 s in both cases, one POST, "N of them in
POSTs cut at the close, unanswered: the Metrics API may have them".

Real parts: a Python script in a subprocess and the loopback collector; nothing here
is timed (a POST the API never answers, ``timeout`` 600 s: the exit waited for it).
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from readme_metrics.delivery import process
from tests.support.delivery import (
    MakeDelivery,
    adds_up,
    api_key_never_logged_fixture,  # noqa: F401 - autouse
    item,
    make_delivery_fixture,  # noqa: F401 - ``make_delivery``
)
from tests.support.fake_api import Collector, Reply
from tests.support.polling import wait_until
from tests.support.processes import LINE_WAIT, read_line, start_server

ROOT = Path(__file__).resolve().parents[1]

#: argv: the requests served by the main thread, and what runs on after it: "thread"
#: (a thread of the app's that ends once stdin is closed) or "request" (the request
#: that fills the batch, served in a thread of its own, its POST in flight as the main
#: thread ends).
SCRIPT = textwrap.dedent("""
    import os, sys, threading
    from werkzeug.test import Client
    from readme_metrics import MetricsApiConfig, MetricsMiddleware

    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]

    middleware = MetricsMiddleware(app, MetricsApiConfig(
        api_key="rdme_delivery37_key", metrics_api=os.environ["METRICS_URL"],
        base_log_url="http://docs.example", buffer_length=int(sys.argv[1]) + 1,
        flush_interval=600, timeout=600, shutdown_timeout=2,
        background_worker_mode=False,
        grouping_function=lambda request: {"api_key": "caller-37"}))
    client = Client(middleware)
    for n in range(int(sys.argv[1])):
        assert client.get(f"/s/{n}").status_code == 200
    if sys.argv[2] == "thread":
        threading.Thread(target=sys.stdin.read).start()
    else:  # its POST read by the API (the test says so) before the main thread ends
        threading.Thread(target=lambda: client.get("/last")).start()
        sys.stdin.readline()
    print("main thread done", flush=True)
""")

CUT = ("readme_metrics: closing gave up after shutdown_timeout (README_SHUTDOWN_TIMEOUT) "
       "of 2s: 0 logs not delivered, {n} unknown (in POSTs sent in full, cut "
       "unanswered: the Metrics API may have them)")  # (delivery80: "{n} logs not ...")


def _run(collector: Collector, tmp_path: Path, served: int,
         after: str) -> subprocess.Popen[bytes]:
    (tmp_path / "script.py").write_text(SCRIPT)
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("README_")},
           "METRICS_URL": collector.url, "PYTHONPATH": str(ROOT)}
    child = start_server([sys.executable, str(tmp_path / "script.py"), str(served), after],
                         env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    return child


def _main_ended(child: subprocess.Popen[bytes]) -> None:
    line = read_line(child.stdout, about="the script's main thread to end")
    assert line == b"main thread done\n", line


@pytest.mark.e2e
def test_a_request_threads_post_in_flight_at_exit_ends_with_the_exits_bound(
        collector: Collector, tmp_path: Path) -> None:
    """The request filling the batch is served in a thread as the main thread ends; its
    POST (``timeout`` 600 s) is never answered. The process ends within
    ``shutdown_timeout`` (2 s), the POST cut there and said so, once. Before: the exit
    waited for that POST, its whole ``timeout`` (5.1 s with ``timeout`` 3 s), then the
    close had 2 s of its own."""
    collector.default = Reply(hang=600)
    child = _run(collector, tmp_path, 9, "request")
    try:
        wait_until(lambda: collector.failed, timeout=LINE_WAIT)  # the request's POST
        assert child.stdin is not None
        child.stdin.write(b"\n")
        child.stdin.flush()
        _main_ended(child)
        _, err = child.communicate(timeout=LINE_WAIT)  # (before: the 600 s POST)
    finally:
        if child.poll() is None:
            child.kill()
            child.communicate()
    text = err.decode(errors="replace")
    assert child.returncode == 0, text
    assert text.splitlines() == [CUT.format(n=10)], text
    assert len(collector.failed) == 1, len(collector.failed)  # read once, not sent again


@pytest.mark.e2e
def test_the_close_after_the_exits_posts_has_no_bound_of_its_own(
        collector: Collector, tmp_path: Path) -> None:
    """As the main thread ends a thread of the app's runs on: the library posts the 30
    logs (never answered), the thread ends, and the close comes within the same
    ``shutdown_timeout`` (2 s), with no time left: nothing posted again, the POST said
    cut. Before: the close had 2 s of its own (the exit twice its bound: 4.1 s), sent
    the 30 logs again, and said them "not delivered" with the POST's timeout."""
    collector.default = Reply(hang=600)
    child = _run(collector, tmp_path, 30, "thread")
    try:
        _main_ended(child)
        wait_until(lambda: collector.failed, timeout=LINE_WAIT)  # the exit's POST
        _, err = child.communicate(b"", timeout=LINE_WAIT)  # the app's thread ends
    finally:
        if child.poll() is None:
            child.kill()
            child.communicate()
    text = err.decode(errors="replace")
    assert child.returncode == 0, text
    assert text.splitlines() == [CUT.format(n=30)], text
    assert len(collector.failed) == 1, len(collector.failed)


def _at_exit(monkeypatch: pytest.MonkeyPatch) -> None:
    """As in ``process.close_all``: the close is the exit's, begun now."""
    began = time.monotonic()
    monkeypatch.setattr(process, "exit_began", lambda: began)


def test_the_exits_close_ends_where_the_bound_from_the_main_threads_end_does(
        collector: Collector, make_delivery: MakeDelivery,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The main thread ended (post_waiting), then the close at exit: its deadline is
    the one counted from the main thread's end, the logs sent within it."""
    delivery = make_delivery(collector.url, buffer_length=10, shutdown_timeout=30,
                             background_worker_mode=False)
    for n in range(3):
        assert delivery.submit(item(f"log-{n}"))
    delivery.post_waiting()
    exit_by = delivery._batcher.exit_by
    assert exit_by < math.inf
    _at_exit(monkeypatch)
    delivery.close()
    assert delivery._batcher.ends == exit_by  # (before: the close's start + 30 s)
    stats = delivery.stats
    assert adds_up(stats) and stats["sent"] == 3, stats


def test_a_log_past_the_exits_bound_gives_the_close_its_own(
        collector: Collector, make_delivery: MakeDelivery,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The app's threads worked on past the bound counted from the main thread's end
    (a log came after it): the close has its whole ``shutdown_timeout`` for it."""
    delivery = make_delivery(collector.url, buffer_length=10, shutdown_timeout=0.2,
                             background_worker_mode=False)
    delivery.post_waiting()
    exit_by = delivery._batcher.exit_by
    wait_until(lambda: time.monotonic() > exit_by)
    assert delivery.submit(item("late"))
    closing = time.monotonic()
    _at_exit(monkeypatch)
    delivery.close()
    assert delivery._batcher.ends >= closing + 0.2
    assert [log["_id"] for log in collector.logs] == ["late"]
    stats = delivery.stats
    assert adds_up(stats) and stats["sent"] == 1, stats


def test_the_background_mode_sets_no_exit_bound(
        collector: Collector, make_delivery: MakeDelivery) -> None:
    """The background mode's exit is unchanged: its senders post, the close at exit
    has its bound from its start."""
    delivery = make_delivery(collector.url, buffer_length=10, background_worker_mode=True)
    assert delivery.submit(item("one"))
    delivery.post_waiting()
    assert delivery._batcher.exit_by == math.inf
