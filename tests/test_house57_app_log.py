"""house57: a wait on an app's output fails, with what the app said, when the line does
not come. test_readme's WSGI example stop waited up to 20 s for "serving on" and then
carried on quietly (flaky63 noticed): the stop came wherever the example was, and a
failure after it said nothing of why. Real child processes, their output in a file."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.support.app_log import wait_until_said
from tests.support.processes import LINE_WAIT, start_server


def _started(tmp_path: Path, code: str) -> tuple[subprocess.Popen[Any], Path]:
    log = tmp_path / "app-output.txt"
    with open(log, "wb") as output:
        proc = start_server([sys.executable, "-u", "-c", code], stdin=subprocess.DEVNULL,
                            stdout=output, stderr=subprocess.STDOUT)
    return proc, log


def _ended(proc: subprocess.Popen[Any]) -> None:
    if proc.poll() is None:
        proc.kill()
    proc.wait(LINE_WAIT)


def test_a_line_never_said_fails_with_the_apps_output(tmp_path: Path) -> None:
    """The app runs on and says something else: the wait fails once its guard passes
    (0.5 s here; the failure is the point, not when), naming the line and the output."""
    proc, log = _started(tmp_path, "import sys, time\nprint('listening, quietly')\n"
                                   "sys.stdout.flush()\ntime.sleep(120)")
    try:
        with pytest.raises(AssertionError) as failed:
            wait_until_said(proc, log, "serving on", within=0.5)
    finally:
        _ended(proc)
    assert "'serving on'" in str(failed.value)


def test_an_app_that_exits_without_the_line_fails_at_once(tmp_path: Path) -> None:
    """The app crashed at start: the wait says so with its output and exit status, not
    after its whole guard (here a minute: the test would hang on it, not pass)."""
    proc, log = _started(tmp_path, "print('Traceback: no such module')\nraise SystemExit(3)")
    try:
        proc.wait(LINE_WAIT)
        with pytest.raises(AssertionError) as failed:
            wait_until_said(proc, log, "serving on", within=LINE_WAIT)
    finally:
        _ended(proc)
    assert "exited 3" in str(failed.value) and "no such module" in str(failed.value)


def test_a_line_said_is_waited_for(tmp_path: Path) -> None:
    proc, log = _started(tmp_path, "import time\ntime.sleep(0.3)\n"
                                   "print('serving on http://127.0.0.1:1')\ntime.sleep(120)")
    try:
        wait_until_said(proc, log, "serving on")
    finally:
        _ended(proc)
    assert "serving on" in log.read_text()
