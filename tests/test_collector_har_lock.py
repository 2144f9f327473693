"""Two collectors appending to one HAR file at the same moment keep every entry.

`readme-metrics collect` started twice in one folder (or `collect --port 8005` beside the
first) writes one ./readme-metrics.har. newcomer14 made a writer continue what another
wrote since its last append, but two appends at the same moment both copied the same file
and the second rename dropped the first's entries: two writers of 150 appends each left
163 of 300. Each read, copy and rename now holds an advisory lock on the folder (flock).
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import pytest

from readme_metrics.cli.collector.har_file import HarFile
from tests.support.command import REPO_ROOT
from tests.support.processes import start_server, stop_server

_WRITER = """\
import sys, time
sys.path.insert(0, sys.argv[1])
from readme_metrics.cli.collector.har_file import HarFile
path, tag, count, start = sys.argv[2], sys.argv[3], int(sys.argv[4]), float(sys.argv[5])
while time.time() < start:  # both writers begin together
    time.sleep(0.001)
har = HarFile(path, fresh=False)
for n in range(count):
    har.append([{"comment": f"{tag}-{n}"}])
"""

_APPENDS = 150


@pytest.mark.skipif(sys.platform == "win32", reason="flock is POSIX; Windows writes unlocked")
def test_two_processes_appending_at_once_keep_every_entry(tmp_path: Path) -> None:
    path = tmp_path / "readme-metrics.har"
    HarFile(path)
    start = time.time() + 1.0
    writers = [
        start_server([sys.executable, "-c", _WRITER, str(REPO_ROOT), str(path), tag,
                      str(_APPENDS), repr(start)])
        for tag in ("first", "second")
    ]
    try:
        for writer in writers:
            assert writer.wait(timeout=120) == 0
    finally:
        for writer in writers:
            stop_server(writer)
    entries = json.loads(path.read_bytes())["log"]["entries"]
    written = sorted(entry["comment"] for entry in entries)
    expected = sorted(f"{tag}-{n}" for tag in ("first", "second") for n in range(_APPENDS))
    assert written == expected
    assert not list(tmp_path.glob(".*.tmp"))  # no copy left behind
    assert sorted(p.name for p in tmp_path.iterdir()) == ["readme-metrics.har"]


@pytest.mark.skipif(not hasattr(os, "fork"), reason="flock and fork are POSIX")
# Python 3.12+ warns at a fork in a process with threads (the xdist worker's): this
# child only writes to a pipe and exits.
@pytest.mark.filterwarnings("ignore:This process .* is multi-threaded:DeprecationWarning")
def test_a_child_forked_during_a_write_does_not_keep_the_lock(tmp_path: Path) -> None:
    # review77: flock's lock is the open file's, which a child forked meanwhile (another
    # thread's os.fork, a multiprocessing "fork" worker) shares: the lock outlived the
    # write until the child exited, and every write after it waited (BlockingIOError
    # below, before). The child closes its copy at once.
    import fcntl

    from readme_metrics.cli.collector.har_file import _writers_one_at_a_time

    go_on, told = os.pipe()
    ready, running = os.pipe()
    try:
        with _writers_one_at_a_time(tmp_path):
            pid = os.fork()
            if pid == 0:  # the child (its fork hooks ran): says so, waits, writes nothing
                try:
                    os.write(running, b"r")
                    os.read(go_on, 1)
                finally:
                    os._exit(0)
        assert os.read(ready, 1) == b"r"
        other = os.open(tmp_path, os.O_RDONLY)  # as another writer's lock would
        try:
            fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)
        finally:
            os.close(other)
            os.write(told, b"x")
            os.waitpid(pid, 0)
    finally:
        for fd in (go_on, told, ready, running):
            os.close(fd)
