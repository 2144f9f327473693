"""blackbox13's sweep: FastAPI features as a user meets them, bare vs wrapped, under real
ASGI servers, against a stand-in Metrics API on 127.0.0.1 (tests/support/blackbox13_apps.py).

.. code-block:: sh

    python benchmarks/blackbox13_sweep.py SERVER      # uvicorn-h11, uvicorn-httptools,
                                                      # hypercorn, daphne, granian

For each scenario: the client's status and body bare vs wrapped (same?), the logs the API
read for that call (count) and whether the log's request body size and response body are
what was sent. One line per scenario.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
import requests  # noqa: E402

from tests.support.fake_api import Collector  # noqa: E402
from tests.support.ports import free_port  # noqa: E402
from tests.support.processes import end_stragglers, start_server  # noqa: E402

PY = sys.executable
MODULE = "tests.support.blackbox13_apps:app"


def argv(server: str, port: int, extra: list[str]) -> list[str]:
    if server.startswith("uvicorn"):
        http = server.split("-")[1] if "-" in server else "auto"
        return [
            PY,
            "-m",
            "uvicorn",
            "--host=127.0.0.1",
            f"--port={port}",
            f"--http={http}",
            "--no-access-log",
            *extra,
            MODULE,
        ]
    if server == "hypercorn":
        return [PY, "-m", "hypercorn", "-b", f"127.0.0.1:{port}", *extra, MODULE]
    if server == "daphne":
        return [PY, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), *extra, MODULE]
    if server == "granian":
        return [
            PY,
            "-m",
            "granian",
            "--interface",
            "asgi",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            *extra,
            MODULE,
        ]
    raise SystemExit(f"unknown server {server}")


def wait_up(base: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            requests.get(base + "/where", timeout=2)
            return
        except requests.RequestException:
            time.sleep(0.1)
    raise SystemExit(f"{base} never came up")


def start(
    server: str, wrap: bool, collector: Collector, out: str, extra: tuple[str, ...] | list[str] = ()
) -> tuple[Any, str]:
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("README_")},
        "METRICS_URL": collector.url,
        "PROJECT_KEY": "rdme_bb13_key",
        "BB13_WRAP": "1" if wrap else "0",
        "BB13_OUT": out,
        "PYTHONPATH": str(ROOT),
    }
    process = start_server(
        argv(server, port, extra),
        cwd=str(ROOT),
        env=env,
        stdout=open(os.path.join(out, f"{server}-{wrap}.out"), "wb"),  # noqa: SIM115
        stderr=open(os.path.join(out, f"{server}-{wrap}.err"), "wb"),  # noqa: SIM115
    )
    base = f"http://127.0.0.1:{port}"
    wait_up(base)
    return process, base


def logs_for(collector: Collector, tag: str) -> list[dict[str, Any]]:
    found = []
    for log in collector.logs:
        for entry in log["request"]["log"]["entries"]:
            if tag in entry["request"]["url"]:
                found.append(entry)
    return found


BIG = os.urandom(20 * 1024 * 1024)

# name -> (method, path, kwargs)
CASES: dict[str, Callable[[str], tuple[str, str, dict[str, Any]]]] = {
    "dep-body": lambda t: ("POST", f"/dep-body?t={t}", {"data": b"x" * 5000}),
    "dep-yield": lambda t: ("GET", f"/dep-yield?t={t}", {}),
    "items-ok": lambda t: ("POST", f"/items?t={t}", {"json": {"name": "a", "n": 1}}),
    "items-422": lambda t: ("POST", f"/items?t={t}", {"json": {"name": "a", "n": "x"}}),
    "items-badjson": lambda t: (
        "POST",
        f"/items?t={t}",
        {"data": b"{bad", "headers": {"content-type": "application/json"}},
    ),
    "upload-20MB": lambda t: ("POST", f"/upload?t={t}", {"files": {"file": ("big.bin", BIG)}}),
    "form+file": lambda t: (
        "POST",
        f"/form?t={t}",
        {"data": {"name": "nm"}, "files": {"file": ("f.txt", b"hello file")}},
    ),
    "bg-task-1s": lambda t: ("GET", f"/bg?t={t}&tag={t}", {}),
    "bg-raise": lambda t: ("GET", f"/bg-raise?t={t}", {}),
    "stream-20": lambda t: ("GET", f"/stream?t={t}&n=20", {}),
    "stream-slow": lambda t: ("GET", f"/stream?t={t}&n=10&delay=0.05", {}),
    "sub-mount": lambda t: ("GET", f"/sub/hi?t={t}", {}),
    "flask-mount-get": lambda t: ("GET", f"/flask/echo?t={t}", {}),
    "flask-mount-post": lambda t: ("POST", f"/flask/echo?t={t}", {"data": b"y" * 3000}),
    "boom-500": lambda t: ("GET", f"/boom?t={t}", {}),
    "teapot-418": lambda t: ("GET", f"/teapot?t={t}", {}),
    "dep-stream": lambda t: ("POST", f"/dep-stream?t={t}", {"data": b"z" * 7000}),
    "big-20MB": lambda t: ("GET", f"/big?t={t}", {}),
    "ws-path-get": lambda t: ("GET", f"/ws?t={t}", {}),
    "file-5MB": lambda t: ("GET", f"/file?t={t}", {}),
    "upload-chunked": lambda t: (
        "POST",
        f"/upload?t={t}",
        {
            "data": (BIG[i : i + 65536] for i in range(0, 2 * 1024 * 1024, 65536)),
            "headers": {"content-type": "multipart/form-data; boundary=x"},
        },
    ),
    "raw-chunked-2MB": lambda t: (
        "POST",
        f"/raw?t={t}",
        {"data": (BIG[i : i + 65536] for i in range(0, 2 * 1024 * 1024, 65536))},
    ),
    "where": lambda t: ("GET", f"/where?t={t}", {}),
}


def call(base: str, method: str, path: str, kwargs: dict[str, Any]) -> tuple[int, bytes, float]:
    start_at = time.perf_counter()
    try:
        r = requests.request(method, base + path, timeout=60, **kwargs)
        return r.status_code, r.content, time.perf_counter() - start_at
    except requests.RequestException as error:
        return -1, repr(error).encode(), time.perf_counter() - start_at


def normalise(body: bytes, bare: str, wrapped: str) -> bytes:
    return (
        body.replace(wrapped.encode(), b"BASE")
        .replace(bare.encode(), b"BASE")
        .replace(wrapped.split(":")[-1].encode(), b"PORT")
        .replace(bare.split(":")[-1].encode(), b"PORT")
    )


def main() -> None:
    server = sys.argv[1]
    extra = sys.argv[2:]
    out = tempfile.mkdtemp(prefix="bb13-")
    collector = Collector().start()
    bare, bare_base = start(server, False, collector, out, extra)
    wrapped, wrap_base = start(server, True, collector, out, extra)
    results = []
    try:
        for name, make in CASES.items():
            tag = f"{name}-{time.monotonic_ns()}"
            method, path, kwargs = make(tag)
            s1, b1, _ = call(bare_base, method, path, kwargs)
            s2, b2, t2 = call(wrap_base, method, path, make(tag)[2])  # a generator is used up
            results.append((name, tag, s1, b1, s2, b2, t2, kwargs))
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if all(logs_for(collector, r[1]) for r in results):
                break
            time.sleep(0.2)
        time.sleep(1.0)
        for name, tag, s1, b1, s2, b2, t2, _ in results:
            entries = logs_for(collector, tag)
            same = s1 == s2 and normalise(b1, bare_base, wrap_base) == normalise(
                b2, bare_base, wrap_base
            )
            notes = []
            if entries:
                e = entries[0]
                res = e["response"]
                req = e["request"]
                text = res["content"].get("text", "")
                if res["status"] != s2:
                    notes.append(f"log status {res['status']} != {s2}")
                if text != b2.decode(errors="replace") and len(b2) < 100000:
                    notes.append(f"log resp {text[:60]!r} vs sent {b2[:60]!r}")
                size = req.get("bodySize")
                notes.append(f"time {e.get('time')}ms")
                notes.append(
                    f"req bodySize {size} postData {len(json.dumps(req.get('postData', {})))}c"
                )
                notes.append(f"comment {e.get('comment', '')[:80]!r}" if e.get("comment") else "")
            print(
                f"{server:18} {name:18} bare {s1} wrapped {s2} same={same} "
                f"logs={len(entries)} t={t2:.2f}s {' '.join(n for n in notes if n)}"
                + ("" if same else f" BARE {b1[:80]!r} WRAP {b2[:80]!r}")
            )
    finally:
        for p in (bare, wrapped):
            p.terminate()
            end_stragglers(p)
        collector.stop()
    print("out", out, "marks", sorted(os.listdir(out)))


if __name__ == "__main__":
    main()
