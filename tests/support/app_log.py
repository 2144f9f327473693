"""Waits on an app a test started with its output in a file: its port open, or a line
said. Each fails the test with what the app printed, at once if the app exited (shared
by tests/test_readme.py and the tests that start README's examples; house57)."""

from __future__ import annotations

import socket
import subprocess
import time
from pathlib import Path
from typing import Any

from tests.support.processes import LINE_WAIT


def _exited(proc: subprocess.Popen[Any], log: Path) -> None:
    if proc.poll() is not None:
        raise AssertionError(f"app exited {proc.returncode}:\n"
                             f"{log.read_text(errors='replace')}")


def wait_for_port(port: int, proc: subprocess.Popen[Any], log: Path) -> None:
    """Back once ``proc`` listens on ``port``; fails if it exits first or within 60 s."""
    deadline = time.monotonic() + LINE_WAIT
    while time.monotonic() < deadline:
        _exited(proc, log)
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"app did not listen on {port}:\n{log.read_text(errors='replace')}")


def wait_until_said(proc: subprocess.Popen[Any], log: Path, text: str,
                    within: float = LINE_WAIT) -> None:
    """Back once ``log`` holds ``text``; fails, with the app's output, if ``proc`` exits
    first or ``within`` seconds pass (a guard against a hang, not a timing check)."""
    deadline = time.monotonic() + within
    while text not in log.read_text(errors="replace"):
        _exited(proc, log)
        if time.monotonic() > deadline:
            raise AssertionError(f"the app did not say {text!r} in {within:g} s:\n"
                                 f"{log.read_text(errors='replace')}")
        time.sleep(0.05)
