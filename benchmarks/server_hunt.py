"""Real servers against a misbehaving stand-in Metrics API: served vs delivered vs said
dropped (they must add up exactly, none twice). delivery34's black-box hunt.

.. code-block:: sh

    python benchmarks/server_hunt.py SERVER MODE [CALLS]
    # SERVER: gunicorn-sync, gunicorn-gthread, waitress (stopped by SIGINT: it takes no
    #   SIGTERM), uvicorn, hypercorn (SIGTERM)
    # MODE: slow1, slow5 (answers 1 s / 5 s late), flap (503 Retry-After: 1 two seconds
    #   in four), midclose (every third answer cut after 16 bytes), 413 (bodies over 30 KB),
    #   downstart (POSTs read and closed unanswered for 8 s), ok
    # HUNT_SHUTDOWN: README_SHUTDOWN_TIMEOUT (default 8; gunicorn's is 5 s graceful here)

CALLS GETs (default 400, 8 client threads, each a distinct name) with the server's
background sender (buffer_length 10, flush_interval 1 s, timeout 3 s), then the stop.
One JSON line, then the library's lines the server printed. A close that follows the
ASGI lifespan's flush and says "(the same logs, not more)" is counted once.
"""
from __future__ import annotations

import collections
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import requests

from tests.support.fake_api import Collector, Reply
from tests.support.ports import free_port
from tests.support.processes import end_stragglers, start_server
from tests.test_asgi_servers import SERVERS as ASGI
from tests.test_e2e_servers import SERVERS as WSGI
from tests.test_e2e_servers import server_env

server, mode = sys.argv[1], sys.argv[2]
calls = int(sys.argv[3]) if len(sys.argv) > 3 else 400
c = Collector().start()
t0 = time.monotonic()
count = [0]
lock = threading.Lock()


def judge(received):
    with lock:
        count[0] += 1
        n = count[0]
    age = time.monotonic() - t0
    if mode == "slow1":
        return Reply(delay=1.0)
    if mode == "slow5":
        return Reply(delay=5.0)
    if mode == "flap":  # 2 s of 503 Retry-After: 1, 2 s of 202, ...
        return Reply(status=503, headers={"Retry-After": "1"}) if int(age / 2) % 2 else Reply()
    if mode == "midclose":
        return Reply(partial=b"HTTP/1.1 202 Acc") if n % 3 == 0 else Reply()
    if mode == "413":
        return Reply(status=413) if len(received.body) > 30_000 else Reply()
    if mode == "downstart":
        return Reply(drop=True) if age < 8 else Reply()
    return Reply()


c.judge = judge
port = free_port()
env = server_env(c, README_BACKGROUND_WORKER_MODE="true", README_BUFFER_LENGTH="10",
                 README_FLUSH_INTERVAL="1",
                 README_SHUTDOWN_TIMEOUT=os.environ.get("HUNT_SHUTDOWN", "8"),
                 README_TIMEOUT="3", README_BASE_LOG_URL="https://docs.example.com")
if server in ASGI:
    argv = ASGI[server](port, "tests.support.asgi_apps:fastapi_app")
else:
    argv = WSGI[server](port, "tests.support.e2e_apps:plain_app")
out = Path(tempfile.mkdtemp()) / f"{server}-{mode}.log"
with out.open("wb") as log:
    p = start_server(argv, env=env, cwd=str(out.parent), stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            requests.options(f"{url}/nolog", timeout=2)
            break
        except (requests.ConnectionError, requests.Timeout):
            assert time.monotonic() < deadline and p.poll() is None, out.read_text()
            time.sleep(0.05)
    t0 = time.monotonic()
    served = 0
    session = threading.local()

    def call(i):
        s = getattr(session, "s", None) or requests.Session()
        session.s = s
        r = s.get(f"{url}/hello", params={"name": f"n{i}"}, timeout=30,
                  headers={"X-Api-Key": "caller-1"})
        return r.status_code == 200

    with ThreadPoolExecutor(8) as pool:
        served = sum(pool.map(call, range(calls)))
    began = time.monotonic()
    p.send_signal(signal.SIGINT if server == "waitress" else signal.SIGTERM)
    try:
        p.wait(60)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
    stop_s = time.monotonic() - began
    end_stragglers(p)
text = out.read_text(errors="replace")
names = collections.Counter()
for entry in c.logs:
    u = entry["request"]["log"]["entries"][0]["request"]["url"]
    q = parse_qs(urlsplit(u).query).get("name", [""])[0]
    if q.startswith("n"):
        names[q] += 1
said = 0
lines = []
lifespan = 0  # the lifespan's "still queued": said again (the same) by a close after it
for line in text.splitlines():
    if "readme_metrics" not in line:
        continue
    if "not delivered yet, still queued" in line:
        lifespan = int(re.search(r"(\d+) logs? not delivered", line).group(1))
        lines.append(line[:300])
        continue
    if "(the same logs, not more)" in line:
        lifespan = 0
    m = (re.search(r"(\d+) logs? not delivered", line)
         or re.search(r"batch of (\d+) logs?.*dropping it", line)
         or re.search(r"(\d+) logs? dropped (?:while it was full|as the delivery queue)", line))
    if m:
        said += int(m.group(1))
    lines.append(line[:300])
said += lifespan
c.stop()
delivered = len(names)
twice = sum(1 for v in names.values() if v > 1)
print(json.dumps({"server": server, "mode": mode, "served": served, "delivered": delivered,
                  "said_dropped": said, "adds_up": served == delivered + said, "twice": twice,
                  "posts": count[0], "stop_s": round(stop_s, 2)}))
for line in lines:
    print("   ", line)
