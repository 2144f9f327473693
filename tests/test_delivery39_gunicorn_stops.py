"""delivery39: gunicorn stops the worker's close was not bounded for (probe)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest
import requests

from tests.support.fake_api import Collector, Reply
from tests.support.gunicorn_close import answers
from tests.support.polling import wait_until
from tests.support.ports import free_port
from tests.support.processes import LINE_WAIT, start_server
from tests.test_greenlet_servers import _stop

ROOT = Path(__file__).resolve().parents[1]

CONFIG = """
application = MetricsMiddleware(app, MetricsApiConfig(
    api_key=os.environ["PROJECT_KEY"], metrics_api=os.environ["METRICS_URL"],
    base_log_url="http://docs.example", buffer_length=1000, flush_interval=600,
    shutdown_timeout=8, grouping_function=lambda req: {"api_key": "caller-39"}))
"""

WSGI = textwrap.dedent("""
    import os, pathlib, signal, sys, threading
    from readme_metrics import MetricsApiConfig, MetricsMiddleware

    def app(environ, start_response):
        if environ["PATH_INFO"] == "/slow":
            pathlib.Path("slow_began").touch()
            threading.Event().wait(3)  # a slow request, in flight at the SIGTERM
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]
""") + CONFIG

ASGI = textwrap.dedent("""
    import asyncio, os, pathlib, signal, sys
    from readme_metrics import MetricsApiConfig
    from readme_metrics.asgi import MetricsMiddleware

    async def app(scope, receive, send):
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                else:
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["path"] == "/slow":
            pathlib.Path("slow_began").touch()
            await asyncio.sleep(3)  # a slow request, in flight at the SIGTERM
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"text/plain")]})
        await send({"type": "http.response.body", "body": b"ok"})
""") + CONFIG

#: The app's own SIGTERM handler, set after the middleware is made: it calls the one it
#: replaced (a cleanup of its own first).
CHAINED = textwrap.dedent("""
    _before = signal.getsignal(signal.SIGTERM)

    def _on_term(signum, frame):
        pathlib.Path("app_cleanup").touch()
        if callable(_before):
            _before(signum, frame)

    signal.signal(signal.SIGTERM, _on_term)
""")


def run_stop(collector: Collector, tmp_path: Path, source: str, argv: list[str]
             ) -> tuple[list[int], str, str]:
    gate = threading.Event()
    collector.default = Reply(gate=gate)
    (tmp_path / "stop_app.py").write_text(source)
    port = free_port()
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("README_")},
           "METRICS_URL": collector.url, "PROJECT_KEY": "rdme_delivery39_key",
           "PYTHONPATH": os.pathsep.join([str(tmp_path), str(ROOT)])}
    process = start_server(
        [sys.executable, "-m", "gunicorn", *argv, "--workers=1", "--graceful-timeout=6",
         f"--bind=127.0.0.1:{port}", "stop_app:application"],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    answered: list[int] = []
    slow = threading.Thread(target=lambda: answered.append(
        requests.get(f"{base}/slow", timeout=LINE_WAIT).status_code), daemon=True)
    try:
        wait_until(lambda: answers(f"{base}/ready"))
        with requests.Session() as session:
            for n in range(20):
                assert session.get(f"{base}/r/{n}", timeout=10).status_code == 200
        slow.start()
        wait_until((tmp_path / "slow_began").exists)
        out, err = _stop(process)
    finally:
        gate.set()
    slow.join(LINE_WAIT)
    return answered, out, err


CASES = {
    "chained-sync": (WSGI + CHAINED, ["--worker-class=sync"]),
    "chained-gthread": (WSGI + CHAINED, ["--worker-class=gthread", "--threads=4"]),
    "preload-sync": (WSGI, ["--worker-class=sync", "--preload"]),
    "preload-gthread": (WSGI, ["--worker-class=gthread", "--threads=4", "--preload"]),
    "gasgi": (ASGI, ["--worker-class=asgi"]),
}


@pytest.mark.e2e
@pytest.mark.parametrize("case", list(CASES))
def test_probe(case: str, collector: Collector, tmp_path: Path) -> None:
    source, argv = CASES[case]
    answered, out, err = run_stop(collector, tmp_path, source, argv)
    print(case, answered, "\n", err)
    assert answered == [200]
    assert "was sent SIGKILL" not in err, err
    assert re.search(r"gave up after [\d.]+s", err), err
