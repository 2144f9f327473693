"""Where the delivery thread's CPU goes, per batch, with nothing competing for the GIL.

.. code-block:: sh

    python benchmarks/delivery_thread.py              # 2,000 batches of 10 small GETs
    python benchmarks/delivery_thread.py --batches 4000

The small GET app of ``bench.py``, wrapped with default options, serves 10 requests in a
direct loop, then sleeps 2 ms, so the delivery thread posts each batch while the request
thread sleeps. ``time.thread_time()`` (user and system CPU of the calling thread) is read
around the delivery thread's parts: waiting for and taking a batch, building and
encoding its logs, the POST (split into its HTTP steps on the direct route), settling.
Run twice: with the real logs, and with each log built as ``{"_id": ...}`` (what a batch
costs besides its logs). Prints one JSON document: microseconds of delivery-thread CPU
per batch of 10 logs, and the logs delivered out of the requests served.
"""

from __future__ import annotations

import argparse
import collections
import io
import json
import sys
import time
from pathlib import Path
from typing import Any, Callable

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench  # noqa: E402

import readme_metrics.delivery.direct as direct  # noqa: E402
import readme_metrics.delivery.reader as reader  # noqa: E402
from readme_metrics.delivery.encode import ENCODER  # noqa: E402

_clock = time.thread_time_ns
_spent: collections.Counter[str] = collections.Counter()


def _timed(name: str, function: Callable[..., Any]) -> Callable[..., Any]:
    def timed(*args: Any, **kwargs: Any) -> Any:
        started = _clock()
        try:
            return function(*args, **kwargs)
        finally:
            _spent[name] += _clock() - started
    return timed


def _instrument_http() -> None:
    """Time the direct route's steps (process-wide: this script posts nowhere else)."""
    direct._dropped = _timed("post: idle connection check", direct._dropped)
    direct._send = _timed("post: request sent", direct._send)
    reader.read_answer = _timed("post: answer read (status, headers, body)",
                                reader.read_answer)
    reader.parse_headers = _timed("post: of it, header lines parsed", reader.parse_headers)


def run(variant: str, batches: int, collector: bench.Collector) -> dict[str, Any]:
    """Serve ``batches`` x 10 requests; the delivery thread's CPU per batch, by part."""
    _spent.clear()
    wrapped = bench.wrap(bench.get_app, collector.url)
    delivery = wrapped.pipeline.delivery
    if variant == "no_build":
        delivery._sender._build = lambda item: {"_id": item.log_id}
    batcher, sender = delivery._batcher, delivery._sender
    batcher.next_or_end = _timed("wait for and take a batch", batcher.next_or_end)
    batcher.settle = _timed("settle", batcher.settle)
    sender.encode_upto = _timed("build and encode the logs", sender.encode_upto)
    transport = delivery._transport
    transport.post_logs = _timed("post (all of it)", transport.post_logs)
    target = delivery._pool._target

    def thread() -> None:
        started = _clock()
        try:
            target()
        finally:
            _spent["delivery thread, in all"] += _clock() - started

    delivery._pool._target = thread

    def serve() -> None:
        environ = bench.environ_for("GET")
        environ["wsgi.input"] = io.BytesIO(b"")
        for _ in wrapped(environ, lambda *args: None):
            pass

    for _ in range(batches):
        for _ in range(10):
            serve()
        time.sleep(0.002)
    wrapped.flush(30)
    wrapped.close()
    time.sleep(0.2)  # the thread returns once closed
    stats = wrapped.stats
    report: dict[str, Any] = {
        name: round(total / batches / 1000, 1) for name, total in sorted(_spent.items())}
    report["delivered"] = f"{stats['sent']} of {batches * 10} served"
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=2000)
    args = parser.parse_args()
    _instrument_http()
    collector = bench.Collector("ok")
    try:
        report: dict[str, Any] = {
            "encoder": ENCODER,
            "us_of_delivery_thread_cpu_per_batch_of_10": {
                variant: run(variant, args.batches, collector)
                for variant in ("real_logs", "no_build")},
            "collector_logs": collector.count(),
        }
    finally:
        collector.stop()
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
