"""Delivery after an outage of the Metrics API: delivered of served, and the drain.

.. code-block:: sh

    python benchmarks/outage.py                          # 10, 30, 60 s at 500/s and 2000/s
    python benchmarks/outage.py --runs 500@10 --kind refused

The wrapped GET app of bench.py (default options) is called at a fixed rate; the API on
127.0.0.1 (its own process) answers 202 after 50 ms for ``--lead`` seconds, then fails
every POST for the outage (``--kind``: 503, or ``refused``: nothing listens on its port,
or ``blackhole``: it reads each POST and never answers it, or ``edge``: it black-holes
the POSTs and answers a GET at once, as an edge in front of a dead backend would, or
``slow``: it answers each one 4 s late), then answers 202 after 50 ms again. A request
that carries no logs (a GET: delivery23's check that the host answers again) is
answered 404 at once when the API is up, and met as a POST is during the outage (but
``edge``); ``posts_in_outage`` and
``gets_in_outage`` count what the outage met. The load stops when the API comes back
(the moment "back"), or ``--after`` seconds later; then: seconds from back until the
queue is empty (``stats["queued"] == 0``), and until the API has every log the queue
took (``all_delivered_after_back_s``: served less those refused with the queue full,
``dropped_queue_full``, which no drain can deliver; before delivery28 every log served,
null whenever the queue had filled), delivered of served (distinct ``_id``), duplicates,
the drops by reason, and the POSTs the API received after back with the most in flight
at once. With ``--after``: the logs held (``stats["queued"]``) every 0.5 s after back,
and the seconds until delivery keeps up again (``caught_up_s``: the logs held no more
than a quarter second of traffic, and staying so); the pacing's answer-time estimate
(``post_s``) at back too. One JSON line per run on stdout, progress on stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
from typing import Any, Optional

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from bench import drive, get_app, log, request_loop, wrap  # noqa: E402


def serve(delay: float) -> None:
    """The API: its mode comes on stdin (``ok``, ``503``, ``refused``, ``blackhole``,
    ``edge``, ``slow``); GET /count on a
    second port (always up) says logs, distinct ids, POSTs since ``mark`` and the most in
    flight since then."""
    state: dict[str, Any] = {"mode": "ok", "logs": 0, "posts": 0, "in_flight": 0,
                             "most": 0, "failed_posts": 0, "gets": 0, "failed_gets": 0}
    ids: set[bytes] = set()
    names: set[bytes] = set()  # benchmarks/soak.py's calls (GET /names)

    async def answer(head: bytes, body: bytes, writer: asyncio.StreamWriter) -> None:
        get = not head.startswith(b"POST ")
        if state["mode"] != "ok":  # POSTs (and GETs) the outage met, whatever its kind
            state["failed_gets" if get else "failed_posts"] += 1
        if state["mode"] == "503":
            writer.write(b"HTTP/1.1 503 Service Unavailable\r\n"
                         b"Content-Length: 0\r\n\r\n")
            return
        if state["mode"] == "429":  # benchmarks/soak.py: slowed down, come back in 5 s
            writer.write(b"HTTP/1.1 429 Too Many Requests\r\nRetry-After: 5\r\n"
                         b"Content-Length: 0\r\n\r\n")
            return
        if state["mode"] == "blackhole" or (state["mode"] == "edge" and not get):
            await asyncio.sleep(3600)  # read, never answered (the client cuts it)
            return
        if state["mode"] == "slow":  # answers every request, 4 s late (past timeout)
            await asyncio.sleep(4.0)
        if get:  # a request that carries no logs (delivery23's check): answered at once
            state["gets"] += 1
            writer.write(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
            return
        state["posts"] += 1
        state["in_flight"] += 1
        state["most"] = max(state["most"], state["in_flight"])
        try:
            await asyncio.sleep(delay)
        finally:
            state["in_flight"] -= 1
        found = re.findall(rb'"_id":"([^"]+)"', body)
        state["logs"] += len(found)
        ids.update(found)
        names.update(re.findall(rb"name=(s\d+w\d+)", body))
        writer.write(b"HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n")

    handle = request_loop(answer, refused=lambda: state["mode"] == "refused")

    async def count(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        text = json.dumps(sorted(n.decode() for n in names)).encode() if head.startswith(
            b"GET /names") else json.dumps({"logs": state["logs"], "distinct": len(ids),
                           "posts": state["posts"], "most": state["most"],
                           "failed_posts": state["failed_posts"], "gets": state["gets"],
                           "failed_gets": state["failed_gets"]}).encode()
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(text), text))
        await writer.drain()
        writer.close()

    async def main() -> None:
        api = await asyncio.start_server(handle, "127.0.0.1", 0, backlog=512)
        port = api.sockets[0].getsockname()[1]
        control = await asyncio.start_server(count, "127.0.0.1", 0)
        print(port, control.sockets[0].getsockname()[1], flush=True)
        loop = asyncio.get_running_loop()
        while True:
            line = (await loop.run_in_executor(None, sys.stdin.readline)).strip()
            if not line:
                return
            if line == "mark":
                state["posts"] = state["most"] = 0
                continue
            if line == "refused" and api is not None:
                api.close()  # nothing listens: connections are refused
                await api.wait_closed()
                api = None
            elif line != "refused" and api is None:
                api = await asyncio.start_server(handle, "127.0.0.1", port, backlog=512,
                                                 reuse_address=True)
            state["mode"] = line

    asyncio.run(main())


class Api:
    """:func:`serve` in its own process."""

    def __init__(self, delay: float) -> None:
        self.process = subprocess.Popen([sys.executable, __file__, "serve", str(delay)],
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        text=True)
        assert self.process.stdout is not None
        port, control = self.process.stdout.readline().split()
        self.url = f"http://127.0.0.1:{port}"
        self.control = int(control)

    def say(self, line: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(line + "\n")
        self.process.stdin.flush()

    def counts(self) -> dict[str, int]:
        return dict(self._get(b"/count"))

    def names(self) -> set[str]:
        """The names (``name=s1w2``) of benchmarks/soak.py's calls in the logs received."""
        return set(self._get(b"/names"))

    def _get(self, path: bytes) -> Any:
        with socket.create_connection(("127.0.0.1", self.control)) as sock:
            sock.sendall(b"GET %s HTTP/1.1\r\nHost: x\r\n\r\n" % path)
            data = b""
            while True:
                chunk = sock.recv(4096)
                if not chunk:
                    break
                data += chunk
            return json.loads(data.split(b"\r\n\r\n", 1)[1])

    def stop(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        self.process.wait(10)


def run(rate: float, outage: float, kind: str, lead: float, delay: float,
        patience: float, after: float = 0.0) -> dict[str, Any]:
    api = Api(delay)
    try:
        app = wrap(get_app, api.url)
        served, _ = drive(app, rate, lead)
        api.say(kind)
        during, _ = drive(app, rate, outage)
        api.say("mark")
        api.say("ok")
        back = time.perf_counter()
        at_back = app.stats
        post_s_at_back = app.pipeline.delivery._batcher.staffing.post_s
        held: list[int] = []
        if after:
            sampling = True

            def sample() -> None:
                while sampling:
                    held.append(app.stats["queued"])
                    time.sleep(0.5)

            sampler = threading.Thread(target=sample)
            sampler.start()
            more, _ = drive(app, rate, after)
            sampling = False
            sampler.join()
            during += more
        total = served + during
        empty_s: Optional[float] = None
        all_s: Optional[float] = None
        while time.perf_counter() - back < patience:
            now = time.perf_counter() - back
            if empty_s is None and app.stats["queued"] == 0:
                empty_s = round(now, 2)
            taken = total - app.stats["dropped_queue_full"]
            if all_s is None and api.counts()["distinct"] >= taken:
                all_s = round(now, 2)
            if empty_s is not None and (all_s is not None
                                        or app.stats["sent"] + app.stats["dropped"] >= total):
                break
            time.sleep(0.02)
        app.close()
        stats = app.stats
        counts = api.counts()
    finally:
        api.stop()
    threads = sum(t.name == "readme-metrics-worker" for t in threading.enumerate())
    result = {
        "rate": rate, "outage_s": outage, "kind": kind, "served": total,
        "delivered": counts["distinct"], "duplicates": counts["logs"] - counts["distinct"],
        "queued_at_back": at_back["queued"], "empty_after_back_s": empty_s,
        "all_delivered_after_back_s": all_s,
        "dropped": {key[8:]: value for key, value in stats.items()
                    if key.startswith("dropped_") and value},
        "posts_after_back": counts["posts"], "most_in_flight_after_back": counts["most"],
        "posts_in_outage": counts["failed_posts"],
        "gets": counts["gets"] + counts["failed_gets"],
        "gets_in_outage": counts["failed_gets"],
        "retries": stats["retries"], "sender_threads": threads,
        "post_s_at_back": round(post_s_at_back, 3),
        "load_avg_1m": round(os.getloadavg()[0], 2),
    }
    if after:
        steady = rate * 0.25
        late = [n for n, count in enumerate(held) if count > steady]
        result["held_every_half_s"] = held
        result["caught_up_s"] = (0.5 * (late[-1] + 1) if late else 0.0)
    log(f"{kind} {outage:g} s at {rate:g}/s: {result['delivered']} of {total} delivered, "
        f"queue empty {empty_s} s after back, dropped {result['dropped']}")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", default="500@10,500@30,500@60,2000@10,2000@30,2000@60",
                        help="RATE@OUTAGE_SECONDS,...")
    parser.add_argument("--kind", default="503", choices=["503", "refused", "blackhole", "edge",
                                                          "slow"])
    parser.add_argument("--after", type=float, default=0.0,
                        help="seconds the load goes on after the API is back")
    parser.add_argument("--lead", type=float, default=2.0, help="seconds before the outage")
    parser.add_argument("--delay", type=float, default=0.05, help="API's answer, seconds")
    parser.add_argument("--patience", type=float, default=120.0,
                        help="most seconds to wait for the drain after back")
    args = parser.parse_args()
    for spec in args.runs.split(","):
        rate, outage = spec.split("@")
        print(json.dumps(run(float(rate), float(outage), args.kind, args.lead, args.delay,
                             args.patience, args.after)), flush=True)


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "serve":
        serve(float(sys.argv[2]))
    else:
        main()
