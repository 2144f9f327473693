"""exit16's items: the POSTs at close() and exit, when more than one POST's worth waits.

At close() (and at exit) the closing thread posts what waits itself, one POST at a time,
next to the senders' POSTs in flight. The senders back from their POSTs take the rest.
When every sender is busy and more logs wait than one POST carries (500), those beyond
it waited for the closing thread's POST to be answered, or for a sender's: one round
trip of the API more, each. Measured (1,000 logs/s for 3 s, an API answering in 4 s,
close() with the default shutdown_timeout of 5 s): the last two POSTs went 1.1 and 1.4 s
after the close began, and 605 logs were still waiting for their answer at the deadline.
Now close() starts a sender for each POST's worth that waits (up to MAX_SENDERS), as a
flush does for the first: every log is in a POST at once.

Real parts: the loopback collector holds every POST (a gate) until the test has seen
what was posted; nothing here is timed.

The gaps in the real servers' exits the earlier tests left (the green workers' are in
test_greenlet_servers.py): gunicorn's sync and gthread workers replaced by a SIGHUP
reload or recycled by ``--max-requests``, to an API answering in 1 s, every log of the
old workers delivered at their exit, before the server stops. Measured (4 clients up to
the signal, 50 ms and 1 s APIs) with gunicorn, uvicorn, hypercorn, waitress and
``flask run --reload``: every answered request delivered; runserver's autoreload drops
the calls it answers during its exit (docs/DELIVERY.md, Exit).
"""

from __future__ import annotations

import signal
import threading
from pathlib import Path
from typing import Callable

import pytest
import requests

from readme_metrics.delivery import Delivery
from tests.support.delivery import (
    MakeDelivery,
    adds_up,
    api_key_never_logged_fixture,  # noqa: F401 - autouse
    ids,
    item,
    make_delivery_fixture,  # noqa: F401 - ``make_delivery``
)
from tests.support.fake_api import Collector, Reply
from tests.support.polling import wait_until
from tests.test_greenlet_servers import _check_quiet, _paths, _start, _stop


def _submit(delivery: object, names: list[str], start: int, count: int) -> None:
    for n in range(start, start + count):
        names.append(f"log-{n}")
        delivery.submit(item(names[-1]))  # type: ignore[attr-defined]


def every_log_in_a_post_at_once(collector: Collector, make_delivery: MakeDelivery,
                                call: Callable[[Delivery], object],
                                posted: tuple[int, int] = (1740, 7)) -> None:
    """Four senders each holding a POST of 160 logs (the collector holds its answers)
    and 1,100 logs waiting behind them; ``call(delivery)`` on a thread of its own has
    ``posted`` (logs, POSTs: every log, in 7 POSTs) posted while the API still holds its
    answers, then each log delivered once and the stats exact once the answers come."""
    gate = threading.Event()
    collector.default = Reply(gate=gate)
    delivery = make_delivery(collector.url, buffer_length=160, flush_interval=600,
                             timeout=60.0, shutdown_timeout=60.0, max_queue_size=10000)
    names: list[str] = []
    calling = threading.Thread(target=call, args=(delivery,))
    try:
        for sender in range(4):
            _submit(delivery, names, 160 * sender, 160)
            if sender:
                delivery.flush(0)  # a flush that waits not: one more sender takes them
            wait_until(lambda: len(collector.received) == sender + 1)  # noqa: B023
        _submit(delivery, names, 640, 1100)  # these wait for a sender back
        assert len(collector.received) == 4 and delivery.stats["queued"] == 1740
        calling.start()
        # Every log in a POST while the API still holds its answers.
        wait_until(lambda: len(collector.logs) == posted[0])
        assert len(collector.received) == posted[1]
    finally:
        gate.set()
        if calling.ident:
            calling.join()
    assert sorted(ids(collector.logs)) == sorted(names)
    stats = delivery.stats
    assert (stats["sent"], stats["dropped"], stats["queued"]) == (1740, 0, 0)
    assert adds_up(stats)


def test_close_posts_every_batch_waiting_behind_busy_senders_at_once(
        collector: Collector, make_delivery: MakeDelivery) -> None:
    """Four senders each hold a POST of 160 logs (the API has not answered) and 1,100
    logs wait, which the pool's rules leave to the senders back from their POSTs (no
    fifth is started: 1,100 + 640 logs are less than four POSTs at the cap of 500
    carry). close() then posts them all at once: the closing thread 500, one more sender
    500, and the sender that one starts the last 100. Before: 600 of them waited for an
    answer the API held, past the close."""
    every_log_in_a_post_at_once(collector, make_delivery, Delivery.close)


@pytest.mark.e2e
@pytest.mark.parametrize("worker", ["sync", "gthread"])
@pytest.mark.parametrize("replaced_by", ["SIGHUP", "max-requests"])
def test_gunicorns_replaced_workers_send_their_logs_at_exit_to_a_slow_api(
        worker: str, replaced_by: str, collector: Collector, tmp_path: Path) -> None:
    """Logs that only a worker's exit sends (a buffer of 100, a 600 s flush interval),
    to an API answering in 1 s: a SIGHUP replaces both workers (gunicorn's reload), or
    ``--max-requests=10`` recycles the lone worker; the old workers' logs all arrive
    while the server still serves, and every request is logged exactly once."""
    collector.default = Reply(delay=1.0)
    options = (["--workers=2"] if replaced_by == "SIGHUP"
               else ["--max-requests=10", "--max-requests-jitter=0"])
    process, base = _start(worker, collector, tmp_path, *options, buffer_length=100,
                           flush_interval=600)
    served: dict[str, int] = {}

    def serve(count: int) -> None:
        for _ in range(count):
            path = f"r/{len(served)}"
            served[path] = requests.get(f"{base}/{path}", timeout=10).json()["pid"]

    try:
        serve(25)
        old = set(served.values())
        if replaced_by == "SIGHUP":
            process.send_signal(signal.SIGHUP)
            wait_until(lambda: serve(1) or served[f"r/{len(served) - 1}"] not in old)
        else:
            old.discard(served["r/24"])  # the worker serving now (it served 5 of 10)
        assert old
        gone = {path for path, pid in served.items() if pid in old}
        # Delivered by the old workers' exits (nothing else sends before 100 logs).
        wait_until(lambda: gone <= set(_paths(collector)))
    finally:
        out, err = _stop(process)
    paths = [path for path in _paths(collector) if path.startswith("r/")]
    assert sorted(paths) == sorted(served), paths  # each exactly once
    _check_quiet(out, err)
