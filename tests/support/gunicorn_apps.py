"""gunicorn's stops, the tests' way: the apps they serve (a WSGI and an ASGI one with a
slow request to have in flight at the SIGTERM), the stop with that request in flight
and the Metrics API holding every answer, and a real gunicorn worker object for the
tests of ``gunicorn_stop`` in this process. Shared by tests/test_delivery35_uvicorn_worker,
test_delivery37_gunicorn_stop, test_delivery39_gunicorn_stops (and review120's import of
it), test_house13_gunicorn_worker_once, which each repeated them."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Optional

import requests

from tests.support.fake_api import Collector, Reply
from tests.support.gunicorn_close import answers
from tests.support.polling import wait_until
from tests.support.ports import free_port
from tests.support.processes import LINE_WAIT, start_server, stop_for_output, stop_server

ROOT = Path(__file__).resolve().parents[2]


def config(caller: str) -> str:
    """The middleware's making (``application``): key and API from ``PROJECT_KEY`` and
    ``METRICS_URL``, nothing sent before the exit, ``shutdown_timeout`` 8 s."""
    return textwrap.dedent(f"""
        application = MetricsMiddleware(app, MetricsApiConfig(
            api_key=os.environ["PROJECT_KEY"], metrics_api=os.environ["METRICS_URL"],
            base_log_url="http://docs.example", buffer_length=1000, flush_interval=600,
            shutdown_timeout=8, grouping_function=lambda req: {{"api_key": "{caller}"}}))
    """)


#: A WSGI ``app`` whose /slow takes 3 s (touching ``slow_began`` as it begins); append
#: :func:`config`.
SLOW_WSGI = textwrap.dedent("""
    import os, pathlib, signal, sys, threading
    from readme_metrics import MetricsApiConfig, MetricsMiddleware

    def app(environ, start_response):
        if environ["PATH_INFO"] == "/slow":
            pathlib.Path("slow_began").touch()
            threading.Event().wait(3)  # a slow request, in flight at the SIGTERM
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]
""")

#: An ASGI ``app`` with a lifespan, whose /slow takes 3 s as :data:`SLOW_WSGI`'s does;
#: append :func:`config`.
SLOW_ASGI = textwrap.dedent("""
    import asyncio, os, pathlib, signal, sys
    from readme_metrics import MetricsApiConfig
    from readme_metrics.asgi import MetricsMiddleware
    from tests.support.side_by_side import lifespan

    async def app(scope, receive, send):
        if scope["type"] == "lifespan":
            return await lifespan(receive, send)
        if scope["path"] == "/slow":
            pathlib.Path("slow_began").touch()
            await asyncio.sleep(3)  # a slow request, in flight at the SIGTERM
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"text/plain")]})
        await send({"type": "http.response.body", "body": b"ok"})
""")


def stop_with_slow_in_flight(collector: Collector, tmp_path: Path, source: str,
                             argv: list[str], key: str,
                             slow_headers: Optional[dict[str, str]] = None,
                             stop: int = signal.SIGTERM) -> tuple[list[int], str, str]:
    """``source`` (its ``application``) under gunicorn (``argv``, one worker,
    ``--graceful-timeout 6``, ``PROJECT_KEY`` ``key``): 20 requests, then one to /slow
    (with ``slow_headers``) in flight at the SIGTERM (or ``stop``, to the master), the
    collector holding every answer until the server ended: the slow one's status, the
    server's (stdout, stderr). The server is stopped and waited for however the test
    ends."""
    gate = threading.Event()
    collector.default = Reply(gate=gate)
    (tmp_path / "stop_app.py").write_text(source)
    port = free_port()
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("README_")},
           "METRICS_URL": collector.url, "PROJECT_KEY": key,
           "PYTHONPATH": os.pathsep.join([str(tmp_path), str(ROOT)])}
    process = start_server(
        [sys.executable, "-m", "gunicorn", *argv, "--workers=1", "--graceful-timeout=6",
         f"--bind=127.0.0.1:{port}", "stop_app:application"],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    answered: list[int] = []
    slow = threading.Thread(target=lambda: answered.append(
        requests.get(f"{base}/slow", headers=slow_headers,
                     timeout=LINE_WAIT).status_code), daemon=True)
    try:
        wait_until(lambda: answers(f"{base}/ready"))
        with requests.Session() as session:
            for n in range(20):
                assert session.get(f"{base}/r/{n}", timeout=10).status_code == 200
        slow.start()
        wait_until((tmp_path / "slow_began").exists)
        out, err = stop_for_output(process, stop=stop)
    finally:
        gate.set()
        if process.returncode is None:  # (a failure before the stop: not left running)
            stop_server(process)
    slow.join(LINE_WAIT)
    return answered, out, err


class _Cfg:
    graceful_timeout = 10


@contextmanager
def worker_object(handles_sigterm: bool = True, timeout: Optional[int] = None
                  ) -> Iterator[Any]:
    """A real gunicorn worker object (``--graceful-timeout`` 10, ``--timeout`` given
    or none), alive; with ``handles_sigterm`` its ``handle_exit`` is this process's SIGTERM
    handler, as in a worker. SIGTERM's and SIGUSR1's handlers and ``gunicorn_stop``'s
    state are restored after."""
    import pytest

    from readme_metrics.delivery import gunicorn_stop

    base = pytest.importorskip("gunicorn.workers.base")
    made = base.Worker.__new__(base.Worker)
    made.cfg = _Cfg()
    if timeout is not None:
        made.cfg.timeout = timeout
    made.alive = True
    before = signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGUSR1)
    if handles_sigterm:
        signal.signal(signal.SIGTERM, made.handle_exit)
    try:
        yield made
    finally:
        signal.signal(signal.SIGTERM, before[0])
        signal.signal(signal.SIGUSR1, before[1])
        gunicorn_stop.forget()
