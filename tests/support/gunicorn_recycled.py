"""gunicorn with one worker that ``--max-requests=3`` recycles while its master serves on,
the API failing (tests/test_delivery36_findings.py, tests/test_flaky60_findings.py).

The master aborts a recycled worker ``--timeout`` after its last heartbeat (WORKER
TIMEOUT); the tests read the server's output for the recycled worker's close. Each
worker's heartbeat is kept while it boots (:func:`boot_config`), so that an app's import
slow under load is no part of the timeout.
"""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path

from tests.support.fake_api import Collector, Reply
from tests.support.polling import wait_until
from tests.support.ports import free_ports
from tests.support.processes import start_server, stop_server
from tests.test_e2e_servers import GUNICORN, server_env

#: Every worker's heartbeat kept until it has booted, the app's import included
#: (``load_wsgi``, after ``post_fork``): flaky39, that import took 22-33 s of the clock
#: (0.3 s of CPU) at a load of 30, and the master's WORKER TIMEOUT aborted a worker that
#: had served nothing (heartbeats from ``post_fork`` only, before).
BOOT = """
import threading
import time


def post_fork(server, worker):
    def beat():
        while not worker.booted:
            worker.notify()
            time.sleep(0.1)

    threading.Thread(target=beat, name="boot-heartbeat", daemon=True).start()
"""


def boot_config(first_late: int = 0) -> str:
    """gunicorn's config file: :data:`BOOT`, and the first worker (``worker.age`` 1)
    booting ``first_late`` seconds late, its heartbeat kept meanwhile."""
    if not first_late:
        return BOOT
    return BOOT + f"    if worker.age == 1:\n        time.sleep({first_late})\n"


def accepts(process: subprocess.Popen[bytes], port: int, output: Path) -> bool:
    """Whether the server's port takes a connection (closed unused: gunicorn counts no
    request of it); the server has not ended (its ``output`` said if it has)."""
    assert process.poll() is None, output.read_text(errors="replace")
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
    except OSError:
        return False
    return True


@contextmanager
def recycling(tmp_path: Path, collector: Collector, app: str, worker: str, timeout: int,
              first_late: int = 0) -> Iterator[tuple[str, Path]]:
    """``app`` (a module's source that defines ``app``) under gunicorn's ``worker``
    class, ``--timeout={timeout}``, ``--max-requests=3`` (no jitter), a
    ``--graceful-timeout`` of 30 s (no bound at a recycling: the master sends no
    SIGTERM), :func:`boot_config` (``first_late``). Every POST to ``collector`` answered
    503; the library's background worker holds 10 logs a batch, no timer, and a
    ``shutdown_timeout`` of 10 s. Yields (the server's base URL, the file of its output)
    once the master listens (a connection, no request: none of the worker's 3);
    stopped after."""
    collector.default = Reply(status=503, body=b"down")
    (tmp_path / "recycled_app.py").write_text(app)
    (tmp_path / "recycled_boot.py").write_text(boot_config(first_late))
    port = free_ports(1)[0]
    env = server_env(collector, README_BACKGROUND_WORKER_MODE="true",
                     README_BUFFER_LENGTH="10", README_FLUSH_INTERVAL="0",
                     README_SHUTDOWN_TIMEOUT="10")
    output = tmp_path / "gunicorn.log"
    argv = [sys.executable, *GUNICORN, f"--worker-class={worker}", "--graceful-timeout=30",
            f"--timeout={timeout}", "--max-requests=3", "--max-requests-jitter=0",
            f"--bind=127.0.0.1:{port}", "--config=recycled_boot.py", "recycled_app:app"]
    with output.open("wb") as log:
        process = start_server(argv, env=env, cwd=tmp_path, stdout=log,
                               stderr=subprocess.STDOUT)
    try:
        wait_until(partial(accepts, process, port, output), timeout=60)
        yield f"http://127.0.0.1:{port}", output
    finally:
        stop_server(process)


def settled(output: Path) -> bool:
    """Whether the recycled worker has ended, one way or the other: its close's line,
    Python's "Exception ignored" of an aborted close, or the master's WORKER TIMEOUT."""
    text = output.read_text(errors="replace")
    return ("not delivered" in text or "Exception ignored" in text
            or "[CRITICAL] WORKER TIMEOUT" in text)
