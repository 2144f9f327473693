"""Server processes the tests start: whatever they leave behind is ended too."""

from __future__ import annotations

import os
import signal
import subprocess

#: ``subprocess.Popen`` keyword arguments for a server: a session (and process group) of
#: its own, so that :func:`end_stragglers` can find what it leaves behind.
OWN_GROUP = {"start_new_session": True}


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
