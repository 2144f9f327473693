"""A Metrics API that takes the POSTs and never answers (a black hole), on a fake clock:
how many POSTs a minute it sees from one process, and how soon a log is delivered once
it answers again.

.. code-block:: sh

    python benchmarks/blackhole.py                     # the PROBE_OVERLAP_CAP choices
    python benchmarks/blackhole.py --caps 10 --seeds 3

The library's :class:`Batcher` and :class:`Stretch` (the bound of a POST) are stepped
through every 10 ms as the senders, the attempt and the watchdog drive them: up to 32
POSTs in flight, each cut at the bound in force (which grows 3, 6, ... 30 s as POSTs
time out), then retried or dropped by the library's own rules. No thread, socket or
sleep: each figure is the same on any machine (the jitter's draws come from a seeded
generator). Two measures per ``PROBE_OVERLAP_CAP`` (0: no doubling, delivery19's rule):

- ``posts/min``: ``timeout`` 3 s, a log every 0.1 s, the API black-holed throughout: the
  POSTs begun over minutes 5 to 10, and the most in flight at once then;
- ``first log after back``: ``timeout`` 0.2 s, a log every 50 ms, the API black-holed for
  8, 30, 60 or 300 s, then answering in 5 ms: seconds from the first log queued after it
  came back until that log is delivered (median and worst of ``--seeds`` runs).

The model leaves out encoding and connections: it says what the scheduling rules do,
not what a real process measures (delivery19's 10.1 s, on real sockets, is 1.3 s here).
"""

from __future__ import annotations

import argparse
import functools
import os
import random
import statistics
import sys
from typing import Any, Optional

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from readme_metrics.delivery import health as health_module  # noqa: E402
from readme_metrics.delivery import pacing as pacing_module  # noqa: E402
from readme_metrics.delivery import policy  # noqa: E402
from readme_metrics.delivery.batcher import Batcher  # noqa: E402
from readme_metrics.delivery.queue import Batch, LogQueue  # noqa: E402
from readme_metrics.delivery.stretch import Stretch  # noqa: E402
from readme_metrics.exchange import Exchange, Group  # noqa: E402


def _log(name: str) -> Exchange:
    return Exchange(id=name, started=0.0, method="GET", url="http://api.test/x",
                    http_version="HTTP/1.1", request_headers=[], client_ip="127.0.0.1",
                    group=Group("caller"), response_body=b"", response_body_size=0)


def run(timeout: float, every: float, hole: tuple[float, float], seconds: float,
        count: tuple[float, float] = (0.0, 0.0), answer: float = 0.005, seed: int = 0,
        senders: int = policy.MAX_SENDERS, step: float = 0.01) -> dict[str, Any]:
    """One run: a log every ``every`` s, the API black-holed during ``hole``, POSTs
    counted during ``count``; stops once the first log queued after the hole is in."""
    draws = random.Random(seed)
    health_module.backoff_delay = functools.partial(policy.backoff_delay,
                                                     rand=draws.random)
    now = [0.0]
    queue = LogQueue(batch_size=1, interval=5.0, max_size=10_000, max_bytes=10**9)
    batcher = Batcher(queue, clock=lambda: now[0], probe_after=timeout,
                      max_senders=senders)
    bound = Stretch(timeout, functools.partial(policy.next_timeout, timeout=timeout))
    flight: dict[Batch, tuple[float, float, Optional[float]]] = {}
    names: dict[int, list[str]] = {}
    posts = most = logs = 0
    next_log = 0.0
    watched: Optional[str] = None
    queued_at = delivered_at = None
    while now[0] < seconds and delivered_at is None:
        now[0] = round(now[0] + step, 6)
        while next_log <= now[0]:
            name = f"log-{logs}"
            logs += 1
            log = _log(name)
            batcher.put(log, log.nbytes, inline=False)
            if watched is None and now[0] >= hole[1]:
                watched, queued_at = name, now[0]
            next_log += every
        for batch, (began, wanted, answer_at) in list(flight.items()):
            if answer_at is not None and now[0] >= answer_at:
                del flight[batch]
                if not batch.attempts:  # (Attempt: the first attempt's time, any outcome)
                    batcher.staffing.observe(post_s=now[0] - began)
                bound.answered(began, now[0] - began, wanted)
                if watched in names.get(id(batch), ()):
                    delivered_at = now[0]
                batcher.settle(batch, None)
            elif answer_at is None and now[0] >= began + max(bound.seconds, wanted):
                del flight[batch]  # the watchdog cuts it at the bound in force
                cut = max(bound.seconds, wanted)
                if not batch.attempts:
                    batcher.staffing.observe(post_s=now[0] - began)
                bound.timed_out(cut, began)
                batch.timeout = max(policy.next_timeout(cut, timeout), bound.seconds)
                bound.seconds = max(bound.seconds, batch.timeout)
                batch.attempts += 1
                if batcher.exhausted(batch, policy.MAX_ATTEMPTS):
                    batcher.settle(batch, "retries_exhausted")
                else:
                    batcher.retry_later(batch, None)
        while len(flight) < senders:
            with queue.lock:
                batch, _ = batcher.take_locked()
            if batch is None:
                break
            if batch.items is not None:
                names[id(batch)] = [log.id for log in batch.items]
            batch.sent_at = now[0]
            if count[0] <= now[0] < count[1]:
                posts += 1
                most = max(most, len(flight) + 1)
            black = hole[0] <= now[0] < hole[1]
            flight[batch] = (now[0], max(bound.seconds, batch.timeout),
                             None if black else now[0] + answer)
    minutes = (count[1] - count[0]) / 60 or 1.0
    return {"posts_per_min": posts / minutes, "most_in_flight": most,
            "first_after_back_s": (None if delivered_at is None or queued_at is None
                                   else delivered_at - queued_at)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--caps", default="0,5,10,15,30",
                        help="PROBE_OVERLAP_CAP values, seconds (0: no doubling)")
    parser.add_argument("--seeds", type=int, default=12)
    args = parser.parse_args()
    for cap in (float(value) for value in args.caps.split(",")):
        policy_cap = cap or 1e-9  # (0: the wait stays timeout)
        pacing_module.PROBE_OVERLAP_CAP = policy_cap
        steady = [run(3.0, 0.1, (0.0, 1e9), 600.0, count=(300.0, 600.0), seed=seed)
                  for seed in range(min(args.seeds, 3))]
        line = [f"cap {cap:g} s: posts/min",
                "/".join(f"{r['posts_per_min']:.1f}" for r in steady),
                "most in flight", "/".join(str(r["most_in_flight"]) for r in steady)]
        for hole in (8.0, 30.0, 60.0, 300.0):
            took = [run(0.2, 0.05, (5.0, 5.0 + hole), 5.0 + hole + 120.0,
                        seed=seed)["first_after_back_s"] for seed in range(args.seeds)]
            done = [t for t in took if t is not None]
            line.append(f"after {hole:g} s: median {statistics.median(done):.1f}, "
                        f"worst {max(done):.1f} s ({len(done)} of {len(took)} in)")
        print("; ".join(str(part) for part in line), flush=True)


if __name__ == "__main__":
    main()
