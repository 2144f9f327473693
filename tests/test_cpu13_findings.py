"""cpu13 (issue 11): the gunicorn benchmark's per-process accounting and its collector.

1. ``benchmarks/bench.py``'s gunicorn run read the workers' CPU, wrk's and the collector's
   alone: not the arbiter, not the serving thread apart from the senders, no context
   switches, no POSTs, no machine idle time or other processes' share
   (``benchmarks/accounting.py`` now; failed before: no such module).
2. Its loopback collector was the asyncio streams loop (a regex per request); it is now
   a protocol that counts each POST's logs by a scan for ``"_id":`` and checks the scan
   by a full parse of one body in ``VERIFY_EVERY``, its counts at ``GET /posts`` (failed
   before: no ``count_logs``, no ``Collector.posts``). It must count exactly what the
   library sent: a property test over logs whose strings and keys hold ``_id`` and
   quotes, encoded by the library's own encoder (orjson or the standard library).
"""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from readme_metrics.delivery.encode import array_body, dumps
from tests.support.command import REPO_ROOT
from tests.support.load_file import load_file


def _bench() -> Any:
    """bench.py as a module (it imports benchmarks/accounting.py as ``accounting``)."""
    return load_file("cpu13_bench", REPO_ROOT / "benchmarks" / "bench.py")


bench = _bench()
accounting = getattr(bench, "accounting", None)  # (none before cpu13)


_TEXT = st.text(alphabet=st.sampled_from(['"', "\\", "_", "i", "d", ":", " ", "é", "\x00",
                                           "\ud800", "{", "}", ","]), max_size=12)
_KEY = _TEXT.filter(lambda key: key != "_id")
_VALUE = st.recursive(
    st.none() | st.booleans() | st.integers() | _TEXT
    | st.sampled_from(['"_id":', '{"_id":"x"}', '\\"_id\\":', "_id"]),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_KEY, inner, max_size=4),
    max_leaves=12)
_LOG = st.builds(lambda log_id, rest: {"_id": log_id, **rest},
                 _TEXT, st.dictionaries(_KEY, _VALUE, max_size=5))


@settings(max_examples=150, deadline=None)
@given(st.lists(_LOG, max_size=12))
def test_the_collectors_scan_counts_the_logs_the_library_encodes(logs: list[dict]) -> None:
    body = bytes(array_body([dumps(log) for log in logs]))
    assert len(json.loads(body)) == len(logs)
    assert bench.count_logs(body + b"trailing", len(body)) == len(logs)


def test_the_counting_collector_counts_every_log_the_middleware_posts() -> None:
    collector = bench.Collector("ok")
    try:
        wrapped = bench.wrap(bench.get_app, collector.url)
        try:
            template = bench.environ_for("GET")
            for _ in range(333):
                bench.serve(wrapped, bench.fresh_environ(template, b""))
            assert wrapped.flush(60)
        finally:
            wrapped.close()
        counts = collector.posts()
        assert collector.count() == counts["logs"] == 333
        # (In a direct loop the batches grow past buffer_length: the sender never waits.)
        assert counts["posts"] >= 1
        assert counts["verified"] >= 1 and counts["mismatches"] == 0
    finally:
        collector.stop()


def test_the_streams_collector_before_cpu13_still_counts() -> None:
    collector = bench.Collector("streams")
    try:
        wrapped = bench.wrap(bench.get_app, collector.url)
        try:
            template = bench.environ_for("GET")
            for _ in range(25):
                bench.serve(wrapped, bench.fresh_environ(template, b""))
            assert wrapped.flush(60)
        finally:
            wrapped.close()
        assert collector.count() == 25
    finally:
        collector.stop()


def test_a_process_switches_are_summed_over_its_threads() -> None:
    """/proc/<pid>/status counts the main thread's switches alone: a thread that sleeps
    50 times (each sleep a voluntary switch, whatever the load) is in the process's
    figure, not in the main thread's."""
    slept, done = threading.Event(), threading.Event()
    rounds = 50

    def other() -> None:
        for _ in range(rounds):
            time.sleep(0.0001)  # the thing measured: a voluntary switch each
        slept.set()
        done.wait()  # alive until read: an ended thread takes its switches with it

    thread = threading.Thread(target=other)
    thread.start()
    slept.wait()
    whole, main = accounting.process_usage(os.getpid())
    own = accounting.thread_usage(os.getpid(), thread.native_id)
    done.set()
    thread.join()
    assert own.voluntary >= rounds
    # (Other threads of the test process count too: never less than these two.)
    assert whole.voluntary >= main.voluntary + own.voluntary
    assert main.cpu <= whole.cpu


def _snapshot(workers: float, serving: float, collector: float, wrk: float,
              machine: tuple[float, float], posts: int, logs: int,
              switches: int = 0) -> Any:
    usage = accounting.Usage
    return accounting.Snapshot(
        arbiter=usage(0.01), workers=usage(workers, switches, 0),
        serving=usage(serving, switches // 2, 0), collector=usage(collector),
        reaped=usage(wrk), machine=machine, posts=posts, logs=logs)


def test_per_request_splits_the_cores_time_by_process() -> None:
    before = _snapshot(1.0, 1.0, 0.5, 2.0, (100.0, 50.0), 10, 100)
    after = _snapshot(1.3, 1.2, 0.52, 2.1, (100.6, 50.1), 110, 1100, switches=2000)
    table = accounting.per_request(before, after, 1000)
    assert table["workers_cpu_us"] == 300.0
    assert table["of_it_serving_threads_us"] == 200.0
    assert table["of_it_other_threads_us"] == 100.0
    assert table["collector_cpu_us"] == 20.0
    assert table["wrk_cpu_us"] == 100.0
    assert table["machine_cpu_us"] == 500.0
    assert table["machine_idle_us"] == 100.0
    assert table["others_cpu_us"] == 80.0  # 500 less 300 + 20 + 100 (the arbiter: 0)
    assert table["workers_voluntary_switches"] == 2.0
    assert table["logs_per_post"] == 10.0
    assert table["posts_per_request"] == 0.1
    assert table["collector_cpu_us_per_post"] == 200.0
    assert table["collector_cpu_us_per_log"] == 20.0


def test_no_accounting_figure_without_proc() -> None:
    """A pid that is gone reads 0, never raises (the benchmark reads the workers after
    wrk; one may have been restarted)."""
    whole, main = accounting.process_usage(2 ** 22 + 12345)
    assert whole == main == accounting.Usage()
    assert Path("/proc/stat").exists() == (accounting.machine_seconds()[0] > 0)
