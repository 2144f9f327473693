"""The capture's CPU per request warm and cold, in process: what the same instructions
cost when other work runs between two requests, as in a gunicorn worker.

.. code-block:: sh

    python benchmarks/cold_capture.py                    # 5 rounds of 2,000 calls each
    python benchmarks/cold_capture.py --rounds 7 --calls 3000 --evict-mb 8

``bench.py``'s small GET app, bare and wrapped with ``pipeline.submit`` keeping the
last item only (``off``: the capture alone, nothing delivered), each called ``--calls``
times in a loop, ``time.thread_time_ns()`` read around each call alone. Between two
calls, one of four workloads runs outside the clock:

``none``
    nothing: back to back, the capture warm (``bench.py``'s in-process figure).
``data``
    one byte written every 64 in a ``--evict-mb`` buffer: the data caches emptied.
``sender``
    what a sender does for one log: the last captured item built into a HAR log
    (``pipeline.build_log``) and encoded (``delivery.encode.dumps``): other code and
    other objects through the caches, the library's own.
``both``
    ``data`` then ``sender``.

The rounds alternate the workloads and the apps; each figure is the median of the
rounds. The capture's cost is ``off`` less ``bare`` under the same workload. CPU time,
so another process on the core moves it less than wall time, but a loaded machine's
caches are shared too: compare figures of one run. Prints one JSON document.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any, Callable

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench  # noqa: E402

from readme_metrics.delivery.encode import dumps  # noqa: E402

WORKLOADS = ("none", "data", "sender", "both")


def start_response(status: str, headers: list[tuple[str, str]],
                   exc_info: Any = None) -> Callable[[bytes], None]:
    return lambda data: None


def workloads(wrapped: Any, kept: list[Any], evict_mb: int) -> dict[str, Callable[[], None]]:
    buffer = bytearray(evict_mb << 20)
    zeros = bytes(len(buffer[::64]))

    def data() -> None:
        buffer[::64] = zeros

    def sender() -> None:
        dumps(wrapped.pipeline.build_log(kept[0]))

    def both() -> None:
        data()
        sender()

    return {"none": lambda: None, "data": data, "sender": sender, "both": both}


def per_call_us(app: Any, between: Callable[[], None], calls: int) -> float:
    """Mean CPU microseconds of one call of ``app``, ``between()`` run before each."""
    environ = bench.environ_for("GET")
    clock = time.thread_time_ns
    total = 0
    for _ in range(calls):
        fresh = dict(environ)
        between()
        began = clock()
        for _chunk in app(fresh, start_response):
            pass
        total += clock() - began
    return total / calls / 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--evict-mb", type=int, default=8)
    args = parser.parse_args()

    wrapped = bench.wrap(bench.get_app, "http://127.0.0.1:9/")
    kept: list[Any] = [None]

    def keep(item: Any, send: bool = True) -> bool:
        kept[0] = item
        return True

    wrapped.pipeline.submit = keep
    apps = {"bare": bench.get_app, "off": wrapped}
    between = workloads(wrapped, kept, args.evict_mb)
    for name in WORKLOADS:  # warm-up: every path once, the item kept
        per_call_us(wrapped, between[name], 100)
    runs: dict[str, dict[str, list[float]]] = {name: {"bare": [], "off": []}
                                               for name in WORKLOADS}
    for rnd in range(args.rounds):
        order = WORKLOADS if rnd % 2 == 0 else WORKLOADS[::-1]
        for name in order:
            for app_name in (("bare", "off") if rnd % 2 == 0 else ("off", "bare")):
                runs[name][app_name].append(per_call_us(apps[app_name], between[name],
                                                        args.calls))
    figures: dict[str, Any] = {}
    for name in WORKLOADS:
        bare, off = (statistics.median(runs[name][app]) for app in ("bare", "off"))
        figures[name] = {"bare_us": round(bare, 2), "off_us": round(off, 2),
                         "capture_us": round(off - bare, 2),
                         "off_runs": [round(value, 2) for value in runs[name]["off"]]}
    warm = figures["none"]["capture_us"]
    for name in WORKLOADS:
        figures[name]["times_warm"] = round(figures[name]["capture_us"] / warm, 2)
    print(json.dumps({"load_average": [round(v, 2) for v in os.getloadavg()],
                      "rounds": args.rounds, "calls": args.calls, "evict_mb": args.evict_mb,
                      "workloads": figures}, indent=2))


if __name__ == "__main__":
    main()
