"""delivery54: Django's middleware (``readme_metrics.django.MetricsMiddleware`` in
MIDDLEWARE) under an ASGI server that stops with a view in flight; an outer timeout
middleware around the ASGI middleware under daphne.

Django's ASGI handler runs the middleware chain in a task of its own
(``process_request``) and awaits it; when the server cancels the handler (daphne's stop,
"Killed N pending application instances"; uvicorn's and hypercorn's graceful timeout),
the handler ends and leaves that task running: a sync view's thread goes on, an async
view waits on. The task is resumed late (after the exit) or never, and the log the
middleware makes when the view returns was lost without a word (blackbox19 left it:
daphne, sync views; the async ones and uvicorn too). The async chain is now in the exit's
in-call requests, as the sync chain was: cut at exit (daphne, hypercorn) or at the
lifespan's shutdown (uvicorn with ``with_lifespan``), logged as unanswered when the
grouping function had answered, else counted dropped and said.

An ASGI timeout middleware outside ``readme_metrics.asgi.MetricsMiddleware`` cancels the
app's call and answers 504 itself. Under daphne the log said "no answer reached the
client: the server cancelled the app before its response started and closed the
connection" (blackbox19's wording for daphne's stop), untrue: daphne was serving, the
client got the 504. A cancellation is daphne's stop's only once its reactor was told to
stop; else it is logged as under uvicorn and hypercorn (the app's 500: the outer
layer's answer is not seen from inside it).

Real parts: daphne and uvicorn in a subprocess, a real Django site, the loopback
collector, a raw socket client. Nothing timed: the test waits for the view to be
entered (a file it writes), for the server's own line, then for the server to end.
"""

from __future__ import annotations

import ast
import collections
import signal
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any, Callable

import pytest

from tests.support.command import app_environment
from tests.support.django_stop_site import SITE, view_entered
from tests.support.fake_api import INLINE_TIMEOUT, Collector
from tests.support.har_check import assert_valid_log
from tests.support.polling import wait_until
from tests.support.ports import free_port
from tests.support.processes import kill_server, run_command, start_server
from tests.support.raw_requests import answers_200, get_closing

pytest.importorskip("daphne")
pytest.importorskip("uvicorn")
pytest.importorskip("django")

pytestmark = pytest.mark.e2e


NOT_DELIVERED = ("exiting with 1 request unfinished (still being sent, or the app still "
                 "computing it): 1 not delivered (the grouping function not asked yet: "
                 "counted in dropped_shutdown)")
UNANSWERED = "1 logged as unanswered (the app was still computing it)"


def _stop_in_view(collector: Collector, tmp_path: Path, argv: Callable[[int], list[str]],
                  route: str, stop: int, stopping_line: bytes) -> tuple[str, list[dict[str, Any]]]:
    """Serve the site, GET /quick, then ``route``; once the view is entered, ``stop``
    the server; once it said ``stopping_line``, let a sync view return. What the server
    printed, and the logs by path once it ended."""
    port = free_port()
    # README_TIMEOUT: a POST answered past 3 s under load went twice (flaky62).
    env = app_environment(collector.url, tmp_path, D54_ENTERED=str(tmp_path / "entered"),
                          D54_RELEASE=str(tmp_path / "release"),
                          README_TIMEOUT=str(INLINE_TIMEOUT))
    with view_entered(argv(port), port, tmp_path, SITE, "d54_site", env, route) as (
            process, _, err_path):
        process.send_signal(stop)
        wait_until(lambda: stopping_line in err_path.read_bytes())
        (tmp_path / "release").touch()
        process.wait(60)
    said = err_path.read_text(errors="replace")
    assert process.returncode in (0, -signal.SIGTERM), said
    collector.wait_for_logs(1)  # (the process ended: every POST it made is in)
    for log in collector.logs:
        assert_valid_log(log)
    return said, collector.logs


def _paths(logs: list[dict[str, Any]]) -> list[str]:
    return sorted(log["request"]["log"]["entries"][0]["request"]["url"].rpartition("/")[2]
                  for log in logs)


def _daphne(port: int) -> list[str]:
    return ["daphne", "-b", "127.0.0.1", "-p", str(port)]


def _uvicorn(port: int) -> list[str]:
    return ["uvicorn", "--port", str(port), "--timeout-graceful-shutdown", "1"]


@pytest.mark.parametrize("route, stop", [("/async", signal.SIGTERM), ("/sync", signal.SIGINT)])
def test_a_view_daphne_stops_is_logged_or_said(
        collector: Collector, tmp_path: Path, route: str, stop: int) -> None:
    """daphne's stop with the view in flight: the client gets nothing; its call is
    logged once as unanswered (a sync view returned, the grouping function answered,
    then the loop stopped) or counted dropped and said. Before: no log, no word (the
    async view every time; the sync view's log 2 of 2 runs by hand)."""
    said, logs = _stop_in_view(collector, tmp_path, _daphne, route, stop,
                               b"Killed 1 pending application instances")
    name = route.strip("/")
    if name in _paths(logs):
        assert _paths(logs) == sorted([name, "quick"])
        cut = next(log["request"]["log"]["entries"][0]["response"] for log in logs
                   if log["request"]["log"]["entries"][0]["request"]["url"].endswith(route))
        assert cut["status"] == 500 or UNANSWERED not in said, said
    else:
        assert _paths(logs) == ["quick"]
        assert NOT_DELIVERED in said, said
    if route == "/async":  # never resumed: said, every time
        assert NOT_DELIVERED in said, said


def test_a_view_uvicorns_graceful_timeout_cancels_is_said_at_the_lifespans_shutdown(
        collector: Collector, tmp_path: Path) -> None:
    """uvicorn (``with_lifespan``) cancels the handler at its graceful timeout and ends by
    SIGTERM, with no exit hook: the lifespan's shutdown cuts the call in flight. Before:
    nothing said (the cut looked only where this process had the unclosed thread, and
    the async chain was not in it)."""
    said, logs = _stop_in_view(collector, tmp_path, _uvicorn, "/async", signal.SIGTERM,
                               b"Application shutdown complete")
    assert _paths(logs) == ["quick"]
    assert NOT_DELIVERED in said, said


TIMEOUT_APP = textwrap.dedent("""
    import asyncio

    from readme_metrics import MetricsApiConfig
    from readme_metrics.asgi import MetricsMiddleware

    async def inner(scope, receive, send):
        if scope["path"] == "/slow":
            await asyncio.Event().wait()  # until the timeout cancels it
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"quick"})

    class Timeout:  # as asyncio-based timeout middlewares do: cancel, answer 504
        def __init__(self, app):
            self.app = app

        async def __call__(self, scope, receive, send):
            try:
                await asyncio.wait_for(self.app(scope, receive, send), 0.2)
            except asyncio.TimeoutError:
                await send({"type": "http.response.start", "status": 504,
                            "headers": [(b"content-length", b"7")]})
                await send({"type": "http.response.body", "body": b"timeout"})

    app = Timeout(MetricsMiddleware(inner, MetricsApiConfig(
        grouping_function=lambda request: {"api_key": "d54-key", "label": "d54"},
        buffer_length=1, flush_interval=600)))
""")


def test_an_outer_timeout_middlewares_cancel_under_daphne_is_no_stop(
        collector: Collector, tmp_path: Path) -> None:
    """The outer middleware's 504 reaches the client; the log is the app's cancelled call
    (500, as under uvicorn and hypercorn), no word of a server that closed the
    connection. Before: "no answer reached the client: the server cancelled the app"."""
    (tmp_path / "d54_timeout.py").write_text(TIMEOUT_APP)
    port = free_port()
    process = start_server([sys.executable, "-m", *_daphne(port), "d54_timeout:app"],
                           cwd=tmp_path, env=app_environment(collector.url, tmp_path),
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_until(lambda: answers_200(port))
        assert get_closing(port, "/slow").startswith(b"HTTP/1.1 504")
        log = collector.wait_for_log(lambda log: log["request"]["log"]["entries"][0]
                                     ["request"]["url"].endswith("/slow"))
    finally:
        kill_server(process)
    assert_valid_log(log)
    response = log["request"]["log"]["entries"][0]["response"]
    assert response["status"] == 500
    assert "comment" not in response or "no answer reached" not in response["comment"]


# -- 2. a signal handler's raise in the Django middleware's ASGI path ---------------------

#: Where a raise lands before the middleware took the request (Django's request_started
#: receiver of the library's; the middleware's entry, before any of its code): no log,
#: as bare.
BEFORE = ("unwrapped.py:", "django.py:__call__:call", "django.py:__acall__:call")


def _sweep(collector: Collector, route: str) -> tuple[list[Any], dict[str, int], str]:
    """tests/support/landing_django_asgi.py's rounds and stats, the logged status by
    round; the logs by round; its output."""
    done = run_command(
        [sys.executable, "-m", "tests.support.landing_django_asgi", route, "400"],
        env=app_environment(collector.url), cwd=str(Path(__file__).parent.parent),
        capture_output=True, text=True, timeout=240)
    lines = [ast.literal_eval(line) for line in done.stdout.splitlines()
             if line.startswith("(")]
    assert lines and lines[-1][0] == "stats", done.stdout[-2000:] + done.stderr[-2000:]
    stats = lines[-1][1]
    entries = [log["request"]["log"]["entries"][0]
               for log in collector.wait_for_logs(stats["sent"])]
    logged = collections.Counter(entry["request"]["url"].rsplit("?", 1)[1] for entry in entries)
    statuses = {entry["request"]["url"].rsplit("?", 1)[1]: entry["response"]["status"]
                for entry in entries}
    return [lines[:-1], stats, statuses], dict(logged), done.stderr


@pytest.mark.parametrize("route", ["/pets", "/sync"])
def test_a_sigterm_handlers_raise_at_every_landing_point_of_the_asgi_path(
        collector: Collector, route: str) -> None:
    """The loop in the main thread, a SIGTERM handler's ``sys.exit(0)`` landing at each
    of the library's landing points from Django's ASGI handler's call to the request's
    end (an async view, and a sync one: asgiref's thread, where no signal lands): the
    raise goes on unchanged (the loop ends with it, the client sent nothing, as bare);
    each request is logged once or counted dropped and said by the exit's cut. Before:
    61 of 120 (the async view) lost without a word."""
    (rounds, stats, statuses), logged, said = _sweep(collector, route)
    assert 60 < len(rounds) < 399, rounds[-3:]
    *swept, last = rounds
    assert last[1] is None and last[2] == [200] and last[3] == "returned", last
    lost, twice, before = [], [], []
    for target, place, sent, outcome in swept:
        assert (sent, outcome) == ([], "SystemExit"), (target, place, sent, outcome)
        count = logged.get(str(target), 0)
        if place.startswith(BEFORE) and count == 0:  # (a coroutine's resumption is a
            before.append(target)                     # call too: later, logged once)
        elif count > 1:
            twice.append((target, place))
        elif count == 0:
            lost.append((target, place))
    assert not twice, twice
    # What is logged is what the client got: none of the view's 200 (delivery57: the
    # raise after the log was queued logged it, 56 of 120 points of the async view)
    answered = [(target, place) for target, place, _, _ in swept
                if statuses.get(str(target), 500) == 200]
    assert not answered, (len(answered), answered[:5])
    # Not logged: counted dropped (the grouping function not asked yet) and said (a
    # point before the middleware's code may be too: Django's entry into it)
    dropped = stats["dropped_shutdown"]
    assert len(lost) <= dropped <= len(lost) + len(before), (stats, lost[:5], before)
    assert said.count("1 not delivered (the grouping function not asked yet") == dropped
    assert stats["queued"] == 0 and stats["sent"] + stats["dropped"] == stats["captured"]
    assert len(before) <= 12, before
    places = " ".join(place for _, place, _, _ in swept)
    for module in ("django.py:_start", "django_exchange.py:__init__", "django.py:_complete",
                   "django_exchange.py:finish", "delivery/batcher_put.py:put"):
        assert module in places, module
