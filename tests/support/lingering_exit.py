"""A script whose main thread ends while the app's own work runs on (a thread of its
own, an executor's): its logs must go while that work still runs, not once it ended.
Shared by tests/test_blackbox9_lifecycles and tests/test_review114_findings, which each
repeated it."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

from tests.support.fake_api import Collector
from tests.support.processes import LINE_WAIT, read_line, start_server, stop_server

ROOT = Path(__file__).resolve().parents[2]


def script(key: str, caller: str, lingering: str) -> str:
    """A script serving ``argv[1]`` requests through the WSGI middleware (project key
    ``key``, a buffer of 1,000, a 600 s flush interval: only the exit sends them;
    ``argv[2]`` "background" or "inline"), then ``lingering`` (the app's work going on
    past the main thread's end, until stdin closes), then "main thread done"."""
    return textwrap.dedent(f"""
        import os, sys
        from werkzeug.test import Client
        from readme_metrics import MetricsApiConfig, MetricsMiddleware

        def app(environ, start_response):
            start_response("200 OK", [("Content-Type", "text/plain")])
            return [b"ok"]

        middleware = MetricsMiddleware(app, MetricsApiConfig(
            api_key="{key}", metrics_api=os.environ["METRICS_URL"],
            base_log_url="http://docs.example", buffer_length=1000, flush_interval=600,
            background_worker_mode=sys.argv[2] == "background",
            grouping_function=lambda request: {{"api_key": "{caller}"}}))
        client = Client(middleware)
        for n in range(int(sys.argv[1])):
            assert client.get(f"/s/{{n}}").status_code == 200
    """) + textwrap.dedent(lingering) + 'print("main thread done", flush=True)\n'


def logs_while_it_lingers(collector: Collector, tmp_path: Path, source: str,
                          mode: str) -> None:
    """``source`` (of :func:`script`) run for 30 requests in ``mode``: the 30 logs
    arrive while its work still runs, each once; then stdin closed, it ends 0 having
    printed nothing more. Waited for (killed past LINE_WAIT) however the test ends."""
    from tests.test_greenlet_servers import _paths

    (tmp_path / "script.py").write_text(source)
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("README_")},
           "METRICS_URL": collector.url, "PYTHONPATH": str(ROOT)}
    process = start_server([sys.executable, str(tmp_path / "script.py"), "30", mode],
                           env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE)
    try:
        assert read_line(process.stdout) == b"main thread done\n"
        collector.wait_for_logs(30, timeout=LINE_WAIT)  # its work still runs
        assert process.poll() is None
    finally:
        try:
            out, err = process.communicate(b"", timeout=LINE_WAIT)
        finally:
            if process.returncode is None:  # (not left running, nor unwaited)
                stop_server(process)
    assert process.returncode == 0, err.decode(errors="replace")
    assert sorted(_paths(collector)) == sorted(f"s/{n}" for n in range(30))
    assert out == b"" and err == b"", err.decode(errors="replace")
