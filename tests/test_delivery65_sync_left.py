"""delivery65: Django's sync chain under ASGI (a sync-only middleware in MIDDLEWARE:
asgiref runs the chain in a thread) whose client left once the view had returned, before
Django's task sent the answer: logged as the client gone (499, no body, the view's 200
quoted), not as the view's 200.

Django's ASGI handler (5.0+) cancels the chain's task (``process_request``) when the
client's disconnect comes. delivery59 logs the cancel that reaches the view's own call
(asgiref raises it into the chain). One that comes once the view returned, while the
chain's thread still runs (the library's middleware on its way out: its grouping
function, an outer middleware), is taken by asgiref: it lets the thread finish, and the
task then sends the view's answer into the gone client's connection (uvicorn drops it,
hypercorn writes it into the reset connection, daphne's protocol is closed). The
middleware had decided in the thread, the handler still waiting: the view's 200 (1 of 1
under each server before delivery65). Now the log waits for the task's end
(``django_abandoned.await_verdict``), which says Django's cancel came first.

Real parts: uvicorn, hypercorn and daphne in a subprocess, a real Django site
(delivery59's, on delivery54's stop site), the loopback collector, a raw socket client.
Nothing timed: the view waits for a file the test writes, the grouping function for
another once Django cancelled the chain's task (the site tells it: ``D59_LEFT``).
"""

from __future__ import annotations

import signal
import sys
import textwrap
from pathlib import Path
from typing import Any, Callable

import pytest

from tests.support.command import app_environment
from tests.support.django_stop_site import view_entered
from tests.support.fake_api import Collector
from tests.support.har_check import assert_valid_log
from tests.support.polling import wait_until
from tests.support.ports import free_port
from tests.test_delivery59_client_left import SITE as D59_SITE

pytest.importorskip("django", minversion="5.0")  # (the chain's own task: 5.0+)
if sys.version_info < (3, 11):  # pragma: no cover - Task.cancelling() tells Django's cancel
    pytest.skip("Python 3.11+", allow_module_level=True)
pytestmark = pytest.mark.e2e

_GROUPING = 'grouping_function=lambda request: {"api_key": "d54-key", "label": "d54"},'
assert _GROUPING in D59_SITE

#: delivery59's site, its grouping function (in the sync chain's thread, once the view
#: returned) held for ``/sync`` until the test writes ``D65_GO``, once it wrote
#: ``D65_GROUPING``; ``D65_DONE`` written as Django's call for ``/sync`` returned (the
#: stop waits for it: daphne's kills a call still running).
SITE = D59_SITE.replace(_GROUPING, "grouping_function=lambda request: _grouping(request),"
                        ) + textwrap.dedent("""
    def _grouping(request):
        if request.path == "/sync":
            open(os.environ["D65_GROUPING"], "w").close()
            while not os.path.exists(os.environ["D65_GO"]):
                time.sleep(0.01)
        return {"api_key": "d54-key", "label": "d54"}

    d59_app = app

    async def app(scope, receive, send):
        try:
            return await d59_app(scope, receive, send)
        finally:
            if scope.get("path") == "/sync":
                open(os.environ["D65_DONE"], "w").close()
""")


def _uvicorn(port: int) -> list[str]:
    return ["uvicorn", "--port", str(port)]


def _hypercorn(port: int) -> list[str]:
    return ["hypercorn", "-b", f"127.0.0.1:{port}"]


def _daphne(port: int) -> list[str]:
    return ["daphne", "-b", "127.0.0.1", "-p", str(port)]


@pytest.mark.parametrize("server", [pytest.param(_uvicorn, id="uvicorn"),
                                    pytest.param(_hypercorn, id="hypercorn"),
                                    pytest.param(_daphne, id="daphne")])
def test_a_client_gone_as_the_sync_chain_returns_is_logged_as_gone(
        collector: Collector, tmp_path: Path, server: Callable[[int], list[str]]) -> None:
    """The view returns; in the chain's thread the grouping function waits; the client
    closes its connection and Django cancels the chain's task; then the chain returns.
    The task sends the view's answer into the gone client's connection: the client got
    nothing. Logged as the client gone before the response started (before delivery65:
    the view's 200 with its body, 1 of 1 each)."""
    pytest.importorskip(server(0)[0])
    entered, release, left = tmp_path / "entered", tmp_path / "release", tmp_path / "left"
    grouping, go, done = tmp_path / "grouping", tmp_path / "go", tmp_path / "done"
    port = free_port()
    env = app_environment(collector.url, tmp_path, D54_ENTERED=str(entered),
                          D54_RELEASE=str(release), D59_LEFT=str(left), D54_SYNC_CHAIN="1",
                          D65_GROUPING=str(grouping), D65_GO=str(go),
                          D65_DONE=str(done))
    try:
        with view_entered(server(port), port, tmp_path, SITE, "d65_site", env, "/sync") as (
                process, conn, err_path):
            release.touch()  # the view returns; the grouping function holds the thread
            wait_until(grouping.exists)
            conn.close()  # the client leaves; Django cancels the chain's task
            wait_until(left.exists)
            go.touch()  # the chain returns; its task sends the answer, into nothing
            wait_until(done.exists)
            process.send_signal(signal.SIGTERM)  # the logs sent at the stop
            process.wait(60)
    finally:
        release.touch()
        go.touch()
    logs: list[dict[str, Any]] = collector.wait_for_logs(2)
    said = err_path.read_text(errors="replace")
    for log in logs:
        assert_valid_log(log)
    entries = {log["request"]["log"]["entries"][0]["request"]["url"].rpartition("/")[2]:
               log["request"]["log"]["entries"][0] for log in logs}
    assert sorted(entries) == ["quick", "sync"], said[-2000:]
    response = entries["sync"]["response"]
    assert (response["status"], response["content"]["size"]) == (499, 0), (
        response, said[-2000:])
    assert response["comment"] == (
        "the client left before the response started and got none of it (499 is nginx's "
        "Client Closed Request); the app answered 200"), response
