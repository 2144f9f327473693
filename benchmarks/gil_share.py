"""Where the small GET's request-path mean goes in ``bench.py``'s in-process loop.

.. code-block:: sh

    python benchmarks/gil_share.py                      # 5 rounds of every variant
    python benchmarks/gil_share.py --rounds 8 --variants as_is,one_sender
    python benchmarks/gil_share.py --requests 20000     # past max_queue_size: drops
    python benchmarks/gil_share.py --pace-us 500        # a 0.5 ms sleep per 10 requests
    python benchmarks/gil_share.py --workload post --requests 500 --rounds 20

The loop of ``bench.py --only inprocess`` (the small GET app, wrapped with default
options, called directly; a fresh middleware per run, 200 warm-up requests flushed
first) with each call's start and duration kept, and the delivery threads' parts timed
(``time.perf_counter_ns`` around building each log, encoding it, the POST, taking a
batch, starting a thread). A request that took more than 100 us is a *stall*: the
request thread lost the GIL to another thread during it. Per variant, the medians over
``--rounds`` runs: the request path's mean and p50, stalls per 1,000 requests and the
share of the excess over the p50 they hold, the parts of the delivery threads that
overlapped the stalls and their wall time during the loop (microseconds per request;
several threads may overlap one stall, or run one part at once), the loop's and the
end-to-end wall time and the process CPU per request, the sender threads alive when the
loop ends, the POSTs sent during the loop, and the logs delivered and dropped out of
those served. ``--workload post`` runs bench.py's POST (2 KB in, 100 KB of JSON out)
instead of the small GET: keep ``--requests`` near bench.py's 500 there, as more fill
``max_queue_bytes`` and are dropped. ``stalls_by_length`` splits the requests by how
long they took (the request thread's wait for the GIL, mostly): per bucket, how many
per 1,000 requests and their share of the mean's excess over the p50 (microseconds per
request); the cyclic GC's passes are timed too (``gc gen0`` to ``gc gen2``, on any
thread) and counted per 10,000 requests, by generation, on the request thread and on
others. The variants, run in turn in each round:

``as_is``
    The library as it is.
``older_growth_rule``
    The pool grows for any backlog behind busy senders, as before ``2d538d3`` (which added
    the condition that a POST waits on the API longer than the others spend encoding).
``one_sender``
    At most one sender thread (the pool never grows).
``build_twice``
    Each log built twice (the second one is sent): delivery's CPU per log doubled.
``no_build``
    Each log built as ``{"_id": ...}``: delivery's CPU per log cut to the hand-offs and
    the POSTs.
``hand_over``
    The sender lets a thread waiting for the GIL have it (``time.sleep(0)``) before a log
    when it has built for a millisecond since it last did (a fifth of the default
    switch interval), while fewer than half of ``max_queue_size`` logs are queued.

Prints one JSON document with the load average at the start and the end.
"""

from __future__ import annotations

import argparse
import bisect
import collections
import gc
import io
import json
import os
import statistics
import sys
import threading
import time
from pathlib import Path
from typing import Any, Callable

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench  # noqa: E402

import readme_metrics.delivery.sender as sender_module  # noqa: E402

VARIANTS = ("as_is", "older_growth_rule", "one_sender", "build_twice", "no_build",
            "hand_over")
STALL_NS = 100_000
#: The buckets of ``stalls_by_length``: (upper bound in ns, name).
LENGTHS = ((100_000, "under 0.1 ms"), (1_000_000, "0.1 to 1 ms"), (5_000_000, "1 to 5 ms"),
           (10_000_000, "5 to 10 ms"), (float("inf"), "10 ms or more"))
_clock = time.perf_counter_ns


def _timed(events: list, part: str, function: Callable[..., Any]) -> Callable[..., Any]:
    def timed(*args: Any, **kwargs: Any) -> Any:
        started = _clock()
        try:
            return function(*args, **kwargs)
        finally:
            events.append((part, threading.get_ident(), started, _clock()))
    return timed


def _vary(variant: str, delivery: Any) -> None:
    """Change the fresh middleware's delivery as ``variant`` says."""
    sender, queue = delivery._sender, delivery._queue
    build = sender._build
    if variant == "older_growth_rule":
        delivery._batcher.staffing._another_overlaps_locked = lambda in_flight: True
    elif variant == "one_sender":
        delivery._batcher.staffing.max_senders = 1
    elif variant == "build_twice":
        sender._build = lambda item: (build(item), build(item))[1]
    elif variant == "no_build":
        sender._build = lambda item: {"_id": item.log_id}
    elif variant == "hand_over":
        handed = [time.perf_counter()]

        def build_handing_over(item: Any) -> dict:
            now = time.perf_counter()
            if now - handed[0] >= 0.001:
                if 2 * (queue.accepted - queue.resolved) < queue.max_size:
                    time.sleep(0)
                handed[0] = time.perf_counter()
            return build(item)  # type: ignore[no-any-return]

        sender._build = build_handing_over


def _instrument(events: list, delivery: Any) -> None:
    sender, batcher = delivery._sender, delivery._batcher
    sender._build = _timed(events, "build", sender._build)
    batcher.next_or_end = _timed(events, "wait for and take a batch",
                                 batcher.next_or_end)
    batcher.settle = _timed(events, "settle", batcher.settle)
    delivery._transport.post_logs = _timed(events, "post", delivery._transport.post_logs)
    delivery._pool.grow = _timed(events, "start a thread", delivery._pool.grow)


def _timed_gc(events: list) -> Callable[[str, dict], None]:
    """A ``gc.callbacks`` entry that adds each pass of the cyclic GC to ``events``."""
    began: dict[int, tuple[int, int]] = {}

    def callback(phase: str, info: dict) -> None:
        thread = threading.get_ident()
        if phase == "start":
            began[thread] = (_clock(), info["generation"])
        elif thread in began:
            start, generation = began.pop(thread)
            events.append((f"gc gen{generation}", thread, start, _clock()))
    return callback


WORKLOADS = {"get": (bench.get_app, "GET", b""),
             "post": (bench.post_app, "POST", bench.POST_BODY)}


def run(variant: str, requests: int, pace: float, collector: bench.Collector,
        encode: Callable[..., Any], workload: str = "get") -> dict[str, Any]:
    """One run of ``requests`` timed requests through a fresh middleware."""
    events: list[tuple[str, int, int, int]] = []
    sender_module.dumps = _timed(events, "encode", encode)
    app, method, body = WORKLOADS[workload]
    wrapped = bench.wrap(app, collector.url)
    delivery = wrapped.pipeline.delivery
    _instrument(events, delivery)
    _vary(variant, delivery)  # after: a hand-over's wait is not counted as building
    template = bench.environ_for(method, body)

    def serve() -> None:
        environ = dict(template)
        environ["wsgi.input"] = io.BytesIO(body)
        for _ in wrapped(environ, lambda *args: None):
            pass

    for _ in range(bench.WARM_UP):
        serve()
    wrapped.flush(60)
    before = dict(wrapped.stats)
    events.clear()
    starts: list[int] = []
    took: list[int] = []
    collected = _timed_gc(events)
    gc.callbacks.append(collected)
    cpu0, wall0 = time.process_time(), time.perf_counter()
    try:
        for index in range(requests):
            environ = dict(template)
            environ["wsgi.input"] = io.BytesIO(body)
            started = _clock()
            for _ in wrapped(environ, lambda *args: None):
                pass
            took.append(_clock() - started)
            starts.append(started)
            if pace and index % 10 == 9:
                time.sleep(pace)
        loop_end, loop_end_ns = time.perf_counter(), _clock()
        senders = delivery._pool.running()
        wrapped.flush(120)
    finally:
        gc.callbacks.remove(collected)
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    after = wrapped.stats
    wrapped.close()
    p50 = sorted(took)[len(took) // 2]
    excess = sum(max(0, t - p50) for t in took)
    me = threading.get_ident()
    passes = collections.Counter(f"{part} {'request thread' if thread == me else 'others'}"
                                 for part, thread, _, _ in events if part.startswith("gc "))
    mine = sorted((e for e in events if e[1] != me), key=lambda e: e[2])
    begins = [e[2] for e in mine]
    longest = max((e[3] - e[2] for e in mine), default=0)
    overlap: collections.Counter[str] = collections.Counter()
    during_loop: collections.Counter[str] = collections.Counter()
    for part, _, begin, end in mine:
        if begin < loop_end_ns and end > starts[0]:
            during_loop[part] += min(end, loop_end_ns) - max(begin, starts[0])
    stalls = stalled = 0
    for started, spent in zip(starts, took):
        if spent <= STALL_NS:
            continue
        stalls += 1
        stalled += spent - p50
        ended = started + spent
        for part, _, begin, end in mine[bisect.bisect_left(begins, started - longest):]:
            if begin >= ended:
                break
            if end > started:
                overlap[part] += min(end, ended) - max(begin, started)
    lengths: dict[str, list[float]] = {name: [0, 0] for _, name in LENGTHS}
    for spent in took:
        name = next(name for bound, name in LENGTHS if spent < bound)
        lengths[name][0] += 1000 / requests
        lengths[name][1] += max(0, spent - p50) / requests / 1000
    return {
        "mean_us": statistics.fmean(took) / 1000,
        "p50_us": p50 / 1000,
        "stalls_by_length": {name: {"per_1000": count, "excess_us_per_request": excess}
                             for name, (count, excess) in lengths.items()},
        "stalls_per_1000": stalls * 1000 / requests,
        "stalls_share_of_excess": stalled / excess if excess else 0.0,
        "during_stalls_us_per_request": {
            part: spent / requests / 1000 for part, spent in overlap.items()},
        "during_loop_us_per_request": {
            part: spent / requests / 1000 for part, spent in during_loop.items()},
        "loop_us_per_request": (loop_end - wall0) / requests * 1e6,
        "end_to_end_us_per_request": wall / requests * 1e6,
        "cpu_us_per_request": cpu / requests * 1e6,
        "sender_threads_at_loop_end": senders,
        "posts_during_loop": sum(1 for e in events if e[0] == "post" and e[2] < loop_end_ns),
        "gc_passes_per_10k": {name: count * 10_000 / requests
                              for name, count in sorted(passes.items())},
        "delivered": after["sent"] - before["sent"],
        "dropped": after["dropped"] - before["dropped"],
    }


def _medians(runs: list[dict[str, Any]]) -> dict[str, Any]:
    summary: dict[str, Any] = {}
    for key, value in runs[0].items():
        if key == "stalls_by_length":
            summary[key] = {name: {figure: round(statistics.median(
                run[key][name][figure] for run in runs), 2) for figure in figures}
                for name, figures in value.items()}
        elif isinstance(value, dict):
            parts = {part for run in runs for part in run[key]}
            summary[key] = {part: round(statistics.median(run[key].get(part, 0.0)
                                                          for run in runs), 1)
                            for part in sorted(parts)}
        elif key in ("delivered", "dropped"):
            summary[key] = sum(run[key] for run in runs)
        else:
            summary[key] = round(statistics.median(run[key] for run in runs), 2)
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--pace-us", type=float, default=0.0,
                        help="sleep this long after every 10th request (not timed)")
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--workload", choices=sorted(WORKLOADS), default="get",
                        help="bench.py's small GET, or its POST (2 KB in, 100 KB out)")
    args = parser.parse_args()
    variants = args.variants.split(",")
    report: dict[str, Any] = {
        "load_average_at_start": [round(load, 2) for load in os.getloadavg()],
        "workload": args.workload, "requests": args.requests, "rounds": args.rounds,
        "pace_us": args.pace_us}
    encode = sender_module.dumps
    collector = bench.Collector("ok")
    runs: dict[str, list[dict[str, Any]]] = {variant: [] for variant in variants}
    try:
        for round_ in range(args.rounds):
            for variant in variants:
                runs[variant].append(run(variant, args.requests, args.pace_us / 1e6,
                                         collector, encode, args.workload))
                bench.log(f"round {round_ + 1}/{args.rounds} {variant}: "
                          f"{runs[variant][-1]['mean_us']:.1f} us mean")
    finally:
        sender_module.dumps = encode
        collector.stop()
    for variant in variants:
        summary = _medians(runs[variant])
        summary["delivered"] = (f"{summary['delivered']} of "
                                f"{args.requests * args.rounds} served "
                                f"({summary.pop('dropped')} dropped)")
        report[variant] = summary
    report["load_average_at_end"] = [round(load, 2) for load in os.getloadavg()]
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
