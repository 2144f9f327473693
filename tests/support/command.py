"""The subprocess driver: the ``readme-metrics`` command run as a user runs it."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Optional

from tests.support.processes import start_server

REPO_ROOT = Path(__file__).resolve().parent.parent.parent


def app_environment(metrics_url: str, *paths: Path, **variables: str) -> dict[str, str]:
    """The environment of an app run as a user runs it, sending to ``metrics_url``: this
    one without its ``README_*`` variables, ``README_API_KEY`` set, ``PYTHONPATH`` the
    ``paths`` then the repository, and ``variables`` on top."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("README_")}
    env.update(README_API_KEY="any-key", README_METRICS_SERVER=metrics_url,
               PYTHONPATH=os.pathsep.join([*map(str, paths), str(REPO_ROOT)]), **variables)
    return env


class CommandProcess:
    """``python -m readme_metrics ARGS`` in a subprocess, its stdout read line by line.

    Always stopped by its own PID (``stop``), also from a ``finally``/context manager.

    .. code-block:: python

        with CommandProcess("collect", "--port", "0", cwd=tmp_path) as proc:
            url = proc.wait_for(r"listening on (http://\\S+)").group(1)
    """

    def __init__(self, *args: str, cwd: Any, env: Optional[dict[str, str]] = None) -> None:
        environment = {k: v for k, v in os.environ.items() if not k.startswith("README_")}
        environment["PYTHONPATH"] = os.pathsep.join(
            [str(REPO_ROOT)] + [p for p in [environment.get("PYTHONPATH")] if p]
        )
        environment["PYTHONUNBUFFERED"] = "1"
        environment.update(env or {})
        self.stderr_path = Path(cwd) / f"stderr-{time.monotonic_ns()}.txt"
        self._stderr = open(self.stderr_path, "wb")  # noqa: SIM115 - closed in stop()
        self.proc = start_server(
            [sys.executable, "-m", "readme_metrics", *args], cwd=str(cwd), env=environment,
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=self._stderr,
            text=True, encoding="utf-8", errors="replace",
        )
        self.lines: list[str] = []
        self._cond = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            with self._cond:
                self.lines.append(line.rstrip("\n"))
                self._cond.notify_all()
        with self._cond:
            self._cond.notify_all()

    @property
    def stdout(self) -> str:
        with self._cond:
            return "\n".join(self.lines)

    @property
    def stderr(self) -> str:
        return self.stderr_path.read_text(encoding="utf-8", errors="replace")

    def wait_for(self, pattern: str, timeout: float = 20.0, count: int = 1) -> re.Match[str]:
        """Block until ``count`` stdout lines match ``pattern``; return the last match."""
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                found = [m for m in map(regex.search, self.lines) if m]
                if len(found) >= count:
                    return found[count - 1]
                left = deadline - time.monotonic()
                if left <= 0 or (self.proc.poll() is not None and not self._reader.is_alive()):
                    raise AssertionError(
                        f"{len(found)} of {count} lines match {pattern!r}; exit code "
                        f"{self.proc.poll()}\nstdout:\n{chr(10).join(self.lines)}\n"
                        f"stderr:\n{self.stderr}"
                    )
                self._cond.wait(min(left, 0.5))

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 20.0) -> int:
        """Send ``sig`` to this process (by PID), wait for it, kill it if it hangs."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self._reader.join(5)
        self._stderr.close()
        return int(self.proc.returncode)

    def wait(self, timeout: float = 120.0) -> int:
        """Wait for the process to exit on its own (killed by PID after ``timeout``)."""
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
            raise
        finally:
            self._reader.join(5)
        return int(self.proc.returncode)

    def __enter__(self) -> CommandProcess:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()
