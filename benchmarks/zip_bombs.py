"""hostile31: one caller posting zip bombs as fast as it can, another well-behaved at a
steady rate, to a real Flask app under waitress (one process, 8 threads), the Metrics API
a collector on 127.0.0.1 answering in 50 ms, ``max_queue_size`` 50, ``denylist
["password"]``.

Each bomb is a 24 KiB zip whose entry inflates to 8 MiB of backslash escapes (the
costliest text found for the check: 0.5 s of CPU for its first 4 MiB, which hold no
key): a bomb read is kept (base64: nothing in it to hide), one refused by the budget is
hidden whole unread. (A bomb holding a key is cheap: the key is found before the
escapes are read.)

Per setting (the process's budget, the bound of a body): the good caller's logs served
and delivered, the attacker's posts, delivered and hidden, the bodies the budget
refused, the CPU of the app's process and of its busiest thread.

    python benchmarks/zip_bombs.py [--seconds 20] [--rate 200] [--only NAME ...]
"""

from __future__ import annotations

import argparse
import io
import json
import random
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support.fake_api import Collector, Reply  # noqa: E402

#: name: (inflated bytes a second, held, a body's bound); rate 0: no budget (as before).
SETTINGS = {
    "none-4MiB": (0, 0, 4 << 20),
    "none-1MiB": (0, 0, 1 << 20),
    "1MiB/s-4MiB": (1 << 20, 8 << 20, 4 << 20),
    "1MiB/s-1MiB": (1 << 20, 8 << 20, 1 << 20),
    "4MiB/s-4MiB": (4 << 20, 8 << 20, 4 << 20),
    # The same attacker posting as many random bytes as a bomb's (no zip): the drops that
    # the rate of logs alone costs with a queue of 50.
    "control": (1 << 20, 8 << 20, 4 << 20),
}

APP = """
import json, os, sys, threading
sys.path.insert(0, {root!r})
from flask import Flask, request
from readme_metrics import MetricsApiConfig
from readme_metrics.flask_readme import ReadMeMetrics
from readme_metrics.har import inflation_budget, zip_entries
from readme_metrics.har.inflation_budget import Bucket
rate, burst, body = {rate}, {burst}, {body}
inflation_budget.BUDGET = Bucket(rate, burst) if rate else Bucket(1e18, 1e18)
zip_entries.MOST_INFLATED = body
app = Flask(__name__)

@app.route("/upload", methods=["POST"])
def upload():
    request.get_data()
    return "ok"

@app.route("/good")
def good():
    return "ok"

@app.route("/stats")
def stats():
    threads = []
    for thread in threading.enumerate():
        try:
            with open(f"/proc/self/task/{{thread.native_id}}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
            ticks = int(fields[11]) + int(fields[12])
            threads.append((thread.name, ticks / os.sysconf("SC_CLK_TCK")))
        except OSError:
            pass
    cpu = os.times()
    return json.dumps({{"refused": inflation_budget.BUDGET.refused, "threads": threads,
                        "cpu": cpu.user + cpu.system}})

@app.route("/flush")
def flush():
    return json.dumps({{"flushed": extension.flush(60)}})

extension = ReadMeMetrics(MetricsApiConfig(
    api_key="any-key", metrics_api={collector!r}, max_queue_size=50,
    grouping_function=lambda request: {{"api_key": "caller"}}, denylist=["password"]), app)
from waitress import serve
serve(app, host="127.0.0.1", port={port}, threads=8, _quiet=True)
"""


def bomb() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("a.txt", (b"\\u0041" * 10 + b"\\") * ((8 << 20) // 61))
    return buffer.getvalue()


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def run(name: str, seconds: float, rate: float) -> dict[str, Any]:
    inflate, burst, body = SETTINGS[name]
    collector = Collector()
    collector.default = Reply(delay=0.05)
    collector.start()
    port = free_port()
    with tempfile.TemporaryDirectory() as work:
        script = Path(work, "app.py")
        script.write_text(APP.format(root=str(ROOT), rate=inflate, burst=burst, body=body,
                                     collector=collector.url, port=port))
        process = subprocess.Popen([sys.executable, str(script)], cwd=work,
                                   start_new_session=True)
        base = f"http://127.0.0.1:{port}"
        try:
            for _ in range(300):
                try:
                    requests.get(f"{base}/stats", timeout=1)
                    break
                except requests.ConnectionError:
                    time.sleep(0.05)
            started = requests.get(f"{base}/stats", timeout=5).json()
            payload, stop = bomb(), threading.Event()
            if name == "control":
                payload = random.Random(1).randbytes(len(payload))
            counts = {"good": 0, "bombs": 0}

            def attacker() -> None:
                with requests.Session() as session:
                    while not stop.is_set():
                        session.post(f"{base}/upload", data=payload, timeout=30,
                                     headers={"Content-Type": "application/zip"})
                        counts["bombs"] += 1

            def caller() -> None:
                with requests.Session() as session:
                    began = time.monotonic()
                    while not stop.is_set():
                        if session.get(f"{base}/good", timeout=30).status_code == 200:
                            counts["good"] += 1
                        due = began + counts["good"] / rate
                        time.sleep(max(0.0, due - time.monotonic()))

            threads = [threading.Thread(target=attacker), threading.Thread(target=caller)]
            for thread in threads:
                thread.start()
            time.sleep(seconds)
            stop.set()
            for thread in threads:
                thread.join()
            ended = requests.get(f"{base}/stats", timeout=30).json()
            flushed = requests.get(f"{base}/flush", timeout=90).json()["flushed"]
        finally:
            process.terminate()
            process.wait(30)
    entries = [log["request"]["log"]["entries"][0] if "request" in log else log
               for log in collector.logs]
    collector.stop()
    good = sum(1 for entry in entries if entry["request"]["url"].endswith("/good"))
    posted = [entry["request"].get("postData", {}) for entry in entries
              if entry["request"]["url"].endswith("/upload")]
    hidden = sum(1 for record in posted if record.get("text", "").startswith("[REDACTED"))
    busiest = max((cpu - dict(started["threads"]).get(thread, 0.0), thread)
                  for thread, cpu in ended["threads"] if thread != "MainThread")
    return {"setting": name, "seconds": seconds, "good_served": counts["good"],
            "good_delivered": good, "bombs_posted": counts["bombs"],
            "bombs_delivered": len(posted), "bombs_hidden": hidden,
            "refused": ended["refused"], "flushed": flushed,
            "app_cpu_s": round(ended["cpu"] - started["cpu"], 2),
            "busiest_thread": busiest[1], "busiest_cpu_s": round(busiest[0], 2)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--only", nargs="*", default=list(SETTINGS))
    options = parser.parse_args()
    for name in options.only:
        print(json.dumps(run(name, options.seconds, options.rate)), flush=True)


if __name__ == "__main__":
    main()
