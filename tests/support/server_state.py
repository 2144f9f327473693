"""Whether a server a test started is at work: for a raw-socket client that reads until
the server falls silent (tests/test_hostile14_servers.py's ``_read`` and ``read_to_end``).

"Silent for QUIET seconds" meant "the server waits on the client" on a quiet machine; on
a loaded one a server still working out its answer (Flask's extension logging a form of
100,000 fields, flaky46) can get no core for that long, and the client left with half an
answer, or none. A server waiting on the client has every thread asleep; one at work, or
waiting for a core, has one runnable (state R or D in /proc). So the silence is counted
only while every thread of the server's processes sleeps.

:func:`serving` (around tests/test_e2e_servers.py's ``serve``) notes the server's PID by
its port; :func:`at_work` asks by the port a client is connected to. A port no server of
this process was noted for, or a system without /proc, is never at work: the silence
counts as before.
"""

from __future__ import annotations

import contextlib
import os
from typing import Iterator

_PIDS: dict[int, int] = {}


@contextlib.contextmanager
def serving(port: int, pid: int) -> Iterator[None]:
    """Note ``pid`` as the server on ``port`` until the block ends."""
    _PIDS[port] = pid
    try:
        yield
    finally:
        if _PIDS.get(port) == pid:
            del _PIDS[port]


def _tree(pid: int) -> list[int]:
    """``pid`` and its descendants (a gunicorn master's workers), from /proc's children."""
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        try:
            tasks = os.listdir(f"/proc/{current}/task")
        except OSError:
            continue
        for task in tasks:
            try:
                with open(f"/proc/{current}/task/{task}/children") as children:
                    todo.extend(int(child) for child in children.read().split())
            except (OSError, ValueError):
                continue
    return found


def _runnable(pid: int) -> bool:
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return False
    for task in tasks:
        try:
            with open(f"/proc/{pid}/task/{task}/stat") as stat:
                # "pid (comm) S ...": the state follows the last ')' (comm may hold one)
                state = stat.read().rpartition(")")[2].split()[0]
        except (OSError, IndexError):
            continue
        if state in ("R", "D"):
            return True
    return False


def at_work(port: int) -> bool:
    """True when a thread of the server noted on ``port`` (or of a process it started)
    is running or waiting for a core."""
    pid = _PIDS.get(port)
    return pid is not None and any(_runnable(each) for each in _tree(pid))
