"""flaky57: delivery56's HELD_JOIN (the view-first rows' hold of asgiref's join until
Django's left task ended) always makes the real join, and never waits on a loop that
cannot answer it. Before, its look at the loop raised (a closed loop), or waited 30 s
and raised (a loop that no longer runs, or the look made on the loop's own thread), and
the raise left the join unmade: asgiref's context exit, Django's handler, the server's
stop and the process waited for ever.

Real parts: HELD_JOIN's own code (the site's, run here as the site runs it), a real
event loop, a real ThreadPoolExecutor whose thread is in the site's ``sync_view``."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable

import pytest

from tests.support.polling import wait_until
from tests.test_delivery56_django_cancelled import HELD_JOIN


def _site(loop: asyncio.AbstractEventLoop) -> dict[str, Any]:
    """HELD_JOIN as the site runs it (Django's left task always running), its first app
    call made on ``loop``: the site's namespace."""
    async def app(scope: Any, receive: Any, send: Any) -> None:
        return None

    def sync_view(request: Any) -> None:  # (the site's: until its release)
        request.wait(120)

    site: dict[str, Any] = {"asyncio": asyncio, "app": app, "left_running": lambda: True,
                            "sync_view": sync_view, "urlpatterns": [None, None, None],
                            "path": lambda route, view: view}
    exec(HELD_JOIN, site)  # noqa: S102 - the site's own code, as its server runs it
    loop.run_until_complete(site["app"]({"type": "lifespan"}, None, None))
    return site


def _view_running(site: dict[str, Any]) -> tuple[ThreadPoolExecutor, threading.Event]:
    """An executor whose thread runs the site's ``sync_view`` until the event is set."""
    executor, release = ThreadPoolExecutor(1), threading.Event()
    executor.submit(site["sync_view"], release)
    wait_until(lambda: site["_runs_the_view"](executor))  # (the view entered)
    return executor, release


def _closed(loop: asyncio.AbstractEventLoop) -> Callable[[Callable[[], None]], None]:
    loop.close()
    return lambda join: join()


def _stopped(loop: asyncio.AbstractEventLoop) -> Callable[[Callable[[], None]], None]:
    return lambda join: join()  # (its run_until_complete over: not running, not closed)


def _on_its_thread(loop: asyncio.AbstractEventLoop) -> Callable[[Callable[[], None]], None]:
    def made(join: Callable[[], None]) -> None:  # (a callback of the running loop)
        loop.call_soon(join)
        loop.call_soon(loop.stop)
        loop.run_forever()
    return made


@pytest.mark.parametrize("where", [pytest.param(_closed, id="loop-closed"),
                                   pytest.param(_stopped, id="loop-stopped"),
                                   pytest.param(_on_its_thread, id="on-the-loops-thread")])
def test_the_held_join_is_made_where_the_loop_cannot_answer(
        where: Callable[[asyncio.AbstractEventLoop], Callable[[Callable[[], None]], None]],
        capfd: pytest.CaptureFixture[str]) -> None:
    loop = asyncio.new_event_loop()
    try:
        executor, release = _view_running(_site(loop))
        raised: list[BaseException] = []

        def join() -> None:  # (asgiref's, without waiting for the view's thread)
            try:
                executor.shutdown(wait=False)
            except BaseException as error:  # noqa: BLE001 - the test says it
                raised.append(error)
        try:
            if where is _on_its_thread:
                where(loop)(join)
            else:  # (asgiref's join thread)
                thread = threading.Thread(target=where(loop), args=(join,), daemon=True)
                thread.start()
                thread.join(120)
                assert not thread.is_alive()
        finally:
            release.set()
        assert raised == [] and executor._shutdown, raised  # the real join made
        assert "HELD_JOIN: the join not held" in capfd.readouterr().err
    finally:
        if not loop.is_closed():
            loop.close()
