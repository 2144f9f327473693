"""delivery39: gunicorn stops whose SIGTERM the worker's close did not count from.

delivery37 bounded a gunicorn worker's close from its SIGTERM (the requests in flight
served first), noted by a wrapper of the worker's handler set as the app is loaded in
the worker. Where that wrapper did not see the signal, the bound counted from the
close's start and the master's SIGKILL came midway: ``--graceful-timeout 6``,
``shutdown_timeout`` 8 s, a request of 3 s in flight at the SIGTERM, the API holding
every answer: 21 served, none delivered, the close's begin line saying "within 5s" (it
had 2) and its end never said. So it was for an app setting its own SIGTERM handler
after the middleware was made, calling the one it replaced (sync, gthread);
``--preload`` (sync, gthread: the middleware made in the master); gunicorn's own
``-k asgi`` worker (its SIGTERM its event loop's handler: nothing said at all, the
lifespan's flush and the exit's close both killed). Now each close ends before the kill,
counted from the signal, and says the 22 logs it gave up on.

Real parts: gunicorn in a subprocess, the loopback collector holding every answer;
nothing timed (the test waits for the server to end).
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
    """``source`` under gunicorn (``argv``, one worker, ``--graceful-timeout 6``): 20
    requests, then one of 3 s in flight at the SIGTERM, the collector holding every
    answer until the server ended: the slow one's status, the server's output."""
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
        requests.get(f"{base}/slow", headers={"Connection": "close"},
                     timeout=LINE_WAIT).status_code), daemon=True)
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
    "asgi": (ASGI, ["--worker-class=asgi"]),
}


@pytest.mark.e2e
@pytest.mark.parametrize("case", list(CASES))
def test_close_counts_from_the_sigterm_and_ends_before_the_kill(
        case: str, collector: Collector, tmp_path: Path) -> None:
    """The close's bound is 5 s from the SIGTERM (a second before the kill), 3 of them
    gone serving the slow request: it says so as it begins, and says the 22 logs it
    gave up on; no SIGKILL. Before: 5 s from its start, killed midway, its end unsaid
    (and under ``-k asgi`` nothing said at all)."""
    source, argv = CASES[case]
    answered, out, err = run_stop(collector, tmp_path, source, argv)
    assert answered == [200]  # served whole, before the worker left
    assert "was sent SIGKILL" not in err, err
    assert re.search(r"closing gave up after [\d.]+s, gunicorn's --graceful-timeout of "
                     r"6s being near: 22 logs not delivered", err), err
    began = re.search(r"closing: 22 logs to send within ([\d.]+)s, not shutdown_timeout "
                      r"\(README_SHUTDOWN_TIMEOUT\) of 8s: gunicorn's --graceful-timeout "
                      r"of 6s has its master SIGKILL this worker after that, counted "
                      r"from its SIGTERM ([\d.]+)s before the close began", err)
    assert began is not None, err
    assert float(began.group(1)) + float(began.group(2)) == pytest.approx(5, abs=0.15)
    if case == "asgi":  # the lifespan's flush, first, within the same bound
        assert re.search(r"the flush at the ASGI lifespan's shutdown gave up after "
                         r"[\d.]+s, not shutdown_timeout \(README_SHUTDOWN_TIMEOUT\) of "
                         r"8s: gunicorn's --graceful-timeout of 6s has its master SIGKILL "
                         r"this worker after that: 22 logs not delivered yet", err), err
    if case.startswith("chained"):
        assert (tmp_path / "app_cleanup").exists()  # the app's handler ran too
    _check_quiet(out, err)


class _Cfg:
    graceful_timeout = 10


@pytest.fixture()
def fake_worker() -> Iterator[Any]:
    """A gunicorn worker object (its handlers set by the test; restored after)."""
    base = pytest.importorskip("gunicorn.workers.base")
    pytest.importorskip("gunicorn.arbiter")
    made = base.Worker.__new__(base.Worker)
    made.cfg = _Cfg()
    made.alive = True
    before = signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGUSR1)
    try:
        yield made
    finally:
        signal.signal(signal.SIGTERM, before[0])
        signal.signal(signal.SIGUSR1, before[1])
        gunicorn_stop.forget()


def test_an_apps_handler_set_over_the_wrapper_still_has_the_signal_noted(
        fake_worker: Any) -> None:
    """The app sets its own SIGTERM handler after the middleware's wrapper, and calls
    the one it replaced: the SIGTERM is still noted (the bound counts from it). Before:
    ``stop_came`` None, the bound counted from the close's start."""
    worker = fake_worker
    signal.signal(signal.SIGTERM, worker.handle_exit)  # as init_signals does
    signal.signal(signal.SIGUSR1, worker.handle_usr1)
    gunicorn_stop.watch_stop()
    replaced = signal.getsignal(signal.SIGTERM)
    seen: list[int] = []

    def own(signum: int, frame: Any) -> None:
        seen.append(signum)
        replaced(signum, frame)

    signal.signal(signal.SIGTERM, own)
    assert gunicorn_stop.stop_came() is None
    os.kill(os.getpid(), signal.SIGTERM)
    wait_until(lambda: not worker.alive)
    assert seen == [signal.SIGTERM]
    came = gunicorn_stop.stop_came()
    assert came is not None
    assert gunicorn_stop.close_bound(30.0, came + 4) == (pytest.approx(5.0), 10.0)


def test_watch_fork_wraps_the_handler_the_worker_will_set(fake_worker: Any) -> None:
    """In a child just forked by gunicorn's master (``spawn_worker``'s local
    ``worker``): the worker object's ``handle_exit`` is wrapped, so the handler its
    ``init_signals`` sets notes the SIGTERM. Before (``--preload``): nothing noted."""

    def spawn(worker: Any) -> None:  # (the frame's local ``worker``)
        gunicorn_stop.watch_fork()

    worker = fake_worker
    spawn(worker)
    assert isinstance(worker.handle_exit, gunicorn_stop._Noted)
    spawn(worker)  # (wrapped once)
    assert not isinstance(worker.handle_exit.handler, gunicorn_stop._Noted)
    signal.signal(signal.SIGTERM, worker.handle_exit)  # as init_signals does
    os.kill(os.getpid(), signal.SIGTERM)
    wait_until(lambda: not worker.alive)
    assert gunicorn_stop.stop_came() is not None
    assert gunicorn_stop.close_bound(30.0)[1] == 10.0


def test_watch_fork_elsewhere_does_nothing(fake_worker: Any) -> None:
    """No gunicorn worker up the stack: nothing wrapped, nothing noted."""
    gunicorn_stop.watch_fork()
    assert "handle_exit" not in vars(fake_worker)
    assert gunicorn_stop.stop_came() is None
