"""Server processes the tests start: whatever they leave behind is ended too."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from typing import Any

#: Run in place of the server, then replaced by it (``os.execvp``): asks Linux for
#: SIGTERM when its parent ends (prctl(2) PR_SET_PDEATHSIG = 1), or ends at once if that
#: parent is already gone. A program of its own, not a ``preexec_fn``: Python code run
#: between fork and exec in a process with threads (the tests' collectors and senders)
#: may deadlock the child before exec, and Popen waits for that exec with no timeout.
_TIE = """\
import ctypes, os, signal, sys
ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGTERM), 0, 0, 0)
if os.getppid() != int(sys.argv[1]):
    sys.exit("tests.support.processes: the test run ended before its server started")
os.execvp(sys.argv[2], sys.argv[2:])
"""


def start_server(argv: Any, **options: Any) -> subprocess.Popen[Any]:
    """``subprocess.Popen(argv, **options)`` for a server (or any process a test starts
    and ends): in a session (and process group) of its own, so that
    :func:`end_stragglers` can find what it leaves behind, and tied to this process, so
    that it does not outlive the test run however that ends. Stopping pytest with SIGTERM
    (``timeout 90 python -m pytest``), a crashed xdist worker, a SIGKILL: no finally of
    the test runs, and a daphne or gunicorn it had started kept serving, and spinning,
    as an orphan (newcomer10). On Linux the child gets SIGTERM when this process ends
    (prctl PR_SET_PDEATHSIG, asked for by a small program that then becomes the server:
    ``_TIE``), as its users would stop it, so a server with workers ends them.

    Linux ties the child to the *thread* that starts it: a server started from a thread
    that ends first would be ended mid-test. So only a server started from the main
    thread (where pytest runs the tests and fixtures) is tied; one started from another
    thread (test_slow_client starts the bare and the wrapped server at once, from an
    executor's threads) is not, and is ended by its test's ``stop_server`` only."""
    if not sys.platform.startswith("linux") or (
            threading.current_thread() is not threading.main_thread()):
        return subprocess.Popen(argv, start_new_session=True, **options)
    if isinstance(argv, (str, bytes, os.PathLike)):
        argv = [argv]
    return subprocess.Popen([sys.executable, "-I", "-S", "-c", _TIE, str(os.getpid()),
                             *map(os.fspath, argv)], start_new_session=True, **options)


def stop_server(process: subprocess.Popen[bytes], patience: float = 15.0) -> None:
    """End a server as its users would (SIGTERM by its PID), killed if it is still there
    after ``patience`` seconds; then whatever is left of its group (:func:`end_stragglers`)."""
    process.terminate()
    try:
        process.wait(patience)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    end_stragglers(process)


def end_stragglers(process: subprocess.Popen[bytes]) -> None:
    """Kill what is left of ``process``'s group (a worker orphaned when a master was
    killed). The server itself is ended by its PID first, as its users would."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
