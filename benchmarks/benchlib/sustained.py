"""``sustained``: default options, a fixed rate of GETs against a loopback API that
answers each POST after a delay: served, sent, dropped, duplicates, the backlog's clear."""

from __future__ import annotations

import os
import time
from typing import Any, Callable, Optional

import sustained_watch  # (benchmarks/sustained_watch.py: bench.py puts its folder first)

from benchlib.collectors import SlowCollector
from benchlib.processes import log, rss_mb
from benchlib.workload import environ_for, get_app, wrap


def drive(app: Callable, rate: float, seconds: float) -> tuple[int, float]:
    """Call ``app`` at ``rate`` GETs a second for ``seconds``; (served, wall seconds)."""
    environ = environ_for("GET")
    start_response: Callable = lambda status, headers, exc_info=None: None  # noqa: E731
    total = int(rate * seconds)
    started = time.perf_counter()
    for n in range(total):
        ahead = started + n / rate - time.perf_counter()
        if ahead > 0:
            time.sleep(ahead)
        result = app(dict(environ), start_response)
        for _ in result:
            pass
        if hasattr(result, "close"):
            result.close()
    return total, time.perf_counter() - started


def bench_sustained(rate: float, delay: float, seconds: float) -> dict[str, Any]:
    """Default options, ``rate`` requests/s for ``seconds`` against an API answering each
    POST after ``delay`` s: served, delivered, dropped, and how long the backlog took to
    clear after the load stopped (then close())."""
    import logging
    import threading

    warned: list[str] = []

    class Warnings(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if record.levelno >= logging.WARNING:
                warned.append(record.getMessage()[:160])

    handler = Warnings()
    logging.getLogger("readme_metrics").addHandler(handler)
    collector = SlowCollector(delay=delay)
    try:
        app = wrap(get_app, collector.url)
        cpu = time.process_time()
        schedule = sustained_watch.thread_schedule()
        watch = sustained_watch.LoadWatch(lambda: app.stats).start()
        served, wall = drive(app, rate, seconds)
        stopped = time.perf_counter()
        load_cpu_share = round((time.process_time() - cpu) / wall, 3)
        during_load = watch.stop()
        during_load.update(sustained_watch.schedule_between(
            schedule, sustained_watch.thread_schedule()))
        backlog_at_stop = app.stats["queued"]
        rss_at_stop = rss_mb()
        threads = sum(t.name == "readme-metrics-worker" for t in threading.enumerate())
        clear_s: Optional[float] = None
        while time.perf_counter() - stopped < 60:
            # Every log, not as many as were served: a log twice is no other's.
            if collector.counts()["distinct"] >= served:
                clear_s = round(time.perf_counter() - stopped, 3)
                break
            time.sleep(0.02)
        app.close()
        cpu = time.process_time() - cpu
        stats = app.stats
        counts = collector.counts()
    finally:
        collector.stop()
        logging.getLogger("readme_metrics").removeHandler(handler)
    result = {
        "target_rate": rate, "api_delay_s": delay, "seconds": seconds,
        "achieved_rate": round(served / wall, 1), "served": served,
        "sent": stats["sent"], "dropped": stats["dropped"],
        "delivered_distinct": counts["distinct"],
        "duplicates": counts["logs"] - counts["distinct"],
        "backlog_at_stop": backlog_at_stop, "backlog_clear_s": clear_s,
        # This process's RSS when the load stopped (the backlog at its largest): the
        # bench's own and the earlier runs' memory are in it too.
        "rss_at_stop_mb": round(rss_at_stop, 1),
        "sender_threads_at_stop": threads, "batches": stats["batches"],
        "retries": stats["retries"],
        # delivery88: the POSTs, the queue's depth and, per thread, the time on a core
        # and waiting for one during the load, and the process's CPU over its wall time
        # (benchmarks/sustained_watch.py): a load_cpu_share below the run's need (about
        # 0.15 at 2,000/s) with threads mostly on the run queue says the machine set the
        # pace, whatever the library or this process did.
        **during_load, "load_cpu_share": load_cpu_share,
        "dropped_by": {key[8:]: value for key, value in stats.items()
                       if key.startswith("dropped_") and value},
        # The library's warnings (their first 160 characters), in order.
        "warnings": warned,
        "cpu_s": round(cpu, 2),
        "load_avg_1m": round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None,
    }
    log(f"sustained {rate:g}/s, API {delay * 1000:g} ms: {result}")
    return result
