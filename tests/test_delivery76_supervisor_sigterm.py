"""delivery76: ``uvicorn --workers 2``, a site whose SIGTERM handler exits
(``sys.exit(0)``): the group's SIGTERM begins each worker's exit's close, then uvicorn's
supervisor sends each worker its own SIGTERM (``terminate()``) and waits for it
(``join()``: no SIGKILL after, in uvicorn's supervisors/multiprocess.py). That second
SIGTERM, while the close posted, ended the close at once (:mod:`.second_interrupt`):
"closing gave up at a SIGTERM ... N logs not delivered", the logs in the POST under way
counted among them though the API had them, the rest lost. In a uvicorn worker the
close now runs on, within its bound, then the SIGTERM ends the worker
(:func:`readme_metrics.delivery.hypercorn_stop.supervisor_waits`).

Deterministic: the collector takes 5 logs a POST (413 to more) and holds its answers
until the test lets them go; the parent's SIGTERM comes once each worker's close has a
POST in, and the answers go once the workers ended or 10 s passed (a bound, not a
figure: the close's own is 30 s). Before: 5 of 5 runs failed, 5 to 17 of 40 delivered
(in the 2 runs looked at, 15 delivered and 41 said not delivered: 19 and 22, 16 of them
in POSTs cut that the collector had), the workers killed 0.5 s into the close. After:
40 of 40, nothing said (5 of 5 runs). Real parts:
uvicorn in a subprocess, its supervisor's own SIGTERM, the library's ASGI middleware,
the collector on 127.0.0.1."""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import signal
import threading
from pathlib import Path

import pytest
import requests

from tests.support.fake_api import Collector, Received, Reply
from tests.support.polling import wait_until
from tests.support.processes import kill_server
from tests.support.uvicorn_workers import GROUP_SITE, start_workers, wait_ready
from tests.support.uvicorn_workers import workers as worker_pids

pytestmark = [pytest.mark.e2e, pytest.mark.skipif(
    importlib.util.find_spec("uvicorn") is None, reason="uvicorn is not installed")]

CALLS = 40
#: The close's bound, and a POST's wait for its answer, outlast the collector's hold
#: (10 s at most).
HELD_SITE = GROUP_SITE.replace('grouping_function=lambda req: {"api_key": "caller-1"}))',
                               'grouping_function=lambda req: {"api_key": "caller-1"},\n'
                               '        shutdown_timeout=30, timeout=20))')


def test_the_supervisors_sigterm_during_the_exits_close_lets_it_deliver(
        collector: Collector, tmp_path: Path) -> None:
    assert "shutdown_timeout=30, timeout=20" in HELD_SITE
    release = threading.Event()

    def five_a_post(received: Received) -> Reply:
        if len(json.loads(received.body)) > 5:
            return Reply(status=413)
        return Reply(gate=release)

    collector.judge = five_a_post
    process, base = start_workers(HELD_SITE, "held_site", tmp_path, collector.url)
    try:
        wait_ready(process, base)
        served: dict[str, int] = {}
        for i in range(CALLS):  # (a connection each: both workers hold logs, as a rule)
            served[f"/item/{i}"] = requests.get(f"{base}/item/{i}", timeout=30).json()["pid"]
        workers = worker_pids(process.pid)
        holders = set(served.values())
        assert holders <= set(workers) and len(workers) == 2, (served, workers)
        for pid in workers:  # the group's SIGTERM, the workers' part: README's lines
            os.kill(pid, signal.SIGTERM)

        def closing() -> set[int]:  # the workers whose close has a POST in
            return {served[url.split(base, 1)[-1]] for url in collector.urls
                    if "/item/" in url} & set(workers)

        wait_until(lambda: closing() == holders, 60)
        process.send_signal(signal.SIGTERM)  # the supervisor's: terminate(), then join()
        with contextlib.suppress(AssertionError):  # (a bound: they may live on, closing)
            wait_until(lambda: not worker_pids(process.pid), 10)
        release.set()
        said = process.communicate(timeout=90)[0].decode(errors="replace")
    finally:
        release.set()
        kill_server(process)
    items = [url for url in collector.urls if "/item/" in url]
    assert len(items) == len(set(items)) == CALLS, said[-3000:]
    assert "not delivered" not in said, said[-3000:]

