"""Child processes a test run leaves unwaited: each is a "ResourceWarning: subprocess N
is still running" when its ``Popen`` is collected (one closed every CI run, printed
past the last test, with no word of which test made it).

:func:`watch` (tests/conftest.py, once per test process) has every ``Popen`` remember
the test that made it and where, and every one collected while its child still runs
noted. :func:`left` says, at the end of the session, those and the ones still running
that nothing will wait for: a test that ends a child must wait for it
(tests/support/processes.stop_server), a test that keeps one for later tests must end
it in a fixture's teardown. The watchers of tests/support/reaper.py, which run until
the test process exits (and are waited for then), are not counted.
"""

from __future__ import annotations

import gc
import os
import subprocess
import sys
import warnings
from typing import Any

from tests.support import reaper

#: What was collected while its child still ran, one line each.
COLLECTED: list[str] = []
#: How many frames of the tests' own code name where a Popen was made.
_FRAMES = 4
_TESTS = os.sep + "tests" + os.sep
_BENCHMARKS = os.sep + "benchmarks" + os.sep
_installed: list[bool] = []


def _made_where() -> str:
    """The test running (pytest's PYTEST_CURRENT_TEST) and the last frames of the
    project's tests and benchmarks in the stack (read from the frames: no source read,
    a few microseconds)."""
    where = []
    frame = sys._getframe(2)
    while frame is not None and len(where) < _FRAMES:
        name = frame.f_code.co_filename
        if _TESTS in name or _BENCHMARKS in name:
            where.append(f"{os.path.basename(name)}:{frame.f_lineno} {frame.f_code.co_name}")
        frame = frame.f_back  # type: ignore[assignment]
    test = os.environ.get("PYTEST_CURRENT_TEST", "no test").rsplit(" (", 1)[0]
    return f"made in {test} at {' < '.join(where) or '?'}"


def _described(process: subprocess.Popen[Any]) -> str:
    made = getattr(process, "_tests_made", "made before the watch began")
    return f"pid {process.pid} {process.args!r:.160}, {made}"


def watch() -> None:
    """From now on, in this process, every ``Popen`` remembers where it was made, and
    one collected while its child runs is noted in :data:`COLLECTED` (its warning goes
    on as before)."""
    if _installed:
        return
    _installed.append(True)
    init, delete = subprocess.Popen.__init__, subprocess.Popen.__del__

    def __init__(self: subprocess.Popen[Any], *args: Any, **kwargs: Any) -> None:
        self._tests_made = _made_where()  # type: ignore[attr-defined]
        init(self, *args, **kwargs)

    def __del__(self: subprocess.Popen[Any], _maxsize: int = sys.maxsize,
                _warn: Any = warnings.warn) -> None:
        def noted(message: Any, *args: Any, **kwargs: Any) -> None:
            COLLECTED.append(f"collected still running: {_described(self)}")
            _warn(message, *args, **kwargs)
        delete(self, _maxsize, noted)  # type: ignore[call-arg]

    subprocess.Popen.__init__ = __init__  # type: ignore[method-assign]
    subprocess.Popen.__del__ = __del__  # type: ignore[method-assign]


def left() -> list[str]:
    """What this process's tests left unwaited: the Popens collected while their child
    ran, and those still running now (garbage collected first) that are not a reaper's
    watcher."""
    gc.collect()
    # (subprocess keeps a Popen collected while it ran in its _active list, to reap it
    # later: that one is in COLLECTED already)
    reaping = getattr(subprocess, "_active", None) or []
    known = {id(process) for process in [*reaper._watchers, *reaping]}
    # (by type(): isinstance asks the object its __class__, which a lazy object, as
    # Django's unconfigured settings, answers by raising)
    running = [f"still running: {_described(process)}" for process in gc.get_objects()
               if issubclass(type(process), subprocess.Popen) and id(process) not in known
               and getattr(process, "_child_created", False) and process.poll() is None]
    return [*COLLECTED, *running]
