"""A crashed xdist worker says how it ended, and the tests' watchers say what they end
(flake29: CI32's worker went down "Not properly terminated" while running
test_asgi_left[uvicorn-httptools-starlette-whole], which passes alone; nothing said by
what, nor where the worker was). tests/support/worker_crash.py, tests/support/reaper.py.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.command import REPO_ROOT
from tests.support.polling import wait_until
from tests.support.processes import read_line, run_command, start_server
from tests.support.signal_dispositions import ignores
from tests.test_support_processes import _running

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"),
                                reason="reads /proc; faulthandler.register is POSIX")

_DIES = """\
import os, signal


def test_ended_by_a_signal_from_elsewhere(tmp_path_factory):
    (tmp_path_factory.getbasetemp() / "reaper.log").write_text(
        "2026-12-05T14:00:00 watcher of 1: {signal} to %d (group 7): (as a watcher says it)\\n"
        % os.getpid())
    os.kill(os.getpid(), signal.{signal})
"""


@pytest.mark.parametrize("how", ["SIGKILL", "SIGTERM"])
def test_a_worker_ended_by_a_signal_says_by_which_and_where_it_was(
        tmp_path: Path, how: str) -> None:
    """A run of one xdist worker (this suite's conftest as a plugin) whose test is ended
    by a signal, as a process outside the worker would end it. Before, the run said
    "node down: Not properly terminated" and "worker 'gw0' crashed while running ...",
    nothing more."""
    (tmp_path / "test_dies.py").write_text(_DIES.format(signal=how))
    # Its pytest folders (and the watcher's line it writes) in a temporary root of its own.
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT),
           "PYTEST_DEBUG_TEMPROOT": str(tmp_path / "root")}
    env.pop("PYTEST_XDIST_WORKER", None)
    (tmp_path / "root").mkdir()
    done = run_command([sys.executable, "-m", "pytest", "-p", "no:cacheprovider",
                        "-c", os.devnull, "--rootdir", str(tmp_path), "-p", "tests.conftest",
                        "-n", "1", "--max-worker-restart=0", "test_dies.py"],
                       cwd=tmp_path, env=env, capture_output=True, text=True)
    said = done.stdout + done.stderr
    assert done.returncode == 1, said
    went_down = re.search(r"\[gw0\] went down \(Not properly terminated\): "
                          rf"pid (\d+), killed by {how}; (\S+reaper\.log): "
                          rf"2026-12-05T14:00:00 watcher of 1: {how} to (\d+) \(group 7\): "
                          r"\(as a watcher says it\)\n", said)
    assert went_down and went_down.group(1) == went_down.group(3), said
    pid, log = went_down.group(1), went_down.group(2)
    assert (f"worker 'gw0' crashed while running 'test_dies.py::test_ended_by_a_signal_"
            f"from_elsewhere' (pid {pid}, killed by {how}; {log}: ") in said, said
    # Where the worker was: its stack at SIGTERM (SIGKILL leaves no chance to say it).
    where = re.search(r'File "[^"]*test_dies\.py", line 8 in test_ended_by_a_signal_from_'
                      r'elsewhere', said)
    assert bool(where) == (how == "SIGTERM"), said


#: pytest's stand-in, its watcher logging to argv[2]: starts a "server" that ignores
#: SIGTERM (as uWSGI without --die-on-term), says its PID, waits to be killed.
_RUNNER = """\
import sys, time
sys.path.insert(0, sys.argv[1])
from tests.support import reaper
from tests.support.processes import start_server
reaper.LOG[0] = sys.argv[2]
server = start_server([sys.executable, "-c", "import signal, time; "
                       "signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(600)"])
print(server.pid, flush=True)
time.sleep(600)
"""


def test_the_watcher_says_what_it_ended_and_why(tmp_path: Path) -> None:
    """The test process is SIGKILLed; its watcher ends the server it left (SIGTERM,
    ignored, then SIGKILL after its grace) and says each signal in its log: the PID, why
    it was the run's (its mark), and its command line. Before, it said nothing."""
    log = tmp_path / "reaper.log"
    runner = start_server([sys.executable, "-c", _RUNNER, str(REPO_ROOT), str(log)],
                          stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, text=True)
    server = 0
    try:
        assert runner.stdout is not None
        server = int(read_line(runner.stdout, about="the runner"))
        wait_until(lambda: ignores(server, signal.SIGTERM), timeout=30)
        runner.kill()
        runner.wait(30)
        wait_until(lambda: not _running(server), timeout=60)
    finally:
        runner.kill()
        runner.wait(30)
        if server and _running(server):
            os.kill(server, signal.SIGKILL)
    lines = log.read_text().splitlines()
    ours = [line for line in lines if f" to {server} (mark): " in line]
    signals = [line.split(": ", 2)[1].split()[0] for line in ours]
    assert signals[:1] == ["SIGTERM"] and set(signals[1:]) == {"SIGKILL"}, lines
    assert all(f"watcher of {runner.pid}: " in line and "time.sleep(600)" in line
               for line in ours), lines
