"""delivery37: a gunicorn worker's close bounded from its SIGTERM, not from its start.

At SIGTERM a worker serves the requests in flight before it leaves its loop (sync: the
one it serves; gthread: all of them), and the exit's close begins only then. Its bound,
a second before ``--graceful-timeout`` (blackbox10), was counted from the close's start:
with a request of 2 s in flight, ``--graceful-timeout 4``, ``shutdown_timeout`` 5 s and
an API answering nothing, the close had 3.2 s from 2 s after the signal, and the master
SIGKILLed the worker at 4 s, mid-close: 42 requests served, none delivered, the close's
end unsaid (gthread and sync alike). Now the app's load in the worker wraps the
worker's SIGTERM handler (``gunicorn_stop.watch_stop``): the close ends a second before
the kill counted from the signal (1.2 s there) and says what it gave up on.

Real parts: gunicorn (sync, gthread) in a subprocess, the loopback collector holding
every answer; nothing timed (the test waits for the server to end).
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import textwrap
import threading
from pathlib import Path
from typing import Any, Iterator

import pytest
import requests

from readme_metrics.delivery import gunicorn_stop
from tests.support.fake_api import Collector, Reply
from tests.support.gunicorn_close import answers
from tests.support.polling import wait_until
from tests.support.ports import free_port
from tests.support.processes import LINE_WAIT, start_server
from tests.test_greenlet_servers import _check_quiet, _stop

ROOT = Path(__file__).resolve().parents[1]

APP = textwrap.dedent("""
    import os, pathlib, threading
    from readme_metrics import MetricsApiConfig, MetricsMiddleware

    def app(environ, start_response):
        if environ["PATH_INFO"] == "/slow":
            pathlib.Path("slow_began").touch()
            threading.Event().wait(3)  # a slow request, in flight at the SIGTERM
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]

    application = MetricsMiddleware(app, MetricsApiConfig(
        api_key=os.environ["PROJECT_KEY"], metrics_api=os.environ["METRICS_URL"],
        base_log_url="http://docs.example", buffer_length=1000, flush_interval=600,
        shutdown_timeout=8, grouping_function=lambda req: {"api_key": "caller-37"}))
""")

ASGI_APP = textwrap.dedent("""
    import asyncio, os, pathlib
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

    application = MetricsMiddleware(app, MetricsApiConfig(
        api_key=os.environ["PROJECT_KEY"], metrics_api=os.environ["METRICS_URL"],
        base_log_url="http://docs.example", buffer_length=1000, flush_interval=600,
        shutdown_timeout=8, grouping_function=lambda req: {"api_key": "caller-37"}))
""")

CLASSES = {"sync": "sync", "gthread": "gthread", "uvicorn": "uvicorn_worker.UvicornWorker"}


@pytest.mark.e2e
@pytest.mark.parametrize("worker", ["sync", "gthread", "uvicorn"])
def test_close_after_a_slow_request_ends_before_gunicorns_kill(
        worker: str, collector: Collector, tmp_path: Path) -> None:
    """20 logs held, then a request of 3 s in flight at the SIGTERM, the API holding
    every answer, ``shutdown_timeout`` 8 s, ``--graceful-timeout`` 6 s: the close ends
    before the kill (5 s after the signal, the request's 3 s counted) and says the 22
    logs (the readiness probe's, the slow request's) not delivered; under UvicornWorker
    the lifespan's flush does. Before: its bound counted from its start, 3 s after the
    signal, the worker SIGKILLed mid-close, nothing said."""
    gate = threading.Event()
    collector.default = Reply(gate=gate)
    if worker == "uvicorn":
        pytest.importorskip("uvicorn_worker")
    (tmp_path / "slow_app.py").write_text(ASGI_APP if worker == "uvicorn" else APP)
    port = free_port()
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("README_")},
           "METRICS_URL": collector.url, "PROJECT_KEY": "rdme_delivery37_key",
           "PYTHONPATH": os.pathsep.join([str(tmp_path), str(ROOT)])}
    argv = [sys.executable, "-m", "gunicorn", f"--worker-class={CLASSES[worker]}",
            "--workers=1", f"--threads={4 if worker == 'gthread' else 1}",
            "--graceful-timeout=6", f"--bind=127.0.0.1:{port}", "slow_app:application"]
    process = start_server(argv, cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE)
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
    assert answered == [200]  # served whole, before the worker left
    assert "was sent SIGKILL" not in err, err
    if worker == "uvicorn":  # (no exit hook: the lifespan's flush is the last send)
        assert re.search(r"the flush at the ASGI lifespan's shutdown gave up after "
                         r"[\d.]+s, not shutdown_timeout \(README_SHUTDOWN_TIMEOUT\) of "
                         r"8s: gunicorn's --graceful-timeout of 6s has its master SIGKILL "
                         r"this worker after that: 22 logs not delivered yet", err), err
        return
    # (before: killed mid-close, this line never said)
    assert re.search(r"closing gave up after [\d.]+s, gunicorn's --graceful-timeout of "
                     r"6s being near: 22 logs not delivered", err), err
    began = re.search(r"closing: 22 logs to send within ([\d.]+)s, not shutdown_timeout "
                      r"\(README_SHUTDOWN_TIMEOUT\) of 8s: gunicorn's --graceful-timeout "
                      r"of 6s has its master SIGKILL this worker after that, counted "
                      r"from its SIGTERM ([\d.]+)s before the close began", err)
    assert began is not None, err
    assert float(began.group(1)) + float(began.group(2)) == pytest.approx(5, abs=0.15)
    _check_quiet(out, err)


class _Cfg:
    graceful_timeout = 10


@pytest.fixture()
def worker_handler() -> Iterator[Any]:
    """A gunicorn worker object whose ``handle_exit`` is this process's SIGTERM
    handler, as in a worker (restored after)."""
    base = pytest.importorskip("gunicorn.workers.base")
    worker = base.Worker.__new__(base.Worker)
    worker.cfg = _Cfg()
    worker.alive = True
    before = signal.signal(signal.SIGTERM, worker.handle_exit)
    try:
        yield worker
    finally:
        signal.signal(signal.SIGTERM, before)
        gunicorn_stop.forget()


def test_the_bound_counts_from_the_sigterm_noted(worker_handler: Any) -> None:
    """watch_stop wraps the worker's handler once; a SIGTERM is handled by the worker as
    before (``alive`` False) and noted: a close beginning 4 s after it has 5 s (10 s
    graceful, a second's margin), not 9."""
    assert gunicorn_stop.close_bound(30.0) == (9.0, 10.0)
    gunicorn_stop.watch_stop()
    gunicorn_stop.watch_stop()
    handler = signal.getsignal(signal.SIGTERM)
    assert isinstance(handler, gunicorn_stop._Noted)
    assert handler.handler == worker_handler.handle_exit  # (wrapped once)
    assert gunicorn_stop.stop_came() is None
    assert gunicorn_stop.close_bound(30.0) == (9.0, 10.0)  # no signal yet
    os.kill(os.getpid(), signal.SIGTERM)
    wait_until(lambda: not worker_handler.alive)
    came = gunicorn_stop.stop_came()
    assert came is not None
    assert gunicorn_stop.close_bound(30.0, came + 4) == (pytest.approx(5.0), 10.0)
    assert gunicorn_stop.close_bound(30.0, came + 20) == (0.0, 10.0)
    assert gunicorn_stop.close_bound(3.0, came + 4) == (3.0, None)


def test_watch_stop_elsewhere_does_nothing() -> None:
    """Outside a gunicorn worker (no worker's handler), or off the main thread: the
    SIGTERM handler is left as it is."""
    before = signal.getsignal(signal.SIGTERM)
    gunicorn_stop.watch_stop()
    assert signal.getsignal(signal.SIGTERM) is before
    assert gunicorn_stop.stop_came() is None


def test_watch_stop_off_the_main_thread_does_nothing(worker_handler: Any) -> None:
    thread = threading.Thread(target=gunicorn_stop.watch_stop)
    thread.start()
    thread.join()
    assert signal.getsignal(signal.SIGTERM) == worker_handler.handle_exit
