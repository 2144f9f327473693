"""Context switches a request of a gunicorn sync worker's threads, the serving thread
apart from the others (senders, watchdog): how often a request waits behind a sender.

.. code-block:: sh

    python benchmarks/gunicorn_switches.py --rounds 3             # bare, wrapped
    python benchmarks/gunicorn_switches.py --variants bare,wrapped,one_sender

Runs gunicorn (one sync worker) with ``bench.py``'s small GET app, sends ``--warm-up``
GETs and then ``--requests`` more, one after another on a connection each, and reads each
thread's voluntary and involuntary switches in ``/proc/<pid>/task/*/status`` before and
after the counted ones. ``one_sender`` is ``wrapped`` with the sender pool capped at one.
Each wrapped run checks, after the worker's exit, that the collector got every log.
Switch counts move with the scheduling (the machine's load): run several rounds,
interleaved. Linux only. Prints one JSON line a run.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import accounting  # noqa: E402
import bench  # noqa: E402
from gunicorn_instructions import get  # noqa: E402

APP = bench.GUNICORN_APP + """
one_sender = bench.wrap(bench.get_app, os.environ["METRICS_URL"])
one_sender.pipeline.delivery._batcher.staffing.max_senders = 1
one_sender.pipeline.delivery._batcher.staffing.keep = 1
one_sender = counted(one_sender)
"""
VARIANTS = ("bare", "wrapped", "one_sender")


def switches(pid: int) -> dict[int, tuple[int, int]]:
    """Each thread's (voluntary, involuntary) switches so far."""
    counts = {}
    for tid in map(int, os.listdir(f"/proc/{pid}/task")):
        usage = accounting.thread_usage(pid, tid)
        counts[tid] = (usage.voluntary, usage.involuntary)
    return counts


def run(variant: str, warm_up: int, requests: int, collector: bench.Collector,
        directory: str) -> dict[str, Any]:
    port = bench.free_port()
    start = collector.count()
    env = {**os.environ, "METRICS_URL": collector.url,
           "BENCH_DIR": str(Path(__file__).resolve().parent), "BENCH_SERVED_DIR": directory,
           "PYTHONPATH": os.pathsep.join([directory, str(bench.ROOT)])}
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--workers", "1", "--worker-class", "sync",
         "--bind", f"127.0.0.1:{port}", "--log-level", "warning", f"bench_app:{variant}"],
        cwd=directory, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        worker = bench.wait_for_workers(server.pid, directory, 1)[0]
        get(port, warm_up)
        before = switches(worker)
        get(port, requests)
        after = switches(worker)
    finally:
        server.terminate()
        server.wait(600)  # the exit flush: every log of the run

    def added(tid: int, which: int) -> int:
        return after[tid][which] - before.get(tid, (0, 0))[which]

    others = [tid for tid in after if tid != worker]
    report: dict[str, Any] = {
        "variant": variant, "load": round(os.getloadavg()[0], 1),
        "serving_voluntary": round(added(worker, 0) / requests, 3),
        "serving_involuntary": round(added(worker, 1) / requests, 3),
        "others_voluntary": round(sum(added(tid, 0) for tid in others) / requests, 3),
        "others_involuntary": round(sum(added(tid, 1) for tid in others) / requests, 3),
        "threads": len(after)}
    if variant != "bare":
        report["delivered"] = f"{collector.count() - start} of {warm_up + requests}"
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variants", default="bare,wrapped")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--warm-up", type=int, default=200)
    parser.add_argument("--requests", type=int, default=2000)
    args = parser.parse_args()
    variants = args.variants.split(",")
    for variant in variants:
        if variant not in VARIANTS:
            parser.error(f"unknown variant {variant}")
    collector = bench.Collector("ok")
    try:
        with tempfile.TemporaryDirectory() as directory:
            Path(directory, "bench_app.py").write_text(APP)
            for _ in range(args.rounds):
                for variant in variants:
                    print(json.dumps(run(variant, args.warm_up, args.requests, collector,
                                         directory)), flush=True)
    finally:
        collector.stop()


if __name__ == "__main__":
    main()
