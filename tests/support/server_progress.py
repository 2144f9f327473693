"""Whether a server on this machine is still at work, for a client that would otherwise
give up on a fixed stretch of silence.

The raw-socket harnesses (tests/test_hostile14_servers.py ``_read``, ``read_to_end``)
leave a server that sends nothing for ``QUIET`` seconds: a server waiting on the client
for bytes that never come. On a loaded machine a server still working on a whole
request is silent as long: CI61, flask-run, a form of 100,000 fields whose wrapped app's
grouping function parses it (``request.form``, 0.1 s of CPU here, 75% of the request
thread's samples, py-spy) answered nothing within 1.5 s at a load of 17-40, and the
test took the wrapped app for one that answers nothing. Here the silence counts only
while the server does nothing: no thread of the processes listening on the port
runnable and no CPU time spent since the last look.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Optional

#: CPU ticks (of ``SC_CLK_TCK``) a server may spend in one quiet stretch and still count
#: as idle: its own housekeeping threads (the library's watchdog) tick now and then.
IDLE_TICKS = 2


def _listening_inodes(port: int) -> set[str]:
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            # local address "IP:PORT" in hex; state 0A is LISTEN
            if len(fields) > 9 and fields[3] == "0A" \
                    and int(fields[1].rsplit(":", 1)[1], 16) == port:
                inodes.add(fields[9])
    return inodes


def listeners(port: int) -> list[int]:
    """The ids of the processes holding a socket listening on ``port``."""
    wanted = {f"socket:[{inode}]" for inode in _listening_inodes(port)}
    found = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            for fd in os.scandir(f"/proc/{entry.name}/fd"):
                if os.readlink(fd.path) in wanted:
                    found.append(int(entry.name))
                    break
        except OSError:
            continue
    return found


def _state(pid: int) -> tuple[int, bool]:
    """The CPU ticks of process ``pid`` so far, and whether a thread of it is runnable."""
    ticks, runnable = 0, False
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return 0, False
    for task in tasks:
        try:
            stat = Path(f"/proc/{pid}/task/{task}/stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        runnable = runnable or fields[0] == "R"
        ticks += int(fields[11]) + int(fields[12])
    return ticks, runnable


class ServerProgress:
    """``moved()``: whether the server on ``port`` worked since the last call (or since
    this was made). A server not found (gone, or not on this machine) never moved."""

    def __init__(self, port: int) -> None:
        self._pids = listeners(port)
        self._ticks: Optional[int] = self._look()[0]

    def _look(self) -> tuple[int, bool]:
        states = [_state(pid) for pid in self._pids]
        return sum(s[0] for s in states), any(s[1] for s in states)

    def moved(self) -> bool:
        ticks, runnable = self._look()
        before, self._ticks = self._ticks, ticks
        return runnable or (before is not None and ticks - before > IDLE_TICKS)
