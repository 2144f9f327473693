"""What the tests start ends when the test process ends, whatever its children do then.

:func:`tests.support.processes.start_server` ties its child to the test process (Linux's
PR_SET_PDEATHSIG: SIGTERM when it ends), but that reaches the child alone: a process
*that* child started (a command's own subprocess, a worker a master does not stop, a
server that takes SIGTERM for "reload") outlived a run stopped by SIGTERM, Ctrl-C or
SIGKILL, holding its port (a later run on that port failed: flake27).

So each test process (the xdist controller and each worker) has a watcher: a small
process in a session of its own (a signal sent to the run's process group, as
``timeout`` and Ctrl-C send theirs, does not reach it), reading a pipe whose only writer
is the test process. Every child :func:`register` is given gets a mark in its
environment, which its own children inherit. When the pipe closes, the test process is
gone, however it ended (a normal exit too): the watcher sends SIGTERM to every process
that still carries the mark, or is in the process group of a registered child that is
still the one registered, waits up to :data:`GRACE` seconds for them, then SIGKILLs
what is left. Linux only (it reads /proc); elsewhere :func:`marked_env` and
:func:`register` do nothing.

Each signal the watcher sends is a line in :data:`LOG` (set by tests/conftest.py to
``reaper.log`` in the test process's pytest base folder): when, whose watcher, the signal,
the PID, why (``mark`` or ``group <pgid>``) and its command line. A process of the run
ended unexplained (CI32: an xdist worker "Not properly terminated") can be looked up in
the logs of every run on the machine (``/tmp/pytest-of-*/pytest-*/**/reaper.log``).
"""

from __future__ import annotations

import atexit
import os
import secrets
import subprocess
import sys
import threading
from collections.abc import Mapping
from typing import Any, Optional

#: The environment variable that marks the processes a test process started.
MARK = "TESTS_SUPPORT_RUN"
#: How long the watcher lets what it found end after SIGTERM before it SIGKILLs it.
GRACE = 5.0

#: Where the watchers started from here say what they end (None: nowhere).
LOG: list[Optional[str]] = [None]

#: The watcher, run as ``python -I -S -c _WATCHER MARK=token GRACE PID LOG``: reads the
#: PIDs of the registered children from stdin until it closes, then ends what is left,
#: each signal a line in LOG ("": none) naming PID, the test process it watched.
_WATCHER = """\
import os, signal, sys, time
mark, grace, me = sys.argv[1].encode(), float(sys.argv[2]), os.getpid()
of, log = sys.argv[3], sys.argv[4]
signal.signal(signal.SIGINT, signal.SIG_IGN)
signal.signal(signal.SIGHUP, signal.SIG_IGN)
def stat(pid):
    try:
        with open("/proc/%d/stat" % pid, "rb") as f:
            rest = f.read().rsplit(b")", 1)[1].split()
        return rest[0], int(rest[2]), int(rest[19])
    except (OSError, IndexError, ValueError):
        return None
groups, why = {}, {}
for line in sys.stdin.buffer:
    try:
        pid = int(line)
    except ValueError:
        continue
    found = stat(pid) if pid > 1 else None
    if found:
        groups[pid] = found[2]
def left():
    found = {}
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) in (me, 1):
            continue
        pid = int(name)
        state = stat(pid)
        if state is None or state[0] in (b"Z", b"X"):
            continue
        try:
            with open("/proc/%d/environ" % pid, "rb") as f:
                marked = mark in f.read().split(b"\\0")
        except OSError:
            marked = False
        ours = marked
        if not ours and state[1] in groups:
            leader = stat(state[1])
            ours = leader is not None and leader[2] == groups[state[1]]
        if ours:
            found[pid] = state[2]
            why[pid] = "mark" if marked else "group %d" % state[1]
    return found
def said(pid, how):
    if not log:
        return
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            command = f.read().replace(b"\\0", b" ").decode("utf-8", "replace")[:300]
    except OSError:
        command = "?"
    try:
        with open(log, "a", encoding="utf-8") as f:
            f.write("%s watcher of %s: %s to %d (%s): %s\\n" % (
                time.strftime("%Y-%m-%dT%H:%M:%S"), of, signal.Signals(how).name, pid,
                why.get(pid, "?"), command))
    except OSError:
        pass
def alive(pid, started):
    state = stat(pid)
    return state is not None and state[0] not in (b"Z", b"X") and state[2] == started
def end(found, how):
    for pid in found:
        said(pid, how)
        try:
            os.kill(pid, how)
        except OSError:
            pass
found = left()
end(found, signal.SIGTERM)
deadline = time.monotonic() + grace
while found and time.monotonic() < deadline:
    time.sleep(0.05)
    found = {pid: started for pid, started in found.items() if alive(pid, started)}
for _ in range(10):
    found = left()
    if not found:
        break
    end(found, signal.SIGKILL)
    time.sleep(0.05)
"""

_lock = threading.Lock()
#: The write end of this process's watcher's pipe (None: no watcher yet), and its mark.
_pipe: list[Optional[int]] = [None]
_token = [f"{MARK}={secrets.token_hex(8)}"]
#: The watcher started here (kept: it ends only after this process).
_watchers: list[subprocess.Popen[bytes]] = []
#: The PIDs of the watchers a forked child inherited the Popens of (not its children).
_inherited: set[int] = set()


def _forgotten_in_child() -> None:
    """A forked child (multiprocessing's fork, os.fork) does not keep its parent's pipe
    open (the watcher would wait for the child too), nor its lock, nor its mark."""
    global _lock
    _lock = threading.Lock()
    if _pipe[0] is not None:
        try:
            os.close(_pipe[0])
        except OSError:
            pass
    _pipe[0] = None
    _token[0] = f"{MARK}={secrets.token_hex(8)}"
    _inherited.update(watcher.pid for watcher in _watchers)


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forgotten_in_child)


def marked_env(env: Optional[Mapping[Any, Any]]) -> Optional[dict[Any, Any]]:
    """``env`` (None: this process's environment) with this test process's mark, for a
    child :func:`register` is then given; None off Linux (the child's env unchanged)."""
    if not sys.platform.startswith("linux"):
        return None if env is None else dict(env)
    name, value = _token[0].split("=", 1)
    return {**(os.environ if env is None else env), name: value}


def register(pid: int) -> None:
    """Have the watcher end ``pid``'s process group when this process ends (it also
    ends whatever carries the mark of :func:`marked_env`). Starts the watcher at the
    first call. Never raises: a watcher that could not start leaves start_server's tie."""
    if not sys.platform.startswith("linux"):
        return
    with _lock:
        try:
            if _pipe[0] is None:
                _pipe[0] = _start_watcher()
            if _pipe[0] >= 0:  # (-1: the exit closed it)
                os.write(_pipe[0], b"%d\n" % pid)
        except OSError:
            pass


def _end_watch() -> None:
    """At this process's normal exit (atexit): the watcher's pipe closed, as the exit
    itself would close it, and the watcher waited for (``GRACE`` and some more at the
    most) as it ends what is left. Before, its ``Popen`` was collected at the exit
    while it still ran: "ResourceWarning: subprocess N is still running", printed at
    the end of CI's runs by an xdist worker going down. A registration after this (at
    exit) starts no new watcher: start_server's tie is left."""
    with _lock:
        write, _pipe[0] = _pipe[0], -1
    if write is not None and write >= 0:
        try:
            os.close(write)
        except OSError:
            pass
    for watcher in _watchers:
        if watcher.pid in _inherited:
            continue  # (a forked child's copy: the parent's to wait for)
        try:
            watcher.wait(GRACE + 10)
        except subprocess.TimeoutExpired:  # (it goes on ending what is left; let it)
            pass


atexit.register(_end_watch)


def _start_watcher() -> int:
    """The watcher's process, in a session of its own; the write end of its pipe."""
    read, write = os.pipe()
    try:
        env = {name: value for name, value in os.environ.items() if name != MARK}
        argv = [sys.executable, "-I", "-S", "-c", _WATCHER, _token[0], str(GRACE),
                str(os.getpid()), LOG[0] or ""]
        _watchers.append(subprocess.Popen(argv, stdin=read, stdout=subprocess.DEVNULL,
                                          stderr=subprocess.DEVNULL, env=env,
                                          start_new_session=True, close_fds=True))
    except BaseException:
        os.close(write)
        raise
    finally:
        os.close(read)
    return write
