"""review136: ``delivery/main_thread.soon`` asked from a sub-interpreter hung the process.

delivery50's ``soon()`` hands a function to the main thread through CPython's pending
calls (``Py_AddPendingCall``), its C callback a ctypes one. Asked from a thread of a
sub-interpreter (uWSGI mounts each further app in one; mod_wsgi's application groups),
CPython 3.9-3.11 queue the call on that interpreter and run it when the main thread next
runs there, and ctypes' callback then takes the GIL for the main interpreter's thread
state (``PyGILState_Ensure``, which knows no sub-interpreter) while the thread already
holds it: the process hung for good (3 of 3 runs on main, 133a2739; py-spy: the main
thread in ``_CallPythonObject``, ``pthread_cond_timedwait``). From 3.12 on the call is
queued on the main interpreter, which would then run the sub-interpreter's function.
Now ``soon()`` hands nothing over outside the main interpreter (False, as without
ctypes): there, ``signal.signal`` and ``set_wakeup_fd``, what the main thread is asked
for, are refused anyway.

Real sub-interpreters (CPython's own ``_xxsubinterpreters``, the one whose threads are
allowed), in a process of their own: a hang is told by the process not ending, the bound
only a guard against waiting for ever.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.processes import run_command

REPO = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("_xxsubinterpreters") is None,
    reason="no _xxsubinterpreters (CPython 3.9-3.12)")

SCRIPT = '''
import sys
import _xxsubinterpreters as interpreters

from readme_metrics.delivery import main_thread

ran = []
# (In the main interpreter, from another thread: handed over, run by the main thread.)
import threading
asked = []
thread = threading.Thread(target=lambda: asked.append(main_thread.soon(lambda: ran.append(1))))
thread.start()
thread.join()
for _ in range(1000):
    pass
print("main interpreter:", asked, ran, flush=True)

interpreter = interpreters.create(isolated=False)
interpreters.run_string(interpreter, """
import threading
from readme_metrics.delivery import main_thread
ran, asked = [], []
thread = threading.Thread(target=lambda: asked.append(main_thread.soon(lambda: ran.append(1))))
thread.start()
thread.join()  # (the main thread takes the GIL again here: a pending call runs then)
for _ in range(1000):
    pass
print("sub-interpreter:", asked, ran, flush=True)
""")
print("ended", flush=True)
'''


def test_soon_from_a_sub_interpreter_hands_nothing_over_and_the_process_goes_on() -> None:
    try:
        done = run_command([sys.executable, "-c", SCRIPT], cwd=REPO, capture_output=True,
                           text=True, timeout=60, env={"PYTHONPATH": str(REPO)})
    except subprocess.TimeoutExpired as hung:  # (before: every run)
        raise AssertionError(f"the process hung: {hung.stdout!r}") from None
    lines = done.stdout.splitlines()
    assert lines == ["main interpreter: [True] [1]", "sub-interpreter: [False] []", "ended"], (
        done.stdout, done.stderr)
