"""``server``: the small GET under gunicorn (2 sync workers) driven by wrk, bare and
wrapped: requests per second, and each process's CPU apart (benchmarks/accounting.py)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path
from typing import Any

import accounting  # benchmarks/accounting.py

from benchlib import HERE, ROOT
from benchlib.collectors import Collector
from benchlib.inprocess import median_of
from benchlib.processes import free_port, log, wait_for_port, wait_for_workers
from benchlib.workload import GET_HEADERS

GUNICORN_APP = textwrap.dedent("""
    import atexit, itertools, os, sys
    sys.path.insert(0, os.environ["BENCH_DIR"])
    import bench

    # Every request the worker served, counted outside the middleware and written at the
    # worker's exit: wrk counts only the requests answered before its clock stopped, not
    # the (up to one per connection) in flight then, which the workers still serve and log.
    served = itertools.count()

    def counted(app):
        def app_served(environ, start_response):
            next(served)
            return app(environ, start_response)
        return app_served

    def write_served():
        path = os.path.join(os.environ["BENCH_SERVED_DIR"], f"served-{os.getpid()}")
        with open(path, "w") as file:
            file.write(str(next(served)))

    atexit.register(write_served)
    bare = counted(bench.get_app)
    wrapped = counted(bench.wrap(bench.get_app, os.environ["METRICS_URL"]))

    # The app is imported: this worker serves from now on (wait_for_workers). Before,
    # on a loaded machine the warm-up could end before the workers had imported it (0
    # requests answered at load 17), and the measured run held their imports' CPU.
    if os.environ.get("BENCH_SERVED_DIR"):
        open(os.path.join(os.environ["BENCH_SERVED_DIR"], f"ready-{os.getpid()}"), "w").close()
""")


def wrk_target(port: int) -> list[str]:
    """wrk's last arguments for the benchmark's GET to ``port``: ``GET_HEADERS`` (but Host
    and Connection, which wrk writes itself) and the URL."""
    headers = []
    for name, value in GET_HEADERS.items():
        if name not in ("Host", "Connection"):
            headers += ["-H", f"{name}: {value}"]
    return [*headers, f"http://127.0.0.1:{port}/v1/widgets/12345?expand=owner&limit=10"]


def run_wrk(app_name: str, directory: str, collector: Collector,
            seconds: float) -> dict[str, float]:
    port = free_port()
    env = {**os.environ, "METRICS_URL": collector.url, "BENCH_DIR": str(HERE),
           "PYTHONPATH": os.pathsep.join([directory, str(ROOT)]), "BENCH_SERVED_DIR": directory}
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--workers", "2", "--worker-class", "sync",
         "--bind", f"127.0.0.1:{port}", "--log-level", "warning", f"bench_app:{app_name}"],
        cwd=directory, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_port(port, "gunicorn")
        workers = wait_for_workers(server.pid, directory, 2)
        target = wrk_target(port)
        warm = subprocess.run(["wrk", "-t1", "-c2", "-d1s", *target],  # warm-up
                              capture_output=True, text=True, check=True).stdout
        warm_total = re.search(r"(\d+) requests in", warm)
        counting = collector.mode == "ok"  # the streams collector counts no POSTs

        def moment() -> accounting.Snapshot:
            counts = collector.posts() if counting else {"posts": 0, "logs": 0}
            return accounting.snapshot(server.pid, workers, collector.process.pid,
                                       counts["posts"], counts["logs"])

        before = moment()
        out = subprocess.run(["wrk", "-t2", "-c4", f"-d{seconds:g}s", *target],
                             capture_output=True, text=True, check=True).stdout
        after = moment()  # wrk, the one child reaped meanwhile, is in after.reaped
        match = re.search(r"Requests/sec:\s+([\d.]+)", out)
        total = re.search(r"(\d+) requests in", out)
        if match is None or total is None:
            raise RuntimeError(f"unexpected wrk output: {out}")
        answered = int(total.group(1))
        table = accounting.per_request(before, after, answered)
        figures = {
            "rps": float(match.group(1)),
            # What wrk saw answered, warm-up included (not the requests in flight when
            # its clock stopped: "served" below counts those too, at the workers).
            "wrk_answered": answered + (int(warm_total.group(1)) if warm_total else 0),
            "worker_cpu_us_per_request": table["workers_cpu_us"],
            "collector_cpu_us_per_request": table["collector_cpu_us"],
            "wrk_cpu_us_per_request": table["wrk_cpu_us"],
            **{f"per_request_{key}": value for key, value in table.items()},
        }
    finally:
        server.terminate()
        server.wait(30)
    counts = [Path(directory, f"served-{pid}") for pid in workers]
    # Every request the workers served, each one a log; wrk's count if a worker wrote none.
    figures["served"] = (sum(int(count.read_text()) for count in counts)
                         if all(count.exists() for count in counts) else figures["wrk_answered"])
    for count in counts:
        count.unlink(missing_ok=True)
    for pid in workers:
        Path(directory, f"ready-{pid}").unlink(missing_ok=True)
    return figures


def bench_server(repeat: int, seconds: float) -> dict[str, Any]:
    if shutil.which("wrk") is None:
        return {"skipped": "wrk not installed (apt-get install wrk)"}
    # BENCH_COLLECTOR=streams: the collector before cpu13 (to measure the two against
    # each other); it counts no POSTs, so the accounting's per-POST figures read 0.
    collector = Collector(os.environ.get("BENCH_COLLECTOR", "ok"))
    runs: dict[str, list[dict[str, float]]] = {"bare": [], "wrapped": []}
    checked: dict[str, int] = {}
    try:
        with tempfile.TemporaryDirectory() as directory:
            Path(directory, "bench_app.py").write_text(GUNICORN_APP)
            for rep in range(repeat):
                order = ("bare", "wrapped") if rep % 2 == 0 else ("wrapped", "bare")
                for variant in order:
                    runs[variant].append(run_wrk(variant, directory, collector, seconds))
                log(f"server rep {rep + 1}/{repeat}: bare {runs['bare'][-1]['rps']:.0f} req/s, "
                    f"wrapped {runs['wrapped'][-1]['rps']:.0f} req/s")
        logged = collector.count()
        if collector.mode == "ok":
            checked = collector.posts()
    finally:
        collector.stop()
    bare, wrapped = median_of(runs["bare"]), median_of(runs["wrapped"])
    table = {variant: {key[len("per_request_"):]: value for key, value in figures.items()
                       if key.startswith("per_request_")}
             for variant, figures in (("bare", bare), ("wrapped", wrapped))}
    bare_cpu, wrapped_cpu = (run["worker_cpu_us_per_request"] + run["wrk_cpu_us_per_request"]
                             for run in (bare, wrapped))
    return {
        "seconds": seconds, "gunicorn_workers": 2, "wrk": "-t2 -c4",
        "bare_rps": round(bare["rps"]), "wrapped_rps": round(wrapped["rps"]),
        "ratio": round(wrapped["rps"] / bare["rps"], 3),
        # CPU of the gunicorn worker processes per request served (all their threads),
        # and of the stand-in collector, which shares the machine's two cores.
        "bare_worker_cpu_us_per_request": round(bare["worker_cpu_us_per_request"], 1),
        "wrapped_worker_cpu_us_per_request": round(wrapped["worker_cpu_us_per_request"], 1),
        "collector_cpu_us_per_request": round(wrapped["collector_cpu_us_per_request"], 1),
        # wrk's own CPU per request, on the same two cores (the load generator's).
        "bare_wrk_cpu_us_per_request": round(bare["wrk_cpu_us_per_request"], 1),
        "wrapped_wrk_cpu_us_per_request": round(wrapped["wrk_cpu_us_per_request"], 1),
        # The ratio the CPU per request predicts when the benchmark's processes have the
        # two cores to themselves and keep them busy: bare (workers + wrk) over wrapped
        # (workers + wrk + collector); and the same with the collector elsewhere, as the
        # real Metrics API is (the collector is the benchmark's own, but takes the cores'
        # time from the workers). Estimates, not measurements: "ratio" stays the figure,
        # and every log is still counted at the collector.
        "cpu_model_ratio": round(bare_cpu / (wrapped_cpu
                                             + wrapped["collector_cpu_us_per_request"]), 3),
        "cpu_model_ratio_collector_elsewhere": round(bare_cpu / wrapped_cpu, 3),
        "rps_runs": {variant: [round(run["rps"]) for run in values]
                     for variant, values in runs.items()},
        # Per request served (wrk's count), the medians of the runs, each process apart
        # (benchmarks/accounting.py): CPU in us, context switches, the collector's CPU
        # per POST and per log, the machine's idle time and what other processes took.
        "accounting": {**table, "added": {
            key: round(table["wrapped"][key] - table["bare"][key], 3)
            for key in table["wrapped"]
            if not key.startswith(("logs_per", "collector_cpu_us_per"))}},
        # The collector: "ok" counts each POST's logs by a scan and checks the scan by a
        # full parse of one body in VERIFY_EVERY; "streams" is the one before cpu13.
        "collector": {"mode": collector.mode, **checked, "measured": (
            "logs counted by a scan per POST, one POST in VERIFY_EVERY parsed in full "
            "(verified, mismatches); not pinned: its CPU shares the two cores and is "
            "counted apart (accounting), not in the workers'" if collector.mode == "ok"
            else "the asyncio streams loop of before cpu13; not pinned")},
        "collector_logs": logged,
        # The workers flush at their exit (server.terminate()), so every wrapped request
        # served should be there.
        "delivered": f"{logged} of {sum(run['served'] for run in runs['wrapped']):g} served",
        "wrk_answered": sum(run["wrk_answered"] for run in runs["wrapped"]),
    }
