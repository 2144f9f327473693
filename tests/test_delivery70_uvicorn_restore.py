"""delivery70 (1): ``uvicorn --workers 2``, a site with README's SIGTERM lines: a
SIGTERM to a worker the moment uvicorn's ``serve`` puts SIGTERM back as it ends (the
parent's own SIGTERM after the group's, landing there) killed the worker outright: SIGTERM
was at its default until delivery67's callback on the ``serve`` task ran, a turn of the
loop later; every log it held lost, nothing said. Now uvicorn puts back the library's
stand-in (:class:`readme_metrics.delivery.uvicorn_exit._Restored`), not SIG_DFL.

The moment is made certain, not raced for: the site wraps ``signal.signal`` so that,
once its own SIGTERM handler ran, the first SIGTERM handler set (uvicorn's putting back)
is followed at once by a SIGTERM to the worker itself. Before: 0 of 40 delivered, the
workers killed by SIGTERM, nothing said (3 of 3 runs). With the stand-in alone, still 0 of
40 (3 of 3 runs; delivery73): the handler's close, its bound counted from the signal,
began after the exit's close in the main thread but counted itself the earlier one, so
it waited for nothing and its SIGTERM killed the worker mid-delivery; closes are ordered
by their call now (:func:`readme_metrics.delivery.process.close_all`). Both: 40 of 40.
Real parts: uvicorn in a subprocess, a raw ASGI app wrapped by the library's middleware,
40 calls held for the close, the collector on 127.0.0.1. The site's SIGTERM handler
raises SystemExit wherever the main thread is, unlike README's lines (not in force while
uvicorn serves): CI92 and CI94 had a worker still serving 60 s after its SIGTERM, which
came as the 40th answer's body left (CI94's output: the SystemExit raised in the app's
send, uvicorn took it for the app's error, and its supervisor restarted the other worker).
So the SIGTERMs wait until both workers sleep; and asyncio's loop, as uvloop also swallows
one raised in a protocol callback (``eof_received``: delivery76)."""

from __future__ import annotations

import importlib.util
import os
import signal
import textwrap
from pathlib import Path

import pytest
import requests

from tests.support import server_state
from tests.support.fake_api import Collector
from tests.support.polling import wait_until
from tests.support.processes import kill_server
from tests.support.uvicorn_workers import GROUP_APP, start_workers, wait_ready
from tests.support.uvicorn_workers import workers as worker_pids

pytestmark = [pytest.mark.e2e, pytest.mark.skipif(
    importlib.util.find_spec("uvicorn") is None, reason="uvicorn is not installed")]

CALLS = 40

SITE = textwrap.dedent("""
    import asyncio, json, os, signal, sys, time
    from readme_metrics import MetricsApiConfig
    from readme_metrics.fastapi import ReadMeMetricsMiddleware

    stopping = []
    real_signal = signal.signal

    def landing(signum, handler):  # uvicorn's putting SIGTERM back: a SIGTERM right then
        previous = real_signal(signum, handler)
        if signum == signal.SIGTERM and stopping == [True]:
            stopping.append(True)
            os.kill(os.getpid(), signal.SIGTERM)
        return previous

    signal.signal = landing

    def exit_now(*_):  # README's SIGTERM lines
        stopping.append(True)
        sys.exit(0)

    signal.signal(signal.SIGTERM, exit_now)

""") + GROUP_APP


def test_a_sigterm_as_uvicorn_puts_sigterm_back_leaves_no_log_unsaid(
        collector: Collector, tmp_path: Path) -> None:
    process, base = start_workers(SITE, "landing_site", tmp_path, collector.url,
                                  "--loop=asyncio")
    try:
        wait_ready(process, base)
        with requests.Session() as session:
            assert [session.get(f"{base}/item/{i}", timeout=30).status_code
                    for i in range(CALLS)] == [200] * CALLS
        workers = worker_pids(process.pid)
        assert len(workers) == 2, workers
        # every thread of both workers asleep: the last answer's send returned (CI94: the
        # SIGTERM came as the 40th answer's body left, the site's SystemExit raised in the
        # app's send, which uvicorn takes for the app's error: that worker served on)
        wait_until(lambda: not any(server_state._runnable(pid) for pid in workers), 60)
        for pid in workers:
            os.kill(pid, signal.SIGTERM)
        try:
            wait_until(lambda: not worker_pids(process.pid), 60)
        except AssertionError:
            kill_server(process)
            raise AssertionError("workers still there 60 s after their SIGTERM:\n"
                                 + process.communicate()[0].decode(errors="replace")[-3000:]
                                 ) from None
        process.send_signal(signal.SIGTERM)
        said = process.communicate(timeout=60)[0].decode(errors="replace")
    finally:
        kill_server(process)
    items = [url for url in collector.urls if "/item/" in url]
    assert len(items) == len(set(items)) == CALLS, said[-3000:]
