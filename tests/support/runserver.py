"""A server under its own reloader, the tests' way: ``manage.py runserver`` with Django's
autoreloader (or ``gunicorn --reload``) in a subprocess on a free 127.0.0.1 port, its
output in a file, the Metrics API a collector holding every answer. Shared by
tests/test_blackbox12_findings, tests/test_review118_findings, tests/test_delivery40_findings
and tests/test_delivery41_findings, which each repeated it."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import requests

from tests.support.fake_api import Collector, Reply
from tests.support.polling import wait_until
from tests.support.ports import free_port
from tests.support.processes import start_server, stop_server

ROOT = Path(__file__).resolve().parents[2]
#: The key the calls are made with (the e2e apps' grouping reads it).
CALLER = {"X-Api-Key": "caller-12"}


@contextmanager
def held_collector(gate: threading.Event) -> Iterator[Collector]:
    """A collector that reads every POST and answers none until ``gate`` is set (set
    at the end too, so that its stop does not wait on a held answer)."""
    collector = Collector().start()
    collector.judge = lambda received: Reply(gate=gate)
    try:
        yield collector
    finally:
        gate.set()
        collector.stop()


def children(pid: int) -> list[int]:
    """The processes whose parent is ``pid`` (runserver's child of its autoreloader)."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry))
    return found


def held_env(held: Collector, tmp_path: Path, shutdown_timeout: str,
             **extra: str) -> dict[str, str]:
    """The server's environment: background worker, nothing sent before the exit
    (buffer 1,000, flush 600 s), ``shutdown_timeout``, POSTs bounded at 30 s; the repo
    and ``tmp_path`` (where the test writes its settings or app) importable. ``extra``
    adds variables or overrides those (``README_BUFFER_LENGTH="10"``)."""
    from tests.test_e2e_servers import server_env

    # POSTs bounded at 30 s, past any close here (its shutdown_timeout cuts them): 3 s
    # cut a POST a loaded machine's collector answered late and sent it again, its logs
    # read twice (flaky63). No test of these times a POST out.
    settings = {"PYTHONPATH": f"{ROOT}{os.pathsep}{tmp_path}",
                "README_BACKGROUND_WORKER_MODE": "true", "README_BUFFER_LENGTH": "1000",
                "README_FLUSH_INTERVAL": "600", "README_SHUTDOWN_TIMEOUT": shutdown_timeout,
                "README_TIMEOUT": "30"}
    return server_env(held, **{**settings, **extra})


@dataclass
class Served:
    """A server started by :func:`serving`: its process, URL and output file."""

    process: subprocess.Popen[bytes]
    url: str
    output: Path

    def said(self) -> str:
        """What the server printed so far (stdout and stderr)."""
        return self.output.read_text(errors="replace")

    def wait_said(self, text: str) -> str:
        """Wait (60 s at most) until ``text`` is in its output; the output."""
        wait_until(lambda: text in self.said(), timeout=60)
        return self.said()

    def call(self, names: list[str]) -> None:
        """A logged GET /hello per name, each answered 200."""
        for name in names:
            response = requests.get(f"{self.url}/hello", params={"name": name}, timeout=30,
                                    headers=CALLER)
            assert response.status_code == 200


@contextmanager
def serving(args: list[str], env: dict[str, str], tmp_path: Path,
            log_name: str) -> Iterator[Served]:
    """``python ARGS`` started in ``tmp_path`` with ``env``, serving on a free port
    (``{port}`` in ``args`` is replaced), its output in ``tmp_path / log_name``; yielded
    once it answers OPTIONS /nolog (not logged). Stopped at the end by SIGTERM (killed
    after 15 s) with what it left in its group, and waited for."""
    port = free_port()
    output = tmp_path / log_name
    with output.open("wb") as log:
        argv = [sys.executable, *(arg.replace("{port}", str(port)) for arg in args)]
        process = start_server(argv, env=env, cwd=str(tmp_path), stdout=log,
                               stderr=subprocess.STDOUT)
    try:
        url = f"http://127.0.0.1:{port}"

        def answers() -> bool:
            try:
                return requests.options(f"{url}/nolog", timeout=2).ok
            except requests.RequestException:
                return False

        wait_until(answers, timeout=60)
        yield Served(process, url, output)
    finally:
        stop_server(process)


def runserver(*options: str) -> list[str]:
    """``django runserver`` on ``{port}`` (for :func:`serving`), with ``options``."""
    return ["-m", "django", "runserver", *options, "127.0.0.1:{port}", "--skip-checks"]
