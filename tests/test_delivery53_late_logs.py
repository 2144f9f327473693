"""A log refused once the close had ended is said (delivery53).

A close says the logs it refused while it drained, as it ends; one that comes after it
ended (``close()`` returned, a server's stop handler closed delivery, the exit's close
ran while a daemon thread of the server still serves) was refused, counted
``dropped_shutdown``, and said by no line: ``refused_closing`` grew by ``closing``, 0
then. Now :class:`~readme_metrics.delivery.late_refused.LateRefused` says them: the
first of a burst at once, the rest in one line (a second later, or at the next close or
exit hook); at the interpreter's exit, after its close, each as it comes.

Real parts: a real collector on 127.0.0.1; a real threaded WSGI server (wsgiref, daemon
threads, as runserver's) serving a call during an exit hook of the app's that runs after
the library's close, in a subprocess.
"""

from __future__ import annotations

import logging
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any, Callable

from tests.support.delivery import (  # noqa: F401 (fixtures)
    MakeDelivery,
    adds_up,
    item,
    make_delivery_fixture,
    messages,
)
from tests.support.fake_api import Collector
from tests.support.processes import LINE_WAIT, start_server, stop_server

BURST = 1.0  # (late_refused.BURST: checked by the tests of LateRefused)

ROOT = Path(__file__).resolve().parents[1]
_LATE = "of calls the server answered after the close had ended"
_COUNT = re.compile(r"(\d+) logs? not delivered: " + re.escape(_LATE))


def _said(lines: list[str]) -> list[int]:
    """The counts of the late lines among ``lines``, in order."""
    return [int(match.group(1)) for line in lines
            for match in [_COUNT.search(line)] if match]


def test_a_log_after_close_returned_is_refused_and_said(
        make_delivery: MakeDelivery, collector: Collector, caplog: Any) -> None:
    """``close()`` returned, then a call answered: its log is refused, counted
    ``dropped_shutdown`` and said in one warning. Before: counted, said by no line."""
    caplog.set_level(logging.DEBUG, logger="readme_metrics")
    delivery = make_delivery(collector.url, buffer_length=100)
    assert delivery.submit(item("log-0"))
    delivery.close()
    assert not messages(caplog, logging.WARNING, _LATE)
    assert not delivery.submit(item("late"))
    assert _said(messages(caplog, logging.WARNING, _LATE)) == [1]
    stats = delivery.stats
    assert adds_up(stats), stats
    assert (stats["sent"], stats["dropped_shutdown"]) == (1, 1), stats
    assert [log["_id"] for log in collector.logs] == ["log-0"]


def test_a_burst_after_the_close_is_said_whole_by_the_next_close(
        make_delivery: MakeDelivery, collector: Collector, caplog: Any) -> None:
    """Six late logs: the first said at once; every one of them said by the time the
    next close (or exit hook) returned, in fewer lines than logs (the rest of a burst
    goes in one line). Before: no line at all."""
    delivery = make_delivery(collector.url, buffer_length=100,
                             background_worker_mode=False)
    delivery.close()
    for n in range(6):
        assert not delivery.submit(item(f"late-{n}"))
    said = _said(messages(caplog, logging.WARNING, _LATE))
    assert said[0] == 1
    delivery.close()  # (the next close hook says the rest no line said yet)
    said = _said(messages(caplog, logging.WARNING, _LATE))
    assert sum(said) == 6 and len(said) < 6, said
    assert delivery.stats["dropped_shutdown"] == 6


class _Lines:
    """A logger's stand-in that keeps the lines (LateRefused's own test: no Delivery)."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def warning(self, message: str, *args: Any) -> None:
        self.lines.append(message % args)


def _notice(final: Callable[[], bool] = lambda: False
            ) -> tuple[Any, list[int], _Lines, list[tuple[float, Any]], list[float]]:
    from readme_metrics.delivery import late_refused  # (delivery53's)

    assert late_refused.BURST == BURST
    refused = [0]
    lines = _Lines()
    timers: list[tuple[float, Any]] = []
    now = [100.0]

    def take() -> int:
        count, refused[0] = refused[0], 0
        return count

    notice = late_refused.LateRefused(lines, take, final=final,  # type: ignore[arg-type]
                         schedule=lambda at, call: timers.append((at, call)),
                         clock=lambda: now[0])
    return notice, refused, lines, timers, now


def test_a_burst_is_one_line_at_once_and_one_for_its_rest() -> None:
    """On a clock of its own: the first refusal said at once; five more within BURST,
    one line at the timer; a refusal BURST after the last line, at once again."""
    notice, refused, lines, timers, now = _notice()
    refused[0] += 1
    notice.refused()
    assert _said(lines.lines) == [1] and not timers
    for _ in range(5):
        refused[0] += 1
        notice.refused()
    assert _said(lines.lines) == [1] and [at for at, _ in timers] == [100.0 + BURST]
    now[0] = 100.0 + BURST
    timers.pop()[1]()
    assert _said(lines.lines) == [1, 5]
    now[0] += BURST
    refused[0] += 1
    notice.refused()
    assert _said(lines.lines) == [1, 5, 1] and not timers
    notice.say_rest()  # (nothing left: no line)
    assert _said(lines.lines) == [1, 5, 1]


def test_at_the_interpreters_exit_each_is_said_as_it_comes() -> None:
    """Once the exit hook ran its close, no later moment is sure to come: no timer,
    each refusal said at once (with those refused beside it)."""
    notice, refused, lines, timers, _ = _notice(final=lambda: True)
    for _ in range(3):
        refused[0] += 1
        notice.refused()
    assert _said(lines.lines) == [1, 1, 1] and not timers


_SCRIPT = textwrap.dedent("""
    import atexit, os, sys, threading, urllib.request
    from socketserver import ThreadingMixIn
    from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server
    from readme_metrics import MetricsApiConfig, MetricsMiddleware

    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]

    class Server(ThreadingMixIn, WSGIServer):
        daemon_threads = True  # (as runserver's: they serve on through the exit)

    class Quiet(WSGIRequestHandler):
        def log_message(self, *args):
            pass

    def served_after_the_close():
        # Registered before the library's hook: runs after its close (atexit runs the
        # last registered first), while the server's daemon threads still serve.
        for n in range(int(sys.argv[2])):
            assert urllib.request.urlopen(url + f"/late/{n}", timeout=60).read() == b"ok"
        middleware.flush(0)  # (waits for nothing: the late logs' threads ended)
        stats = middleware.stats
        print("late", stats["captured"], stats["dropped_shutdown"], flush=True)

    atexit.register(served_after_the_close)
    middleware = MetricsMiddleware(app, MetricsApiConfig(
        api_key="key", metrics_api=os.environ["METRICS_URL"], buffer_length=1000,
        flush_interval=600, background_worker_mode=sys.argv[1] == "background",
        grouping_function=lambda request: {"api_key": "caller"}))
    server = make_server("127.0.0.1", 0, middleware, server_class=Server,
                         handler_class=Quiet)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_port}"
    assert urllib.request.urlopen(url + "/before", timeout=60).read() == b"ok"
""")


def _late_calls_at_exit(tmp_path: Path, collector: Collector, mode: str,
                        calls: int) -> tuple[str, str]:
    (tmp_path / "late.py").write_text(_SCRIPT)
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("README_")},
           "METRICS_URL": collector.url, "PYTHONPATH": str(ROOT)}
    process = start_server([sys.executable, str(tmp_path / "late.py"), mode, str(calls)],
                           env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        out, err = process.communicate(timeout=LINE_WAIT)
    finally:
        if process.returncode is None:
            stop_server(process)
    assert process.returncode == 0, err.decode(errors="replace")
    return out.decode(), err.decode(errors="replace")


def test_calls_a_daemon_thread_serves_after_the_exits_close_are_said(
        tmp_path: Path, collector: Collector) -> None:
    """The exit's close sent ``/before``; then, in an exit hook of the app's, the
    server's daemon threads answer 3 more calls: their logs are refused (counted
    ``dropped_shutdown``) and every one said on stderr, nothing printed on stdout but
    the script's own line. Before: counted, said by no line (0 of 3)."""
    out, err = _late_calls_at_exit(tmp_path, collector, "background", 3)
    assert out == "late 4 3\n", (out, err)
    assert sum(_said(err.splitlines())) == 3, err
    assert len(collector.logs) == 1  # (/before's)


def test_inline_calls_served_after_the_exits_close_are_said(
        tmp_path: Path, collector: Collector) -> None:
    """Inline mode, the same: 2 late calls, both said."""
    out, err = _late_calls_at_exit(tmp_path, collector, "inline", 2)
    assert out == "late 3 2\n", (out, err)
    assert sum(_said(err.splitlines())) == 2, err
    assert len(collector.logs) == 1
