"""``uvicorn --workers 2`` serving a test's site: its start, its readiness and its worker
processes (tests/test_delivery67_uvicorn_group_stop.py, delivery70's restore,
delivery76's supervisor SIGTERM, benchmarks/delivery73_group_stop.py)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

from tests.support.gunicorn_close import answers
from tests.support.polling import wait_until
from tests.support.ports import free_port
from tests.support.processes import start_server
from tests.support.runserver import children

ROOT = Path(__file__).resolve().parents[2]

#: A raw ASGI app answering its worker's PID as JSON (``/slow/<name>`` first marks a
#: file ``name`` in ``MARKS`` and blocks 3 s in the loop's executor), wrapped as
#: ``application`` by the library's middleware posting to ``METRICS_URL``, every log
#: held for the exit's close (a batch of 1,000). A site's source ends with it (it uses
#: ``asyncio``, ``json``, ``os``, ``time`` and the library's two names).
GROUP_APP = textwrap.dedent("""
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

#: delivery67's site: README's SIGTERM lines (unguarded, delivery76) and
#: :data:`GROUP_APP`.
GROUP_SITE = textwrap.dedent("""
    import asyncio, json, os, signal, sys, time
    from readme_metrics import MetricsApiConfig
    from readme_metrics.fastapi import ReadMeMetricsMiddleware

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # README's lines, unguarded (delivery76)
""") + GROUP_APP


def workers(parent: int) -> list[int]:
    """The worker processes uvicorn's parent spawned (one that ended as they were listed
    is none: its /proc entry gone, as the tests wait for their end)."""
    return [pid for pid in children(parent) if b"spawn_main" in _cmdline(pid)]


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:  # (ended since it was listed)
        return b""


def start_workers(site: str, name: str, folder: Path, metrics_url: str, *options: str,
                  marks: Path | None = None, library: Path = ROOT
                  ) -> tuple[subprocess.Popen[bytes], str]:
    """``site`` written to ``folder/<name>.py`` and its ``application`` served by
    ``uvicorn --workers=2 --no-access-log`` and ``options`` on a free port, with no
    ``README_*`` variable of the test run's, ``METRICS_URL`` and ``MARKS`` (``marks``,
    else ``folder``) set, ``library``'s readme_metrics imported; its output (stdout and
    stderr) in one pipe. The process (stop it by its PID, in a ``finally``) and the base
    URL (:func:`wait_ready` waits for it)."""
    (folder / f"{name}.py").write_text(site)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("README_")},
           "METRICS_URL": metrics_url, "MARKS": str(marks or folder),
           "PYTHONPATH": os.pathsep.join([str(folder), str(library)])}
    process = start_server(
        [sys.executable, "-m", "uvicorn", "--host=127.0.0.1", f"--port={port}",
         "--workers=2", *options, "--no-access-log", f"{name}:application"],
        cwd=folder, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    return process, base


def wait_ready(process: subprocess.Popen[bytes], base: str, timeout: float = 120) -> None:
    """Once ``base`` answers ``/ready`` and both of the parent's workers are there."""
    wait_until(lambda: answers(base + "/ready") and len(workers(process.pid)) == 2,
               timeout)
