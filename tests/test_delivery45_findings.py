"""delivery45: the soak's tail under a slow API, and two harnesses that broke or flaked.

1. ``benchmarks/request_thread.py`` raised ZeroDivisionError (its wrapped workers wrote
   ``calls`` 0, seen under gunicorn 27.0.1): its warm-up began as soon as gunicorn's master
   listened, and a worker slow to import the app (seven wrapped middlewares, on a loaded
   machine) answered none of the warm-up nor of a short run. It now waits for each
   worker's ``ready-<pid>`` (``bench.wait_for_workers``), as bench.py's gunicorn run
   does since it met the same at load 17. Pinned here with gunicorn's own ``post_fork``
   hook holding each worker 3 s before it imports the app (``GUNICORN_CMD_ARGS``, which
   the benchmark's environment passes on): before, the same ZeroDivisionError.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.processes import run_command

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
