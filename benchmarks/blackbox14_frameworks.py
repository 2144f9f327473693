"""blackbox14's sweep: frameworks and servers less walked (tests/support/blackbox14_apps.py,
blackbox14_django*.py), wrapped as README says, under load against a stand-in Metrics API
on 127.0.0.1, then stopped gracefully (SIGTERM). Counts served vs delivered vs said.

.. code-block:: sh

    python benchmarks/blackbox14_frameworks.py all              # the whole matrix
    python benchmarks/blackbox14_frameworks.py plain-waitress   # one (see RUNS)
    python benchmarks/blackbox14_frameworks.py plain-gthread --calls 300000 --rate 500 \\
        --delay 0.1 --rss                                       # the soak

Each call a distinct name (``/hello?name=nN``) paced at ``--rate`` per second by 8
client threads; one 1 MB upload and one streamed answer among them. served = answers
read whole (status 200); delivered = distinct names the API read; said = what the
library's own lines count as not delivered; twice = names the API read more than once.
Also checked on the logs: method, URL with its query, status, bodies (the upload's size,
the stream whole) and the group id hashed. One JSON line per run.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Optional
from urllib.parse import parse_qs, urlsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.blackbox14_run import (  # noqa: E402
    RUNS,
    argv,
    check_entries,
    load,
    named_entries,
    rss_kb,
    said_in,
    server_env,
    stopped,
    wait_up,
)
from tests.support.fake_api import Collector, Reply  # noqa: E402
from tests.support.ports import free_port  # noqa: E402
from tests.support.processes import end_stragglers, start_server  # noqa: E402


def run(name: str, calls: int, rate: float, delay: float, sample_rss: bool,
        stop_at: Optional[float] = None) -> dict[str, Any]:
    server, target = RUNS[name]
    out = Path(tempfile.mkdtemp(prefix=f"bb14-{name}-"))
    collector = Collector()
    collector.default = Reply(delay=delay)
    collector.start()
    port = free_port()
    env = server_env(collector.url, target.rsplit(":", 1)[1],
                     BB14_BARE=os.environ.get("BB14_BARE", "0"),
                     BB14_SIGTERM="1" if server == "waitress" else "0")
    log = out / "server.log"
    with open(log, "wb") as sink:
        process = start_server(argv(server, target, port), cwd=str(ROOT), env=env,
                               stdout=sink, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    rss: list[int] = []
    stop_rss = threading.Event()
    try:
        wait_up(base, process)
        if sample_rss:
            def sample() -> None:
                while not stop_rss.wait(10):
                    rss.append(rss_kb(process.pid))
            threading.Thread(target=sample, daemon=True).start()
        began = 0.0
        if stop_at is not None:  # SIGTERM in the middle of the load, which goes on
            def stop_soon() -> None:
                time.sleep(stop_at)
                nonlocal began
                began = time.monotonic()
                process.send_signal(signal.SIGTERM)
            threading.Thread(target=stop_soon, daemon=True).start()
        got = load(base, calls, rate)
        stop_rss.set()
        if stop_at is None:
            began = time.monotonic()
            process.send_signal(signal.SIGTERM)
        rc = stopped(process)
        stop_s = round(time.monotonic() - began, 2)
    finally:
        stop_rss.set()
        end_stragglers(process)
    time.sleep(0.5)
    named = named_entries(collector)
    names = collections.Counter(name for name, _, _ in named)
    entries = [entry for _, entry, _ in named]
    groups = {one["group"]["id"] for _, _, one in named}
    collector.stop()
    said, lines = said_in(log.read_text(errors="replace"))
    result = {
        "run": name, "served": got["served"], "delivered": len(names), "said": said,
        "adds_up": got["served"] == len(names) + said,
        "twice": sum(1 for v in names.values() if v > 1),
        "hashed": all(g.startswith("sha512-") and "owlbert" not in g for g in groups),
        "wrong": check_entries(entries, got, calls),
        # Logs of calls the client did not read whole: what the log says, what it met.
        "unserved_logged": [
            (e["request"]["url"].split("?")[1][:12], e["response"]["status"], e["time"],
             e["response"].get("comment", "") + e["response"]["content"].get("comment", ""),
             got["errors"].get(parse_qs(urlsplit(e["request"]["url"]).query)["name"][0]))
            for e in entries
            if parse_qs(urlsplit(e["request"]["url"]).query)["name"][0] not in got["names"]
        ][:5],
        "client_failed": got["failed"], "load_s": got["load_s"], "p50_ms": got["p50_ms"],
        "p99_ms": got["p99_ms"], "stop_s": stop_s, "rc": rc,
        "posts": len(collector.received), "lines": lines[:8], "log": str(log)}
    if sample_rss:
        result["rss_kb"] = rss
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("run", help="names in RUNS (a,b), all, or from:NAME")
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--rate", type=float, default=300)
    parser.add_argument("--delay", type=float, default=0.25)
    parser.add_argument("--rss", action="store_true")
    parser.add_argument("--stop-at", type=float, default=None,
                        help="SIGTERM this many seconds into the load (it goes on)")
    args = parser.parse_args()
    names = list(RUNS) if args.run == "all" else args.run.split(",")
    if args.run.startswith("from:"):
        names = list(RUNS)[list(RUNS).index(args.run[5:]):]
    for name in names:
        result = run(name, args.calls, args.rate, args.delay, args.rss, args.stop_at)
        print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
