"""A SIGTERM to hypercorn's whole process group while it serves (delivery44).

systemd's default ``KillMode=control-group`` (and ``kill -TERM -- -<pgid>``) signals every
process of the server at once: hypercorn's parent, which tells its workers to stop, and
the workers themselves, which leave SIGTERM at its default. Each worker died there,
before any close began: every log it held lost, nothing said (delivery43's sweep: 424,
then 53 of about 1,200; delivery44's, API answering in 1 s: 281 of 1,850 served under
``hypercorn``, 181 of 1,153 under ``-w 2``). Now the worker's SIGTERM runs the library's
close first, then ends the worker by that SIGTERM, as bare: hypercorn's parent sees the
worker killed by signal 15 and exits 0, as it does bare.

A real hypercorn (its CLI, run by a script that prints each worker's exit code as the
parent joins it), real FastAPI app, a collector on 127.0.0.1; nothing is sent before the
stop (buffer 1,000, flush every 600 s). uvicorn ``--workers 2`` under the same stop is
checked too (its workers take SIGTERM themselves: every log delivered before and after).
"""

from __future__ import annotations

import os
import signal
import threading
from pathlib import Path

import pytest

from tests.support.delivery import gave_up_total
from tests.support.fake_api import Collector
from tests.support.polling import wait_until
from tests.support.processes import LINE_WAIT
from tests.support.runserver import Served, children, held_collector, serving
from tests.test_e2e_servers import server_env

ROOT = Path(__file__).resolve().parents[1]
APP = "tests.support.asgi_apps:fastapi_app"

#: hypercorn's CLI, each worker's exit code printed once hypercorn returned (its own
#: ``_join_exited`` may find a worker's sentinel closed before its exit code is there).
_RUN = """\
import sys
from multiprocessing.process import BaseProcess

from hypercorn.__main__ import main

started = []
start = BaseProcess.start


def _start(self):
    start(self)
    started.append(self)


if __name__ == "__main__":  # (spawn's workers import this module too)
    BaseProcess.start = _start
    code = main(sys.argv[1:])
    for worker in started:
        worker.join()
        print("worker exit", worker.exitcode, flush=True)
    sys.exit(code)
"""


def _env(collector: Collector, tmp_path: Path, shutdown_timeout: str) -> dict[str, str]:
    return server_env(collector, PYTHONPATH=f"{ROOT}{os.pathsep}{tmp_path}",
                      README_BACKGROUND_WORKER_MODE="true", README_BUFFER_LENGTH="1000",
                      README_FLUSH_INTERVAL="600", README_SHUTDOWN_TIMEOUT=shutdown_timeout,
                      README_TIMEOUT="3")


def _hypercorn(tmp_path: Path, workers: int) -> list[str]:
    (tmp_path / "run44.py").write_text(_RUN)
    more = [] if workers == 1 else [f"--workers={workers}"]
    return ["run44.py", "-b", "127.0.0.1:{port}", *more, APP]


def _workers(served: Served, count: int) -> list[int]:
    """The workers hypercorn spawned (not spawn's resource tracker), once all serve."""
    found: list[int] = []

    def ready() -> bool:
        found[:] = [pid for pid in children(served.process.pid)
                    if "resource_tracker" not in Path(f"/proc/{pid}/cmdline").read_text()]
        return len(found) == count
    wait_until(ready, timeout=LINE_WAIT)
    wait_until(lambda: served.said().count("Running on") >= count, timeout=LINE_WAIT)
    return found


def _names(collector: Collector) -> set[str]:
    return {log["request"]["log"]["entries"][0]["request"]["url"].rsplit("=", 1)[1]
            for log in collector.logs}


@pytest.mark.e2e
@pytest.mark.parametrize("workers", [1, 2])
def test_hypercorn_group_sigterm_while_serving_delivers_then_the_worker_dies_by_it(
        tmp_path: Path, workers: int) -> None:
    """``hypercorn`` (one worker) and ``-w 2``, 40 calls, SIGTERM to the process group:
    all 40 logs reach the API, each worker then dies by the SIGTERM (exit code -15, as
    bare) and hypercorn exits 0, as bare. Before: 0 of 40 read, nothing said."""
    collector = Collector().start()
    try:
        with serving(_hypercorn(tmp_path, workers), _env(collector, tmp_path, "20"),
                     tmp_path, "server.log") as served:
            _workers(served, workers)
            served.call([f"n{n}" for n in range(40)])
            os.killpg(served.process.pid, signal.SIGTERM)
            code = served.process.wait(LINE_WAIT)
            said = served.said()
        assert _names(collector) == {f"n{n}" for n in range(40)}, said
    finally:
        collector.stop()
    assert code == 0, said
    assert said.count("worker exit -15") == workers, said
    assert "Traceback" not in said, said


@pytest.mark.e2e
def test_hypercorn_group_sigterm_with_the_api_holding_its_answers_says_the_count(
        tmp_path: Path) -> None:
    """The API holds its answers (never given), ``shutdown_timeout`` 2 s: the close
    gives up and says "40 logs not delivered", then the worker dies by the SIGTERM (as
    bare). Before: killed at the signal, the POST never made, nothing said."""
    gate = threading.Event()
    with held_collector(gate) as held:
        with serving(_hypercorn(tmp_path, 1), _env(held, tmp_path, "2"), tmp_path,
                     "server.log") as served:
            _workers(served, 1)
            served.call([f"n{n}" for n in range(40)])
            os.killpg(served.process.pid, signal.SIGTERM)
            code = served.process.wait(LINE_WAIT)
            said = served.said()
        assert not gate.is_set()
    assert code == 0, said
    assert gave_up_total(r"closing gave up [^\n]*?: ", said) == 40, said
    assert "worker exit -15" in said, said


@pytest.mark.e2e
def test_hypercorn_worker_alone_sigterm_while_serving_delivers_and_stops_hypercorn(
        tmp_path: Path) -> None:
    """SIGTERM to a hypercorn worker alone (``kill <worker pid>``) while it serves: its
    40 logs delivered, it dies by the SIGTERM, and hypercorn's parent stops as bare (a
    worker killed ends the server). Before: 0 of 40 read, nothing said."""
    collector = Collector().start()
    try:
        with serving(_hypercorn(tmp_path, 1), _env(collector, tmp_path, "20"), tmp_path,
                     "server.log") as served:
            worker, = _workers(served, 1)
            served.call([f"n{n}" for n in range(40)])
            os.kill(worker, signal.SIGTERM)
            code = served.process.wait(LINE_WAIT)
            said = served.said()
        assert _names(collector) == {f"n{n}" for n in range(40)}, said
    finally:
        collector.stop()
    assert code == 0, said
    assert "worker exit -15" in said, said


@pytest.mark.e2e
def test_uvicorn_workers_group_sigterm_delivers_every_log(tmp_path: Path) -> None:
    """uvicorn ``--workers 2`` under the same stop: its workers take SIGTERM themselves
    (the lifespan's flush sends what they hold): 40 of 40 read, exit 0. (Passed before
    too: the comparison the hypercorn fix was measured against.)"""
    collector = Collector().start()
    try:
        argv = ["-m", "uvicorn", "--host=127.0.0.1", "--port={port}", "--workers=2", APP]
        with serving(argv, _env(collector, tmp_path, "20"), tmp_path,
                     "server.log") as served:
            served.call([f"n{n}" for n in range(40)])
            os.killpg(served.process.pid, signal.SIGTERM)
            code = served.process.wait(LINE_WAIT)
            said = served.said()
        assert _names(collector) == {f"n{n}" for n in range(40)}, said
    finally:
        collector.stop()
    assert code == 0, said


@pytest.mark.skipif(threading.current_thread() is not threading.main_thread(),
                    reason="signal handlers are set in the main thread only")
def test_no_handler_is_set_outside_a_hypercorn_worker() -> None:
    """Here (pytest's process, no hypercorn worker) the watch sets nothing: SIGTERM
    stays whatever it was."""
    from readme_metrics.delivery import hypercorn_stop

    before = signal.getsignal(signal.SIGTERM)
    hypercorn_stop.watch()
    assert not hypercorn_stop.in_hypercorn_worker()
    assert signal.getsignal(signal.SIGTERM) is before
