"""delivery59: a Django view whose client disconnected while it ran, and whose answer
Django then sent nowhere, is logged as the client gone (499, no body, the app's status
quoted where the chain had it), as the ASGI middleware logs it; before, the async view's
own 200, the sync chain's 500.

Django's ASGI handler (5.0+) listens for the disconnect beside the chain's task and
cancels that task when it comes. An async view that catches the ``CancelledError`` and
returns a response has it sent nowhere (the client is gone); a sync chain (a sync-only
middleware below the library's: the chain in asgiref's thread) runs on until the view
answered, the cancel raising out of Django's inner handler (asgiref's ``async_to_sync``)
into the chain.

Real parts: uvicorn in a subprocess, a real Django site (delivery54's stop site), the
loopback collector, a raw socket client that closes its connection while the view runs.
Nothing timed: the views wait for files the test or the site writes.
"""

from __future__ import annotations

import signal
import sys
import textwrap
from pathlib import Path

import pytest

from tests.support.command import app_environment
from tests.support.django_stop_site import SITE as D54_SITE
from tests.support.django_stop_site import view_entered
from tests.support.fake_api import Collector
from tests.support.har_check import assert_valid_log
from tests.support.polling import wait_until
from tests.support.ports import free_port

pytest.importorskip("django", minversion="5.0")  # (the chain's own task: 5.0+)
pytest.importorskip("uvicorn")
if sys.version_info < (3, 11):  # pragma: no cover - Task.cancelling() tells Django's cancel
    pytest.skip("Python 3.11+", allow_module_level=True)
pytestmark = pytest.mark.e2e

SITE = D54_SITE + textwrap.dedent("""
    async def swallowing(request):  # catches Django's cancel at the disconnect, answers
        open(os.environ["D54_ENTERED"], "w").close()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            pass
        return JsonResponse({"swallowed": True})

    urlpatterns.append(path("swallowing", swallowing))
    inner = app

    async def app(scope, receive, send):
        if scope["type"] != "http":
            return await inner(scope, receive, send)

        async def told_when_left():  # Django cancelled the chain's task: the client gone
            message = await receive()
            # (not the start's /quick probe's disconnect: with no chain's task running
            # then, it wrote D59_LEFT at once; delivery65)
            if message["type"] == "http.disconnect" and scope["path"] != "/quick":
                async def tell():
                    while any(not task.cancelling() for task in asyncio.all_tasks()
                              if task.get_coro().__qualname__.endswith("process_request")):
                        await asyncio.sleep(0.01)
                    open(os.environ["D59_LEFT"], "w").close()
                asyncio.ensure_future(tell())
            return message
        return await inner(scope, told_when_left, send)
""")


@pytest.mark.parametrize("route, chain", [("/swallowing", "async"), ("/sync", "sync")])
def test_a_view_answering_after_its_client_left_is_logged_as_the_client_gone(
        collector: Collector, tmp_path: Path, route: str, chain: str) -> None:
    """The client closes its connection while the view runs; Django cancels the chain's
    task; the view returns its 200, sent nowhere. Its log: 499 with no body, the comment
    saying the client left (and the app's 200, for the async chain: in the sync chain
    asgiref's cancel raises out of Django's inner handler, the view's answer dropped).
    Before: the async view's 200, the sync chain's 500 (the app's failure; 1 of 1
    each)."""
    entered, release, left = tmp_path / "entered", tmp_path / "release", tmp_path / "left"
    port = free_port()
    env = app_environment(collector.url, tmp_path, D54_ENTERED=str(entered),
                          D54_RELEASE=str(release), D59_LEFT=str(left),
                          **({"D54_SYNC_CHAIN": "1"} if chain == "sync" else {}))
    argv = ["uvicorn", "--port", str(port)]
    try:
        with view_entered(argv, port, tmp_path, SITE, "d59_site", env, route) as (
                process, conn, err_path):
            conn.close()  # the client leaves while the view runs
            # Django cancelled the chain's task: the async view answered at once (its log
            # made), the sync view runs on in its thread until it returns, now.
            wait_until(left.exists)
            release.touch()
            process.send_signal(signal.SIGTERM)  # with_lifespan sends the logs at the stop
            process.wait(60)
    finally:
        release.touch()
    logs = collector.wait_for_logs(2)
    said = err_path.read_text(errors="replace")
    for log in logs:
        assert_valid_log(log)
    entries = {log["request"]["log"]["entries"][0]["request"]["url"].rpartition("/")[2]:
               log["request"]["log"]["entries"][0] for log in logs}
    response = entries[route.strip("/")]["response"]
    assert response["status"] == 499, (response, said[-2000:])
    # (the sync view's 200 never came back to the chain: asgiref's cancel raised there)
    quoted = "; the app answered 200" if chain == "async" else ""
    assert response["comment"] == (
        "the client left before the response started and got none of it (499 is nginx's "
        "Client Closed Request)" + quoted), response
    assert response["content"]["size"] == 0, response
