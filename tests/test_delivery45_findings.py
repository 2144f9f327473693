"""delivery45: the soak's tail under a slow API, and two harnesses that broke or flaked.

1. ``benchmarks/request_thread.py`` raised ZeroDivisionError (its wrapped workers wrote
   ``calls`` 0, seen under gunicorn 27.0.1): its warm-up began as soon as gunicorn's master
   listened, and a worker slow to import the app (seven wrapped middlewares, on a loaded
   machine) answered none of the warm-up nor of a short run. It now waits for each
   worker's ``ready-<pid>`` (``bench.wait_for_workers``), as bench.py's gunicorn run
   does since it met the same at load 17. Pinned here with gunicorn's own ``post_fork``
   hook holding each worker 3 s before it imports the app (``GUNICORN_CMD_ARGS``, which
   the benchmark's environment passes on): before, the same ZeroDivisionError.
2. benchmarks/soak.py's wrapped app had its p99 far above the bare one's beside it while a
   backlog drained (after the outage, after the 429 with Retry-After, the slow API): the
   backlog is cut into POSTs of up to 500 logs, and each sender built and encoded its own
   at the same time as the others, every one of them one more thread that a request
   thread waits behind for the GIL when it comes back from I/O. The queue's lock is never
   held across an encode (the request's ``put`` never waits on one); now the senders
   also encode one at a time (``Attempt.encoding``), and an inline request thread never
   waits for that lock. Pinned by counting the builds under way at once.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from tests.support.delivery import (  # noqa: F401 (fixtures)
    MakeDelivery,
    api_key_never_logged_fixture,
    build_id,
    item,
    lock_held,
    make_delivery_fixture,
)
from tests.support.fake_api import Collector
from tests.support.processes import LINE_WAIT, run_command

ROOT = Path(__file__).resolve().parents[1]

NO_WRK = pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk is not installed")

#: Each worker held this long after its fork, before it imports the app: longer than the
#: benchmark's warm-up (1 s) and its run (``--seconds 1``) together.
SLOW_BOOT = """
import signal
import time


def post_fork(server, worker):
    # A worker still importing its app ends at the master's SIGTERM (here it would keep
    # the master's own handlers until its own are set: its stop then waited out
    # --graceful-timeout, a failure of another kind).
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    time.sleep(3)
"""


@NO_WRK
@pytest.mark.e2e
def test_request_thread_benchmark_waits_for_workers_slow_to_import_the_app(
        tmp_path: Path) -> None:
    """Before: ZeroDivisionError (the workers' app calls 0: every request of the warm-up
    and of the run was over before a worker served)."""
    config = tmp_path / "slow_boot.py"
    config.write_text(SLOW_BOOT)
    done = run_command(
        [sys.executable, str(ROOT / "benchmarks" / "request_thread.py"), "--rounds", "1",
         "--seconds", "1", "--variants", "wrapped"],
        capture_output=True, text=True, timeout=240, cwd=str(ROOT),
        stdin=subprocess.DEVNULL,
        env={**os.environ, "PYTHONPATH": str(ROOT), "GUNICORN_CMD_ARGS": f"-c {config}"})
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout)
    for variant in ("bare", "wrapped"):
        assert report[variant]["served"] > 0, report[variant]
        assert report[variant]["thread_cpu_us_per_call"] > 0, report[variant]
    delivered, _, served = report["wrapped"]["delivered"].partition(" of ")
    # Every request the wrapped workers served is a log (wrk counts none of those in
    # flight as its clock stopped, which the collector may hold besides).
    assert int(delivered) >= int(served.split()[0]) > 0, report["wrapped"]


class Builds:
    """A build that counts the builds under way at once (``most``) and whether the
    queue's lock was held during any (``locked``). The build of the log named ``hold``
    waits until another build begins, 2 s at most: the overlap, if the code lets one
    happen, is then certain, not left to the scheduler."""

    def __init__(self, hold: str) -> None:
        self.hold = hold
        self.lock = threading.Lock()
        self.inside = 0
        self.most = 0
        self.overlap = threading.Event()
        self.holding = threading.Event()  # the build of ``hold`` has begun
        self.queue_lock: Any = None
        self.locked = False

    def __call__(self, pending: Any) -> dict:
        with self.lock:
            self.inside += 1
            self.most = max(self.most, self.inside)
            if self.inside > 1:
                self.overlap.set()
        self.locked = self.locked or lock_held(self.queue_lock)
        try:
            if pending.id == self.hold:
                self.holding.set()
                self.overlap.wait(2)
            return build_id(pending)
        finally:
            with self.lock:
                self.inside -= 1


def _two_batches(delivery: Any) -> list[Any]:
    """Two batches of 10 logs (``b0-0`` ..., ``b1-0`` ...) taken as senders take them."""
    batcher = delivery._batcher
    batches = []
    for b in range(2):
        for n in range(10):
            log = item(f"b{b}-{n}")
            batcher.put(log, log.nbytes, inline=False)
        with batcher.lock:
            batches.append(batcher.take_locked(force=True)[0])
    return batches


def test_sender_threads_encode_one_batch_at_a_time(
        make_delivery: MakeDelivery, collector: Collector) -> None:
    """Before: both senders built at once (most 2)."""
    builds = Builds(hold="b0-0")
    delivery = make_delivery(collector.url, builds, buffer_length=10)
    builds.queue_lock = delivery._batcher.lock
    threads = [threading.Thread(target=delivery._attempt, args=(batch, None))
               for batch in _two_batches(delivery)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert builds.most == 1
    assert not builds.locked  # (no request waits on the queue's lock for a build)
    assert sorted(log["_id"] for log in collector.wait_for_logs(20)) == sorted(
        f"b{b}-{n}" for b in range(2) for n in range(10))


def test_an_inline_request_thread_never_waits_for_a_senders_encoding(
        make_delivery: MakeDelivery, collector: Collector) -> None:
    """The lock is the senders' alone: a request thread that sends (inline) builds while
    a sender builds."""
    builds = Builds(hold="b0-0")
    delivery = make_delivery(collector.url, builds, buffer_length=10)
    builds.queue_lock = delivery._batcher.lock
    first, second = _two_batches(delivery)
    sender = threading.Thread(target=delivery._attempt, args=(first, None))
    sender.start()
    assert builds.holding.wait(LINE_WAIT)  # the sender is in its first build
    delivery._attempt(second, None, request_thread=True)
    sender.join()
    assert builds.overlap.is_set() and builds.most == 2
    assert not builds.locked
    assert len(collector.wait_for_logs(20)) == 20
