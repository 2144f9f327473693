"""uvicorn and hypercorn with ``--workers 2``: each worker process flushes at exit.

With more than one worker the server's main process only supervises; the app, the
middleware and its queue live in each worker, and a stop signal reaches the workers
through it. Logs that only the exit flush can send (a buffer of 1,000, a 600 s flush
interval) must all arrive when the server is stopped by SIGTERM, from both workers, each
once. The app has no lifespan (as Django's ASGI handler): the middleware answers the
protocol for it in each worker and flushes at lifespan.shutdown (capture/asgi_lifespan.py;
the process exit hooks are the fallback). With that flush and the exit hooks removed,
both cases fail with no log at all (checked). Real parts: the server in a subprocess on
a free 127.0.0.1 port, a raw ASGI app telling which process served it, the collector on
127.0.0.1 answering slowly.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Callable

import pytest
import requests

from tests.support.fake_api import Collector, Reply, free_port
from tests.support.processes import LINE_WAIT, end_stragglers, start_server

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[1]
API_KEY = "rdme_workers_SECRET_key_8080"

APP = textwrap.dedent("""
    import json, os
    from readme_metrics import MetricsApiConfig
    from readme_metrics.fastapi import ReadMeMetricsMiddleware

    async def app(scope, receive, send):
        if scope["type"] != "http":  # no lifespan, as Django's handler
            raise ValueError(f"no {scope['type']} here")
        body = json.dumps({"pid": os.getpid(), "path": scope["path"]}).encode()
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"application/json"),
                                (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})

    application = ReadMeMetricsMiddleware(app, MetricsApiConfig(
        api_key=os.environ["PROJECT_KEY"], metrics_api=os.environ["METRICS_URL"],
        base_log_url="http://docs.example", buffer_length=1000, flush_interval=600,
        grouping_function=lambda req: {"api_key": "caller-1"}))
""")

SERVERS: dict[str, Callable[[int], list[str]]] = {
    "uvicorn": lambda port: [sys.executable, "-m", "uvicorn", "--host=127.0.0.1",
                             f"--port={port}", "--workers=2", "--no-access-log",
                             "workers_app:application"],
    "hypercorn": lambda port: [sys.executable, "-m", "hypercorn", f"--bind=127.0.0.1:{port}",
                               "--workers=2", "workers_app:application"],
}


@pytest.mark.parametrize("server", [
    pytest.param(name, marks=pytest.mark.skipif(importlib.util.find_spec(name) is None,
                                                reason=f"{name} is not installed"))
    for name in SERVERS])
def test_each_worker_flushes_at_sigterm(server: str, collector: Collector,
                                        tmp_path: Path) -> None:
    collector.default = Reply(delay=0.1)
    (tmp_path / "workers_app.py").write_text(APP)
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("README_")},
           "METRICS_URL": collector.url, "PROJECT_KEY": API_KEY,
           "PYTHONPATH": os.pathsep.join([str(tmp_path), str(ROOT)])}
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    process = start_server(SERVERS[server](port), cwd=tmp_path, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    served: dict[str, int] = {}
    try:
        deadline = time.monotonic() + 60
        while True:  # OPTIONS is in skip_methods: probing leaves no log
            assert process.poll() is None, process.communicate(
                timeout=LINE_WAIT)[1].decode(errors="replace")
            try:
                requests.options(f"{base}/ready", timeout=5)
                break
            except requests.RequestException:
                assert time.monotonic() < deadline, "the server did not start"
                time.sleep(0.1)
        # A new connection each time: the kernel hands them to both workers. Both
        # workers may not be up yet at the first answer.
        deadline = time.monotonic() + 30
        # (On a loaded machine one worker may serve hundreds before the other is up:
        # the buffer of 1,000 keeps them all for the exit.)
        while len(set(served.values())) < 2 or len(served) < 20:
            assert time.monotonic() < deadline and len(served) < 900, (
                f"one worker served all: {len(served)}")
            answer = requests.get(f"{base}/r/{len(served)}", timeout=10,
                                  headers={"Connection": "close"}).json()
            served[answer["path"].lstrip("/")] = answer["pid"]
        assert collector.logs == []  # nothing was due before the exit
        process.terminate()  # by PID, as Docker, systemd and Kubernetes stop it
        out, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
        # The workers first: orphaned by a killed main process, they would hold its
        # pipes open, and communicate() would wait for ever.
        end_stragglers(process)
        if process.returncode is None:
            process.communicate(timeout=30)
    said = err.decode(errors="replace")
    paths = [log["request"]["log"]["entries"][0]["request"]["url"].split("/", 3)[3]
             for log in collector.logs]
    assert sorted(paths) == sorted(served), said
    assert len({log["_id"] for log in collector.logs}) == len(paths)
    assert out == b"" or server == "hypercorn", out  # hypercorn logs to stdout
    assert API_KEY not in said + out.decode(errors="replace")
    assert "Traceback" not in said, said
