"""A request thread's wait for the GIL while sender threads encode a backlog, at once or
one at a time (delivery45).

.. code-block:: sh

    python benchmarks/encode_convoy.py                  # 1, 2, 4 encoders, 3 rounds
    python benchmarks/encode_convoy.py --encoders 1,3 --rounds 5 --batches 6

The logs are real: bench.py's small GET served by the wrapped app in this process, each
exchange kept as the middleware queues it (its ``submit`` replaced, nothing sent). Then,
per variant, ``--encoders`` threads each build and encode ``--batches`` batches of 500 of
them (``Sender.encode``, as a sender does with a POST's worth of a backlog), either all
at once (``at_once``: how senders encoded before delivery45) or through one lock
(``one_at_a_time``: ``Attempt.encoding``), while this thread, the "request thread",
does what a served request does between two reads of its socket: a round trip to an echo
server in its own process on 127.0.0.1 (the GIL released while it waits) and a little
Python. Per variant, the medians over ``--rounds``: the round trips' p50, p99 and max
(ms), how many took over 5 ms (the GIL's switch interval) per 1,000, and the encoders'
logs per second (the same CPU either way: the GIL lets one run at a time). One JSON
document on stdout.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench  # noqa: E402

ECHO = """
import socket, sys
server = socket.socket()
server.bind(("127.0.0.1", 0))
server.listen(1)
print(server.getsockname()[1], flush=True)
conn, _ = server.accept()
while True:
    data = conn.recv(64)
    if not data:
        break
    conn.sendall(data)
"""

POST_LOGS = 500


def captured(count: int) -> tuple[Any, list[Any]]:
    """The wrapped app's Sender and ``count`` exchanges as its middleware queued them."""
    app = bench.wrap(bench.get_app, "http://127.0.0.1:9/")
    items: list[Any] = []
    app.pipeline.submit = lambda item: items.append(item) or True
    for _ in range(count):
        environ = bench.environ_for("GET")
        for _chunk in app(environ, lambda status, headers, exc_info=None: None):
            pass
    return app.pipeline.delivery._sender, items


def run(sender: Any, items: list[Any], encoders: int, batches: int,
        one_at_a_time: bool) -> dict[str, Any]:
    echo = subprocess.Popen([sys.executable, "-c", ECHO], stdout=subprocess.PIPE, text=True)
    try:
        port = int(echo.stdout.readline())  # type: ignore[union-attr]
        conn = socket.create_connection(("127.0.0.1", port))
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        lock = threading.Lock()
        start = threading.Barrier(encoders + 1)
        encoded = [0]

        def encode() -> None:
            start.wait()
            for _ in range(batches):
                if one_at_a_time:
                    with lock:
                        sender.encode(items, lambda exc, item: None)
                else:
                    sender.encode(items, lambda exc, item: None)
                encoded[0] += len(items)

        threads = [threading.Thread(target=encode) for _ in range(encoders)]
        for thread in threads:
            thread.start()
        start.wait()
        began = time.perf_counter()
        trips: list[float] = []
        while any(thread.is_alive() for thread in threads):
            t0 = time.perf_counter()
            conn.sendall(b"x")
            conn.recv(64)
            sum(range(50))  # (a little Python, as a request does between reads)
            trips.append((time.perf_counter() - t0) * 1000)
        took = time.perf_counter() - began
        for thread in threads:
            thread.join()
        conn.close()
    finally:
        echo.kill()
        echo.wait()
    trips.sort()
    return {"round_trips": len(trips), "p50_ms": trips[len(trips) // 2],
            "p99_ms": trips[int(len(trips) * 0.99)], "max_ms": trips[-1],
            "over_5ms_per_1000": 1000 * sum(1 for t in trips if t > 5) / len(trips),
            "encoded_logs_per_s": encoded[0] / took}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--encoders", default="1,2,4")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--batches", type=int, default=4)
    args = parser.parse_args()
    sender, items = captured(POST_LOGS)
    report: dict[str, Any] = {"load_average_at_start": [round(v, 2) for v in os.getloadavg()],
                              "logs_per_batch": POST_LOGS, "batches_per_encoder": args.batches}
    runs: dict[str, list[dict[str, Any]]] = {}
    for _ in range(args.rounds):
        for encoders in (int(n) for n in args.encoders.split(",")):
            for one in (False, True):
                if encoders == 1 and one:
                    continue  # (the same thing)
                name = f"{encoders}_{'one_at_a_time' if one else 'at_once'}"
                runs.setdefault(name, []).append(
                    run(sender, items, encoders, args.batches, one))
    for name, values in runs.items():
        report[name] = {key: round(statistics.median(run[key] for run in values), 2)
                        for key in values[0]}
    report["load_average_at_end"] = [round(v, 2) for v in os.getloadavg()]
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
