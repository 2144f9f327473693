"""The middleware's request thread under gunicorn: thread CPU per request, delivery on and off.

.. code-block:: sh

    python benchmarks/request_thread.py               # 2 rounds of 4 s per variant
    python benchmarks/request_thread.py --rounds 3 --seconds 6

Runs gunicorn (2 sync workers) with the small GET app of ``bench.py`` under ``wrk -t2
-c4``, five ways: bare; wrapped; wrapped with ``pipeline.submit`` replaced by a no-op
("delivery off": the request thread's work alone, no delivery thread); wrapped with each
POST answered at once without I/O ("no POST": building and encoding the logs, no HTTP);
and wrapped with each log built as ``{"_id": ...}`` ("no build": the thread hand-offs
and the POSTs of near-empty logs). The last two split what delivery costs the workers.
``BENCH_BUFFER_LENGTH`` in the environment sets the wrapped apps' buffer_length. Inside the
workers, ``time.thread_time()`` is read around each call of the WSGI app, so the figure
is the CPU the serving thread spends in the app call: for the list-returning app used
here that is the whole capture (the log is queued before the call returns). The bare
figure is the clock's own cost plus the app's; subtract it. Also prints the worker
processes' user and system CPU per request, the part of it spent by threads other than
the serving one (the delivery and watchdog threads), their context switches per request
and the requests per second beside the bare app's.
Prints one JSON document; every variant states the requests served and, for the two
that post, the logs the collector received.
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
from readme_metrics.delivery.policy import outcome_of_status

_wrapped = bench.wrap(bench.get_app, os.environ["METRICS_URL"])
_alone = bench.wrap(bench.get_app, os.environ["METRICS_URL"])
_alone.pipeline.submit = lambda item: True  # delivery off
_no_post = bench.wrap(bench.get_app, os.environ["METRICS_URL"])
_no_post.pipeline.delivery._sender.post = (  # answered at once, nothing sent
    lambda body, timeout: outcome_of_status(200, "OK", None, ""))
_no_build = bench.wrap(bench.get_app, os.environ["METRICS_URL"])
_no_build.pipeline.delivery._sender._build = lambda item: {"_id": item.log_id}
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
no_post = _timed(_no_post)
no_build = _timed(_no_build)


@atexit.register
def _report():
    with open(os.path.join(os.environ["OUT_DIR"], f"{os.getpid()}.json"), "w") as out:
        json.dump({"calls": _totals[1], "thread_ns": _totals[0]}, out)
"""


def _cpu(pid: int) -> tuple[float, float, int, float]:
    """(user s, system s, context switches, other threads' s) of a process."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    switches = 0
    others = 0
    for task in os.listdir(f"/proc/{pid}/task"):
        for line in Path(f"/proc/{pid}/task/{task}/status").read_text().splitlines():
            if "ctxt_switches" in line:
                switches += int(line.split()[1])
        if int(task) != pid:
            own = Path(f"/proc/{pid}/task/{task}/stat").read_text().rsplit(")", 1)[1].split()
            others += int(own[11]) + int(own[12])
    return int(fields[11]) / ticks, int(fields[12]) / ticks, switches, others / ticks


def _machine() -> tuple[int, int]:
    """(all ticks, idle ticks) of the whole machine so far, from /proc/stat's cpu line."""
    ticks = [int(value) for value in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return sum(ticks), ticks[3] + ticks[4]  # idle + iowait


#: What runs under gunicorn, in this order in each round ("wrapped" is the real thing).
VARIANTS = ("bare", "delivery_off", "no_post", "no_build", "wrapped")


def run(variant: str, seconds: float, collector: bench.Collector) -> dict[str, Any]:
    """One gunicorn run of ``variant`` (see ``VARIANTS``) under wrk."""
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
            machine_before = _machine()
            out = subprocess.run(["wrk", "-t2", "-c4", f"-d{seconds:g}s", *headers, url],
                                 capture_output=True, text=True, check=True).stdout
            after = [_cpu(pid) for pid in workers]
            machine_after = _machine()
        finally:
            server.terminate()
            server.wait(30)
        served = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
        warmed = int(re.search(r"(\d+) requests in", warm).group(1))  # type: ignore[union-attr]
        timed = [json.loads(path.read_text()) for path in Path(directory).glob("*.json")]
    calls = sum(t["calls"] for t in timed)
    return {
        "served": served,
        "requests_per_second": round(served / seconds),
        "served_with_warm_up": served + warmed,
        "thread_cpu_us_per_call": round(sum(t["thread_ns"] for t in timed) / calls / 1000, 1),
        "user_us_per_request": round(sum(a[0] - b[0] for a, b in zip(after, before))
                                     / served * 1e6, 1),
        "system_us_per_request": round(sum(a[1] - b[1] for a, b in zip(after, before))
                                       / served * 1e6, 1),
        "other_threads_us_per_request": round(sum(a[3] - b[3] for a, b in zip(after, before))
                                              / served * 1e6, 1),
        "machine_idle_percent": round(
            100 * (machine_after[1] - machine_before[1])
            / max(1, machine_after[0] - machine_before[0]), 1),
        "context_switches_per_request": round(
            sum(a[2] - b[2] for a, b in zip(after, before)) / served, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--variants", default=",".join(VARIANTS),
                        help="comma-separated subset of " + ", ".join(VARIANTS)
                        + " (bare is always run)")
    args = parser.parse_args()
    chosen = {"bare", *args.variants.split(",")}
    unknown = chosen - set(VARIANTS)
    if unknown:
        parser.error(f"unknown variants: {', '.join(sorted(unknown))}")
    collector = bench.Collector("ok")
    variants = [variant for variant in VARIANTS if variant in chosen]
    runs: dict[str, list[dict[str, Any]]] = {variant: [] for variant in variants}
    logs = dict.fromkeys(variants, 0)  # received by the collector, per variant
    load = [round(value, 2) for value in os.getloadavg()]
    try:
        for _ in range(args.rounds):
            for variant in runs:
                before = collector.count()
                # run() returns once gunicorn has exited: its workers' exit flush is done.
                runs[variant].append(run(variant, args.seconds, collector))
                logs[variant] += collector.count() - before
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
    bare_rate = report["bare"]["requests_per_second"]
    for variant in variants[1:]:
        report[variant]["middleware_thread_us_per_request"] = round(
            report[variant]["thread_cpu_us_per_call"] - bare, 1)
        report[variant]["ratio_to_bare"] = round(
            report[variant]["requests_per_second"] / bare_rate, 2)
    # Every request served by a variant that posts, warm-ups included, is a log; wrk does
    # not count the requests in flight when it stops, so the collector may hold a few more.
    for variant in {"no_build", "wrapped"} & chosen:
        report[variant]["delivered"] = (
            f"{logs[variant]} of {report[variant]['served_with_warm_up']} served")
    report["load_average_at_end"] = [round(value, 2) for value in os.getloadavg()]
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
