"""What readme-metrics costs a WSGI app, measured: prints one JSON document.

.. code-block:: sh

    python benchmarks/bench.py                 # everything (about 3 minutes)
    python benchmarks/bench.py --only inprocess --repeat 3
    python benchmarks/bench.py --only inprocess --denylist password,secret,token,api_key

The first three parts compare bare app and wrapped app, interleaved, the median of
``--repeat`` runs:

``inprocess``
    A trivial GET app (13 request headers, a bearer token and a cookie among them, a
    62-byte JSON answer) and a POST app (reads a 2 KB JSON body, answers ~100 KB of
    JSON), called directly in a loop, posting to a loopback collector in another process.
    Request path: mean/p50/p90/p99 microseconds per call, and what makes the mean's
    tail: ``stalls``, the calls over 100 us, and ``stalls_excess_us``, what they hold
    above the p50 per call; the cyclic GC's collections and time in the loop per call;
    on Linux the loop thread's ``runqueue_us`` per call, waiting for a CPU that other
    processes held (the load's share), and ``blocked``, how often it waited on the GIL
    or a lock. End to end: wall microseconds per
    request from the first call until the collector has every log (``flush()``). CPU:
    process CPU (all threads: request path, worker, JSON, HTTP) per request.
    ``browser_get``: the same GET with a browser's 17 headers (``BROWSER_HEADERS``: client
    hints, fetch metadata, 5 cookies, a Referer whose query holds ``%40`` and ``%3A``),
    the URL readers' cost on real traffic. Each row says its logs delivered of served.
``server``
    The GET app under gunicorn (2 sync workers) driven by ``wrk`` on 127.0.0.1 for
    ``--seconds``; requests per second and the wrapped/bare ratio. Beside it, CPU per
    request of the workers, of wrk and of the loopback collector (the benchmark's own:
    the real Metrics API is not on these cores), each apart, and the ratio that CPU
    predicts with and without the collector on the cores (an estimate; the logs are
    counted at the collector either way). ``accounting`` (benchmarks/accounting.py):
    per request, each process's CPU apart (the arbiter, the workers' serving threads and
    their other threads, wrk, the collector), context switches, the logs per POST, the
    collector's CPU per POST and per log, the machine's idle time and what other
    processes took (on a shared machine the requests/s ratio means nothing when that is
    large; the CPU figures still do). The collector counts each POST's logs by a scan
    and checks it by a full parse of one POST in 16 (``collector``: verified,
    mismatches); ``BENCH_COLLECTOR=streams`` runs the asyncio streams one of before cpu13.
``asgi``
    The same small GET as an ASGI app, in process and under uvicorn + ``wrk``, next to
    the WSGI request path measured in the same run (benchmarks/bench_asgi.py).
``memory``
    A fresh interpreter serves 50,000 GET requests while the Metrics API answers 500,
    refuses connections, or accepts and never answers: RSS and thread count before and
    after, the delivery stats, and how long the interpreter takes to exit afterwards.
``sustained``
    Default options, a fixed rate of GETs through the middleware for
    ``--sustained-seconds`` against a loopback Metrics API that answers each POST after a
    delay (``--sustained RATE@DELAY,...``; the targets are 2000@0.05 and 1000@0.25):
    served, sent, dropped, distinct logs the API received, duplicates, and the time the
    backlog took to clear once the load stopped.
``slowapi``
    A fault: the Metrics API drips its answers one byte every 0.4 s. The slowest request
    (inline mode posts from it) and the exit time, against timeout=1 s and
    shutdown_timeout=2 s, in inline and background mode.
``post``
    CPU per POST and per log of the two transports, requests and the direct path, in the
    same run (benchmarks/bench_post.py).
``slowclient``
    A fault: 20 clients, one after the other, each declaring a 100,000-byte body, sending
    3 bytes and holding the connection, to a view that never reads the body; gunicorn with
    one sync worker and ``--timeout 6``, bare and wrapped: answers and seconds to them,
    a second client served meanwhile, WORKER TIMEOUTs, logs delivered out of served.

Only the standard library and the project are needed (plus gunicorn and wrk for
``server``, uvicorn and wrk for the server half of ``asgi``). Progress goes to stderr,
the JSON to stdout.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
from pathlib import Path
from typing import Any, Optional

# The parts are benchmarks/benchlib/ (house57: one job a module); bench.py is their entry
# point, and the names other scripts and the tests read from it (``bench.wrap``,
# ``bench.Collector``...) are still here.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import accounting  # noqa: E402  (benchmarks/accounting.py: ``bench.accounting``)
from benchlib import ROOT  # noqa: E402
from benchlib.collectors import (  # noqa: E402
    VERIFY_EVERY,
    Collector,
    CountingProtocol,
    SlowCollector,
    count_logs,
    request_loop,
    serve_collector,
    serve_requests,
    serve_slow_collector,
)
from benchlib.faults import bench_fault_slow_api, bench_fault_slow_client, fault_child  # noqa: E402
from benchlib.inprocess import (  # noqa: E402
    WARM_UP,
    bench_inprocess,
    fresh_environ,
    median_of,
    run_inprocess,
    serve,
)
from benchlib.memory import bench_memory, memory_child  # noqa: E402
from benchlib.processes import (  # noqa: E402
    child_pids,
    free_port,
    log,
    process_cpu,
    rss_mb,
    wait_for_port,
    wait_for_workers,
)
from benchlib.server import GUNICORN_APP, bench_server, run_wrk, wrk_target  # noqa: E402
from benchlib.sustained import bench_sustained, drive  # noqa: E402
from benchlib.targets import targets  # noqa: E402
from benchlib.workload import (  # noqa: E402
    API_KEY,
    BROWSER_HEADERS,
    GET_BODY,
    GET_HEADERS,
    POST_ANSWER,
    POST_BODY,
    TOKEN,
    TYPICAL_DENYLIST,
    environ_for,
    get_app,
    grouping,
    post_app,
    wrap,
)

#: What other benchmark scripts and the tests take from ``bench`` (its parts' names).
__all__ = [
    "API_KEY", "BROWSER_HEADERS", "GET_BODY", "GET_HEADERS", "GUNICORN_APP", "POST_ANSWER",
    "POST_BODY", "ROOT", "TOKEN", "TYPICAL_DENYLIST", "VERIFY_EVERY", "WARM_UP", "Collector",
    "CountingProtocol", "SlowCollector", "bench_fault_slow_api", "bench_fault_slow_client",
    "bench_inprocess", "bench_memory", "bench_server", "bench_sustained", "child_pids",
    "count_logs", "drive", "environ_for", "fault_child", "free_port", "fresh_environ",
    "get_app", "grouping", "log", "main", "median_of", "memory_child", "post_app",
    "process_cpu", "request_loop", "rss_mb", "run_inprocess", "run_wrk", "serve",
    "serve_collector", "serve_requests", "serve_slow_collector", "targets", "wait_for_port",
    "wait_for_workers", "wrap", "wrk_target", "accounting",
]


def main(argv: Optional[list[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only",
                        default="inprocess,server,asgi,memory,sustained,slowapi,slowclient",
                        help="comma-separated parts: inprocess, server, asgi, memory, "
                             "sustained, slowapi, slowclient, post")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=10.0, help="wrk duration")
    parser.add_argument("--get-requests", type=int, default=5000)
    parser.add_argument("--post-requests", type=int, default=500)
    parser.add_argument("--memory-requests", type=int, default=50_000)
    parser.add_argument("--sustained", default="2000@0.05,1000@0.25",
                        help="sustained-load runs, RATE@API_DELAY_SECONDS, comma-separated")
    parser.add_argument("--sustained-seconds", type=float, default=10.0)
    parser.add_argument("--posts", type=int, default=2000, help="POSTs per run of 'post'")
    parser.add_argument("--post-logs", type=int, default=10, help="logs per POST of 'post'")
    parser.add_argument("--buffer-length", type=int, default=None,
                        help="buffer_length of the wrapped apps (default: the library's)")
    parser.add_argument("--denylist", default="",
                        help="comma-separated denylist of the wrapped apps (default none; "
                             f"a typical one: {TYPICAL_DENYLIST})")
    args = parser.parse_args(argv)
    if args.buffer_length:
        os.environ["BENCH_BUFFER_LENGTH"] = str(args.buffer_length)  # children inherit it
    if args.denylist:
        os.environ["BENCH_DENYLIST"] = args.denylist  # children inherit it
    parts = set(args.only.split(","))

    from readme_metrics.delivery.encode import ENCODER
    from readme_metrics.version import __version__

    report: dict[str, Any] = {
        "readme_metrics": __version__,
        "encoder": ENCODER,  # orjson with the fast extra, else the standard library
        "load_average_at_start": [round(load, 2) for load in os.getloadavg()],
        "python": platform.python_version(),
        "machine": f"{platform.machine()} {platform.system()} {platform.release()}",
        "cpus": os.cpu_count(),
        "repeat": args.repeat,
        "buffer_length": args.buffer_length or 10,
        "denylist": args.denylist.split(",") if args.denylist else [],
    }
    if "inprocess" in parts:
        report["inprocess"] = bench_inprocess(args.repeat, args.get_requests,
                                              args.post_requests)
    if "server" in parts:
        report["server"] = bench_server(args.repeat, args.seconds)
    if "asgi" in parts:
        from bench_asgi import bench_asgi

        report["asgi"] = bench_asgi(args.repeat, args.get_requests,
                                    args.seconds if shutil.which("wrk") else None)
    if "memory" in parts:
        report["memory"] = bench_memory(args.memory_requests)
    if "sustained" in parts:
        report["sustained"] = [
            bench_sustained(float(rate), float(delay), args.sustained_seconds)
            for rate, delay in (run.split("@") for run in args.sustained.split(","))]
    if "slowapi" in parts:
        report["fault_slow_api"] = bench_fault_slow_api()
    if "slowclient" in parts:
        report["fault_slow_client"] = bench_fault_slow_client()
    if "post" in parts:
        from bench_post import bench_post

        report["post"] = bench_post(args.repeat, args.posts, args.post_logs)
    report["load_average_at_end"] = [round(load, 2) for load in os.getloadavg()]
    report["targets"] = targets(report)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "collector":
        serve_collector(sys.argv[2])
    elif len(sys.argv) > 1 and sys.argv[1] == "slow-collector":
        serve_slow_collector(float(sys.argv[2]), float(sys.argv[3]))
    elif len(sys.argv) > 1 and sys.argv[1] == "fault-child":
        fault_child(sys.argv[2], sys.argv[3] == "1")
    elif len(sys.argv) > 1 and sys.argv[1] == "memory-child":
        memory_child(sys.argv[2], int(sys.argv[3]))
    else:
        main()
