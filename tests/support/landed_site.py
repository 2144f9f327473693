"""A Django site that a real SIGTERM stops in a request (delivery57's and delivery58's
tests): served by an ASGI server in a subprocess, one GET read by a raw socket client,
the server stopped, and the log of that GET read at the collector."""

from __future__ import annotations

import contextlib
import signal
import sys
import textwrap
from pathlib import Path
from typing import Any

from tests.support.command import app_environment
from tests.support.fake_api import INLINE_TIMEOUT, Collector, LogsMissing
from tests.support.har_check import assert_valid_log
from tests.support.polling import wait_until
from tests.support.ports import free_port
from tests.support.processes import kill_server, start_server
from tests.support.raw_requests import answers_200, get_closing

__all__ = ["SIGTERM_EXIT", "landed"]

#: README's SIGTERM lines (an exit), and the main thread's id for a site's own SIGTERM
#: (``signal.pthread_kill(MAIN, signal.SIGTERM)``), for a site's module after its views.
SIGTERM_EXIT = textwrap.dedent("""
    import signal, sys, threading

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    MAIN = threading.main_thread().ident
""")


def landed(site: str, server: list[str], route: str, collector: Collector, tmp_path: Path,
           **variables: str) -> tuple[bytes, str, dict[str, Any]]:
    """``site`` (a module defining ``app``) served by ``server`` (its argv after ``python
    -m``, the port as ``{port}``) with ``variables`` in its environment, asked for
    ``route`` (its ``/quick`` first, to know it serves): what the client got, what the
    server printed, and the response of ``route``'s log (the two logs valid HARs)."""
    # Each log once: a POST answered past README_TIMEOUT's 3 s went twice (flaky61).
    variables.setdefault("README_TIMEOUT", str(INLINE_TIMEOUT))
    (tmp_path / "served_site.py").write_text(site)
    port = free_port()
    err_path = tmp_path / "err"
    with open(err_path, "wb") as err_file:
        process = start_server(
            [sys.executable, "-m", *(part.format(port=port) for part in server),
             "served_site:app"], cwd=tmp_path,
            env=app_environment(collector.url, tmp_path, **variables), stdout=err_file,
            stderr=err_file)
    try:
        wait_until(lambda: answers_200(port))
        got = get_closing(port, route)
        # The process that served ``route`` ends by itself (the site's raise; uvicorn's
        # own graceful stop in one process) and sends its log as it exits: waited for
        # before the server is stopped. Under ``uvicorn --workers`` the raise passing
        # uvicorn's capture_signals set that worker's SIGTERM back to its default, and
        # the parent's stop (a SIGTERM to each worker) killed it outright before its
        # exit hooks when it came first: both logs lost unsaid (flaky42: 3 runs in 61
        # at load 20).
        with contextlib.suppress(AssertionError):
            wait_until(lambda: process.poll() is not None or _logged(collector, route))
        if process.poll() is None:  # hypercorn's parent outlives its worker
            process.send_signal(signal.SIGTERM)
        process.wait(60)
    finally:
        kill_server(process)
    said = err_path.read_text(errors="replace")
    try:
        logs = collector.wait_for_logs(2)
    except LogsMissing as missing:  # what the server said, and how it ended
        missing.add_note(f"--- the server (exit {process.returncode}) ---\n{said[-6000:]}")
        raise
    for log in logs:
        assert_valid_log(log)
    responses = [log["request"]["log"]["entries"][0]["response"] for log in logs
                 if log["request"]["log"]["entries"][0]["request"]["url"].endswith(route)]
    assert len(responses) == 1, said[-2000:]
    return got, said, responses[0]


def _logged(collector: Collector, route: str) -> bool:
    """The collector holds a log of ``route``."""
    return any(log["request"]["log"]["entries"][0]["request"]["url"].endswith(route)
               for log in collector.logs)
