"""Instructions per request of a gunicorn sync worker's serving thread, counted by
callgrind after a warm-up: what it executes under a real server, beside
``instructions.py``'s in-process counts.

.. code-block:: sh

    python benchmarks/gunicorn_instructions.py                      # bare, off, wrapped
    python benchmarks/gunicorn_instructions.py --variants bare,wrapped --requests 300

Runs gunicorn (one sync worker) under ``valgrind --tool=callgrind --separate-threads=yes``
with ``bench.py``'s small GET app: ``bare``, ``off`` (wrapped, ``pipeline.submit`` a
no-op: the capture alone) or ``wrapped`` (the real thing). A client sends ``--warm-up``
GETs one after another (one connection each, as ``wrk`` uses them with a sync worker,
which closes each), waits for their logs, then signals the worker: the app module's
handler calls ``os.getsid``, at whose entry callgrind zeroes the counters
(``--zero-before``). The client sends ``--requests`` GETs, waits for their logs and
signals again: ``os.getpgid``, a dump (``--dump-before``). Start-up, imports, the
sources' compiling (a variant's first run writes the ``.pyc`` files: the old difference
of two runs read it, cpu35) and the first time through every path are outside the
counted window. ``callgrind_control`` cannot do this: gunicorn's worker is a fork, and
valgrind's gdbserver does not follow it (and without a pid it would zero every callgrind
on the machine). The zero and the dump act on the thread that enters the marker only,
the worker's main thread (the serving thread): its Ir over ``--requests`` is the figure;
the senders are not counted here. The load of the machine does not move Ir. Each
wrapped run checks that the collector got every log by the worker's exit. Needs
valgrind and gunicorn. Prints one JSON document.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench  # noqa: E402

#: The app module gunicorn loads: bench.py's bare and wrapped apps, and the capture alone.
APP = bench.GUNICORN_APP + """
off = bench.wrap(bench.get_app, os.environ["METRICS_URL"])
off.pipeline.submit = lambda item: True

# The counted window's edges, run on the worker's main thread between requests (its
# signals interrupt the sync worker's select): callgrind zeroes at getsid's entry and
# dumps at getpgid's (--zero-before, --dump-before), then the handler says it is done.
import signal

def mark(call, name):
    def handler(signum, frame):
        call(0)
        open(os.path.join(os.environ["BENCH_MARK_DIR"], f"{name}-{os.getpid()}"), "w").close()
    return handler

signal.signal(signal.SIGRTMIN + 2, mark(os.getsid, "zeroed"))
signal.signal(signal.SIGRTMIN + 3, mark(os.getpgid, "dumped"))
"""
VARIANTS = ("bare", "off", "wrapped")
TARGET = "/v1/widgets/12345?expand=owner&limit=10"


def thread_counts(path: Path) -> dict[str, int]:
    """The events a callgrind file counted, by name (Ir; with ``--cache-sim=yes`` the
    misses too: I1mr D1mr D1mw ILmr DLmr DLmw)."""
    names: list[str] = ["Ir"]  # (a file without an events line counts Ir alone)
    for line in path.read_text().splitlines():
        if line.startswith("events:"):
            names = line.split()[1:]
        elif line.startswith(("summary:", "totals:")):
            return dict(zip(names, map(int, line.split()[1:])))
    return {}


def thread_ir(path: Path) -> int:
    """The Ir a callgrind file counted."""
    return thread_counts(path).get("Ir", 0)


def control(name: str, worker: int, directory: str, seconds: float = 1800.0) -> None:
    """Zero (``zeroed``) or dump (``dumped``) the worker's counters through the app
    module's signal handlers, and wait until the handler has run."""
    signum = signal.SIGRTMIN + (2 if name == "zeroed" else 3)
    done = Path(directory, f"{name}-{worker}")
    os.kill(worker, signum)
    deadline = time.monotonic() + seconds
    while not done.exists():
        if time.monotonic() > deadline:
            raise RuntimeError(f"the worker did not say {name}")
        time.sleep(0.1)
    done.unlink()


def get(port: int, count: int) -> None:
    """``count`` GETs, one connection each."""
    headers = {name: value for name, value in bench.GET_HEADERS.items()
               if name != "Connection"}
    for _ in range(count):
        client = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
        try:
            client.request("GET", TARGET, headers=headers)
            client.getresponse().read()
        finally:
            client.close()


def settle(collector: bench.Collector, expected: int, seconds: float = 30.0) -> int:
    """Until the collector holds ``expected`` logs (or the time is up): what it holds."""
    deadline = time.monotonic() + seconds
    while (count := collector.count()) < expected and time.monotonic() < deadline:
        time.sleep(0.2)
    return count


def worker_of(master: int, seconds: float = 300.0) -> int:
    """The pid of the (one) worker gunicorn forked, once it serves."""
    deadline = time.monotonic() + seconds
    while not (workers := bench.child_pids(master)):
        if time.monotonic() > deadline:
            raise RuntimeError("gunicorn started no worker")
        time.sleep(0.2)
    return workers[0]


def run(variant: str, warm_up: int, requests: int, buffer_length: int,
        collector: bench.Collector, directory: str, cache: str = "") -> dict[str, Any]:
    """One gunicorn run under callgrind: each thread of the worker's Ir over ``requests``
    GETs after ``warm_up``, and the logs the collector got meanwhile."""
    port = bench.free_port()
    out = Path(directory, f"{variant}")
    env = {**os.environ, "METRICS_URL": collector.url,
           "BENCH_DIR": str(Path(__file__).resolve().parent),
           "PYTHONPATH": os.pathsep.join([directory, str(bench.ROOT)]),
           "PYTHONHASHSEED": "0", "BENCH_BUFFER_LENGTH": str(buffer_length),
           # Past the run: a batch goes when buffer_length logs wait.
           "README_FLUSH_INTERVAL": "3600", "BENCH_MARK_DIR": directory}
    server = subprocess.Popen(
        ["valgrind", "--tool=callgrind", "--separate-threads=yes",
         "--zero-before=*getsid*", "--dump-before=*getpgid*",
         *(["--cache-sim=yes", f"--LL={cache}"] if cache else []),
         f"--callgrind-out-file={out}.%p", sys.executable,
         "-m", "gunicorn", "--workers", "1", "--worker-class", "sync", "--timeout", "3600",
         "--bind", f"127.0.0.1:{port}", "--log-level", "warning", f"bench_app:{variant}"],
        cwd=directory, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    start = collector.count()
    logged = variant == "wrapped"
    try:
        worker = worker_of(server.pid)
        get(port, warm_up)
        if logged:
            settle(collector, start + warm_up)
        control("zeroed", worker, directory)
        before = collector.count()
        get(port, requests)
        if logged:
            settle(collector, before + requests)
        after = collector.count()
        control("dumped", worker, directory)
        # <out>.<pid>.<dump>-<thread>: the pattern matches the marker's Python and C
        # functions, each entry a dump; a thread's Ir is the sum of its dumps.
        threads: dict[str, dict[str, int]] = {}
        for path in Path(directory).glob(f"{out.name}.{worker}.*-*"):
            thread = threads.setdefault(path.name.rsplit("-", 1)[1], {})
            for event, count in thread_counts(path).items():
                thread[event] = thread.get(event, 0) + count
    finally:
        server.terminate()
        server.wait(600)  # the exit flush: every log of the run
        for path in Path(directory).glob(f"{out.name}.*"):
            path.unlink()
    # Callgrind zeroes and dumps only the thread that enters the marker (the main thread,
    # 01): the senders are not counted here (bench.py's accounting times them).
    serving = threads["01"]
    return {"serving_ir_per_request": round(serving["Ir"] / requests),
            # --cache-sim: the serving thread's simulated misses a request (one cache
            # model for the whole process: the senders' runs between requests count).
            **{f"serving_{event}_per_request": round(count / requests, 1)
               for event, count in serving.items() if event != "Ir"},
            "logs": after - before,
            "logs_at_exit": collector.count() - start}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--warm-up", type=int, default=100)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--buffer-length", type=int, default=10)
    parser.add_argument("--cache-sim", default="", metavar="SIZE,ASSOC,LINE",
                        help="simulate the caches, the last level as given (valgrind's "
                             "--LL, e.g. 1048576,8,64 for one core's L2 here), and count "
                             "the serving thread's misses")
    args = parser.parse_args()
    report: dict[str, Any] = {"python": sys.version.split()[0],
                              "buffer_length": args.buffer_length,
                              "warm_up": args.warm_up, "requests": args.requests}
    collector = bench.Collector("ok")
    try:
        with tempfile.TemporaryDirectory() as directory:
            Path(directory, "bench_app.py").write_text(APP)
            for variant in args.variants.split(","):
                if variant not in VARIANTS:
                    parser.error(f"unknown variant {variant}")
                result = run(variant, args.warm_up, args.requests, args.buffer_length,
                             collector, directory, args.cache_sim)
                if variant == "wrapped":
                    result["delivered"] = (f"{result['logs_at_exit']} of "
                                           f"{args.warm_up + args.requests}")
                report[variant] = result
    finally:
        collector.stop()
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
