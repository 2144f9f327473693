"""blackbox13's server-option sweep (tests/support/blackbox13_apps.py, wrapped):
uvicorn --root-path, --proxy-headers, --limit-concurrency, a websocket, a client leaving
a slow stream, hypercorn's HTTP/2 (h2c), uvicorn --workers 2 under a slow API's load
with the loop's lag probed.

.. code-block:: sh

    python benchmarks/blackbox13_servers.py SCENARIO   # list: see SCENARIOS
"""

from __future__ import annotations

import os
import socket
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
import requests  # noqa: E402
from blackbox13_sweep import logs_for, start  # noqa: E402

from tests.support.fake_api import Collector, Reply  # noqa: E402
from tests.support.processes import end_stragglers  # noqa: E402


def show(collector: Collector, tag: str, wait: float = 5.0) -> list[dict[str, Any]]:
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline and not logs_for(collector, tag):
        time.sleep(0.1)
    time.sleep(0.5)
    entries = logs_for(collector, tag)
    for e in entries:
        print(
            "   log",
            e["request"]["method"],
            e["request"]["url"],
            e["response"]["status"],
            repr(e["response"]["content"].get("text", "")[:100]),
            "client",
            e["request"].get("clientIPAddress")
            or [h for h in e["request"]["headers"] if h["name"] == "x-forwarded-for"],
            "comment",
            repr(e.get("comment", "") or e["response"]["content"].get("comment", ""))[:160],
        )
    return entries


def run(name: str) -> None:
    out = tempfile.mkdtemp(prefix="bb13s-")
    collector = Collector().start()
    extra: list[str] = {
        "root-path": ["--root-path", "/api"],
        "proxy-headers": ["--proxy-headers", "--forwarded-allow-ips", "127.0.0.1"],
        "limit-concurrency": ["--limit-concurrency", "3"],
    }.get(name, ["--workers", "2"] if name.startswith("workers2") else [])
    if name == "workers2-api1s":
        collector.default = Reply(delay=1.0)
    server = (
        "hypercorn" if name.startswith("h2") else os.environ.get("BB13_SERVER", "uvicorn-httptools")
    )
    process, base = start(server, not name.endswith("-bare"), collector, out, extra)
    try:
        tag = f"t{time.monotonic_ns()}"
        if name == "root-path":
            r = requests.get(f"{base}/where?t={tag}", timeout=10)
            print(" client", r.status_code, r.text)
            r = requests.get(f"{base}/api/where?t={tag}b", timeout=10)
            print(" client(prefixed)", r.status_code, r.text)
            show(collector, tag)
            r = requests.get(f"{base}/sub/hi?t={tag}c", timeout=10)
            print(" client sub", r.status_code, r.text)
            show(collector, tag + "c")
        elif name in ("bg-long", "bg-long-sync"):
            path = "/bg" if name == "bg-long" else "/bg-sync"
            started = time.monotonic()
            r = requests.get(f"{base}{path}?t={tag}&seconds=20", timeout=10)
            print(" client", r.status_code, r.text, "in %.2fs" % (time.monotonic() - started))
            entries = show(collector, tag, wait=15)
            print(
                " logs",
                len(entries),
                "%.1fs after the call (the task runs 20 s)" % (time.monotonic() - started),
            )
        elif name == "proxy-headers":
            r = requests.get(
                f"{base}/where?t={tag}",
                timeout=10,
                headers={"x-forwarded-for": "203.0.113.9", "x-forwarded-proto": "https"},
            )
            print(" client", r.status_code, r.text)
            show(collector, tag)
        elif name == "limit-concurrency":
            results: list[int] = []

            def one(i: int) -> None:
                try:
                    results.append(
                        requests.get(f"{base}/slow?ms=1000&t={tag}-{i}", timeout=20).status_code
                    )
                except requests.RequestException:
                    results.append(-1)

            threads = [threading.Thread(target=one, args=(i,)) for i in range(8)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            print(" statuses", sorted(results))
            entries = show(collector, tag)
            print(
                " served",
                len(results),
                "logs",
                len(entries),
                "by status",
                sorted(e["response"]["status"] for e in entries),
            )
        elif name == "websocket":
            import websockets.sync.client as wsc

            with wsc.connect(base.replace("http", "ws") + f"/ws?t={tag}") as ws:
                ws.send("hi")
                print(" ws got", ws.recv())
                ws.send("bye")
            r = requests.get(f"{base}/where?t={tag}after", timeout=10)
            entries = show(collector, tag)
            print(" logs", len(entries), "(expect 1: the GET after)")
        elif name == "stream-leave":
            s = socket.create_connection(("127.0.0.1", int(base.rsplit(":", 1)[1])))
            s.sendall(f"GET /stream?t={tag}&n=100&delay=0.05 HTTP/1.1\r\nHost: x\r\n\r\n".encode())
            got = b""
            while got.count(b"data:") < 5:
                got += s.recv(65536)
            s.close()
            print(" client got", got.count(b"data:"), "events, then left")
            show(collector, tag, wait=10)
        elif name.startswith("slow-consumer"):
            s = socket.create_connection(("127.0.0.1", int(base.rsplit(":", 1)[1])))
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16384)
            s.sendall(
                f"GET /big?t={tag}&n=500 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode()
            )
            got, started = 0, time.monotonic()
            while True:
                data = s.recv(16384)
                if not data:
                    break
                got += len(data)
                time.sleep(0.002)
            s.close()
            print(" client read", got, "bytes in %.1fs" % (time.monotonic() - started))
            entries = show(collector, tag, wait=10)
            for e in entries:
                print(
                    "  size",
                    e["response"]["content"]["size"],
                    "bodySize",
                    e["response"]["bodySize"],
                    "time",
                    e["time"],
                )
        elif name.startswith("stop-mid-stream"):
            s = socket.create_connection(("127.0.0.1", int(base.rsplit(":", 1)[1])))
            s.sendall(f"GET /stream?t={tag}&n=100&delay=0.05 HTTP/1.1\r\nHost: x\r\n\r\n".encode())
            got = b""
            while got.count(b"data:") < 5:
                got += s.recv(65536)
            process.terminate()
            s.settimeout(30)
            try:
                while data := s.recv(65536):
                    got += data
            except OSError as error:
                print(" client", repr(error))
            s.close()
            print(
                " client got",
                got.count(b"data:"),
                "events, ends",
                repr(got[-30:]),
                "server rc",
                process.wait(30),
            )
            entries = show(collector, tag, wait=5)
            for e in entries:
                print(
                    "  size",
                    e["response"]["content"]["size"],
                    "events",
                    e["response"]["content"].get("text", "").count("data:"),
                )
        elif name == "h2-post":
            import h2.config
            import h2.connection
            import h2.events

            port = int(base.rsplit(":", 1)[1])
            body = bytes(range(256)) * 800  # 200 KB: past the 64 KB initial window
            sock = socket.create_connection(("127.0.0.1", port))
            conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
            conn.initiate_connection()
            sock.sendall(conn.data_to_send())
            stream = conn.get_next_available_stream_id()
            conn.send_headers(
                stream,
                [
                    (":method", "POST"),
                    (":path", f"/raw?t={tag}"),
                    (":scheme", "http"),
                    (":authority", "x"),
                    ("content-type", "application/octet-stream"),
                ],
            )
            sent, answer, status, done = 0, b"", None, False
            while not done:
                while sent < len(body) and conn.local_flow_control_window(stream) > 0:
                    n = min(
                        conn.local_flow_control_window(stream),
                        conn.max_outbound_frame_size,
                        len(body) - sent,
                    )
                    conn.send_data(stream, body[sent : sent + n], end_stream=sent + n == len(body))
                    sent += n
                sock.sendall(conn.data_to_send())
                for event in conn.receive_data(sock.recv(65536)):
                    if isinstance(event, h2.events.ResponseReceived):
                        status = dict(event.headers)[b":status"]
                    elif isinstance(event, h2.events.DataReceived):
                        answer += event.data
                        conn.acknowledge_received_data(event.flow_controlled_length, stream)
                    elif isinstance(event, h2.events.StreamEnded):
                        done = True
                sock.sendall(conn.data_to_send())
            sock.close()
            print(" h2 POST", status, answer)
            for e in show(collector, tag):
                print(
                    "  log bodySize",
                    e["request"]["bodySize"],
                    "httpVersion",
                    e["request"]["httpVersion"],
                    e["response"]["httpVersion"],
                )
        elif name == "h2":
            from tests.support.h2c import h2_get

            port = int(base.rsplit(":", 1)[1])
            print(" h2", repr(h2_get(port, f"/where?t={tag}"))[:300])
            print(" h2 stream", repr(h2_get(port, f"/stream?t={tag}s&n=5"))[:300])
            show(collector, tag)
        elif name.startswith("workers2"):
            lag: list[float] = []
            served = {"n": 0, "bad": 0}
            stop_at = time.monotonic() + 8

            def client(ms: int, i: int) -> None:
                k = 0
                while time.monotonic() < stop_at:
                    try:
                        r = requests.get(f"{base}/slow?ms={ms}&t={tag}-{i}-{k}", timeout=30)
                        served["n" if r.status_code == 200 else "bad"] += 1
                    except requests.RequestException:
                        served["bad"] += 1
                    k += 1

            def probe() -> None:
                while time.monotonic() < stop_at:
                    try:
                        lag.append(requests.get(f"{base}/lag?t=probe", timeout=30).json()["lag_ms"])
                    except requests.RequestException:
                        pass

            threads = [
                threading.Thread(target=client, args=(250 if i % 2 else 1000, i)) for i in range(16)
            ] + [threading.Thread(target=probe)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            deadline = time.monotonic() + (20 if "bare" not in name else 0)
            while time.monotonic() < deadline and len(logs_for(collector, tag)) < served["n"]:
                time.sleep(0.2)
            entries = logs_for(collector, tag)
            urls = [e["request"]["url"] for e in entries]
            print(
                " served",
                served,
                "delivered",
                len(set(urls)),
                "twice",
                len(urls) - len(set(urls)),
                f"lag ms max {max(lag):.1f} p50 {sorted(lag)[len(lag) // 2]:.1f} n {len(lag)}",
            )
    finally:
        process.terminate()
        end_stragglers(process)
        collector.stop()
    for f in Path(out).glob("*.err"):
        print(" stderr tail", f.name, f.read_text()[-1500:])
        text = f.read_text()
        lines = [
            ln
            for ln in text.splitlines()
            if "readme" in ln.lower() or "Traceback" in ln or "rror" in ln
        ]
        if lines:
            print(" stderr", f.name, lines[:8])


if __name__ == "__main__":
    for scenario in sys.argv[1:]:
        print("==", scenario)
        run(scenario)
