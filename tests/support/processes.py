"""Server processes the tests start: whatever they leave behind is ended too."""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
from typing import Any, Callable, Optional

#: Linux's prctl option: the signal a process gets when its parent ends (prctl(2)).
_PR_SET_PDEATHSIG = 1
_LIBC = ctypes.CDLL(None, use_errno=True) if sys.platform.startswith("linux") else None


def start_server(argv: Any, **options: Any) -> subprocess.Popen[Any]:
    """``subprocess.Popen(argv, **options)`` for a server (or any process a test starts
    and ends): in a session (and process group) of its own, so that
    :func:`end_stragglers` can find what it leaves behind, and tied to this process, so
    that it does not outlive the test run however that ends. Stopping pytest with SIGTERM
    (``timeout 90 python -m pytest``), a crashed xdist worker, a SIGKILL: no finally of
    the test runs, and a daphne or gunicorn it had started kept serving, and spinning,
    as an orphan (newcomer10). On Linux the child gets SIGTERM when this process ends
    (prctl PR_SET_PDEATHSIG, set between fork and exec), as its users would stop it, so a
    server with workers ends them. The tie is to the thread that starts it (prctl's
    rule): start servers from the test's own thread, not from a thread that ends first."""
    return subprocess.Popen(argv, start_new_session=True,
                            preexec_fn=_tied_to(os.getpid()), **options)


def _tied_to(parent: int) -> Optional[Callable[[], None]]:
    """The ``preexec_fn`` that asks for SIGTERM when ``parent`` ends; None off Linux."""
    libc, sigterm = _LIBC, int(signal.SIGTERM)
    if libc is None:
        return None

    def tie() -> None:  # in the child, between fork and exec: no imports, no allocation
        libc.prctl(_PR_SET_PDEATHSIG, sigterm, 0, 0, 0)
        if os.getppid() != parent:  # the parent ended before the tie was made
            os._exit(1)
    return tie


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
