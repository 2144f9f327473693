"""blackbox14's misbehaving Metrics API: plain WSGI under gunicorn gthread (2 workers,
tests/support/blackbox14_apps.py) called 2,000 times at 300/s while the API on 127.0.0.1
fails in one way, then (for some) recovers; then a SIGTERM.

.. code-block:: sh

    python benchmarks/blackbox14_collector.py all
    python benchmarks/blackbox14_collector.py 500-recover,hang

Each beside the same app unwrapped (``bare_p50_ms``: called at the same pace at the same
time, so under the same load of the machine). Scenarios: ``fine`` (API answering in
250 ms); ``500-recover``, ``429-recover`` (Retry-After: 2), ``reset-recover`` (a few
bytes of an answer, then a RST), ``hang-recover`` (reads the POST, never answers) for
the first 4 s then fine; ``hang``, ``drip`` (an answer a byte every 50 ms, never
complete), ``closed`` (nothing listens on the port) the whole run.
``README_MAX_QUEUE_SIZE=1000`` so that the queue's bound is met. After the load the
API's recovery is waited for (all logs, 30 s at most), then SIGTERM. One JSON line:
served, delivered, said, twice (names read more than once), the client's p50/p99, the
server's RSS (KiB, all processes) sampled every second (peak, end), the stop's seconds.
"""

from __future__ import annotations

import argparse
import json
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Callable, Optional

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.blackbox14_run import (  # noqa: E402
    argv,
    load,
    names_in,
    rss_kb,
    said_in,
    server_env,
    stopped,
    wait_up,
)
from tests.support.drip import DripServer  # noqa: E402
from tests.support.fake_api import Collector, Received, Reply  # noqa: E402
from tests.support.ports import free_port  # noqa: E402
from tests.support.processes import end_stragglers, start_server, stop_server  # noqa: E402

FINE = Reply(delay=0.25)
BAD: dict[str, Callable[[], Reply]] = {
    "500-recover": lambda: Reply(500, b'{"error": "boom"}'),
    "429-recover": lambda: Reply(429, b"{}", headers={"Retry-After": "2"}),
    "reset-recover": lambda: Reply(partial=b"HTTP/1.1 202 Acc"),
    "hang-recover": lambda: Reply(hang=3600),
    "hang": lambda: Reply(hang=3600),
}
OUTAGE_S = 4.0
SCENARIOS = ["fine", "500-recover", "429-recover", "reset-recover", "hang-recover",
             "hang", "drip", "closed"]


def run(name: str, calls: int, rate: float) -> dict[str, Any]:
    collector = Collector()
    collector.default = FINE
    collector.start()
    until = [float("inf")]
    if name in BAD:
        bad = BAD[name]
        forever = not name.endswith("-recover")

        def judge(received: Received) -> Reply:
            return bad() if forever or time.monotonic() < until[0] else FINE

        collector.judge = judge
    drip: Optional[DripServer] = None
    url = collector.url
    if name == "drip":
        drip = DripServer(interval=0.05, max_bytes=100000)
        url = drip.url
    elif name == "closed":
        url = f"http://127.0.0.1:{free_port()}"
    out = Path(tempfile.mkdtemp(prefix=f"bb14c-{name}-"))
    port = free_port()
    env = server_env(url, "plain_app", README_MAX_QUEUE_SIZE="1000", BB14_BARE="0")
    log = out / "server.log"
    with open(log, "wb") as sink:
        process = start_server(argv("gthread", "tests.support.blackbox14_apps:plain_app", port),
                               cwd=str(ROOT), env=env, stdout=sink, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    # The same app unwrapped beside it, called at the same pace at the same time: its
    # latency is the one to compare with, under the same load of the machine.
    bare_port = free_port()
    with open(out / "bare.log", "wb") as sink:
        bare = start_server(argv("gthread", "tests.support.blackbox14_apps:plain_app",
                                 bare_port), cwd=str(ROOT), env={**env, "BB14_BARE": "1"},
                            stdout=sink, stderr=subprocess.STDOUT)
    bare_base = f"http://127.0.0.1:{bare_port}"
    bare_got: dict[str, Any] = {}
    rss: list[int] = []
    done = threading.Event()
    try:
        wait_up(base, process)
        wait_up(bare_base, bare)

        def sample() -> None:
            while not done.wait(1):
                rss.append(rss_kb(process.pid))

        threading.Thread(target=sample, daemon=True).start()
        until[0] = time.monotonic() + OUTAGE_S
        side = threading.Thread(target=lambda: bare_got.update(load(bare_base, calls, rate)))
        side.start()
        got = load(base, calls, rate)
        side.join()
        deadline = time.monotonic() + 30
        while name.endswith("-recover") or name == "fine":
            if len(names_in(collector)) >= got["served"] or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        wait_s = round(time.monotonic() + 30 - deadline, 1)
        done.set()
        began = time.monotonic()
        process.send_signal(signal.SIGTERM)
        rc = stopped(process)
        stop_s = round(time.monotonic() - began, 2)
    finally:
        done.set()
        end_stragglers(process)
        stop_server(bare)  # (before: terminated, never waited for)
        if drip is not None:
            drip.close()
    time.sleep(0.5)
    names = names_in(collector)
    collector.stop()
    said, lines = said_in(log.read_text(errors="replace"))
    delivered = len(names)
    return {
        "scenario": name, "served": got["served"], "delivered": delivered, "said": said,
        "adds_up": got["served"] == delivered + said,
        "twice": sum(1 for v in names.values() if v > 1),
        "p50_ms": got["p50_ms"], "p99_ms": got["p99_ms"], "bare_p50_ms": bare_got.get("p50_ms"),
        "bare_p99_ms": bare_got.get("p99_ms"), "client_failed": got["failed"],
        "rss_peak_kb": max(rss) if rss else None, "rss_end_kb": rss[-1] if rss else None,
        "recovered_wait_s": wait_s, "stop_s": stop_s, "rc": rc,
        "posts_ok": len(collector.received), "posts_failed": len(collector.failed),
        "lines": lines[:10], "log": str(log)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("scenarios", help="names (a,b) of SCENARIOS, or all")
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--rate", type=float, default=300)
    args = parser.parse_args()
    for name in SCENARIOS if args.scenarios == "all" else args.scenarios.split(","):
        print(json.dumps(run(name, args.calls, args.rate)), flush=True)


if __name__ == "__main__":
    main()
