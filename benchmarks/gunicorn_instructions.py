"""Instructions per request of a gunicorn sync worker, counted by callgrind: what the
worker executes under a real server, beside ``instructions.py``'s in-process counts.

.. code-block:: sh

    python benchmarks/gunicorn_instructions.py                      # bare, off, wrapped
    python benchmarks/gunicorn_instructions.py --variants wrapped --buffer-length 500

Runs gunicorn (one sync worker) under ``valgrind --tool=callgrind`` with ``bench.py``'s
small GET app: ``bare``, ``off`` (wrapped, ``pipeline.submit`` a no-op: the capture
alone) or ``wrapped`` (the real thing, all threads of the worker counted together). A
client sends ``--base`` and then, in a second run, ``--requests`` GETs one after another
(one connection each, as ``wrk`` uses them with a sync worker, which closes each); the
worker's Ir of the two runs, less each other, over the difference of the counts, is the
Ir per request: start-up, imports and the exit flush cancel out. The load of the machine
does not move it. With ``--buffer-length`` past ``--requests`` the logs go in one POST at
exit (the flush interval is set past the run), as large batches: the per-POST share then
cancels out too. Each wrapped run checks that the collector got every log. Needs
valgrind and gunicorn. Prints one JSON document.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench  # noqa: E402

#: The app module gunicorn loads: bench.py's bare and wrapped apps, and the capture alone.
APP = bench.GUNICORN_APP + """
off = bench.wrap(bench.get_app, os.environ["METRICS_URL"])
off.pipeline.submit = lambda item: True
"""
VARIANTS = ("bare", "off", "wrapped")
TARGET = "/v1/widgets/12345?expand=owner&limit=10"


def total_ir(path: Path) -> int:
    """The Ir a callgrind file counted."""
    for line in path.read_text().splitlines():
        if line.startswith(("summary:", "totals:")):
            return int(line.split()[1])
    return 0


def wait_for_server(port: int, seconds: float = 300.0) -> None:
    """Until gunicorn (slow under valgrind) accepts a connection."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            probe = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            probe.connect()
            probe.close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def run(variant: str, requests: int, buffer_length: int, collector: bench.Collector,
        directory: str) -> dict[str, Any]:
    """One gunicorn run under callgrind serving ``requests`` GETs: the worker's Ir and
    the logs the collector got meanwhile."""
    port = bench.free_port()
    out = Path(directory, f"{variant}-{requests}")
    env = {**os.environ, "METRICS_URL": collector.url,
           "BENCH_DIR": str(Path(__file__).resolve().parent),
           "PYTHONPATH": os.pathsep.join([directory, str(bench.ROOT)]),
           "PYTHONHASHSEED": "0", "BENCH_BUFFER_LENGTH": str(buffer_length),
           # Past the run: a batch goes when buffer_length logs wait, or at exit.
           "README_FLUSH_INTERVAL": "3600"}
    server = subprocess.Popen(
        ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}.%p", sys.executable,
         "-m", "gunicorn", "--workers", "1", "--worker-class", "sync", "--timeout", "3600",
         "--bind", f"127.0.0.1:{port}", "--log-level", "warning", f"bench_app:{variant}"],
        cwd=directory, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    before = collector.count()
    try:
        wait_for_server(port)
        headers = {name: value for name, value in bench.GET_HEADERS.items()
                   if name != "Connection"}
        for _ in range(requests):
            client = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
            try:
                client.request("GET", TARGET, headers=headers)
                client.getresponse().read()
            finally:
                client.close()
    finally:
        server.terminate()
        server.wait(600)  # the worker's exit flush included
    files = sorted(Path(directory).glob(f"{out.name}.*"))
    counts = sorted(total_ir(path) for path in files)
    for path in files:
        path.unlink()
    # Two files: gunicorn's arbiter and its worker, which runs the app (the larger).
    return {"worker_ir": counts[-1], "logs": collector.count() - before}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--base", type=int, default=50)
    parser.add_argument("--requests", type=int, default=150)
    parser.add_argument("--buffer-length", type=int, default=10)
    args = parser.parse_args()
    report: dict[str, Any] = {"python": sys.version.split()[0],
                              "buffer_length": args.buffer_length}
    collector = bench.Collector("ok")
    try:
        with tempfile.TemporaryDirectory() as directory:
            Path(directory, "bench_app.py").write_text(APP)
            for variant in args.variants.split(","):
                if variant not in VARIANTS:
                    parser.error(f"unknown variant {variant}")
                runs = [run(variant, count, args.buffer_length, collector, directory)
                        for count in (args.base, args.requests)]
                report[variant] = {
                    "ir_per_request": round((runs[1]["worker_ir"] - runs[0]["worker_ir"])
                                            / (args.requests - args.base)),
                    "runs": runs}
                if variant == "wrapped":
                    report[variant]["delivered"] = (
                        f"{runs[0]['logs']} of {args.base}; "
                        f"{runs[1]['logs']} of {args.requests}")
    finally:
        collector.stop()
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
