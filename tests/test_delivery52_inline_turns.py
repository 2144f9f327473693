"""delivery52: ASGI inline mode's turn (capture/asgi_inline.py) after a raise in its
hand-off.

InlineSends sends one log after another off the event loop: the first log handed over
marks a drain as running, then starts it in the loop's executor; the logs after it wait
for that drain. A signal handler's raise (in the loop's thread, the main one) landing
between the mark and the start left the mark set with no drain: every later log waited
for a turn that never came (64 of them, then only queued), sent only by a flush or the
exit. Landing before the log was in line, it was lost unsaid: the caller
(capture/asgi_end.py) took a raise that went through the hand-off for a log handed.

The landing points are real ones, swept as tests/test_delivery49_findings.py does under
uvicorn: a profile hook counts the library's function entries and C calls' returns from
the server's write of the last byte on, and at the Nth a SIGUSR1 whose handler raises
(``sys.exit``) lands there; uvicorn takes it for the app's error and serves on.
"""

from __future__ import annotations

import ast
import asyncio
import signal
import threading
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.support.fake_api import Collector
from tests.support.polling import wait_until
from tests.test_delivery46_findings import flush, sweep
from tests.test_delivery49_findings import _ASGI_SERVER, serve_asgi

# The uvicorn server of delivery49 in inline mode, each log a batch of its own (its drain
# posts it): /state tells the inline turn's state and the counts, without a flush. The
# drain's done callback (InlineSends._ran) is no landing point of the hand-off: the loop
# runs it after the call, outside any task, where a raise ends uvicorn's loop whoever's
# code runs (asyncio's own callbacks for the executor's future alike), as without the
# middleware; counted, the sweep met it once the drain was quicker than the call's end.
_INLINE_SERVER = _ASGI_SERVER.replace(
    '            and code.co_filename.startswith(LIB)):',
    '            and code.co_filename.startswith(LIB) and code.co_name != "_ran"):',
).replace(
    'grouping_function=lambda request: {"api_key": "owlbert-key"}))',
    'grouping_function=lambda request: {"api_key": "owlbert-key"},\n'
    # (a POST given 30 s, not 3: a late answer to a starved collector is sent again)
    '    background_worker_mode=False, buffer_length=1, timeout=30))',
).replace(
    '    if scope["type"] == "http" and scope["path"] == "/flush":',
    '    if scope["type"] == "http" and scope["path"] == "/state":\n'
    '        inline = wrapped._inline\n'
    '        return await text(send, repr((inline._draining, len(inline._waiting),\n'
    '                                      dict(wrapped.pipeline.delivery.stats))).encode())\n'
    '    if scope["type"] == "http" and scope["path"] == "/flush":',
)


def _state(port: int) -> tuple[bool, int, dict[str, int]]:
    answer = requests.get(f"http://127.0.0.1:{port}/state", timeout=30)
    state: tuple[bool, int, dict[str, int]] = ast.literal_eval(answer.text)
    return state


def _idle(port: int) -> None:
    """Until the inline turn is free (no drain running): each request of the sweep then
    starts a drain of its own. Under load (a -n 4 run at ~30) the drain of the request
    before was still posting as the next came, whose log then waited in line: the
    sweep's path went through no _start_drain, and it missed those points. A turn left
    marked by a raise (the bug) is never free: the test fails here. (A log a raise left
    in line with no drain is taken by the next request's.)"""
    seen: list[tuple[bool, int, dict[str, int]]] = []

    def free() -> bool:
        seen.append(_state(port))
        return not seen[-1][0]

    try:
        wait_until(free)
    except AssertionError:
        pytest.fail(f"the inline turn stuck: {seen[-1]}")


@pytest.mark.e2e
def test_a_raising_signal_handler_at_every_landing_point_of_an_asgi_inline_hand_off(
        tmp_path: Path, collector: Collector) -> None:
    assert _INLINE_SERVER.count('!= "_ran"') == 1
    assert _INLINE_SERVER.count("background_worker_mode=False") == 1
    assert _INLINE_SERVER.count('"/state"') == 1
    proc, port = serve_asgi(tmp_path, collector, _INLINE_SERVER)
    try:
        places = sweep(port, before=lambda: _idle(port))
        # Three more logs, no raise: each sent by a drain of its own, without a flush
        # (before: the turn's mark left set by a raise, they waited for a flush).
        for _ in range(3):
            answer = requests.get(f"http://127.0.0.1:{port}/pets", timeout=30)
            assert answer.status_code == 200
        calls = len(places) + 1 + 3
        seen: list[tuple[bool, int, dict[str, int]]] = []

        def settled() -> bool:
            seen.append(_state(port))
            draining, waiting, stats = seen[-1]
            return stats["captured"] == calls and not draining and not waiting and (
                stats["sent"] + stats["dropped"] == calls)

        try:
            wait_until(settled)
        except AssertionError:
            pytest.fail(f"the inline turn stuck: {seen[-1]}; swept {places}")
        flushed, stats = flush(port)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
    # The sweep went through the hand-off: the log put in line, the drain started
    assert any("asgi_inline.py:_send:" in place for place in places), places
    assert any("asgi_inline.py:_start_drain:" in place for place in places), places
    # Every call's log, once, whichever point the raise landed at: none lost or said
    # dropped (the raise is a signal's, not the log's), none twice.
    assert flushed, (stats, places)
    assert stats["captured"] == stats["sent"] == calls, (stats, places)
    assert stats["dropped"] == 0 and stats["queued"] == 0, stats
    logs = collector.wait_for_logs(calls, timeout=10)
    assert len(logs) == calls, (len(logs), calls)


# -- a drain cancelled in the executor before it ran ---------------------------------------
#
# The drain runs in the loop's default executor; one cancelled there before it ran (an
# app's own default executor shut down with cancel_futures=True while the send waited
# for a thread) left the turn marked as running, and the call that waited for its own
# send waited for ever.


def test_a_drain_cancelled_in_the_executor_before_it_ran_holds_neither_the_turn_nor_the_call(
        collector: Collector) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from readme_metrics import MetricsApiConfig
    from readme_metrics.asgi import MetricsMiddleware
    from tests.support.asgi import http_scope, run
    from tests.support.contract import API_KEY, inline_options
    from tests.support.polling import PATIENCE

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    middleware = MetricsMiddleware(app, MetricsApiConfig(
        api_key=API_KEY, metrics_api=collector.url, **inline_options({})))
    inline = middleware._inline
    pool = ThreadPoolExecutor(1)
    free = threading.Event()

    async def two_requests() -> None:
        loop = asyncio.get_running_loop()
        loop.set_default_executor(pool)
        busy = pool.submit(free.wait, PATIENCE)  # the executor's one thread is taken
        first = asyncio.ensure_future(run(middleware, http_scope(path="/1"),
                                          then="disconnect"))
        while not inline._waiting:  # the log in line, its drain queued behind `busy`
            await asyncio.sleep(0.01)
        pool.shutdown(wait=False, cancel_futures=True)  # the drain never runs
        free.set()
        await asyncio.wrap_future(busy)
        # The call ends (before: it waited for its send for ever)
        await asyncio.wait_for(first, PATIENCE)
        # and the next log is sent by a drain of its own (the executor is shut down: the
        # library's own thread), without a flush (before: it waited behind the mark).
        await asyncio.wait_for(run(middleware, http_scope(path="/2"), then="disconnect"),
                               PATIENCE)

    asyncio.run(two_requests())
    # (the second call ended once its log was submitted: its drain then ends its turn)
    wait_until(lambda: middleware.stats["sent"] == 2 and not inline._draining)
    assert not inline._waiting
    assert middleware.flush(PATIENCE) is True
    assert middleware.stats["sent"] == middleware.stats["captured"] == 2
    urls = [log["request"]["log"]["entries"][0]["request"]["url"] for log in collector.logs]
    assert sorted(url[-2:] for url in urls) == ["/1", "/2"], urls
