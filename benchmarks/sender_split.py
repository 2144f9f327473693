"""The sender threads' CPU and page faults per log, by stage, in ``bench.py``'s in-process loop.

.. code-block:: sh

    python benchmarks/sender_split.py                        # 3 rounds, both workloads
    python benchmarks/sender_split.py --workloads post --rounds 5
    python benchmarks/sender_split.py --variants as_is,malloc_env

``profile_worker.py`` times building and encoding one log in a warm loop; this runs the
loop of ``bench.py --only inprocess`` (a fresh middleware, 200 warm-up requests, then
5,000 small GETs or 500 POSTs of 2 KB in / 100 KB out, delivered to a loopback collector)
and reads, on the sender threads, the CPU (``time.thread_time``) and the minor page faults
(``getrusage(RUSAGE_THREAD)``) of each stage: building a log (``MetricsPipeline.build_log``),
encoding it (``encode.dumps``), making a batch's array (``encode.array_body``: large
logs kept as they are, small ones joined with the commas), and the POST. Since speed8
``array_body`` reads the logs as the sender builds and encodes them: the build's and the
encoding's calls made inside it are their own stages, and what is left in its figure
is the join, the loop, and freeing each log once encoded (a small GET's tree of dicts,
a POST's 100 KB texts: before, that was in no stage).
Measuring costs about 2.3 us of CPU per measured call (0.3 us of it inside the stage's
figure), in every variant alike. Each run is a fresh interpreter, the variants alternated
in each round:

``as_is``
    The library as it is.
``malloc_env``
    The same, with glibc's ``MALLOC_MMAP_THRESHOLD_`` and ``MALLOC_TRIM_THRESHOLD_`` set
    (32 MiB and 256 MiB) in its environment: freed memory is kept for reuse instead of
    being returned to the kernel and faulted in again.
``one_call``
    An experiment, not the library: each batch's logs are all built, then encoded in one
    call (``encode.dumps(logs)``) instead of one call per log and a join.
``buffer``
    An experiment, not the library: each batch is copied into one buffer of its sender
    thread, kept and reused from batch to batch (so faulted in once), and sent from
    there: the alternative to sending the pieces as they are. (A retry would need the
    buffer the next batch overwrites: it could not be the library as it is.)
``writes``
    An experiment, not the library: the direct route writes the pieces with
    ``sendall`` as it does over TLS (small ones joined into writes of up to 64 KiB, a
    larger one alone) instead of one ``sendmsg``; the TLS path's cost without the
    encryption.

Prints one JSON document: per workload and variant, the medians over the rounds of the
process CPU per request (timed part, as ``bench.py``), the page faults per request (whole
run), the per-log stage figures, and the logs delivered out of those served; the load
average at the start and the end.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import resource
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Callable

sys.path.insert(0, str(Path(__file__).resolve().parent))

VARIANTS = ("as_is", "malloc_env", "one_call", "buffer", "writes")
MALLOC_ENV = {"MALLOC_MMAP_THRESHOLD_": str(32 << 20), "MALLOC_TRIM_THRESHOLD_": str(256 << 20)}


_nesting = threading.local()


def _measured(totals: collections.Counter, lock: threading.Lock, stage: str,
              function: Callable[..., Any]) -> Callable[..., Any]:
    """``function`` adding its thread's CPU (us) and minor faults to ``totals[stage]``,
    less those of the measured calls made inside it (``array_body`` reads the sender's
    logs as they are built and encoded: those are the build's and the encoding's)."""
    def measured(*args: Any, **kwargs: Any) -> Any:
        start = time.thread_time_ns()  # (the whole call, this wrapper too, for an outer)
        outer = getattr(_nesting, "inner", None)
        inner = _nesting.inner = [0, 0]
        faults = resource.getrusage(resource.RUSAGE_THREAD).ru_minflt
        cpu = time.thread_time_ns()
        try:
            return function(*args, **kwargs)
        finally:
            cpu = time.thread_time_ns() - cpu
            faults = resource.getrusage(resource.RUSAGE_THREAD).ru_minflt - faults
            _nesting.inner = outer
            with lock:
                totals[stage + " us"] += (cpu - inner[0]) / 1000
                totals[stage + " faults"] += faults - inner[1]
                totals[stage + " calls"] += 1
            if outer is not None:
                outer[0] += time.thread_time_ns() - start
                outer[1] += faults
    return measured


_buffers = threading.local()


def _in_a_kept_buffer(parts: list[bytes]) -> Any:
    """``encode.array_body`` copied into its thread's kept buffer (``buffer``)."""
    from readme_metrics.delivery import encode

    parts = list(parts)  # (the sender hands an iterator)
    size = 1 + sum(map(len, parts)) + max(len(parts), 1)
    buffer = getattr(_buffers, "buffer", None)
    if buffer is None or len(buffer) < size:
        buffer = _buffers.buffer = bytearray(max(size, 2 * len(buffer or b"")))
    view = memoryview(buffer)
    view[0:1] = b"["
    end = 1
    for part in parts:
        view[end:end + len(part)] = part
        end += len(part)
        view[end:end + 1] = b","
        end += 1
    view[end - 1:end] = b"]"
    return encode.Body((view[:end],))


def child(variant: str, workload: str) -> None:
    """One run in this interpreter; prints one line of JSON."""
    import bench

    from readme_metrics.delivery import direct, encode, sender

    if variant == "buffer":
        encode.array_body = _in_a_kept_buffer
    elif variant == "writes":
        direct._gather = lambda sock, buffers, deadline: direct._write(sock, tuple(buffers),
                                                                        deadline)
    totals: collections.Counter = collections.Counter()
    lock = threading.Lock()
    sender.dumps = _measured(totals, lock, "encode", encode.dumps)
    sender.array_body = _measured(totals, lock, "join", encode.array_body)
    sender.Sender.post = _measured(totals, lock, "post", sender.Sender.post)
    if variant == "one_call":
        def one_call(self: Any, items: list,
                     on_error: Callable[[BaseException, Any], None]) -> Any:
            logs = []
            for item in items:
                try:
                    logs.append(self._build(item))
                except BaseException as exc:
                    on_error(exc, item)
            return sender.dumps(logs) if logs else None
        sender.Sender.encode = one_call
    app, method, body, requests = ((bench.get_app, "GET", b"", 5000) if workload == "get"
                                   else (bench.post_app, "POST", bench.POST_BODY, 500))
    collector = bench.Collector("ok")
    try:
        wrapped = bench.wrap(app, collector.url)
        delivery = wrapped.pipeline.delivery
        delivery._sender._build = _measured(totals, lock, "build", delivery._sender._build)
        before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        figures = bench.run_inprocess(app=wrapped, method=method, body=body,
                                      requests=requests, wrapped=wrapped)
        faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before
        wrapped.close()
        served = requests + bench.WARM_UP
        delivered = collector.count()
    finally:
        collector.stop()
    logs = max(totals["build calls"], 1)
    stages = {f"{stage} per log": round(totals[stage] / logs, 1)
              for stage in ("build us", "build faults", "encode us", "encode faults",
                            "join us", "join faults", "post us", "post faults")}
    print(json.dumps({"cpu_us_per_request": figures["cpu_us_per_request"],
                      "faults_per_request": faults / served, **stages,
                      "delivered": delivered, "served": served}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workloads", default="get,post")
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--child", nargs=2, metavar=("VARIANT", "WORKLOAD"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    variants = args.variants.split(",")
    report: dict[str, Any] = {"load_average_at_start": os.getloadavg()}
    runs: dict[tuple[str, str], list[dict[str, Any]]] = collections.defaultdict(list)
    for workload in args.workloads.split(","):
        for round_ in range(args.rounds):
            for variant in variants if round_ % 2 == 0 else variants[::-1]:
                env = dict(os.environ, **(MALLOC_ENV if variant == "malloc_env" else {}))
                done = subprocess.run(
                    [sys.executable, __file__, "--child", variant, workload], env=env,
                    stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, check=True)
                runs[workload, variant].append(json.loads(done.stdout.splitlines()[-1]))
                print(f"{workload} {variant} round {round_ + 1}: "
                      f"{runs[workload, variant][-1]['cpu_us_per_request']:.1f} us CPU/request",
                      file=sys.stderr)
    for (workload, variant), results in runs.items():
        medians = {key: round(statistics.median(run[key] for run in results), 1)
                   for key in results[0] if key not in ("delivered", "served")}
        medians["delivered"] = (f"{sum(run['delivered'] for run in results)} of "
                                f"{sum(run['served'] for run in results)} served")
        report.setdefault(workload, {})[variant] = medians
    report["load_average_at_end"] = os.getloadavg()
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
