"""The faults: ``slowapi`` (the Metrics API drips its answers; ``bench.py fault-child``)
and ``slowclient`` (clients that declare a body and hold it, under gunicorn)."""

from __future__ import annotations

import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Optional

from benchlib import HERE, ROOT, SCRIPT
from benchlib.collectors import Collector, SlowCollector
from benchlib.processes import free_port, log, wait_for_port
from benchlib.server import GUNICORN_APP
from benchlib.workload import TOKEN, environ_for, get_app, wrap


def fault_child(metrics_url: str, background: bool) -> None:
    """Serve 30 requests (timeout=1, shutdown_timeout=2) to a dripping API, then exit."""
    app = wrap(get_app, metrics_url, timeout=1.0, shutdown_timeout=2.0,
               background_worker_mode=background)
    environ = environ_for("GET")
    slowest = 0.0
    for _ in range(30):
        started = time.perf_counter()
        result = app(dict(environ), lambda status, headers, exc_info=None: None)
        for _ in result:
            pass
        if hasattr(result, "close"):
            result.close()
        slowest = max(slowest, time.perf_counter() - started)
    print(json.dumps({"slowest_request_s": round(slowest, 3), "exit_started": time.time(),
                      "stats": app.stats}), flush=True)


def bench_fault_slow_api() -> dict[str, Any]:
    """SPEC 7 under a Metrics API that drips its answers one byte every 0.4 s: the longest
    request (inline mode sends from it) and the exit, against timeout=1 and
    shutdown_timeout=2."""
    results: dict[str, Any] = {}
    collector = SlowCollector(drip=0.4)
    try:
        for mode in ("inline", "background"):
            done = subprocess.run(
                [sys.executable, str(SCRIPT), "fault-child", collector.url,
                 "1" if mode == "background" else "0"],
                capture_output=True, text=True, timeout=300)
            ended = time.time()
            child = json.loads(done.stdout.strip().splitlines()[-1])
            stats = child["stats"]
            results[mode] = {
                "timeout": 1.0, "shutdown_timeout": 2.0,
                "slowest_request_s": child["slowest_request_s"],
                "exit_s": round(ended - child["exit_started"], 3),
                "served": stats["captured"], "sent": stats["sent"],
                "queued_at_exit": stats["queued"], "dropped": stats["dropped"],
            }
            log(f"fault slow API, {mode}: {results[mode]}")
    finally:
        collector.stop()
    return results


def _answer_seconds(sock: socket.socket, started: float) -> Optional[float]:
    """Seconds until a whole response (by Content-Length) arrived; None if none did."""
    data = b""
    try:
        while True:
            head, sep, body = data.partition(b"\r\n\r\n")
            match = re.search(rb"(?i)content-length:\s*(\d+)", head) if sep else None
            if match and len(body) >= int(match.group(1)):
                return time.perf_counter() - started
            chunk = sock.recv(65536)
            if not chunk:
                return None
            data += chunk
    except OSError:  # socket.timeout included
        return None


def _slow_client(port: int) -> tuple[Optional[float], bool]:
    """One client declaring 100000 bytes, sending 3 and holding on: (seconds to its
    answer, whether a second client was answered meanwhile)."""
    head = (f"Host: api.example.com\r\nAuthorization: Bearer {TOKEN}\r\n").encode()
    with socket.create_connection(("127.0.0.1", port), timeout=30) as slow:
        started = time.perf_counter()
        slow.sendall(b"POST /v1/widgets HTTP/1.1\r\n" + head + b"Content-Type: "
                     b"application/json\r\nContent-Length: 100000\r\n\r\nabc")
        answered = _answer_seconds(slow, started)
        with socket.create_connection(("127.0.0.1", port), timeout=30) as other:
            other.sendall(b"GET /v1/widgets/1 HTTP/1.1\r\n" + head + b"\r\n")
            served = _answer_seconds(other, time.perf_counter()) is not None
    return answered, served


def bench_fault_slow_client(clients: int = 20) -> dict[str, Any]:
    """SPEC 5 under clients that declare a long body, send 3 bytes and hold the connection,
    to a view that never reads the body: gunicorn, 1 sync worker, --timeout 6, bare and
    wrapped. Answers, seconds to each answer, next requests served, WORKER TIMEOUTs, and
    (wrapped) logs delivered out of requests served."""
    results: dict[str, Any] = {}
    collector = Collector("ok")
    try:
        with tempfile.TemporaryDirectory() as directory:
            Path(directory, "bench_app.py").write_text(GUNICORN_APP)
            for variant in ("bare", "wrapped"):
                results[variant] = _slow_clients_under_gunicorn(variant, directory,
                                                                collector, clients)
                log(f"fault slow client, {variant}: {results[variant]}")
    finally:
        collector.stop()
    return results


def _slow_clients_under_gunicorn(variant: str, directory: str, collector: Collector,
                                 clients: int) -> dict[str, Any]:
    port = free_port()
    env = {**os.environ, "METRICS_URL": collector.url, "BENCH_DIR": str(HERE),
           "PYTHONPATH": os.pathsep.join([directory, str(ROOT)])}
    before = collector.count()
    errors = Path(directory, f"gunicorn-{variant}.log")
    with errors.open("wb") as stderr:
        server = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--workers", "1", "--worker-class", "sync",
             "--timeout", "6", "--bind", f"127.0.0.1:{port}", f"bench_app:{variant}"],
            cwd=directory, env=env, stdout=subprocess.DEVNULL, stderr=stderr)
        try:
            wait_for_port(port, "gunicorn")
            runs = [_slow_client(port) for _ in range(clients)]
        finally:
            server.terminate()  # the worker's exit flush sends what is queued
            server.wait(30)
    times = sorted(seconds for seconds, _ in runs if seconds is not None)
    return {
        "slow_clients": clients, "answered": len(times),
        "answer_median_s": round(statistics.median(times), 4) if times else None,
        "answer_max_s": round(times[-1], 4) if times else None,
        "next_requests_served": sum(served for _, served in runs),
        "worker_timeouts": errors.read_text(errors="replace").count("WORKER TIMEOUT"),
        "requests_served": len(times) + sum(served for _, served in runs),
        "logs_delivered": collector.count() - before,
    }
