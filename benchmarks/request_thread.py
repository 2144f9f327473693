"""Where a gunicorn sync worker's CPU goes, per thread and per part, for each variant.

.. code-block:: sh

    python benchmarks/request_thread.py               # 2 rounds of 4 s per variant
    python benchmarks/request_thread.py --rounds 3 --seconds 6
    python benchmarks/request_thread.py --variants delivery_off,handoff_only,wrapped

Runs gunicorn (2 sync workers) with the small GET app of ``bench.py`` under ``wrk -t2
-c4``, seven ways: bare; wrapped; wrapped with ``pipeline.submit`` replaced by a no-op
("delivery off": the request thread's work alone, no delivery thread); wrapped with the
delivery thread woken per batch as usual but every batch encoded as ``[]`` and answered
at once ("hand-off only": the wake-ups and GIL hand-offs alone, nothing built or sent);
wrapped with each POST answered at once without I/O ("no POST": building and encoding
the logs, no HTTP); wrapped with each log built as ``{"_id": ...}`` ("no build": the
hand-offs and the POSTs of near-empty logs); and wrapped in inline mode
(``background_worker_mode=False``: the same logs built and posted by the serving thread
itself every tenth request, no other thread). ``BENCH_BUFFER_LENGTH`` in the environment
sets the wrapped apps' buffer_length.

Inside the workers, ``time.thread_time()`` is read around each call of the WSGI app
(for the list-returning app used here that is the whole capture: the log is queued
before the call returns) and around gunicorn's ``SyncWorker.handle`` (one connection:
parse, app, respond, close). Per request served, each variant reports the serving
thread's CPU split three ways: in the app call, in gunicorn's own request handling (the
rest of ``handle``), and in its accept loop (the rest of the thread's CPU, from
``/proc/<pid>/task/<tid>/schedstat``); the CPU of the other threads (the delivery and
watchdog threads); the voluntary context switches of each; the workers' user and
system CPU; the CPU per request of the rest of the two cores: wrk, gunicorn's arbiter, the
loopback collector (the benchmark's own), the machine's whole time and its idle time
(other processes' share is what is left); the requests per second beside the bare app's.
The bare app call's figure is the clock's own cost plus the app's; subtract it. Each
variant also states the requests per POST, the cyclic GC's passes per 1,000 requests
(generations 0, 1, 2) and their CPU per request, the most threads one worker had at
once during the run and the senders alive at exit, and each worker's RSS growth.
Prints one JSON document; every variant states the requests served and, for the ones
that post, the logs the collector received.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench  # noqa: E402

APP = """
import atexit, gc, json, os, sys, threading, time
sys.path.insert(0, os.environ["BENCH_DIR"])
import bench
from readme_metrics.delivery.policy import outcome_of_status

from gunicorn.workers import sync

_wrapped = bench.wrap(bench.get_app, os.environ["METRICS_URL"])
_alone = bench.wrap(bench.get_app, os.environ["METRICS_URL"])
_alone.pipeline.submit = lambda item: True  # delivery off


def _answered(body, timeout):  # answered at once, nothing sent
    return outcome_of_status(200, "OK", None, "")


_handoff = bench.wrap(bench.get_app, os.environ["METRICS_URL"])
_handoff.pipeline.delivery._sender.encode_upto = (  # (what a sender calls: delivery48)
    lambda items, on_error, limit=0, room=0: (b"[]", len(items)))
_handoff.pipeline.delivery._sender.post = _answered
_no_post = bench.wrap(bench.get_app, os.environ["METRICS_URL"])
_no_post.pipeline.delivery._sender.post = _answered
_no_build = bench.wrap(bench.get_app, os.environ["METRICS_URL"])
_no_build.pipeline.delivery._sender._build = lambda item: {"_id": item.log_id}
_inline = bench.wrap(bench.get_app, os.environ["METRICS_URL"], background_worker_mode=False)
_totals = {"calls": 0, "app_ns": 0, "handle_ns": 0, "posts": 0, "gc_passes": [0, 0, 0],
           "gc_ns": 0}
_gc_started = [0]


def _gc_timed(phase, info):  # the cyclic GC's passes and their CPU, in this worker
    if phase == "start":
        _gc_started[0] = time.thread_time_ns()
    else:
        _totals["gc_passes"][info["generation"]] += 1
        _totals["gc_ns"] += time.thread_time_ns() - _gc_started[0]


gc.callbacks.append(_gc_timed)


def _counted(sender):  # the POSTs each variant's sender makes (logs per POST)
    post = sender.post

    def counted(*args, **kwargs):
        _totals["posts"] += 1
        return post(*args, **kwargs)
    sender.post = counted


for _app in (_wrapped, _no_build, _inline):
    _counted(_app.pipeline.delivery._sender)


def _timed(app):
    def timed(environ, start_response):
        started = time.thread_time_ns()
        result = app(environ, start_response)
        _totals["app_ns"] += time.thread_time_ns() - started
        _totals["calls"] += 1
        return result
    return timed


def _timed_handle(handle):
    def timed(*args, **kwargs):
        started = time.thread_time_ns()
        try:
            return handle(*args, **kwargs)
        finally:
            _totals["handle_ns"] += time.thread_time_ns() - started
    return timed


sync.SyncWorker.handle = _timed_handle(sync.SyncWorker.handle)
bare = _timed(bench.get_app)
wrapped = _timed(_wrapped)
delivery_off = _timed(_alone)
handoff_only = _timed(_handoff)
no_post = _timed(_no_post)
no_build = _timed(_no_build)
inline = _timed(_inline)


# The app is imported: this worker serves from now on (bench.wait_for_workers). The port
# accepts connections as soon as the master listens: a worker slower to import this (seven
# wrapped apps, on a loaded machine) answered none of the warm-up or of a short run, and
# every worker wrote calls 0 (a ZeroDivisionError below, seen under gunicorn 27.0.1).
open(os.path.join(os.environ["OUT_DIR"], f"ready-{os.getpid()}"), "w").close()


@atexit.register
def _report():
    _totals["senders_at_exit"] = sum(
        1 for thread in threading.enumerate() if thread.name == "readme-metrics-worker")
    with open(os.path.join(os.environ["OUT_DIR"], f"{os.getpid()}.json"), "w") as out:
        json.dump(_totals, out)
"""


def _cpu(pid: int) -> dict[str, float]:
    """User and system CPU of a process (s), and per thread: the CPU (s, from schedstat)
    and voluntary and involuntary context switches of its main (serving) thread and of
    the others."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    out = {"user": int(fields[11]) / ticks, "system": int(fields[12]) / ticks}
    for role in ("main", "others"):
        out.update({f"{role}_cpu": 0.0, f"{role}_voluntary": 0, f"{role}_involuntary": 0})
    for task in os.listdir(f"/proc/{pid}/task"):
        role = "main" if int(task) == pid else "others"
        try:
            run_ns = int(Path(f"/proc/{pid}/task/{task}/schedstat").read_text().split()[0])
            status = Path(f"/proc/{pid}/task/{task}/status").read_text()
        except OSError:  # the thread ended meanwhile
            continue
        out[f"{role}_cpu"] += run_ns / 1e9
        for line in status.splitlines():
            if line.startswith("voluntary_ctxt_switches"):
                out[f"{role}_voluntary"] += int(line.split()[1])
            elif line.startswith("nonvoluntary_ctxt_switches"):
                out[f"{role}_involuntary"] += int(line.split()[1])
    return out


def _threads_during(workers: list[int], load: subprocess.Popen) -> int:
    """The most threads one worker had at once while ``load`` ran (sampled every 0.1 s):
    the serving thread, the watchdog and the senders alive."""
    most = 0
    while load.poll() is None:
        for pid in workers:
            try:
                most = max(most, len(os.listdir(f"/proc/{pid}/task")))
            except OSError:
                pass
        time.sleep(0.1)
    return most


def _rss_kib(pid: int) -> int:
    match = re.search(r"VmRSS:\s+(\d+)", Path(f"/proc/{pid}/status").read_text())
    return int(match.group(1)) if match else 0


def _others_cpu(arbiter: int, collector: bench.Collector) -> dict[str, float]:
    """CPU seconds so far of the processes beside the workers: the wrk runs this process
    has waited for (its children's rusage: each wrk, once ended), gunicorn's arbiter and
    the loopback collector."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return {"wrk": children.ru_utime + children.ru_stime,
            "arbiter": bench.process_cpu(arbiter),
            "collector": bench.process_cpu(collector.process.pid)}


def _machine() -> tuple[int, int]:
    """(all ticks, idle ticks) of the whole machine so far, from /proc/stat's cpu line."""
    ticks = [int(value) for value in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return sum(ticks), ticks[3] + ticks[4]  # idle + iowait


#: What runs under gunicorn, in this order in each round ("wrapped" is the real thing).
VARIANTS = ("bare", "delivery_off", "handoff_only", "no_post", "no_build", "wrapped",
            "inline")
#: The variants whose logs reach the collector.
POSTING = ("no_build", "wrapped", "inline")


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
            workers = bench.wait_for_workers(server.pid, directory, 2)
            target = bench.wrk_target(port)
            warm = subprocess.run(["wrk", "-t1", "-c2", "-d1s", *target],
                                  capture_output=True, text=True, check=True).stdout
            before = [_cpu(pid) for pid in workers]
            rss_before = sum(_rss_kib(pid) for pid in workers)
            machine_before = _machine()
            others_before = _others_cpu(server.pid, collector)
            load = subprocess.Popen(["wrk", "-t2", "-c4", f"-d{seconds:g}s", *target],
                                    stdout=subprocess.PIPE, text=True)
            threads = _threads_during(workers, load)
            out = load.communicate()[0]
            after = [_cpu(pid) for pid in workers]
            rss_after = sum(_rss_kib(pid) for pid in workers)
            machine_after = _machine()
            others_after = _others_cpu(server.pid, collector)
        finally:
            server.terminate()
            server.wait(30)
        served = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
        warmed = int(re.search(r"(\d+) requests in", warm).group(1))  # type: ignore[union-attr]
        timed = [json.loads(path.read_text()) for path in Path(directory).glob("*.json")]
    calls = sum(t["calls"] for t in timed)
    posts = sum(t["posts"] for t in timed)
    if not calls or not served:
        raise RuntimeError(f"{variant}: the workers served no request (wrk answered "
                           f"{served}, the workers' app calls {calls}; {len(timed)} of "
                           f"{len(workers)} workers wrote their figures at exit)")

    def per_request(key: str, scale: float = 1e6) -> float:
        return round(sum(a[key] - b[key] for a, b in zip(after, before)) / served * scale, 2)

    app = sum(t["app_ns"] for t in timed) / calls / 1000
    handle = sum(t["handle_ns"] for t in timed) / calls / 1000
    serving = per_request("main_cpu")
    return {
        "served": served,
        "requests_per_second": round(served / seconds),
        "served_with_warm_up": served + warmed,
        "thread_cpu_us_per_call": round(app, 1),
        "serving_thread_us_per_request": round(serving, 1),
        "of_it_app_call_us": round(app, 1),
        "of_it_gunicorn_request_us": round(handle - app, 1),
        "of_it_gunicorn_accept_loop_us": round(serving - handle, 1),
        "other_threads_us_per_request": round(per_request("others_cpu"), 1),
        "user_us_per_request": round(per_request("user"), 1),
        "system_us_per_request": round(per_request("system"), 1),
        # The rest of the machine's two cores, per request: wrk, gunicorn's arbiter, the
        # loopback collector (the benchmark's own: the real Metrics API is elsewhere), the
        # idle time and whatever else ran (other processes), from /proc/stat.
        **{f"{part}_us_per_request": round((others_after[part] - others_before[part])
                                           / served * 1e6, 1)
           for part in ("wrk", "arbiter", "collector")},
        "machine_us_per_request": round(
            (machine_after[0] - machine_before[0]) / os.sysconf("SC_CLK_TCK")
            / served * 1e6, 1),
        "machine_idle_us_per_request": round(
            (machine_after[1] - machine_before[1]) / os.sysconf("SC_CLK_TCK")
            / served * 1e6, 1),
        "machine_idle_percent": round(
            100 * (machine_after[1] - machine_before[1])
            / max(1, machine_after[0] - machine_before[0]), 1),
        "serving_thread_voluntary_switches_per_request": per_request("main_voluntary", 1),
        "serving_thread_involuntary_switches_per_request": per_request(
            "main_involuntary", 1),
        "other_threads_voluntary_switches_per_request": per_request("others_voluntary", 1),
        # Warm-ups included (the counts are the workers' whole lives).
        "requests_per_post": round(calls / posts, 1) if posts else 0,
        "gc_passes_per_1000_requests": [
            round(sum(t["gc_passes"][generation] for t in timed) / calls * 1000, 2)
            for generation in range(3)],
        "gc_cpu_us_per_request": round(sum(t["gc_ns"] for t in timed) / calls / 1000, 2),
        "most_threads_in_a_worker": threads,
        "senders_at_exit": sum(t["senders_at_exit"] for t in timed),
        "rss_growth_kib_per_worker": round((rss_after - rss_before) / len(workers)),
    }


def _median(values: list[Any]) -> Any:
    """The median of numbers, or of lists of numbers element by element."""
    if isinstance(values[0], list):
        return [statistics.median(column) for column in zip(*values)]
    return statistics.median(values)


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
        report[variant] = {key: _median([run[key] for run in values]) for key in values[0]}
        report[variant]["served"] = sum(run["served"] for run in values)
        report[variant]["served_with_warm_up"] = sum(run["served_with_warm_up"]
                                                     for run in values)
    for values in report.values():
        if isinstance(values, dict):
            values["worker_cpu_us_per_request"] = round(
                values["serving_thread_us_per_request"]
                + values["other_threads_us_per_request"], 1)
    bare = report["bare"]
    for variant in variants[1:]:
        values = report[variant]
        values["middleware_thread_us_per_request"] = round(
            values["thread_cpu_us_per_call"] - bare["thread_cpu_us_per_call"], 1)
        values["ratio_to_bare"] = round(
            values["requests_per_second"] / bare["requests_per_second"], 2)
        # Where the worker's CPU beyond the bare app's goes, per request (medians).
        values["added_to_bare_us"] = {
            part: round(values[key] - bare[key], 1) for part, key in (
                ("worker", "worker_cpu_us_per_request"),
                ("app_call", "of_it_app_call_us"),
                ("gunicorn_request", "of_it_gunicorn_request_us"),
                ("gunicorn_accept_loop", "of_it_gunicorn_accept_loop_us"),
                ("other_threads", "other_threads_us_per_request"))}
    # Every request served by a variant that posts, warm-ups included, is a log; wrk does
    # not count the requests in flight when it stops, so the collector may hold a few more.
    for variant in set(POSTING) & chosen:
        report[variant]["delivered"] = (
            f"{logs[variant]} of {report[variant]['served_with_warm_up']} served")
    report["load_average_at_end"] = [round(value, 2) for value in os.getloadavg()]
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
