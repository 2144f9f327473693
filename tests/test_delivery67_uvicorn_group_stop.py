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
import subprocess
import sys
import textwrap
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from tests.support.fake_api import Collector
from tests.support.polling import wait_until
from tests.support.ports import free_port
from tests.support.processes import kill_server, start_server
from tests.support.runserver import children

pytestmark = [pytest.mark.e2e, pytest.mark.skipif(
    importlib.util.find_spec("uvicorn") is None, reason="uvicorn is not installed")]

ROOT = Path(__file__).resolve().parents[1]
CALLS = 40
SLOW = 4

SITE = textwrap.dedent("""
    import asyncio, json, os, signal, sys, time
    from readme_metrics import MetricsApiConfig
    from readme_metrics.fastapi import ReadMeMetricsMiddleware

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # README's lines, unguarded (delivery76)

    async def app(scope, receive, send):
        if scope["type"] != "http":
            raise ValueError(f"no {scope['type']} here")
        if scope["path"].startswith("/slow"):  # blocking work in the loop's executor
            open(os.path.join(os.environ["MARKS"], scope["path"][6:]), "w").close()
            await asyncio.get_running_loop().run_in_executor(None, time.sleep, 3)
        body = json.dumps({"pid": os.getpid()}).encode()
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})

    application = ReadMeMetricsMiddleware(app, MetricsApiConfig(
        api_key="group-key", metrics_api=os.environ["METRICS_URL"],
        base_log_url="http://docs.example", buffer_length=1000, flush_interval=600,
        grouping_function=lambda req: {"api_key": "caller-1"}))
""")


def _answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=2).status_code == 200
    except requests.RequestException:
        return False


def _workers(parent: int) -> list[int]:
    """The worker processes uvicorn's parent spawned."""
    return [pid for pid in children(parent)
            if b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes()]


def _get(url: str) -> int:
    try:
        return requests.get(url, timeout=30).status_code
    except requests.RequestException:
        return 0


@pytest.mark.parametrize("loop", ["auto", "asyncio"])
def test_a_group_sigterm_leaves_no_worker_log_unsaid(
        collector: Collector, tmp_path: Path, loop: str) -> None:
    (tmp_path / "group_site.py").write_text(SITE)
    marks = tmp_path / "marks"  # (a file for each call in the executor)
    marks.mkdir()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("README_")},
           "METRICS_URL": collector.url, "MARKS": str(marks),
           "PYTHONPATH": os.pathsep.join([str(tmp_path), str(ROOT)])}
    process = start_server(
        [sys.executable, "-m", "uvicorn", "--host=127.0.0.1", f"--port={port}",
         "--workers=2", f"--loop={loop}", "--no-access-log", "group_site:application"],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        wait_until(lambda: _answers(base + "/ready"), 60)
        with ThreadPoolExecutor(SLOW) as pool:
            assert [_get(f"{base}/item/{i}") for i in range(CALLS)] == [200] * CALLS
            slow = [pool.submit(_get, f"{base}/slow/{i}") for i in range(SLOW)]
            wait_until(lambda: len(list(marks.iterdir())) == SLOW, 30)
            # The group's SIGTERM, in the order that loses: the workers' first (their
            # loops end, each waits for its executor's call), the parent's once they
            # answered the calls in flight (uvicorn's 500 as asyncio cancels them).
            workers = _workers(process.pid)
            assert len(workers) == 2, workers
            for pid in workers:
                os.kill(pid, signal.SIGTERM)
            [call.result() for call in slow]
            process.send_signal(signal.SIGTERM)  # (its own SIGTERM to each worker left)
            said = process.communicate(timeout=60)[0].decode(errors="replace")
    finally:
        kill_server(process)
    urls = [log["request"]["log"]["entries"][0]["request"]["url"] for log in collector.logs]
    items = [url for url in urls if "/item/" in url]
    assert len(items) == len(set(items)) == CALLS, said[-3000:]
    assert sum("/slow/" in url for url in urls) == SLOW, said[-3000:]
