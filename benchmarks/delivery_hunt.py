"""Delivery under awkward traffic and APIs: every log delivered or counted, stats exact,
no sender thread left (delivery22's hunt).

.. code-block:: sh

    PYTHONPATH=. python benchmarks/delivery_hunt.py              # every case
    PYTHONPATH=. python benchmarks/delivery_hunt.py burst swing  # some

A Delivery with the default options (and the few a case names) posts to the tests'
collector (tests/support, on 127.0.0.1), which answers as each case says. After the load,
``flush(60)`` (or ``close()`` at once, for the close cases), ``close()``, and until the
senders still in a POST end (10 s at most); then one JSON line per case: served,
delivered (distinct ``_id`` at the collector), duplicates, stats (sent, dropped by
reason, queued), whether ``captured == sent + dropped + queued + skipped`` and the
reasons sum to ``dropped`` (``exact``), whether ``sent`` is what the collector has (not
when a close cut POSTs the API read: ``dropped_unknown``), the sender threads left, the
most POSTs in flight at once.
"""

from __future__ import annotations

import itertools
import json
import math
import os
import random
import sys
import threading
import time
from typing import Any, Callable, Optional

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from readme_metrics.config import MetricsApiConfig  # noqa: E402
from readme_metrics.delivery import Delivery  # noqa: E402
from tests.support.delivery import build_id, item  # noqa: E402
from tests.support.fake_api import Collector, Received, Reply  # noqa: E402

Judge = Callable[[Received], Reply]


def drive(delivery: Delivery, rate: float, seconds: float,
          body: Callable[[int], bytes] = lambda n: b"", prefix: str = "log",
          submitted: Optional[dict[str, float]] = None) -> int:
    """Submit ``rate`` logs a second for ``seconds``; the count. ``submitted``, if given,
    gets each log's ``_id`` and the clock's reading (monotonic) as it was submitted."""
    total = int(rate * seconds)
    start = time.monotonic()
    for n in range(total):
        ahead = start + n / rate - time.monotonic()
        if ahead > 0:
            time.sleep(ahead)
        name = f"{prefix}-{n}"
        if submitted is not None:
            submitted[name] = time.monotonic()
        delivery.submit(item(name, body(n)))
    return total


def senders() -> int:
    return sum(t.name == "readme-metrics-worker" for t in threading.enumerate())


def run(name: str, judge: Judge, load: Callable[[Delivery], int], close_at_once: bool = False,
        prepare: Callable[[Collector], None] = lambda collector: None,
        **options: Any) -> dict[str, Any]:
    collector = Collector()
    prepare(collector)
    collector.start()
    collector.judge = judge
    config = MetricsApiConfig(api_key="rdme_delivery_hunt", grouping_function=lambda r: None,
                              metrics_api=collector.url, **options)
    delivery = Delivery(config, build_id)
    began = time.monotonic()
    try:
        served = load(delivery)
        flushed: Optional[bool] = None if close_at_once else delivery.flush(60)
        delivery.close()
        took = time.monotonic() - began
        waited = time.monotonic()  # the senders still in a POST settle it, then end
        while senders() and time.monotonic() - waited < 10.0:
            time.sleep(0.05)
        stats = delivery.stats
        ids: set[str] = set()
        total = 0
        for received in list(collector.received):
            for log in received.json():
                ids.add(log["_id"])
                total += 1
    finally:
        collector.stop()
    reasons = {key: value for key, value in stats.items()
               if key.startswith("dropped_") and value}
    return {
        "case": name, "served": served, "delivered": len(ids), "duplicates": total - len(ids),
        "sent": stats["sent"], "dropped": reasons, "queued": stats["queued"],
        "exact": (stats["captured"] == stats["sent"] + stats["dropped"] + stats["queued"]
                  + stats["skipped"] and sum(reasons.values()) == stats["dropped"]),
        "flushed": flushed, "sent_is_delivered": stats["sent"] == len(ids),
        "senders_left": senders(), "batches": stats["batches"], "retries": stats["retries"],
        "most_in_flight": collector.peak_in_flight, "seconds": round(took, 1)}


def swinging(period: float, fast: float, slow: float) -> Judge:
    """An API answering in ``fast`` then ``slow`` seconds, each for ``period`` seconds."""
    start = time.monotonic()
    return lambda received: Reply(
        delay=fast if int((time.monotonic() - start) / period) % 2 == 0 else slow)


def throttling(after: float, until: float, retry_after: str) -> Judge:
    """429 with ``Retry-After`` between ``after`` and ``until`` s from now, else 50 ms."""
    start = time.monotonic()

    def judge(received: Received) -> Reply:
        if after < time.monotonic() - start < until:
            return Reply(status=429, headers={"Retry-After": retry_after})
        return Reply(delay=0.05)

    return judge


def sometimes_slow(every: int, slow: float, fast: float = 0.05) -> Judge:
    """An API answering one POST in ``every`` in ``slow`` seconds (it read it and works
    on it: the collector has its logs), the others in ``fast``."""
    posts = itertools.count()
    return lambda received: Reply(delay=slow if next(posts) % every == 0 else fast)


def sometimes_dead(every: int, fast: float = 0.05) -> Judge:
    """One POST in ``every`` read and never answered (a connection a load balancer
    black-holed: the collector does not count it), the others answered in ``fast``."""
    posts = itertools.count()
    return lambda received: Reply(hang=600.0 if next(posts) % every == 0 else 0.0,
                                  delay=fast)


def late_and_dead(every: int, slow: float, fast: float = 0.05) -> Judge:
    """One POST in ``every`` never answered (a black-holed connection), another in
    ``every`` answered in ``slow`` seconds (read: the collector has its logs), the others
    in ``fast``: the two things a POST taken for lost may be, at once (review88)."""
    posts = itertools.count()

    def judge(received: Received) -> Reply:
        n = next(posts) % every
        return Reply(hang=600.0 if n == 0 else 0.0,
                     delay=slow if n == every // 2 else fast)

    return judge


def slow_then(seconds: float, slow: float, then: Judge) -> Judge:
    """Every POST answered in ``slow`` seconds for the first ``seconds``, then as
    ``then`` says (the late answers of that phase teach the tail, review88)."""
    start = time.monotonic()
    return lambda received: (Reply(delay=slow) if time.monotonic() - start < seconds
                             else then(received))


def phases(*plan: tuple[float, Judge]) -> Judge:
    """Each judge answers until its time (seconds from now) is up; the last one after."""
    start = time.monotonic()

    def judge(received: Received) -> Reply:
        now = time.monotonic() - start
        return next((then for until, then in plan if now < until), plan[-1][1])(received)

    return judge


def long_tail(p50: float, p99: float, seed: int = 24) -> Judge:
    """Answer times drawn from a log-normal law with that median and 99th percentile
    (seeded): p50 50 ms, p99 2 s has 1 POST in 200 answered later than 3 s."""
    draw = random.Random(seed)
    sigma = math.log(p99 / p50) / 2.326
    return lambda received: Reply(delay=p50 * math.exp(sigma * draw.gauss(0.0, 1.0)))


def ramp(fast: float, slowest: float, period: float) -> Judge:
    """An API whose answer time grows from ``fast`` to ``slowest`` over ``period`` / 2
    seconds and comes back over the next half, then stays at ``fast``."""
    start = time.monotonic()

    def judge(received: Received) -> Reply:
        at = (time.monotonic() - start) / period
        share = 2 * at if at < 0.5 else max(0.0, 2 - 2 * at)
        return Reply(delay=fast + (slowest - fast) * share)

    return judge


def idle_closing(collector: Collector, idle: float) -> None:
    """A load balancer closing a keep-alive connection idle for ``idle`` seconds."""
    collector.server.RequestHandlerClass.timeout = idle  # type: ignore[attr-defined]


def closing_reused(after: float) -> Judge:
    """A load balancer closing a keep-alive connection idle ``after`` seconds or more
    just as the next request on it comes (the request read, no answer: the client
    cannot tell whether it was processed): answered 50 ms otherwise."""
    last: dict[tuple, float] = {}

    def judge(received: Received) -> Reply:
        now = time.monotonic()
        idle = now - last.get(received.peer, now)
        last[received.peer] = now
        return Reply(drop=True) if idle >= after else Reply(delay=0.05)

    return judge


def storm(every: int, retry_after: str) -> Judge:
    """429 with ``Retry-After`` to one POST in ``every`` at random (seeded), else 50 ms."""
    draw = random.Random(24)
    return lambda received: (Reply(status=429, headers={"Retry-After": retry_after})
                             if draw.random() < 1 / every else Reply(delay=0.05))


def redirect(status: int) -> Judge:
    return lambda received: Reply(status=status,
                                  headers={"Location": "http://127.0.0.1:9/v1/request"})


def trickle(rate: float, seconds: float, gap: float, each: int) -> Callable[[Delivery], int]:
    """``each`` logs at ``rate`` a second, then ``gap`` seconds of quiet, for ``seconds``."""
    def load(delivery: Delivery) -> int:
        total, start = 0, time.monotonic()
        while time.monotonic() - start < seconds:
            total += drive(delivery, rate, each / rate, prefix=f"log{total}")
            time.sleep(gap)
        return total

    return load


def big(n: int) -> bytes:
    return b"x" * 100_000


def mixed(n: int) -> bytes:
    return b"y" * (100_000 if n % 5 == 0 else 500)


CASES: dict[str, Callable[[], dict[str, Any]]] = {
    "burst": lambda: run("10,000 logs in 1 s then quiet, API 250 ms",
                         lambda r: Reply(delay=0.25), lambda d: drive(d, 10_000, 1.0)),
    "burst-slow": lambda: run("12,000 logs in 1 s, API 2 s", lambda r: Reply(delay=2.0),
                              lambda d: drive(d, 12_000, 1.0)),
    "swing": lambda: run("1,000/s 20 s, API 50 ms <-> 2 s every 5 s",
                         swinging(5.0, 0.05, 2.0), lambda d: drive(d, 1000, 20)),
    "swing-2000": lambda: run("2,000/s 20 s, API 50 ms <-> 2 s every 5 s",
                              swinging(5.0, 0.05, 2.0), lambda d: drive(d, 2000, 20)),
    "swing-timeout-1": lambda: run("1,000/s 20 s, API 50 ms <-> 2 s every 5 s, timeout 1",
                                   swinging(5.0, 0.05, 2.0), lambda d: drive(d, 1000, 20),
                                   timeout=1.0),
    "429": lambda: run("1,000/s 12 s, 429 Retry-After 2 from 3 to 8 s",
                       throttling(3.0, 8.0, "2"), lambda d: drive(d, 1000, 12)),
    "429-long": lambda: run("2,000/s 10 s, 429 Retry-After 30 from 2 to 6 s",
                            throttling(2.0, 6.0, "30"), lambda d: drive(d, 2000, 10)),
    "big": lambda: run("100 KB bodies 500/s 10 s, API 1 s", lambda r: Reply(delay=1.0),
                       lambda d: drive(d, 500, 10, big)),
    "big-slow": lambda: run("100 KB bodies 500/s 6 s, API 2 s", lambda r: Reply(delay=2.0),
                            lambda d: drive(d, 500, 6, big)),
    "mixed": lambda: run("1 in 5 of 100 KB, 500/s 10 s, API 1 s", lambda r: Reply(delay=1.0),
                         lambda d: drive(d, 500, 10, mixed)),
    "close-burst": lambda: run("close() during a burst (5,000 at 5,000/s), API 0.5 s",
                               lambda r: Reply(delay=0.5), lambda d: drive(d, 5000, 1.0),
                               close_at_once=True, shutdown_timeout=2.0),
    "close-burst-slow": lambda: run("close() during a burst (5,000 at 5,000/s), API 3 s, "
                                    "shutdown_timeout 1", lambda r: Reply(delay=3.0),
                                    lambda d: drive(d, 5000, 1.0), close_at_once=True,
                                    shutdown_timeout=1.0),
    "close-retry-after": lambda: run("close() during a Retry-After 20 hold (500/s 3 s), "
                                     "shutdown_timeout 1", throttling(1.0, 1e9, "20"),
                                     lambda d: drive(d, 500, 3.0), close_at_once=True,
                                     shutdown_timeout=1.0),
    "sometimes-slow": lambda: run("1,000/s 20 s, 1 POST in 5 answered in 4 s (timeout 3), "
                                  "the others in 50 ms", sometimes_slow(5, 4.0),
                                  lambda d: drive(d, 1000, 20)),
    "half-slow": lambda: run("1,000/s 20 s, 1 POST in 2 answered in 4 s (timeout 3), "
                             "the others in 50 ms", sometimes_slow(2, 4.0),
                             lambda d: drive(d, 1000, 20)),
    "sometimes-dead": lambda: run("1,000/s 20 s, 1 POST in 10 never answered, the others "
                                  "in 50 ms", sometimes_dead(10), lambda d: drive(d, 1000, 20)),
    "late-and-dead": lambda: run("1,000/s 40 s, 1 POST in 10 never answered, 1 in 10 "
                                 "answered in 4 s (timeout 3), the others in 50 ms",
                                 late_and_dead(10, 4.0), lambda d: drive(d, 1000, 40)),
    "slow-then-dead": lambda: run("1,000/s 35 s, the API answering in 8 s (timeout 3) "
                                  "for 10 s, then 1 POST in 10 never answered, the others "
                                  "in 50 ms", slow_then(10.0, 8.0, sometimes_dead(10)),
                                  lambda d: drive(d, 1000, 35)),
    # review95: slow again after the recovery (the held POSTs' late answers kept the
    # tail, dead POSTs spared 16 s took every sender: 905 and 957 logs refused).
    "slow-dead-slow": lambda: run("1,000/s 40 s, the API answering in 8 s for 10 s, then "
                                  "1 POST in 10 never answered, 8 s again from 20 to 28 s, "
                                  "then as from 10 s", phases(
                                      (10.0, lambda r: Reply(delay=8.0)),
                                      (20.0, sometimes_dead(10)),
                                      (28.0, lambda r: Reply(delay=8.0)),
                                      (math.inf, sometimes_dead(10))),
                                  lambda d: drive(d, 1000, 40)),
    # review92: the same with a small queue (logs held by POSTs taken for lost count
    # against max_queue_size), and 1 POST in 3 black-holed.
    "slow-then-dead-q": lambda: run("slow-then-dead with max_queue_size 3000",
                                    slow_then(10.0, 8.0, sometimes_dead(10)),
                                    lambda d: drive(d, 1000, 35), max_queue_size=3000),
    "slow-then-dead3-q": lambda: run("slow-then-dead, 1 POST in 3 never answered, "
                                     "max_queue_size 3000",
                                     slow_then(10.0, 8.0, sometimes_dead(3)),
                                     lambda d: drive(d, 1000, 35), max_queue_size=3000),
    "close-slow-then-dead3": lambda: run("1,000/s 14 s, the API answering in 8 s for 10 s, "
                                         "then 1 POST in 3 never answered; close() at once",
                                         slow_then(10.0, 8.0, sometimes_dead(3)),
                                         lambda d: drive(d, 1000, 14), close_at_once=True),
    # delivery29: POSTs begun before close() kept their stretched bound (up to 30 s),
    # their senders still in them after close() returned (``senders_left``).
    "close-slow-then-blackhole": lambda: run("1,000/s 14 s, the API answering in 8 s for "
                                             "10 s, then no POST answered; close() at once",
                                             slow_then(10.0, 8.0,
                                                       lambda r: Reply(hang=120.0)),
                                             lambda d: drive(d, 1000, 14),
                                             close_at_once=True),
    "long-tail": lambda: run("1,000/s 20 s, answers log-normal, p50 50 ms, p99 2 s",
                             long_tail(0.05, 2.0), lambda d: drive(d, 1000, 20)),
    "ramp": lambda: run("1,000/s 40 s, API 50 ms -> 5 s over 15 s and back over 15 s",
                        ramp(0.05, 5.0, 30.0), lambda d: drive(d, 1000, 40)),
    "idle-close": lambda: run("10 logs at 100/s every 5 s for 60 s, keep-alive closed "
                              "after 5 s idle", lambda r: Reply(delay=0.05),
                              trickle(100, 60, 4.9, 10), prepare=lambda c: idle_closing(c, 5.0),
                              buffer_length=10, flush_interval=0.5),
    "reuse-close": lambda: run("10 logs at 100/s every 5 s for 60 s, a connection idle "
                               "1 s or more closed as the next POST comes",
                               closing_reused(1.0), trickle(100, 60, 4.9, 10),
                               buffer_length=10, flush_interval=0.5),
    "429-storm": lambda: run("1,000/s 20 s, 1 POST in 3 answered 429 Retry-After 1",
                             storm(3, "1"), lambda d: drive(d, 1000, 20)),
    "redirect-301": lambda: run("200/s 3 s, POST path answered 301", redirect(301),
                                lambda d: drive(d, 200, 3)),
    "redirect-307": lambda: run("200/s 3 s, POST path answered 307", redirect(307),
                                lambda d: drive(d, 200, 3)),
    "redirect-308": lambda: run("200/s 3 s, POST path answered 308", redirect(308),
                                lambda d: drive(d, 200, 3)),
}


def main() -> None:
    for name in sys.argv[1:] or list(CASES):
        print(json.dumps(CASES[name]()), flush=True)


if __name__ == "__main__":
    main()
