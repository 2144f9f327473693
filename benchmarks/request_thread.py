"""The middleware's request thread under gunicorn: thread CPU per request, delivery on and off.

.. code-block:: sh

    python benchmarks/request_thread.py               # 2 rounds of 4 s per variant
    python benchmarks/request_thread.py --rounds 3 --seconds 6

Runs gunicorn (2 sync workers) with the small GET app of ``bench.py`` under ``wrk -t2
-c4``, three ways: bare, wrapped, and wrapped with ``pipeline.submit`` replaced by a no-op
("delivery off": the request thread's work alone, no delivery thread). Inside the
workers, ``time.thread_time()`` is read around each call of the WSGI app, so the figure
is the CPU the serving thread spends in the app call: for the list-returning app used
here that is the whole capture (the log is queued before the call returns). The bare
figure is the clock's own cost plus the app's; subtract it. Also prints the worker
processes' user and system CPU per request and their context switches per request.
Prints one JSON document; every variant states the requests served and, for the wrapped
one, the logs the collector received.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench  # noqa: E402

APP = """
import atexit, json, os, sys, time
sys.path.insert(0, os.environ["BENCH_DIR"])
import bench

_wrapped = bench.wrap(bench.get_app, os.environ["METRICS_URL"])
_alone = bench.wrap(bench.get_app, os.environ["METRICS_URL"])
_alone.pipeline.submit = lambda item: True  # delivery off
_totals = [0, 0]


def _timed(app):
    def timed(environ, start_response):
        started = time.thread_time_ns()
        result = app(environ, start_response)
        _totals[0] += time.thread_time_ns() - started
        _totals[1] += 1
        return result
    return timed


bare = _timed(bench.get_app)
wrapped = _timed(_wrapped)
delivery_off = _timed(_alone)


@atexit.register
def _report():
    with open(os.path.join(os.environ["OUT_DIR"], f"{os.getpid()}.json"), "w") as out:
        json.dump({"calls": _totals[1], "thread_ns": _totals[0]}, out)
"""


def _cpu(pid: int) -> tuple[float, float, int]:
    """(user s, system s, context switches) of a process and all its threads."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    switches = 0
    for task in os.listdir(f"/proc/{pid}/task"):
        for line in Path(f"/proc/{pid}/task/{task}/status").read_text().splitlines():
            if "ctxt_switches" in line:
                switches += int(line.split()[1])
    return int(fields[11]) / ticks, int(fields[12]) / ticks, switches


def run(variant: str, seconds: float, collector: bench.Collector) -> dict[str, Any]:
    """One gunicorn run of ``variant`` (bare, wrapped, delivery_off) under wrk."""
    with tempfile.TemporaryDirectory() as directory:
        Path(directory, "thread_app.py").write_text(APP)
        port = bench.free_port()
        env = {**os.environ, "METRICS_URL": collector.url, "OUT_DIR": directory,
               "BENCH_DIR": str(Path(__file__).resolve().parent),
               "PYTHONPATH": os.pathsep.join([directory, str(bench.ROOT)])}
        server = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--workers", "2", "--worker-class", "sync",
             "--bind", f"127.0.0.1:{port}", "--log-level", "warning",
             f"thread_app:{variant}"],
            cwd=directory, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            bench.wait_for_port(port, "gunicorn")
            headers = []
            for name, value in bench.GET_HEADERS.items():
                if name not in ("Host", "Connection"):
                    headers += ["-H", f"{name}: {value}"]
            url = f"http://127.0.0.1:{port}/v1/widgets/12345?expand=owner&limit=10"
            warm = subprocess.run(["wrk", "-t1", "-c2", "-d1s", *headers, url],
                                  capture_output=True, text=True, check=True).stdout
            workers = bench.child_pids(server.pid)
            before = [_cpu(pid) for pid in workers]
            out = subprocess.run(["wrk", "-t2", "-c4", f"-d{seconds:g}s", *headers, url],
                                 capture_output=True, text=True, check=True).stdout
            after = [_cpu(pid) for pid in workers]
        finally:
            server.terminate()
            server.wait(30)
        served = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
        warmed = int(re.search(r"(\d+) requests in", warm).group(1))  # type: ignore[union-attr]
        timed = [json.loads(path.read_text()) for path in Path(directory).glob("*.json")]
    calls = sum(t["calls"] for t in timed)
    return {
        "served": served,
        "served_with_warm_up": served + warmed,
        "thread_cpu_us_per_call": round(sum(t["thread_ns"] for t in timed) / calls / 1000, 1),
        "user_us_per_request": round(sum(a[0] - b[0] for a, b in zip(after, before))
                                     / served * 1e6, 1),
        "system_us_per_request": round(sum(a[1] - b[1] for a, b in zip(after, before))
                                       / served * 1e6, 1),
        "context_switches_per_request": round(
            sum(a[2] - b[2] for a, b in zip(after, before)) / served, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=4.0)
    args = parser.parse_args()
    collector = bench.Collector("ok")
    runs: dict[str, list[dict[str, Any]]] = {"bare": [], "delivery_off": [], "wrapped": []}
    load = [round(value, 2) for value in os.getloadavg()]
    try:
        for _ in range(args.rounds):
            for variant in runs:
                runs[variant].append(run(variant, args.seconds, collector))
        logs = collector.count()
    finally:
        collector.stop()
    report: dict[str, Any] = {"load_average_at_start": load, "rounds": args.rounds}
    for variant, values in runs.items():
        report[variant] = {key: statistics.median(run[key] for run in values)
                           for key in values[0]}
        report[variant]["served"] = sum(run["served"] for run in values)
        report[variant]["served_with_warm_up"] = sum(run["served_with_warm_up"]
                                                     for run in values)
    bare = report["bare"]["thread_cpu_us_per_call"]
    for variant in ("delivery_off", "wrapped"):
        report[variant]["middleware_thread_us_per_request"] = round(
            report[variant]["thread_cpu_us_per_call"] - bare, 1)
    # Every wrapped request served, warm-ups included, is a log; wrk does not count the
    # requests in flight when it stops, so the collector may hold a few more.
    report["wrapped"]["delivered"] = (
        f"{logs} of {report['wrapped']['served_with_warm_up']} served")
    report["load_average_at_end"] = [round(value, 2) for value in os.getloadavg()]
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
