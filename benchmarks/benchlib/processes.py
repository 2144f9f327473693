"""The benchmark's processes: free ports, a server's port and gunicorn's workers waited
for, a process's CPU, children and RSS (Linux /proc), progress on stderr."""

from __future__ import annotations

import os
import socket
import sys
import time
from pathlib import Path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, server: str) -> None:
    """Wait until ``server`` accepts connections on 127.0.0.1:``port`` (30 s at most)."""
    deadline = time.monotonic() + 30
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{server} did not start") from None
            time.sleep(0.1)


def wait_for_workers(master: int, directory: str, count: int) -> list[int]:
    """The pids of the ``count`` workers of gunicorn's ``master`` once each has imported
    ``GUNICORN_APP`` (its ``ready-<pid>`` in ``directory``; 120 s at most). The port
    accepts connections as soon as the master listens, before any worker can answer."""
    deadline = time.monotonic() + 120
    while True:
        workers = child_pids(master)
        if len(workers) >= count and all(
                Path(directory, f"ready-{pid}").exists() for pid in workers):
            return workers
        if time.monotonic() > deadline:
            raise RuntimeError(f"gunicorn's workers did not import the app: {workers}")
        time.sleep(0.05)


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def process_cpu(pid: int) -> float:
    """User + system CPU seconds of a process so far (Linux /proc; 0 elsewhere)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return 0.0


def child_pids(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as children:
            return [int(child) for child in children.read().split()]
    except OSError:
        return []


def rss_mb() -> float:
    """This process's resident set size, MB (NaN where /proc is not there)."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")
