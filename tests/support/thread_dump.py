"""Where a server's threads were when a test gave up waiting for it to end, for the
failure message: a server that did not end after its stop said nothing of why (flaky57:
``subprocess.TimeoutExpired`` alone, the server's output unread).

A site that starts with :data:`REGISTER` writes every thread's stack to its stderr on
SIGUSR1 (:mod:`faulthandler`, from the signal handler itself: it answers with the event
loop or the GIL's holder stuck); :func:`dump_threads` sends it and waits until written,
and adds py-spy's dump (native frames, idle threads) where py-spy is installed beside
this Python (the project's venv has it; CI's need not)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from tests.support.processes import run_command

__all__ = ["REGISTER", "dump_threads"]

#: The site's first lines: SIGUSR1 dumps all its threads to stderr (nothing else here
#: takes SIGUSR1: uvicorn, hypercorn and daphne leave it alone).
REGISTER = ("import faulthandler as _faulthandler, signal as _signal\n"
            "_faulthandler.register(_signal.SIGUSR1, all_threads=True)\n")


def dump_threads(process: subprocess.Popen[Any], output: Path, patience: float = 10.0
                 ) -> str:
    """Have ``process`` and its descendants (hypercorn serves from a child process even
    with one worker), those of them that catch SIGUSR1 (a site begun with
    :data:`REGISTER`; no other is sent it: its default action ends a process), write
    their threads' stacks to ``output`` (their stderr's file), waiting up to
    ``patience`` s for them; what py-spy's dump says of each (or why there is none).
    Never raises: it only adds to a failure."""
    if process.poll() is not None:
        return f"(no dump: it exited {process.returncode} since)"
    tree = _tree(process.pid)
    before = _size(output)
    told = [pid for pid in tree if _catches_sigusr1(pid)]
    for pid in told:
        try:
            os.kill(pid, signal.SIGUSR1)
        except OSError:
            pass
    deadline = time.monotonic() + patience
    while told and _size(output) == before and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.2)  # (the rest of a dump under way: written in one go, in C)
    return (f"SIGUSR1 to {told or 'none'} of {tree}; "
            + "; ".join(_py_spy(pid) for pid in tree))


def _tree(pid: int) -> list[int]:
    """``pid`` and its descendants (Linux's /proc; elsewhere ``pid`` alone)."""
    found, index = [pid], 0
    while index < len(found):
        for task in Path(f"/proc/{found[index]}/task").glob("*/children"):
            try:
                found += [int(child) for child in task.read_text().split()]
            except (OSError, ValueError):
                pass
        index += 1
    return found


def _catches_sigusr1(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return pid == os.getpid()  # (no /proc: not asked)
    for line in status.splitlines():
        if line.startswith("SigCgt:"):
            return bool(int(line.split()[1], 16) >> (signal.SIGUSR1 - 1) & 1)
    return False


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return -1


def _py_spy(pid: int) -> str:
    spy = shutil.which("py-spy", path=os.path.dirname(sys.executable)) or shutil.which(
        "py-spy")
    if spy is None:
        return "(no py-spy here)"
    try:
        done = run_command([spy, "dump", "--pid", str(pid)], timeout=30,
                           capture_output=True, text=True)
    except (OSError, subprocess.SubprocessError) as error:
        return f"(py-spy dump of {pid}: {error!r})"
    return f"py-spy dump of {pid}: {done.stdout}{done.stderr}"
