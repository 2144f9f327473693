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
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import requests

from tests.support.fake_api import Collector, Received, Reply
from tests.support.polling import wait_until
from tests.support.ports import free_port
from tests.support.processes import kill_server, start_server
from tests.test_delivery67_uvicorn_group_stop import SITE, _answers, _workers

pytestmark = [pytest.mark.e2e, pytest.mark.skipif(
    importlib.util.find_spec("uvicorn") is None, reason="uvicorn is not installed")]

ROOT = Path(__file__).resolve().parents[1]
CALLS = 40
#: The close's bound, and a POST's wait for its answer, outlast the collector's hold
#: (10 s at most).
HELD_SITE = SITE.replace('grouping_function=lambda req: {"api_key": "caller-1"}))',
                         'grouping_function=lambda req: {"api_key": "caller-1"},\n'
                         '        shutdown_timeout=30, timeout=20))')


def test_the_supervisors_sigterm_during_the_exits_close_lets_it_deliver(
        collector: Collector, tmp_path: Path) -> None:
    assert "shutdown_timeout=30, timeout=20" in HELD_SITE
    (tmp_path / "held_site.py").write_text(HELD_SITE)
    release = threading.Event()

    def five_a_post(received: Received) -> Reply:
        if len(json.loads(received.body)) > 5:
            return Reply(status=413)
        return Reply(gate=release)

    collector.judge = five_a_post
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("README_")},
           "METRICS_URL": collector.url, "MARKS": str(tmp_path),
           "PYTHONPATH": os.pathsep.join([str(tmp_path), str(ROOT)])}
    process = start_server(
        [sys.executable, "-m", "uvicorn", "--host=127.0.0.1", f"--port={port}",
         "--workers=2", "--no-access-log", "held_site:application"],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        wait_until(lambda: _answers(base + "/ready") and len(_workers(process.pid)) == 2,
                   120)
        served: dict[str, int] = {}
        for i in range(CALLS):  # (a connection each: both workers hold logs, as a rule)
            served[f"/item/{i}"] = requests.get(f"{base}/item/{i}", timeout=30).json()["pid"]
        workers = _workers(process.pid)
        holders = set(served.values())
        assert holders <= set(workers) and len(workers) == 2, (served, workers)
        for pid in workers:  # the group's SIGTERM, the workers' part: README's lines
            os.kill(pid, signal.SIGTERM)

        def closing() -> set[int]:  # the workers whose close has a POST in
            return {served[url.split(base, 1)[-1]] for url in _urls(collector)
                    if "/item/" in url} & set(workers)

        wait_until(lambda: closing() == holders, 60)
        process.send_signal(signal.SIGTERM)  # the supervisor's: terminate(), then join()
        with contextlib.suppress(AssertionError):  # (a bound: they may live on, closing)
            wait_until(lambda: not _workers(process.pid), 10)
        release.set()
        said = process.communicate(timeout=90)[0].decode(errors="replace")
    finally:
        release.set()
        kill_server(process)
    items = [url for url in _urls(collector) if "/item/" in url]
    assert len(items) == len(set(items)) == CALLS, said[-3000:]
    assert "not delivered" not in said, said[-3000:]


def _urls(collector: Collector) -> list[str]:
    return [log["request"]["log"]["entries"][0]["request"]["url"] for log in collector.logs]
