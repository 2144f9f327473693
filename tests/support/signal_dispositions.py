"""What a process a test started does with a signal now, read from Linux's
``/proc/<pid>/status`` (its ``SigCgt`` and ``SigIgn`` masks): a server that ignores a
signal until it is set up (uWSGI's master ignores SIGTERM until its loop, flaky50)
must not be sent it before. Outside Linux, or once the process is gone, nothing is
known: False."""

from __future__ import annotations

from pathlib import Path


def catches(pid: int, signum: int) -> bool:
    """Whether ``pid`` has a handler of its own for ``signum`` now."""
    return _in_mask(pid, "SigCgt", signum)


def ignores(pid: int, signum: int) -> bool:
    """Whether ``pid`` ignores ``signum`` now (``SIG_IGN``)."""
    return _in_mask(pid, "SigIgn", signum)


def _in_mask(pid: int, field: str, signum: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    for line in status.splitlines():
        if line.startswith(f"{field}:"):
            return bool(int(line.split()[1], 16) >> (signum - 1) & 1)
    return False
