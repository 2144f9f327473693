"""``inprocess``: the apps called directly in a loop, bare and wrapped, interleaved: the
request path's mean/p50/p99, end to end, CPU per request, logs delivered of served."""

from __future__ import annotations

import gc
import io
import os
import statistics
import threading
import time
from typing import Any, Callable, Optional

import accounting  # benchmarks/accounting.py

from benchlib.collectors import Collector
from benchlib.processes import log
from benchlib.workload import BROWSER_HEADERS, POST_BODY, environ_for, get_app, post_app, wrap

WARM_UP = 200  # requests before each timed run
#: A call at least this long (ns) is counted a stall in ``tail``: the small GET's own
#: path takes about 10 us; one this long waited for the GIL or the CPU, or collected.
STALL_NS = 100_000


def _start_response(status: str, headers: list, exc_info: Any = None) -> Callable:
    return lambda data: None


def thread_sched() -> tuple[float, int]:
    """This thread's (seconds runnable waiting for a CPU, voluntary switches) from Linux's
    /proc (zeros elsewhere): the load's share of a timed loop (a CPU taken by other
    processes) and how often the thread blocked (on the GIL or a lock)."""
    pid, tid = os.getpid(), threading.get_native_id()
    return accounting.thread_waited(pid, tid), accounting.thread_usage(pid, tid).voluntary


def fresh_environ(template: dict[str, Any], body: bytes) -> dict[str, Any]:
    """A copy of ``template`` with ``body`` as a new ``wsgi.input``."""
    environ = dict(template)
    environ["wsgi.input"] = io.BytesIO(body)
    return environ


def serve(app: Callable, environ: dict[str, Any]) -> None:
    """What a server does with one request: call, iterate, close."""
    result = app(environ, _start_response)
    for _ in result:
        pass
    close = getattr(result, "close", None)
    if close is not None:
        close()


def run_inprocess(app: Callable, method: str, body: bytes, requests: int,
                  wrapped: Any, headers: Optional[dict[str, str]] = None) -> dict[str, float]:
    """Call ``app`` directly ``requests`` times; time each call and the whole delivery.
    ``headers``: the request's (``GET_HEADERS`` by default)."""
    template = environ_for(method, body, headers)
    for _ in range(WARM_UP):  # not timed; flushed below
        serve(app, fresh_environ(template, body))
    if wrapped is not None:
        wrapped.flush(60)
        before = dict(wrapped.stats)
    samples = []
    clock = time.perf_counter_ns
    collected: list[int] = []  # the cyclic GC's start and stop times in the timed loop
    gc.callbacks.append(lambda phase, info: collected.append(clock()))
    sched0 = thread_sched()
    cpu0 = time.process_time()
    wall0 = time.perf_counter()
    for _ in range(requests):
        environ = fresh_environ(template, body)  # built outside the timed part
        t0 = clock()
        serve(app, environ)
        samples.append(clock() - t0)
    loop_end = time.perf_counter()
    sched1 = thread_sched()
    gc.callbacks.pop()
    complete = True
    if wrapped is not None:
        complete = wrapped.flush(120)
    wall = time.perf_counter() - wall0
    cpu = time.process_time() - cpu0
    samples.sort()
    p50 = samples[len(samples) // 2]
    stalls = [sample for sample in samples if sample >= STALL_NS]
    figures: dict[str, float] = {
        "mean_us": statistics.fmean(samples) / 1000,
        "p50_us": p50 / 1000,
        "p90_us": samples[int(len(samples) * 0.9)] / 1000,
        "p99_us": samples[int(len(samples) * 0.99)] / 1000,
        # The mean's tail, taken apart (cpu45): calls of STALL_NS or more, and the mean
        # excess over the p50 they hold per call; the GC's collections and time per call.
        "stalls": len(stalls),
        "stalls_excess_us": (sum(stalls) - p50 * len(stalls)) / requests / 1000,
        "gc_collections": len(collected) // 2,
        "gc_us": sum(stop - start for start, stop in zip(collected[::2], collected[1::2]))
        / requests / 1000,
        # The loop's thread (Linux): waiting for a CPU other processes held (the load's,
        # not the library's), and how many times it blocked (the GIL, a lock).
        "runqueue_us": (sched1[0] - sched0[0]) / requests * 1e6,
        "blocked": sched1[1] - sched0[1],
        "loop_us_per_request": (loop_end - wall0) / requests * 1e6,
        "end_to_end_us_per_request": wall / requests * 1e6,
        "cpu_us_per_request": cpu / requests * 1e6,
    }
    if wrapped is not None:
        after = wrapped.stats
        figures["delivered"] = after["sent"] - before["sent"]
        figures["dropped"] = after["dropped"] - before["dropped"]
        figures["complete"] = float(complete)
    return figures


def median_of(runs: list[dict[str, float]]) -> dict[str, float]:
    return {key: round(statistics.median(run[key] for run in runs), 2) for key in runs[0]}


def bench_inprocess(repeat: int, get_requests: int, post_requests: int) -> dict[str, Any]:
    collector = Collector("ok")
    results: dict[str, Any] = {}
    try:
        for name, app, method, body, count, headers in (
                ("small_get", get_app, "GET", b"", get_requests, None),
                ("post_100kb", post_app, "POST", POST_BODY, post_requests, None),
                # The small GET as a browser sends it (BROWSER_HEADERS): the URL
                # readers' cost on real traffic, its own row (cpu44).
                ("browser_get", get_app, "GET", b"", get_requests, BROWSER_HEADERS)):
            runs: dict[str, list[dict[str, float]]] = {"bare": [], "wrapped": []}
            logged = collector.count()
            for rep in range(repeat):
                order = ("bare", "wrapped") if rep % 2 == 0 else ("wrapped", "bare")
                for variant in order:
                    if variant == "bare":
                        runs["bare"].append(
                            run_inprocess(app, method, body, count, None, headers))
                    else:
                        wrapped = wrap(app, collector.url)
                        try:
                            runs["wrapped"].append(
                                run_inprocess(wrapped, method, body, count, wrapped,
                                              headers))
                        finally:
                            wrapped.close()
                log(f"inprocess {name} rep {rep + 1}/{repeat}: "
                    f"bare {runs['bare'][-1]['mean_us']:.1f} us, "
                    f"wrapped {runs['wrapped'][-1]['mean_us']:.1f} us mean, "
                    f"{runs['wrapped'][-1]['cpu_us_per_request']:.1f} us CPU/request")
            bare, wrapped_median = median_of(runs["bare"]), median_of(runs["wrapped"])
            results[name] = {
                "requests": count,
                "bare": bare,
                "wrapped": wrapped_median,
                "added": {
                    key: round(wrapped_median[key] - bare[key], 2)
                    for key in ("mean_us", "p50_us", "p90_us", "p99_us",
                                "end_to_end_us_per_request", "cpu_us_per_request")
                },
                "ratio_to_bare": {
                    key: round(wrapped_median[key] / bare[key], 2)
                    for key in ("mean_us", "p50_us", "p99_us", "end_to_end_us_per_request",
                                "cpu_us_per_request")
                },
                # This row's logs at the collector, of the wrapped requests it served.
                "delivered": f"{collector.count() - logged} of "
                             f"{repeat * (WARM_UP + count)} served",
            }
        results["collector_logs"] = collector.count()
        # Every wrapped request served (warm-ups included) is one log.
        served = repeat * (3 * WARM_UP + 2 * get_requests + post_requests)
        results["delivered"] = f"{results['collector_logs']} of {served} served"
    finally:
        collector.stop()
    return results
