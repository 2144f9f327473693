"""gunicorn with a green worker (``-k gevent``; ``-k eventlet`` where gunicorn still has it).

The worker monkey-patches the process before the app is imported, so the middleware's
background senders and its watchdog are greenlets and its sockets cooperative: a sender
waiting on a slow API must yield to the requests, and the exit flush must still run when
the worker stops (SIGTERM to the master, or ``--max-requests`` recycling it). Real parts:
gunicorn in a subprocess on a free 127.0.0.1 port, the collector on 127.0.0.1 answering
slowly (``Reply.delay``).
"""

from __future__ import annotations

import importlib.util
import itertools
import os
import statistics
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import requests

from tests.support.fake_api import Collector, Reply, free_port
from tests.support.processes import LINE_WAIT, start_server
from tests.support.processes import stop_for_output as _stop  # (as other files import it)

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[1]
API_KEY = "rdme_green_SECRET_key_4711"


def _worker_missing(name: str) -> str:
    """Why gunicorn's ``name`` worker cannot run here ('' when it can)."""
    if importlib.util.find_spec(name) is None:
        return f"{name} is not installed"
    try:
        from gunicorn.workers import SUPPORTED_WORKERS
    except ImportError:
        return "gunicorn is not installed"
    if name not in SUPPORTED_WORKERS:  # gunicorn 27 removed its eventlet worker
        return f"this gunicorn has no {name} worker"
    return ""


WORKERS = [pytest.param(name, id=name, marks=pytest.mark.skipif(
    bool(_worker_missing(name)), reason=_worker_missing(name) or "-"))
    for name in ("gevent", "eventlet")]

APP = textwrap.dedent("""
    import json, os
    from readme_metrics import MetricsApiConfig, MetricsMiddleware

    def app(environ, start_response):
        body = json.dumps({"pid": os.getpid(), "path": environ["PATH_INFO"]}).encode()
        start_response("200 OK", [("Content-Type", "application/json"),
                                  ("Content-Length", str(len(body)))])
        return [body]

    application = MetricsMiddleware(app, MetricsApiConfig(
        api_key=os.environ["PROJECT_KEY"], metrics_api=os.environ["METRICS_URL"],
        base_log_url="http://docs.example",
        buffer_length=int(os.environ["BUFFER_LENGTH"]),
        flush_interval=float(os.environ["FLUSH_INTERVAL"]),
        grouping_function=lambda req: {"api_key": "caller-1"}))
""")


def _start(worker: str, collector: Collector, tmp_path: Path, *options: str,
           buffer_length: int, flush_interval: float, app: str = "green_app:application"
           ) -> tuple[subprocess.Popen[bytes], str]:
    (tmp_path / "green_app.py").write_text(APP)
    port = free_port()
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("README_")},
           "METRICS_URL": collector.url, "PROJECT_KEY": API_KEY,
           "BUFFER_LENGTH": str(buffer_length),
           "FLUSH_INTERVAL": str(flush_interval),
           "PYTHONPATH": os.pathsep.join([str(tmp_path), str(ROOT)])}
    argv = [sys.executable, "-m", "gunicorn", f"--worker-class={worker}", "--workers=1",
            "--graceful-timeout=5", f"--bind=127.0.0.1:{port}", *options]
    process = start_server([*argv, app], cwd=tmp_path, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    for attempt in itertools.count():
        if process.poll() is not None:
            raise AssertionError(process.communicate(timeout=LINE_WAIT)[1].decode(errors="replace"))
        try:
            # A worker still booting on a busy machine leaves the master's backlog waiting.
            requests.get(f"{base}/ready/{attempt}", timeout=5)
            return process, base
        except requests.RequestException:
            assert time.monotonic() < deadline, "gunicorn did not start"
            time.sleep(0.1)
    raise AssertionError("unreachable")


def _check_quiet(out: str, err: str) -> None:
    """Nothing printed, no traceback, the project key nowhere in the server's output."""
    assert out == ""
    assert "Traceback" not in err and API_KEY not in err, err


def _paths(collector: Collector) -> list[str]:
    return [log["request"]["log"]["entries"][0]["request"]["url"].split("/", 3)[3]
            for log in collector.logs]


@pytest.mark.parametrize("worker", WORKERS)
def test_green_worker_delivers_every_log_without_holding_requests(
        worker: str, collector: Collector, tmp_path: Path) -> None:
    """One log per POST to an API answering in 250 ms: a request that waited on its
    delivery would take that long; the senders are greenlets yielding on their sockets,
    so requests take a few milliseconds and every log arrives while the server runs."""
    collector.default = Reply(delay=0.25)
    process, base = _start(worker, collector, tmp_path, buffer_length=1, flush_interval=0.2)
    try:
        latencies = []
        with requests.Session() as session:
            for n in range(20):
                began = time.monotonic()
                assert session.get(f"{base}/r/{n}", timeout=10).status_code == 200
                latencies.append(time.monotonic() - began)
        # 20 POSTs of 250 ms each: 5 s one after the other, more than the whole run
        # of requests took.
        assert statistics.median(latencies) < 0.1, latencies
        collector.wait_for_logs(21)  # and the readiness probe's
        time.sleep(0.3)  # one more (a duplicate) would arrive
    finally:
        out, err = _stop(process)
    paths = _paths(collector)
    assert sorted(path for path in paths if path.startswith("r/")) == sorted(
        f"r/{n}" for n in range(20)), paths
    assert len({log["_id"] for log in collector.logs}) == len(paths)
    _check_quiet(out, err)


@pytest.mark.parametrize("worker", WORKERS)
def test_green_worker_exit_flushes_at_sigterm_and_at_max_requests(
        worker: str, collector: Collector, tmp_path: Path) -> None:
    """Logs that only a worker's exit flush can send (a buffer of 100, a 600 s flush
    interval), to a slow API: ``--max-requests=10`` recycles the first worker (the
    gevent worker serves on until its loop notices, about a second later), SIGTERM
    stops the next one; every request is logged exactly once."""
    collector.default = Reply(delay=0.1)
    process, base = _start(worker, collector, tmp_path, "--max-requests=10",
                           "--max-requests-jitter=0", buffer_length=100,
                           flush_interval=600)
    served: dict[str, int] = {}
    try:
        deadline = time.monotonic() + 30
        while len(set(served.values())) < 2 or len(served) < 20:
            assert time.monotonic() < deadline, served
            answer = requests.get(f"{base}/r/{len(served)}", timeout=10).json()
            served[answer["path"].lstrip("/")] = answer["pid"]
            time.sleep(0.02)
        first = next(iter(served.values()))
        # The recycled worker flushed as it left (the next one is still serving).
        collector.wait_for_logs(1 + sum(pid == first for pid in served.values()))
    finally:
        out, err = _stop(process)
    logs = collector.logs
    assert len({log["_id"] for log in logs}) == len(logs)
    assert sorted(path for path in _paths(collector) if path.startswith("r/")) == sorted(served)
    _check_quiet(out, err)
