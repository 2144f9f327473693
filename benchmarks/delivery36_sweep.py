"""Real servers stopped, recycled and killed as users run them: served, delivered and
said, per scenario (delivery36's black-box sweep).

.. code-block:: sh

    PYTHONPATH=. python benchmarks/delivery36_sweep.py              # every scenario
    PYTHONPATH=. python benchmarks/delivery36_sweep.py uw-teardown  # some

Each scenario starts a server (uWSGI from the pyuwsgi wheel, gunicorn, waitress) with a
plain WSGI app in the middleware (default options, but for those a scenario names)
posting to the tests' collector on 127.0.0.1, makes its requests one at a time (or a
few at once), stops the server as the scenario says and waits for its end. Then one
line: requests served (200) and failed, logs delivered (the collector's, a log twice
named), POSTs the collector failed, the server's exit code and how long its stop took,
and every line of the library's in the server's output (``said``). A log lost with no
line, a log twice, or a stop that hangs is a defect.
"""

from __future__ import annotations

import collections
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Callable, Optional

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.fake_api import Collector, Reply  # noqa: E402
from tests.support.ports import free_ports  # noqa: E402

UWSGI = str(Path(sys.executable).parent / "uwsgi")

_APP = '''\
import os, time
from readme_metrics import MetricsApiConfig, MetricsMiddleware

def _app(environ, start_response):
    path = environ.get("PATH_INFO", "")
    if path.startswith("/sleep/"):
        time.sleep(float(path.rsplit("/", 1)[1]))
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [str(os.getpid()).encode()]

def grouping(request):
    return {"api_key": "caller-36", "label": "sweep"}

app = MetricsMiddleware(_app, MetricsApiConfig(grouping_function=grouping))
'''


def run(name: str, argv: list[str], work: Path, paths: list[str], *,
        stop: Optional[signal.Signals] = signal.SIGTERM, reply: Optional[Reply] = None,
        first: tuple[Reply, ...] = (), env: Optional[dict[str, str]] = None,
        concurrency: int = 1) -> None:
    collector = Collector().start()
    if reply is not None:
        collector.default = reply
    collector.replies.extend(first)
    port = free_ports(1)[0]
    argv = [part.replace("{port}", str(port)) for part in argv]
    environ = {k: v for k, v in os.environ.items() if not k.startswith("README_")}
    environ.update(PYTHONPATH=f"{work}{os.pathsep}{ROOT}", PYTHONUNBUFFERED="1",
                   README_API_KEY="rdme_sweep36_key_0123456789",
                   README_METRICS_SERVER=collector.url, README_API_URL=collector.url,
                   README_BASE_LOG_URL="https://example.invalid", **(env or {}))
    output = work / f"{name}.log"
    with output.open("wb") as log:
        process = subprocess.Popen(argv, env=environ, cwd=work, stdout=log,
                                   stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                requests.options(f"{url}/nolog", timeout=2)
                break
            except requests.RequestException:
                if process.poll() is not None or time.monotonic() > deadline:
                    print(f"{name}: the server never answered")
                    return
                time.sleep(0.05)
        counts = collections.Counter[str]()

        def one(path: str) -> None:
            try:
                ok = requests.get(url + path, timeout=30).status_code == 200
            except requests.RequestException:
                ok = False
            counts["served" if ok else "failed"] += 1

        with ThreadPoolExecutor(concurrency) as pool:
            list(pool.map(one, paths))
        began = time.monotonic()
        if stop is not None:
            os.kill(process.pid, stop)
        try:
            code: Any = process.wait(60)
        except subprocess.TimeoutExpired:
            code = "HUNG"
        took = time.monotonic() - began
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        collector.stop()
    logs = collector.logs
    urls = collections.Counter(
        log["request"]["log"]["entries"][0]["request"]["url"] for log in logs)
    twice = sum(n - 1 for n in urls.values() if n > 1)
    said = [line for line in output.read_text(errors="replace").splitlines()
            if "readme_metrics:" in line]
    print(json.dumps({"scenario": name, "served": counts["served"],
                      "failed": counts["failed"], "delivered": len(logs), "twice": twice,
                      "failed_posts": len(collector.failed), "exit": code,
                      "stop_took": round(took, 1), "said": said}))


def scenarios(work: Path) -> dict[str, Callable[[], None]]:
    http = [UWSGI, "--http-socket", "127.0.0.1:{port}", "--add-header", "Connection: close",
            "--module", "sweep36_app:app", "--need-app", "--master"]
    gunicorn = [sys.executable, "-m", "gunicorn", "--no-control-socket",
                "--bind=127.0.0.1:{port}", "--graceful-timeout=5"]
    five = [f"/r{i}" for i in range(5)]
    twenty = [f"/r{i}" for i in range(20)]
    return {
        "uw-term": lambda: run("uw-term", http + ["--processes=2", "--die-on-term"], work,
                               twenty),
        "uw-int": lambda: run("uw-int", http + ["--processes=2"], work, twenty,
                              stop=signal.SIGINT),
        "uw-quit": lambda: run("uw-quit", http + ["--processes=2"], work, twenty,
                               stop=signal.SIGQUIT),
        "uw-lazy": lambda: run("uw-lazy", http + ["--processes=2", "--die-on-term",
                                                  "--lazy-apps"], work, twenty),
        "uw-maxreq": lambda: run("uw-maxreq", http + [
            "--processes=2", "--die-on-term", "--max-requests=3",
            "--min-worker-lifetime=1"], work, [f"/sleep/0.1?{i}" for i in range(31)]),
        "uw-teardown": lambda: run("uw-teardown", http + [
            "--processes=1", "--die-on-term", "--skip-atexit-teardown"], work, five),
        "uw-skip-atexit": lambda: run("uw-skip-atexit", http + [
            "--processes=1", "--die-on-term", "--skip-atexit"], work, five),
        "uw-mercy": lambda: run("uw-mercy", http + [
            "--processes=2", "--die-on-term", "--worker-reload-mercy=3"], work,
            [f"/r{i}" for i in range(6)], reply=Reply(status=503, body=b"down"),
            env={"README_SHUTDOWN_TIMEOUT": "10"}),
        "uw-harakiri": lambda: run("uw-harakiri", http + [
            "--processes=1", "--die-on-term", "--harakiri=2"], work,
            five + ["/sleep/4"] + [f"/s{i}" for i in range(5)]),
        "gu-timeout": lambda: run("gu-timeout", gunicorn + [
            "--workers=1", "--timeout=2", "sweep36_app:app"], work,
            five + ["/sleep/6"] + [f"/s{i}" for i in range(5)]),
        "gu-recycle-timeout": lambda: run("gu-recycle-timeout", gunicorn + [
            "--graceful-timeout=30", "--workers=1", "--timeout=3", "--max-requests=3",
            "--max-requests-jitter=0", "sweep36_app:app"], work, ["/r0", "/r1"],
            reply=Reply(status=503, body=b"down"), env={"README_SHUTDOWN_TIMEOUT": "10"}),
        "gu-maxreq-load": lambda: run("gu-maxreq-load", gunicorn + [
            "--workers=2", "--max-requests=7", "--max-requests-jitter=3",
            "sweep36_app:app"], work, [f"/r{i}" for i in range(200)],
            reply=Reply(delay=0.3), concurrency=4),
        "gu-preload-maxreq-load": lambda: run("gu-preload-maxreq-load", gunicorn + [
            "--preload", "--workers=2", "--worker-class=gthread", "--threads=4",
            "--max-requests=9", "--max-requests-jitter=3", "sweep36_app:app"], work,
            [f"/r{i}" for i in range(200)], reply=Reply(delay=0.3), concurrency=6),
        "wa-429": lambda: run("wa-429", [
            sys.executable, "-m", "waitress", "--listen=127.0.0.1:{port}",
            "sweep36_app:app"], work, twenty, stop=signal.SIGINT,
            first=(Reply(status=429, headers={"Retry-After": "1"}),) * 3),
    }


def main(names: list[str]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        (work / "sweep36_app.py").write_text(_APP)
        every = scenarios(work)
        for name in names or list(every):
            every[name]()


if __name__ == "__main__":
    main(sys.argv[1:])
