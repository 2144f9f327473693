"""gunicorn stopped while the API holds every answer: what its worker's close (or the ASGI
lifespan's flush) said, within ``--graceful-timeout`` (tests/test_blackbox10_gunicorn_close.py,
tests/test_delivery35_uvicorn_worker.py)."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

import requests

from tests.support.command import app_environment
from tests.support.fake_api import Collector, Reply
from tests.support.polling import wait_until
from tests.support.ports import free_port
from tests.support.processes import start_server, stop_for_output

#: gunicorn's ``--graceful-timeout`` here: its master SIGKILLs a worker still alive
#: that long after it told it to stop.
GRACEFUL = 5


def answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=5).status_code == 200
    except requests.RequestException:
        return False


def stopped_holding_every_answer(collector: Collector, tmp_path: Path, app: str, key: str,
                                 worker: list[str], calls: int) -> tuple[str, str]:
    """``app`` (a module's source, its WSGI or ASGI callable ``application``, which reads
    ``PROJECT_KEY``, set to ``key``, and ``METRICS_URL``) under gunicorn with ``worker`` (its worker
    class arguments), one worker, ``--graceful-timeout`` :data:`GRACEFUL`; once it
    answers a readiness GET, ``calls`` more GETs, then SIGTERM, ``collector`` holding
    every answer until the server has ended: its (stdout, stderr)."""
    gate = threading.Event()
    collector.default = Reply(gate=gate)
    (tmp_path / "closing_app.py").write_text(app)
    port = free_port()
    env = app_environment(collector.url, tmp_path, METRICS_URL=collector.url, PROJECT_KEY=key)
    argv = [sys.executable, "-m", "gunicorn", *worker, "--workers=1",
            f"--graceful-timeout={GRACEFUL}", f"--bind=127.0.0.1:{port}",
            "closing_app:application"]
    process = start_server(argv, cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: answers(f"{base}/ready"))
        with requests.Session() as session:
            for n in range(calls):
                assert session.get(f"{base}/r/{n}", timeout=10).status_code == 200
        return stop_for_output(process)
    finally:
        gate.set()
