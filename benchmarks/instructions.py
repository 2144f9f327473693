"""Instructions per request of the WSGI middleware, counted by callgrind: a figure the
load of a shared machine does not move, for A/B of CPU work (issue 11).

.. code-block:: sh

    python benchmarks/instructions.py                    # GET and POST, thread/off/inline
    python benchmarks/instructions.py --workload get --modes off --requests 2000
    python benchmarks/instructions.py --keep /tmp/cg     # keep the callgrind files
    python benchmarks/instructions.py --workload asgi-get --modes bare,off,thread
    python benchmarks/instructions.py --workload get --denylist password,secret
    python benchmarks/instructions.py --workload get --modes off --server gunicorn

Each case runs ``bench.py``'s small GET (or its POST, 2 KB in / 100 KB JSON out) through
the real middleware, a direct environ call per request (no server), then flushes to
``bench.py``'s loopback collector in another process (not counted) and checks that the
collector got every log. It runs twice under ``valgrind --tool=callgrind
--separate-threads=yes``, with ``--requests`` and with ``--base`` requests after the same
warm-up; the difference of the two, divided by the difference of the counts, is the Ir
(instructions executed) per request, so start-up, imports and the warm-up cancel out.

``asgi-get`` is the same small GET as an ASGI app (``bench_asgi.get_app``) through the
plain ASGI middleware (``readme_metrics.asgi``), awaited in a loop on one asyncio event
loop (``receive`` and ``send`` never suspend, so the loop itself costs nothing per
request); ``inline`` sends from the loop's executor, off the main thread.

Modes:

``thread``
    Default options (background senders). The main thread is the request path, the
    hand-off included; the other threads (senders, watchdog) are the worker. Batch sizes
    follow how the threads are scheduled, so the worker's figure moves a little from run
    to run (the request path's hardly).
``bare``
    The app alone, not wrapped (what the loop itself costs).
``off``
    ``pipeline.submit`` replaced by a no-op: the capture alone, deterministic.
``inline``
    ``background_worker_mode=False``: the request thread builds and posts every batch of
    10 (deterministic); less ``off``, the worker's work per log.

Needs valgrind (``apt-get install valgrind``). Prints one JSON document.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

WARM_UP = 200

#: ``--server``: the keys a server of that name adds to every environ (the middleware
#: asks some servers' questions by them), so that its path is counted without it.
#: gunicorn's ``wsgi.file_wrapper`` (its class) is added by :func:`server_keys`.
SERVER_KEYS: dict[str, dict[str, Any]] = {
    "none": {},
    "gunicorn": {"SERVER_SOFTWARE": "gunicorn/23.0.0", "gunicorn.socket": None},
}


def server_keys(server: str) -> dict[str, Any]:
    """:data:`SERVER_KEYS` of ``server``, with gunicorn's own ``wsgi.file_wrapper`` class
    (the middleware asks whether a response is one of its objects)."""
    keys = dict(SERVER_KEYS[server])
    if server == "gunicorn":
        from gunicorn.http.wsgi import FileWrapper

        keys["wsgi.file_wrapper"] = FileWrapper
    return keys


def child(workload: str, mode: str, requests: int) -> None:
    """One measured process: warm up, serve ``requests``, flush, check delivery."""
    import bench

    if workload == "asgi-get":
        asgi_child(mode, requests)
        return

    if workload == "get":
        app, method, body = bench.get_app, "GET", b""
    else:
        app, method, body = bench.post_app, "POST", bench.POST_BODY
    collector = bench.Collector()
    try:
        options: dict[str, Any] = {}
        if mode == "inline":
            options["background_worker_mode"] = False
        wrapped = bench.wrap(app, collector.url, **options)
        called = app if mode == "bare" else wrapped
        if mode == "off":
            wrapped.pipeline.submit = lambda item, send=True: True
        template = bench.environ_for(method, body)
        template.update(server_keys(os.environ.get("BENCH_SERVER", "none")))
        for _ in range(WARM_UP + requests):
            bench.serve(called, bench.fresh_environ(template, body))
        report(wrapped, collector, mode, requests)
    finally:
        collector.stop()


def report(wrapped: Any, collector: Any, mode: str, requests: int) -> None:
    """Flush ``wrapped``, print how many logs were sent and delivered against how many
    were served (none in the modes that send nothing), and close it."""
    complete = wrapped.flush(600)
    stats = wrapped.stats
    delivered = collector.count()
    expected = 0 if mode in ("off", "bare") else WARM_UP + requests
    ok = complete and stats["sent"] == expected and delivered == expected
    print(json.dumps({"sent": stats["sent"], "delivered": delivered,
                      "expected": expected, "ok": ok}), flush=True)
    wrapped.close()


def asgi_child(mode: str, requests: int) -> None:
    """:func:`child` for the ASGI small GET."""
    import asyncio

    import bench
    import bench_asgi

    collector = bench.Collector()
    try:
        if mode == "inline":
            os.environ["README_BACKGROUND_WORKER_MODE"] = "false"
        wrapped = bench_asgi.wrap(bench_asgi.get_app, collector.url, starlette=False)
        called = bench_asgi.get_app if mode == "bare" else wrapped
        if mode == "off":
            wrapped.pipeline.submit = lambda item, send=True: True
        message = {"type": "http.request", "body": b"", "more_body": False}

        async def receive() -> dict[str, Any]:
            return message

        async def send(message: dict[str, Any]) -> None:
            pass

        async def loop() -> None:
            for _ in range(WARM_UP + requests):
                await called(bench_asgi.scope_for(), receive, send)

        asyncio.run(loop())
        report(wrapped, collector, mode, requests)
    finally:
        collector.stop()


def thread_totals(prefix: str) -> dict[str, int]:
    """Ir per thread number from callgrind's per-thread files ``prefix-NN``."""
    totals = {}
    for path in sorted(glob.glob(prefix + "-*")):
        number = int(path.rsplit("-", 1)[1])
        with open(path) as file:
            for line in file:
                if line.startswith(("summary:", "totals:")):
                    totals[number] = int(line.split()[1])
                    break
    return totals


def measure(workload: str, mode: str, requests: int, directory: str) -> dict[str, Any]:
    """Ir of the main thread and of the others for one run of ``child``."""
    prefix = os.path.join(directory, f"{workload}-{mode}-{requests}.out")
    command = ["valgrind", "--tool=callgrind", "--separate-threads=yes",
               f"--callgrind-out-file={prefix}", sys.executable, __file__, "child",
               workload, mode, str(requests)]
    # A fixed hash seed: dict and set layouts, and so the instructions, the same each run.
    environment = dict(os.environ, PYTHONHASHSEED="0")
    done = subprocess.run(command, capture_output=True, text=True, check=False,
                          env=environment)
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        raise SystemExit(f"child failed ({done.returncode}):\n{done.stderr[-3000:]}")
    result = json.loads(lines[-1])
    totals = thread_totals(prefix)
    result["main"] = totals.get(1, 0)
    result["others"] = sum(ir for number, ir in totals.items() if number != 1)
    result["threads"] = len(totals)
    return result


def warm_bytecode(workload: str, mode: str) -> None:
    """Run ``child`` once, not measured, so that every module it imports has its bytecode
    cached before the two measured runs. Else the first of them (``--requests``) alone
    compiles the modules edited since the tree last ran, and the difference of the two
    runs counts the compilation as work per request: with ``har/credentials.py`` edited,
    ``--modes off`` read about 98k Ir per small GET instead of 82k (the first mode run
    after an edit pays it: the "off count not to be trusted" of earlier passes)."""
    subprocess.run([sys.executable, __file__, "child", workload, mode, "1"],
                   capture_output=True, check=False, env=dict(os.environ, PYTHONHASHSEED="0"))


def per_request(workload: str, mode: str, requests: int, base: int,
                directory: str) -> dict[str, Any]:
    warm_bytecode(workload, mode)
    big = measure(workload, mode, requests, directory)
    small = measure(workload, mode, base, directory)
    span = requests - base
    main = (big["main"] - small["main"]) / span
    others = (big["others"] - small["others"]) / span
    return {"request_thread_ir": round(main), "other_threads_ir": round(others),
            "total_ir": round(main + others), "delivered_ok": big["ok"] and small["ok"],
            "runs": [big, small]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workload", choices=["get", "post", "both", "asgi-get"],
                        default="both")
    parser.add_argument("--modes", default="bare,off,inline,thread",
                        help="comma-separated: bare, off, inline, thread")
    parser.add_argument("--requests", type=int, default=0,
                        help="requests measured (default 2000 GET, 300 POST)")
    parser.add_argument("--base", type=int, default=0,
                        help="requests of the subtracted run (default a fifth)")
    parser.add_argument("--keep", default="", help="directory for the callgrind files")
    parser.add_argument("--server", choices=sorted(SERVER_KEYS), default="none",
                        help="the environ as that server gives it (its own keys added)")
    parser.add_argument("--denylist", default="",
                        help="comma-separated denylist of the wrapped app (default none)")
    args = parser.parse_args()
    if args.denylist:
        os.environ["BENCH_DENYLIST"] = args.denylist  # the children inherit it
    os.environ["BENCH_SERVER"] = args.server  # (likewise)
    if args.keep:
        os.makedirs(args.keep, exist_ok=True)
        report_all(args, args.keep)
    else:  # the callgrind files are read here, then removed (they piled up in /tmp)
        with tempfile.TemporaryDirectory(prefix="instructions-") as directory:
            report_all(args, directory)


def report_all(args: argparse.Namespace, directory: str) -> None:
    """Each workload in each mode, its callgrind files in ``directory``; the report."""
    workloads = ["get", "post"] if args.workload == "both" else [args.workload]
    report: dict[str, Any] = {"python": sys.version.split()[0]}
    for workload in workloads:
        requests = args.requests or (300 if workload == "post" else 2000)
        base = args.base or requests // 5
        for mode in args.modes.split(","):
            result = per_request(workload, mode, requests, base, directory)
            report[f"{workload}_{mode}"] = result
            print(f"{workload} {mode}: {result['request_thread_ir']} + "
                  f"{result['other_threads_ir']} Ir per request, delivered "
                  f"{'ok' if result['delivered_ok'] else 'NOT ALL'}",
                  file=sys.stderr, flush=True)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "child":
        child(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    else:
        main()
