"""What a crashed xdist worker's end can tell (CI32: "node down: Not properly terminated"
while running a test that passes alone, nothing else said).

- In each worker, SIGTERM dumps every thread's stack (:mod:`faulthandler`, chained to
  the signal's default action: the worker still ends by it) to the run's stderr, as
  pytest's own faulthandler does for a crash: where the worker was when it was told to
  end. A test that sets a SIGTERM handler of its own replaces it; it is set again before
  the next test.
- In the controller, a worker that went down: how it ended (its exit status, read from
  the process xdist started: a signal, or ``exited 1``, pytest-timeout's ``os._exit``),
  its PID, said on a line of the run's output and in the crashed test's report.
- Whatever the tests' watchers (tests/support/reaper.py) ended is in ``reaper.log`` in
  each test process's pytest base folder; the lines of every run's logs on the machine
  that name a crashed worker's PID are said with it (a watcher of another run, or of
  another test process of this one, that took it for its own).
"""

from __future__ import annotations

import faulthandler
import os
import signal
import subprocess
import tempfile
from pathlib import Path
from typing import Any, Optional

#: The worker's copy of the run's stderr, made before any test's capture (None: not one).
_STDERR: list[Optional[int]] = [None]


def in_a_worker(config: Any) -> bool:
    """True in an xdist worker (not in a run that only inherited a worker's environment)."""
    return hasattr(config, "workerinput")


def keep_stderr() -> None:
    """At pytest_configure (no capture then): a descriptor of the run's stderr that the
    tests' capture (fd 2 replaced) does not reach."""
    if _STDERR[0] is None:
        _STDERR[0] = os.dup(2)


def dump_stacks_at_sigterm() -> None:
    """SIGTERM dumps every thread's stack to the run's stderr, then ends the worker as
    it would have; left alone where a test has set a handler of its own (Python's own
    record of the handler is still the default after :func:`faulthandler.register`)."""
    if _STDERR[0] is None or not hasattr(faulthandler, "register"):
        return
    if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        faulthandler.register(signal.SIGTERM, file=_STDERR[0], all_threads=True, chain=True)


def how_it_ended(node: Any) -> str:
    """``node``'s worker process: its PID and how it ended ("killed by SIGKILL", "exited
    1"), waiting a few seconds for it (it is going down); what could not be read says so."""
    popen = getattr(getattr(getattr(node, "gateway", None), "_io", None), "popen", None)
    if not isinstance(popen, subprocess.Popen):
        return "its process could not be read"
    try:
        code = popen.wait(10)
    except subprocess.TimeoutExpired:
        return f"pid {popen.pid}, still running 10 s after its channel closed"
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        named = "".join(f"; {line}" for line in named_by_watchers(popen.pid)[-2:])
        return f"pid {popen.pid}, killed by {name}{named}"
    return f"pid {popen.pid}, exited {code}"


def named_by_watchers(pid: int) -> list[str]:
    """The lines of the watchers' logs of every run under pytest's temporary root (its
    runs' base folders and their workers') that sent ``pid`` a signal, oldest first."""
    root = Path(os.environ.get("PYTEST_DEBUG_TEMPROOT") or tempfile.gettempdir())
    lines = []
    logs = {log.resolve() for pattern in ("pytest-*", "pytest-*/popen-gw*")  # (once:
            for log in root.glob(f"pytest-of-*/{pattern}/reaper.log")}  # pytest-current)
    for log in sorted(logs):
        try:
            text = log.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        lines += [f"{log}: {line}" for line in text.splitlines() if f" to {pid} (" in line]
    return sorted(lines, key=lambda line: line.split(": ", 1)[1][:19])
