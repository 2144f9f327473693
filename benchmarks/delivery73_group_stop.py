"""``uvicorn --workers 2`` stopped by a SIGTERM to its whole process group (systemd's
``KillMode=control-group``): is every log delivered, or said lost? (delivery70, 73)

.. code-block:: sh

    PYTHONPATH=. python benchmarks/delivery73_group_stop.py --runs 30 --burners 3
    PYTHONPATH=. python benchmarks/delivery73_group_stop.py --library <a checkout of main>

Each run: the tests' collector (tests/support, on 127.0.0.1) answering each POST in
``--delay`` seconds (250 ms), a site with README's SIGTERM lines (``sys.exit(0)``,
delivery67's ``GROUP_SITE`` in tests/support/uvicorn_workers.py) served by ``uvicorn
--workers 2`` in a process group of its own, ``--calls`` calls (40) each on a connection
of its own (both workers hold logs), then ``kill -TERM -- -<pgid>``. ``--burners``
processes spin beside it for the whole loop (the load the loss showed under). One JSON
line per run (logs delivered, lost, what the server's output said was not delivered),
then one with the totals: ``lost_unsaid`` counts the runs that lost more logs than were
said lost, ``falsely_said`` those that said more not delivered than the collector lacked
(delivery76), ``hung`` those whose stop had not ended a minute after the signal
(py-spy's dump of each process left, where py-spy is installed, is in that run's line).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from tests.support.fake_api import Collector, Reply  # noqa: E402
from tests.support.processes import kill_server, run_command, start_server  # noqa: E402
from tests.support.uvicorn_workers import (  # noqa: E402
    GROUP_SITE,
    start_workers,
    wait_ready,
    workers,
)

ROOT = Path(__file__).resolve().parents[1]
#: Seconds the group's stop may take before the run is called hung (shutdown_timeout
#: is 5 s; the workers' exits and the parent's join come on top).
STOP_WAIT = 60
#: What the library says of logs it gave up on (a close's, a drop's).
SAID = re.compile(r"not delivered|gave up|dropped", re.IGNORECASE)
#: The count in such a line.
COUNT = re.compile(r"(\d+) logs? (?:not delivered|dropped)")


def one_run(folder: Path, calls: int, delay: float, library: Path) -> dict[str, object]:
    collector = Collector().start()
    collector.default = Reply(delay=delay)
    process, base = start_workers(GROUP_SITE, "group_site", folder, collector.url,
                                  library=library)
    try:
        wait_ready(process, base)
        pids = set()
        for i in range(calls):
            pids.add(requests.get(f"{base}/item/{i}", timeout=30).json()["pid"])
        began = time.monotonic()
        os.killpg(process.pid, signal.SIGTERM)
        stacks = ""
        try:
            said = process.communicate(timeout=STOP_WAIT)[0].decode(errors="replace")
        except subprocess.TimeoutExpired:  # (hung: what each process left does, then ended)
            stacks = "\n".join(_stacks(pid) for pid in [process.pid,
                                                        *workers(process.pid)])
            kill_server(process)
            said = process.communicate()[0].decode(errors="replace")
        stop_s = round(time.monotonic() - began, 2)
    finally:
        kill_server(process)
        collector.stop()
    urls = set(collector.urls)
    delivered = sum("/item/" in url for url in urls)
    lines = [line for line in said.splitlines() if SAID.search(line)]
    run: dict[str, object] = {
        "delivered": delivered, "lost": calls - delivered, "said": lines,
        "said_count": sum(int(m.group(1)) for line in lines for m in COUNT.finditer(line)),
        "workers_served": len(pids), "exit": process.returncode, "stop_s": stop_s}
    if stacks:
        run["hung"] = {"stacks": stacks, "output": said[-3000:]}
    return run


def _stacks(pid: int) -> str:
    """py-spy's dump of ``pid`` (where py-spy is installed), else nothing."""
    spy = shutil.which("py-spy") or os.path.join(os.path.dirname(sys.executable), "py-spy")
    if not os.path.exists(spy):
        return ""
    done = run_command([spy, "dump", "--pid", str(pid)], capture_output=True, text=True,
                       timeout=60)
    return f"{pid}:\n{done.stdout}{done.stderr}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--calls", type=int, default=40)
    parser.add_argument("--delay", type=float, default=0.25)
    parser.add_argument("--burners", type=int, default=3)
    parser.add_argument("--library", type=Path, default=ROOT,
                        help="the checkout whose readme_metrics the server imports")
    args = parser.parse_args()
    burners = [start_server([sys.executable, "-c", "while True: pass"])
               for _ in range(args.burners)]
    totals = {"runs": 0, "lost_unsaid": 0, "lost_said": 0, "logs_lost": 0, "hung": 0,
              "falsely_said": 0, "logs_falsely_said": 0}
    try:
        for _ in range(args.runs):
            with tempfile.TemporaryDirectory(prefix="delivery73-") as name:
                run = one_run(Path(name), args.calls, args.delay, args.library)
            print(json.dumps(run), flush=True)
            totals["runs"] += 1
            totals["hung"] += "hung" in run
            lost, said = int(str(run["lost"])), int(str(run["said_count"]))
            if lost:  # (said: as many said not delivered, or more: POSTs cut once read)
                totals["logs_lost"] += lost
                totals["lost_said" if said >= lost else "lost_unsaid"] += 1
            if said > lost:  # (said not delivered, yet the collector had them: delivery76)
                totals["falsely_said"] += 1
                totals["logs_falsely_said"] += said - lost
    finally:
        for burner in burners:
            kill_server(burner)
    print(json.dumps({"totals": totals, "library": str(args.library)}), flush=True)


if __name__ == "__main__":
    main()
