"""blackbox14's harness (benchmarks/blackbox14_frameworks.py, blackbox14_collector.py,
tests/test_blackbox14_findings.py): the servers' command lines and environment, the paced
client, the stop by SIGTERM, the library's lines that say logs were not delivered, a
process tree's RSS."""

from __future__ import annotations

import collections
import json
import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Optional
from urllib.parse import parse_qs, urlsplit

import requests

from tests.support.fake_api import Collector
from tests.support.processes import LINE_WAIT

ROOT = Path(__file__).resolve().parents[2]
PY = sys.executable
MOD = "tests.support.blackbox14_apps"
DJ = "tests.support.blackbox14_django_asgi:application"
UPLOAD = os.urandom(1024 * 1024)
STREAM_N = 2000


def argv(server: str, target: str, port: int) -> list[str]:
    bind = f"127.0.0.1:{port}"
    guni = [PY, "-m", "gunicorn", "-b", bind, "--no-control-socket", "-w", "2"]
    return {
        "waitress": [PY, "-m", "waitress", f"--listen={bind}", target],
        "sync": [*guni, "-k", "sync", target],
        "gthread": [*guni, "-k", "gthread", "--threads", "4", target],
        "gevent": [*guni, "-k", "gevent", target],
        "uvicorn": [PY, "-m", "uvicorn", "--host=127.0.0.1", f"--port={port}",
                    "--no-access-log", target],
        "hypercorn": [PY, "-m", "hypercorn", "-b", bind, target],
        "hypercorn-w2": [PY, "-m", "hypercorn", "-w", "2", "-b", bind, target],
        "uvicorn-w2": [PY, "-m", "uvicorn", "--host=127.0.0.1", f"--port={port}",
                       "--no-access-log", "--workers", "2", target],
        "daphne": [PY, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), target],
    }[server]


def server_env(url: str, app: str, **extra: str) -> dict[str, str]:
    """A server's environment: this one's but README_*, the key, the Metrics API at
    ``url``, the repo importable, ``BB14_APP`` the app (tests/support/blackbox14_apps)."""
    return {**{k: v for k, v in os.environ.items() if not k.startswith("README_")},
            "README_API_KEY": "rdme_bb14_key", "README_METRICS_SERVER": url,
            "PYTHONPATH": str(ROOT), "BB14_APP": app, **extra}


def stopped(process: subprocess.Popen[bytes]) -> Optional[int]:
    """A server sent SIGTERM: its exit code within 90 s (None: killed then, and waited
    for)."""
    try:
        return process.wait(90)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(LINE_WAIT)
        return None


RUNS: dict[str, tuple[str, str]] = {
    "plain-waitress": ("waitress", f"{MOD}:plain_app"),
    "plain-sync": ("sync", f"{MOD}:plain_app"),
    "plain-gthread": ("gthread", f"{MOD}:plain_app"),
    "plain-gevent": ("gevent", f"{MOD}:plain_app"),
    "pyramid-waitress": ("waitress", f"{MOD}:pyramid_app"),
    "pyramid-sync": ("sync", f"{MOD}:pyramid_app"),
    "falcon-sync": ("sync", f"{MOD}:falcon_app"),
    "falcon-waitress": ("waitress", f"{MOD}:falcon_app"),
    "falcon-asgi-uvicorn": ("uvicorn", f"{MOD}:falcon_asgi_app"),
    "falcon-asgi-hypercorn": ("hypercorn", f"{MOD}:falcon_asgi_app"),
    "bottle-waitress": ("waitress", f"{MOD}:bottle_app"),
    "bottle-gthread": ("gthread", f"{MOD}:bottle_app"),
    "django-uvicorn": ("uvicorn", DJ),
    "django-daphne": ("daphne", DJ),
    "django-hypercorn": ("hypercorn", DJ),
    "starlette-uvicorn": ("uvicorn", f"{MOD}:starlette_app"),
    # Less walked still: no with_lifespan (daphne "needs nothing"; hypercorn unnamed),
    # several workers, Falcon's ASGI app under daphne, Pyramid under gevent.
    "django-plain-daphne": ("daphne", DJ.replace(":application", ":plain_application")),
    "django-plain-hypercorn": ("hypercorn", DJ.replace(":application", ":plain_application")),
    "django-hypercorn-w2": ("hypercorn-w2", DJ),
    "falcon-asgi-daphne": ("daphne", f"{MOD}:falcon_asgi_app"),
    "falcon-asgi-uvicorn-w2": ("uvicorn-w2", f"{MOD}:falcon_asgi_app"),
    "starlette-hypercorn-w2": ("hypercorn-w2", f"{MOD}:starlette_app"),
    "pyramid-gevent": ("gevent", f"{MOD}:pyramid_app"),
    "starlette-daphne": ("daphne", f"{MOD}:starlette_app"),
}

SAID = [re.compile(p) for p in (
    # (delivery80: a close at its deadline says those the API may have apart, too)
    r"(\d+) logs? not delivered(?:, (\d+) unknown)?",
    r"batch of (\d+) logs?.*dropping it",
    r"(\d+) logs? dropped (?:while it was full|as the delivery queue)",
    r"(\d+) (?:calls?|requests?|logs?) (?:answered|served) .*no log",
    r"unfinished .*: (\d+) not delivered",  # ("exiting with 1 request unfinished ...")
)]


def said_in(text: str, width: int = 300) -> tuple[int, list[str]]:
    """How many logs a server's output (``text``) says were not delivered, and the
    library's lines in it (each cut at ``width`` characters)."""
    said, lifespan, lines = 0, 0, []
    for line in text.splitlines():
        if "readme_metrics" not in line:
            continue
        lines.append(line[:width])
        if "not delivered yet, still queued" in line:
            m = re.search(r"(\d+) logs? not delivered", line)
            lifespan = int(m.group(1)) if m else 0
            continue
        if "(the same logs, not more)" in line:
            lifespan = 0
        for pattern in SAID:
            m = pattern.search(line)
            if m:
                said += sum(int(group) for group in m.groups() if group)
                break
    return said + lifespan, lines


def rss_kb(pid: int) -> int:
    """The RSS of ``pid`` and its children (gunicorn's workers), in KiB."""
    total = 0
    pids = [pid]
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        pids += [int(c) for c in children]
        for c in children:
            pids += [int(g) for g in
                     Path(f"/proc/{c}/task/{c}/children").read_text().split()]
    except OSError:
        pass
    for p in pids:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total


def wait_up(base: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and process.poll() is None:
        try:
            requests.get(base + "/hello?name=ready", timeout=2)
            return
        except requests.RequestException:
            time.sleep(0.1)
    raise RuntimeError(f"{base} never came up (rc {process.poll()})")


def load(base: str, calls: int, rate: float, clients: int = 8,
         halfway: threading.Event | None = None) -> dict[str, Any]:
    """``calls`` GETs paced at ``rate``/s; the upload and the stream among them.
    ``halfway`` is set once half of them were served: a stop sent then meets the load."""
    served = [0]
    names: set[str] = set()
    errors: dict[str, str] = {}
    failed: collections.Counter[str] = collections.Counter()
    latencies: list[float] = []
    extra: dict[str, Any] = {}
    lock = threading.Lock()
    next_i = [0]
    start_at = time.monotonic() + 0.2

    def worker() -> None:
        s = requests.Session()
        s.headers["X-Api-Key"] = "owlbert-key"
        while True:
            with lock:
                i = next_i[0]
                next_i[0] += 1
            if i >= calls:
                return
            delay = start_at + i / rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            began = time.perf_counter()
            try:
                if i == calls // 4:
                    r = s.post(f"{base}/upload?name=n{i}&kind=upload", data=UPLOAD, timeout=30)
                    extra["upload"] = r.text
                elif i == calls // 2:
                    r = s.get(f"{base}/stream?name=n{i}&n={STREAM_N}", timeout=30)
                    extra["stream"] = r.content
                else:
                    r = s.get(f"{base}/hello?name=n{i}&x=1", timeout=30)
                took = time.perf_counter() - began
                with lock:
                    if r.status_code == 200:
                        served[0] += 1
                        names.add(f"n{i}")
                        if halfway is not None and served[0] == calls // 2:
                            halfway.set()
                        latencies.append(took)
                    else:
                        failed[str(r.status_code)] += 1
            except requests.RequestException as error:
                with lock:
                    failed[type(error).__name__] += 1
                    errors[f"n{i}"] = repr(error)[:200]

    threads = [threading.Thread(target=worker) for _ in range(clients)]
    began = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    latencies.sort()
    return {"served": served[0], "names": names, "errors": errors, "failed": dict(failed),
            "load_s": round(time.monotonic() - began, 1),
            "p50_ms": round(1000 * latencies[len(latencies) // 2], 2) if latencies else None,
            "p99_ms": round(1000 * latencies[int(len(latencies) * 0.99)], 2)
            if latencies else None, **extra}


def check_entries(entries: list[dict[str, Any]], got: dict[str, Any], calls: int) -> list[str]:
    """What is wrong in the logs of the upload, the stream and one GET."""
    wrong = []
    by = {parse_qs(urlsplit(e["request"]["url"]).query).get("name", [""])[0]: e
          for e in entries}
    hello = by.get("n1")
    if hello is None:
        wrong.append("n1 missing")
    else:
        req, res = hello["request"], hello["response"]
        if req["method"] != "GET" or not req["url"].endswith("/hello?name=n1&x=1"):
            wrong.append(f"n1 {req['method']} {req['url']}")
        if res["status"] != 200 or json.loads(res["content"].get("text") or "{}") != {
                "hello": "n1"}:
            wrong.append(f"n1 answer {res['status']} {res['content'].get('text')!r}")
    up = by.get(f"n{calls // 4}")
    if up is None:
        wrong.append("upload missing")
    else:
        req = up["request"]
        size = req.get("bodySize")
        if req["method"] != "POST" or size != len(UPLOAD):
            wrong.append(f"upload {req['method']} bodySize {size}")
        if up["response"]["content"].get("text") != got.get("upload"):
            wrong.append(f"upload answer {up['response']['content'].get('text')!r}")
    st = by.get(f"n{calls // 2}")
    if st is None:
        wrong.append("stream missing")
    else:
        text = st["response"]["content"].get("text", "")
        sent = (got.get("stream") or b"").decode()
        if text != sent or len(sent) != 11 * STREAM_N:
            wrong.append(f"stream logged {len(text)} chars, client read {len(sent)}")
    return wrong


def named_entries(collector: Collector) -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
    """(name, entry, its log) for each entry of the collector's logs of a named call
    (``?name=nN``), in order."""
    found = []
    for one in collector.logs:
        for entry in one["request"]["log"]["entries"]:
            q = parse_qs(urlsplit(entry["request"]["url"]).query).get("name", [""])[0]
            if q.startswith("n"):
                found.append((q, entry, one))
    return found


def names_in(collector: Collector) -> collections.Counter[str]:
    """How many times the collector read each named call."""
    return collections.Counter(name for name, _, _ in named_entries(collector))
