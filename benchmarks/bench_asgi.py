"""The ``asgi`` part of benchmarks/bench.py: what readme-metrics costs an ASGI app.

``inprocess``: the small GET of bench.py (13 request headers, a 62-byte JSON answer) as
an ASGI app, called in a loop on one event loop, bare and wrapped in
``readme_metrics.fastapi.ReadMeMetricsMiddleware`` and in the plain
``readme_metrics.asgi.MetricsMiddleware``, interleaved with the same GET through the WSGI
middleware, so the request paths are measured under the same load: mean/p50/p99
microseconds per call, CPU per request (all threads), logs delivered (``flush()``). The
p50 is the figure to compare: the mean is dominated by the few calls that wait while the
delivery thread holds the GIL, in both protocols alike.
``server``: the app under uvicorn (one worker, the FastAPI/Starlette middleware; its
default loop, uvloop where it is installed, named in the report) driven
by ``wrk`` on 127.0.0.1, bare and wrapped: requests per second, the ratio, and the logs
the collector received out of the requests wrk completed.

    python benchmarks/bench.py --only asgi --repeat 5
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path
from typing import Any, Optional

import bench

SCOPE_HEADERS = [(name.lower().encode(), value.encode())
                 for name, value in bench.GET_HEADERS.items()]
ANSWER_HEADERS = [(b"content-type", b"application/json"),
                  (b"content-length", str(len(bench.GET_BODY)).encode())]


async def get_app(scope: dict, receive: Any, send: Any) -> None:
    """bench.get_app as an ASGI app (with a lifespan that has nothing to set up)."""
    if scope["type"] == "lifespan":
        while True:
            kind = (await receive())["type"]
            await send({"type": kind + ".complete"})
            if kind == "lifespan.shutdown":
                return
    await send({"type": "http.response.start", "status": 200, "headers": ANSWER_HEADERS})
    await send({"type": "http.response.body", "body": bench.GET_BODY})


def scope_for() -> dict[str, Any]:
    return {
        "type": "http", "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1", "method": "GET", "scheme": "https",
        "path": "/v1/widgets/12345", "raw_path": b"/v1/widgets/12345",
        "query_string": b"expand=owner&limit=10", "root_path": "",
        "headers": list(SCOPE_HEADERS), "client": ("10.0.0.12", 50000),
        "server": ("api.example.com", 443),
    }


def wrap(app: Any, metrics_url: str, starlette: bool = True) -> Any:
    """The FastAPI/Starlette middleware, or with ``starlette=False`` the plain ASGI one."""
    from readme_metrics import MetricsApiConfig
    from readme_metrics.asgi import MetricsMiddleware
    from readme_metrics.fastapi import ReadMeMetricsMiddleware

    options: dict[str, Any] = {}
    if os.environ.get("BENCH_BUFFER_LENGTH"):
        options["buffer_length"] = int(os.environ["BENCH_BUFFER_LENGTH"])
    if os.environ.get("BENCH_DENYLIST"):  # instructions.py --denylist
        options["denylist"] = os.environ["BENCH_DENYLIST"].split(",")
    middleware = ReadMeMetricsMiddleware if starlette else MetricsMiddleware
    return middleware(app, MetricsApiConfig(
        api_key=bench.API_KEY, grouping_function=bench.grouping, metrics_api=metrics_url,
        base_log_url="https://docs.example.com", **options))


def run_inprocess(app: Any, requests: int, wrapped: Any) -> dict[str, float]:
    """Call ``app`` ``requests`` times on one loop; time each call and the delivery.

    As bench.run_inprocess does for WSGI: a warm-up (flushed, not counted), then the timed
    calls; CPU and wall clock run from the first timed call until every log is delivered.
    """
    message = {"type": "http.request", "body": b"", "more_body": False}
    marks: dict[str, Any] = {}

    async def receive() -> dict:
        return message

    async def send(message: dict) -> None:
        pass

    async def loop() -> list[int]:
        for _ in range(200):
            await app(scope_for(), receive, send)
        if wrapped is not None:
            await asyncio.get_running_loop().run_in_executor(None, wrapped.flush, 60)
            marks["stats"] = dict(wrapped.stats)
        samples = []
        clock = time.perf_counter_ns
        marks["cpu0"], marks["wall0"] = time.process_time(), time.perf_counter()
        for _ in range(requests):
            scope = scope_for()  # built outside the timed part
            t0 = clock()
            await app(scope, receive, send)
            samples.append(clock() - t0)
        marks["loop_end"] = time.perf_counter()
        return samples

    samples = asyncio.run(loop())
    complete = wrapped.flush(120) if wrapped is not None else True
    wall = time.perf_counter() - marks["wall0"]
    cpu = time.process_time() - marks["cpu0"]
    samples.sort()
    figures = {
        "mean_us": statistics.fmean(samples) / 1000,
        "p50_us": samples[len(samples) // 2] / 1000,
        "p99_us": samples[int(len(samples) * 0.99)] / 1000,
        "loop_us_per_request": (marks["loop_end"] - marks["wall0"]) / requests * 1e6,
        "end_to_end_us_per_request": wall / requests * 1e6,
        "cpu_us_per_request": cpu / requests * 1e6,
    }
    if wrapped is not None:
        before, after = marks["stats"], wrapped.stats
        figures["delivered"] = after["sent"] - before["sent"]
        figures["dropped"] = after["dropped"] - before["dropped"]
        figures["complete"] = float(complete)
    return figures


def _compare(bare: dict[str, float], wrapped: dict[str, float]) -> dict[str, Any]:
    keys = ("mean_us", "p50_us", "p99_us", "end_to_end_us_per_request", "cpu_us_per_request")
    return {
        "bare": bare, "wrapped": wrapped,
        "added": {key: round(wrapped[key] - bare[key], 2) for key in keys},
        "ratio_to_bare": {key: round(wrapped[key] / bare[key], 2) for key in keys},
    }


def bench_inprocess(repeat: int, requests: int) -> dict[str, Any]:
    """ASGI and WSGI small GET, bare and wrapped, interleaved; medians of ``repeat`` runs.

    Two ASGI middlewares: ``readme_metrics.fastapi`` (the grouping function gets
    Starlette's Request) and the plain ``readme_metrics.asgi`` one (it gets a webob
    Request, whose WSGI environ is built from the scope for every logged request).
    """
    collector = bench.Collector("ok")
    variants = ("asgi_bare", "fastapi_wrapped", "asgi_wrapped", "wsgi_bare", "wsgi_wrapped")
    runs: dict[str, list[dict[str, float]]] = {variant: [] for variant in variants}
    try:
        for rep in range(repeat):
            for variant in (variants if rep % 2 == 0 else variants[::-1]):
                runs[variant].append(_one_run(variant, requests, collector.url))
            bench.log(f"asgi inprocess rep {rep + 1}/{repeat}: p50 " + ", ".join(
                f"{variant} {values[-1]['p50_us']:.1f} us" for variant, values in runs.items()))
        logs = collector.count()
    finally:
        collector.stop()
    medians = {variant: bench.median_of(values) for variant, values in runs.items()}
    wsgi = _compare(medians["wsgi_bare"], medians["wsgi_wrapped"])
    report: dict[str, Any] = {"requests": requests, "wsgi_small_get": wsgi}
    for name in ("fastapi", "asgi"):
        asgi = _compare(medians["asgi_bare"], medians[f"{name}_wrapped"])
        report[f"{name}_small_get"] = asgi
        report[f"{name}_minus_wsgi_added_us"] = {
            key: round(asgi["added"][key] - wsgi["added"][key], 2) for key in asgi["added"]}
    # Every wrapped run serves a warm-up of 200 requests too; all of them are logged.
    report["logs_delivered"] = logs
    report["logs_served"] = 3 * repeat * (requests + 200)
    return report


def _one_run(variant: str, requests: int, metrics_url: str) -> dict[str, float]:
    if variant == "asgi_bare":
        return run_inprocess(get_app, requests, None)
    if variant == "wsgi_bare":
        return bench.run_inprocess(bench.get_app, "GET", b"", requests, None)
    if variant == "wsgi_wrapped":
        wrapped = bench.wrap(bench.get_app, metrics_url)
        try:
            return bench.run_inprocess(wrapped, "GET", b"", requests, wrapped)
        finally:
            wrapped.close()
    wrapped = wrap(get_app, metrics_url, starlette=variant == "fastapi_wrapped")
    try:
        return run_inprocess(wrapped, requests, wrapped)
    finally:
        wrapped.close()


# -- under uvicorn + wrk ------------------------------------------------------------------

UVICORN_APP = textwrap.dedent("""
    import atexit, json, os, sys
    sys.path.insert(0, os.environ["BENCH_DIR"])
    import bench_asgi

    bare = bench_asgi.get_app
    wrapped = bench_asgi.wrap(bench_asgi.get_app, os.environ["METRICS_URL"])

    def write_stats():  # after the exit flush (close() is idempotent)
        wrapped.close()
        with open(os.environ["BENCH_STATS_FILE"], "w") as out:
            json.dump(wrapped.stats, out)

    atexit.register(write_stats)
""")


def run_wrk(app_name: str, directory: str, collector: Any, seconds: float
            ) -> dict[str, float]:
    port = bench.free_port()
    stats_file = Path(directory, f"stats-{port}.json")
    env = {**os.environ, "METRICS_URL": collector.url, "BENCH_DIR": str(Path(__file__).parent),
           "PYTHONPATH": os.pathsep.join([directory, str(bench.ROOT)]),
           "BENCH_STATS_FILE": str(stats_file)}
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "--host", "127.0.0.1", "--port", str(port),
         "--no-access-log", "--log-level", "warning", f"bench_asgi_app:{app_name}"],
        cwd=directory, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        bench.wait_for_port(port, "uvicorn")
        target = bench.wrk_target(port)
        subprocess.run(["wrk", "-t1", "-c2", "-d1s", *target],  # warm-up
                       capture_output=True, check=True)
        cpu_before = bench.process_cpu(server.pid)
        out = subprocess.run(["wrk", "-t2", "-c4", f"-d{seconds:g}s", *target],
                             capture_output=True, text=True, check=True).stdout
        match = re.search(r"Requests/sec:\s+([\d.]+)", out)
        total = re.search(r"(\d+) requests in", out)
        if match is None or total is None:
            raise RuntimeError(f"unexpected wrk output: {out}")
        served = int(total.group(1))
        return {"rps": float(match.group(1)), "served": float(served),
                "server_cpu_us_per_request":
                    (bench.process_cpu(server.pid) - cpu_before) / served * 1e6}
    finally:
        # Ctrl-C: uvicorn shuts down (the lifespan end flushes the queue) and the
        # interpreter exits normally, so the stats are written (SIGTERM skips at-exit).
        server.send_signal(signal.SIGINT)
        server.wait(30)
        if stats_file.exists():
            stats = json.loads(stats_file.read_text())
            _SERVED_AND_SENT.append((stats["captured"] - stats["skipped"], stats["sent"]))


_SERVED_AND_SENT: list[tuple[int, int]] = []  # (served, sent) of each wrapped server run




def bench_server(repeat: int, seconds: float) -> dict[str, Any]:
    if shutil.which("wrk") is None:
        return {"skipped": "wrk not installed (apt-get install wrk)"}
    collector = bench.Collector("ok")
    runs: dict[str, list[dict[str, float]]] = {"bare": [], "wrapped": []}
    _SERVED_AND_SENT.clear()
    try:
        with tempfile.TemporaryDirectory() as directory:
            Path(directory, "bench_asgi_app.py").write_text(UVICORN_APP)
            for rep in range(repeat):
                order = ("bare", "wrapped") if rep % 2 == 0 else ("wrapped", "bare")
                for variant in order:
                    runs[variant].append(run_wrk(variant, directory, collector, seconds))
                bench.log(f"asgi server rep {rep + 1}/{repeat}: bare "
                          f"{runs['bare'][-1]['rps']:.0f} req/s, wrapped "
                          f"{runs['wrapped'][-1]['rps']:.0f} req/s")
        logged = collector.count()
    finally:
        collector.stop()
    bare, wrapped = bench.median_of(runs["bare"]), bench.median_of(runs["wrapped"])
    # uvicorn's --loop auto: uvloop where it is installed (the test extra has it)
    loop = "uvloop" if importlib.util.find_spec("uvloop") else "asyncio"
    return {
        "seconds": seconds, "server": f"uvicorn, 1 worker, {loop}", "wrk": "-t2 -c4",
        "bare_rps": round(bare["rps"]), "wrapped_rps": round(wrapped["rps"]),
        "ratio": round(wrapped["rps"] / bare["rps"], 3),
        "bare_server_cpu_us_per_request": round(bare["server_cpu_us_per_request"], 1),
        "wrapped_server_cpu_us_per_request": round(wrapped["server_cpu_us_per_request"], 1),
        "rps_runs": {variant: [round(run["rps"]) for run in values]
                     for variant, values in runs.items()},
        # From the wrapped server's own stats at exit (warm-up included), and the collector.
        "wrapped_requests_served": sum(served for served, _ in _SERVED_AND_SENT),
        "logs_sent": sum(sent for _, sent in _SERVED_AND_SENT),
        "logs_received_by_collector": logged,
    }


def bench_asgi(repeat: int, requests: int, seconds: Optional[float]) -> dict[str, Any]:
    """Both parts; the server part only when ``seconds`` is given."""
    report: dict[str, Any] = {"inprocess": bench_inprocess(repeat, requests)}
    if seconds:
        report["server"] = bench_server(repeat, seconds)
    return report
