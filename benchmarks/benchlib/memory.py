"""``memory``: a fresh interpreter (``bench.py memory-child``) serves many GETs while
the Metrics API answers 500, refuses or hangs: RSS, threads, stats and the exit's time."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from typing import Any

from benchlib import SCRIPT
from benchlib.collectors import Collector
from benchlib.inprocess import fresh_environ, serve
from benchlib.processes import free_port, log, rss_mb
from benchlib.workload import environ_for, get_app, wrap


def memory_child(metrics_url: str, requests: int) -> None:
    """Runs in a fresh interpreter: serve ``requests`` GETs, report, then exit."""
    import atexit
    import threading

    def final() -> None:
        # Registered before readme_metrics is imported, so it runs after its exit flush.
        print(json.dumps({"final_stats": wrapped.stats}), flush=True)

    atexit.register(final)
    wrapped = wrap(get_app, metrics_url)
    template = environ_for("GET")
    before = {"rss_mb": rss_mb(), "threads": threading.active_count()}
    started = time.perf_counter()
    for _ in range(requests):
        serve(wrapped, fresh_environ(template, b""))
    elapsed = time.perf_counter() - started
    time.sleep(1.0)  # let the worker run into the failure
    after = {"rss_mb": rss_mb(), "threads": threading.active_count()}
    print(json.dumps({"before": before, "after": after, "stats": wrapped.stats,
                      "loop_us_per_request": elapsed / requests * 1e6,
                      "exit_started": time.time()}), flush=True)
    # No close(): the interpreter's exit (atexit) must flush within shutdown_timeout.


def bench_memory(requests: int) -> dict[str, Any]:
    results: dict[str, Any] = {}
    for mode in ("500", "refused", "hang"):
        collector = None if mode == "refused" else Collector(mode)
        url = collector.url if collector else f"http://127.0.0.1:{free_port()}"
        try:
            process = subprocess.run(
                [sys.executable, str(SCRIPT), "memory-child", url, str(requests)],
                capture_output=True, text=True, timeout=300)
            ended = time.time()
        finally:
            if collector:
                collector.stop()
        if process.returncode != 0:
            raise RuntimeError(process.stderr)
        lines = process.stdout.strip().splitlines()
        report = json.loads(lines[-2])
        final = json.loads(lines[-1])["final_stats"]
        stats = report["stats"]
        results[mode] = {
            "requests": requests,
            "rss_before_mb": round(report["before"]["rss_mb"], 1),
            "rss_after_mb": round(report["after"]["rss_mb"], 1),
            "rss_growth_mb": round(report["after"]["rss_mb"] - report["before"]["rss_mb"], 1),
            "threads_before": report["before"]["threads"],
            "threads_after": report["after"]["threads"],
            "exit_seconds": round(ended - report["exit_started"], 2),
            "shutdown_timeout": 5.0,
            "loop_us_per_request": round(report["loop_us_per_request"], 1),
            "stats": stats,
            "stats_after_exit": final,
            "stats_add_up": all(
                s["captured"] == s["sent"] + s["dropped"] + s["queued"] + s["skipped"]
                for s in (stats, final)),
        }
        log(f"memory {mode}: {results[mode]['rss_growth_mb']} MB, threads "
            f"{results[mode]['threads_before']} -> {results[mode]['threads_after']}, exit "
            f"{results[mode]['exit_seconds']} s")
    return results
