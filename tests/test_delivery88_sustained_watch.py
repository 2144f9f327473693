"""delivery88: ``bench.py --only sustained`` says what the load did to the delivery.

delivery87's 2,000/s run at load 21 delivered 18,325 of 20,000 in 40 POSTs, and its
figures could not tell whether the library fell behind or the machine starved the whole
process (it was the machine: docs/PERFORMANCE.md, delivery88). A sustained run now
reports the POSTs, their logs and the deepest queue during the load, each side's time on
a core and on the run queue, and the process's CPU share (benchmarks/sustained_watch.py).
Failed before: none of those keys was in the run's JSON. The figures' values are the
benchmark's to report; here only that they are there and hang together, from a short run
against bench.py's own slow loopback API.
"""

from __future__ import annotations

import json
import sys
import threading
from typing import Any

import pytest

from tests.support.command import REPO_ROOT
from tests.support.load_file import load_file
from tests.support.processes import run_command

SCRIPT = REPO_ROOT / "benchmarks" / "bench.py"
WATCH = REPO_ROOT / "benchmarks" / "sustained_watch.py"


def _watch() -> Any:
    return load_file("delivery88_sustained_watch", WATCH, WATCH.parent)


def test_a_sustained_run_reports_its_posts_queue_and_schedule() -> None:
    done = run_command([sys.executable, str(SCRIPT), "--only", "sustained",
                        "--sustained", "300@0.05", "--sustained-seconds", "1"],
                       cwd=str(REPO_ROOT), capture_output=True, timeout=180)
    assert done.returncode == 0, done.stderr[-2000:]
    run = json.loads(done.stdout)["sustained"][0]
    served = run["served"]
    assert served == 300
    assert run["posts_during_load"] >= 1
    assert run["posts_during_load"] * run["logs_per_post_during_load"] <= served
    assert 1 <= run["max_queued_during_load"] <= 10_000  # (max_queue_size's default)
    assert run["load_cpu_share"] > 0
    if sys.platform.startswith("linux"):
        assert run["serving_ran_s"] > 0 and run["delivery_ran_s"] > 0
        for side in ("serving", "delivery"):
            assert 0 <= run[f"{side}_runqueue_wait_share"] <= 1
            assert run[f"{side}_runqueue_s"] >= 0


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc schedstat")
def test_the_schedule_splits_the_serving_thread_from_the_senders() -> None:
    watch = _watch()
    main = threading.main_thread().native_id
    before = {main: ("MainThread", (1.0, 2.0)), 7: (watch.SENDER, (0.5, 0.5))}
    after = {main: ("MainThread", (1.5, 4.0)), 7: (watch.SENDER, (1.0, 1.0)),
             8: (watch.SENDER, (0.25, 0.75)), 9: ("other", (5.0, 5.0))}
    split = watch.schedule_between(before, after)
    assert split["serving_ran_s"] == 0.5 and split["serving_runqueue_s"] == 2.0
    assert split["serving_runqueue_wait_share"] == 0.8
    # a sender started during the load counts from 0; a thread of another name not at all
    assert split["delivery_ran_s"] == 0.75 and split["delivery_runqueue_s"] == 1.25
    assert split["delivery_runqueue_wait_share"] == 0.62
    assert watch.schedule_between(before, {}) == {}
    live = watch.thread_schedule()
    assert live[main][0] == threading.main_thread().name
