"""delivery67 (2): ``uvicorn --workers 2`` serving a site with README's SIGTERM lines
(``sys.exit(0)``, in force in each worker: the app is imported after uvicorn set its
handlers), stopped as systemd's ``KillMode=control-group`` stops it: a SIGTERM to the
parent and to each worker (here the workers' first, then the parent's once they
answered the calls in flight: the order that loses, made certain). Each worker's raise
ends its loop, uvicorn puts SIGTERM back at its default, and the worker exits: asyncio's
tear-down waits for the calls in its executor, then the exit's close. The parent's own
SIGTERM to each worker killed it before that close: every log held lost, nothing said
(0 of 40 delivered before, both loops; a SIGTERM to the whole group: 0 and 27 of 40).
Now the library's SIGTERM handler is set once uvicorn's ``serve`` ended
(:mod:`readme_metrics.delivery.uvicorn_exit`): the close runs, then the SIGTERM ends
the worker. (3 s in the executor: the window the parent's SIGTERM lands in.)

Real parts: uvicorn in a subprocess (its own process group), a raw ASGI app wrapped by
the library's middleware, 40 calls held for the close (a batch of 1,000), 4 calls in a
3 s blocking executor call as the stop comes, the collector on 127.0.0.1."""

from __future__ import annotations

import importlib.util
import os
import signal
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from tests.support.fake_api import Collector
from tests.support.polling import wait_until
from tests.support.processes import kill_server
from tests.support.uvicorn_workers import GROUP_SITE, start_workers, wait_ready
from tests.support.uvicorn_workers import workers as worker_pids

pytestmark = [pytest.mark.e2e, pytest.mark.skipif(
    importlib.util.find_spec("uvicorn") is None, reason="uvicorn is not installed")]

CALLS = 40
SLOW = 4

def _get(url: str) -> int:
    try:
        return requests.get(url, timeout=30).status_code
    except requests.RequestException:
        return 0


@pytest.mark.parametrize("loop", ["auto", "asyncio"])
def test_a_group_sigterm_leaves_no_worker_log_unsaid(
        collector: Collector, tmp_path: Path, loop: str) -> None:
    marks = tmp_path / "marks"  # (a file for each call in the executor)
    marks.mkdir()
    process, base = start_workers(GROUP_SITE, "group_site", tmp_path, collector.url,
                                  f"--loop={loop}", marks=marks)
    try:
        wait_ready(process, base)
        with ThreadPoolExecutor(SLOW) as pool:
            assert [_get(f"{base}/item/{i}") for i in range(CALLS)] == [200] * CALLS
            slow = [pool.submit(_get, f"{base}/slow/{i}") for i in range(SLOW)]
            wait_until(lambda: len(list(marks.iterdir())) == SLOW, 30)
            # The group's SIGTERM, in the order that loses: the workers' first (their
            # loops end, each waits for its executor's call), the parent's once they
            # answered the calls in flight (uvicorn's 500 as asyncio cancels them).
            workers = worker_pids(process.pid)
            assert len(workers) == 2, workers
            for pid in workers:
                os.kill(pid, signal.SIGTERM)
            [call.result() for call in slow]
            process.send_signal(signal.SIGTERM)  # (its own SIGTERM to each worker left)
            said = process.communicate(timeout=60)[0].decode(errors="replace")
    finally:
        kill_server(process)
    urls = collector.urls
    items = [url for url in urls if "/item/" in url]
    assert len(items) == len(set(items)) == CALLS, said[-3000:]
    assert sum("/slow/" in url for url in urls) == SLOW, said[-3000:]
