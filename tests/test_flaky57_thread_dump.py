"""flaky57: a server the tests gave up waiting for says where its threads were
(tests/support/thread_dump.py): delivery56's hypercorn row failed in CI with only
``subprocess.TimeoutExpired``, nothing of what the server printed nor of why it had not
ended. Real parts: a Python process started as the tests start servers, stuck in a
thread of its own."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.processes import kill_server, read_line, start_server
from tests.support.thread_dump import REGISTER, dump_threads

#: A "server" stuck in a thread's function (and its main thread in another).
_STUCK = REGISTER + """\
import threading, time
entered = threading.Event()

def stuck_in_its_thread():
    entered.set()
    time.sleep(600)

def stuck_in_main():  # ("ready" once both are where the dump must find them)
    threading.Thread(target=stuck_in_its_thread, daemon=True).start()
    entered.wait()
    print("ready", flush=True)
    time.sleep(600)

stuck_in_main()
"""

#: As hypercorn serves: a parent that does not catch SIGUSR1 (its default action ends
#: it), the site in its child.
_PARENT = """\
import os, sys
os.spawnv(os.P_WAIT, sys.executable, [sys.executable, "-c", sys.argv[1]])
"""


@pytest.mark.parametrize("argv", [pytest.param(["-c", _STUCK], id="itself"),
                                  pytest.param(["-c", _PARENT, _STUCK], id="its-child")])
def test_a_server_that_does_not_end_tells_where_each_of_its_threads_is(
        tmp_path: Path, argv: list[str]) -> None:
    with open(tmp_path / "err", "wb") as err_file:
        process = start_server([sys.executable, *argv], stdout=subprocess.PIPE,
                               stderr=err_file)
    try:
        assert read_line(process.stdout, about="the stuck process") == b"ready\n"
        spied = dump_threads(process, tmp_path / "err")
        said = (tmp_path / "err").read_text(errors="replace")
        assert "stuck_in_its_thread" in said and "stuck_in_main" in said, said
        assert "py-spy" in spied, spied  # (its dump, or why there is none)
        assert process.poll() is None  # (SIGUSR1 dumped, did not end it nor its parent)
    finally:
        kill_server(process)
        assert process.stdout is not None
        process.stdout.close()
    assert dump_threads(process, tmp_path / "err").startswith("(no dump: it exited")
