"""review132: a hostile read of delivery44's hypercorn SIGTERM handler.

A SIGTERM to one hypercorn worker alone (``kill <worker pid>``: an operator, a memory
watchdog) under ``--workers 2`` while its close waits on the API: the handler set
hypercorn's stop event, which hypercorn shares between its parent and every worker. The
other worker stopped at once and exited 0, and hypercorn's parent, not stopping (it
stops on a worker's non-zero exit, or its own signal), spawned a new worker in its
place: which found the event set, stopped, exited 0, and was spawned again, for as long
as the close ran (each a fresh interpreter importing the app, binding the socket).
Bare, the killed worker's -15 stops the server with no worker spawned.

Real hypercorn (its CLI, run by delivery44's script that prints each started worker's
exit code), a real Starlette app wrapped, a collector on 127.0.0.1 holding its answers.
"""

from __future__ import annotations

import importlib.util
import os
import signal
import threading
from pathlib import Path

import pytest
import requests

from tests.support.delivery import gave_up_total
from tests.support.fake_api import Collector
from tests.support.processes import LINE_WAIT
from tests.support.runserver import CALLER, held_collector, held_env, serving
from tests.test_delivery44_hypercorn_group import _RUN, ROOT, _workers
from tests.test_e2e_servers import server_env

APP = '''\
import os

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.responses import Response
from starlette.routing import Route

from readme_metrics import MetricsApiConfig
from readme_metrics.fastapi import ReadMeMetricsMiddleware

with open(f"started-{os.getpid()}", "w"):
    pass


async def pid(request):
    return Response(str(os.getpid()))


async def nolog(request):
    return Response(b"ok")


def grouping(request):
    return {"api_key": "caller-132", "label": "review132"}


app = Starlette(routes=[Route("/pid", pid), Route("/nolog", nolog, methods=["GET", "OPTIONS"])],
                middleware=[Middleware(ReadMeMetricsMiddleware,
                                       config=MetricsApiConfig(grouping_function=grouping))])
'''


def sigterm_the_serving_worker(tmp_path: Path, app: str, workers: int
                               ) -> tuple[int, str, int]:
    """hypercorn (delivery44's script) serving ``app`` with ``workers`` workers, the API
    holding its answers (``shutdown_timeout`` 4 s): one logged GET /pid, then a SIGTERM
    to the worker that served it alone. hypercorn's exit code, what it said, the logs
    the API read."""
    (tmp_path / "run44.py").write_text(_RUN)
    (tmp_path / "app132.py").write_text(app)
    gate = threading.Event()
    with held_collector(gate) as held:
        argv = ["run44.py", "-b", "127.0.0.1:{port}", f"--workers={workers}", "app132:app"]
        with serving(argv, held_env(held, tmp_path, "4"), tmp_path, "server.log") as served:
            _workers(served, workers)
            answer = requests.get(f"{served.url}/pid", timeout=30, headers=CALLER)
            assert answer.status_code == 200
            os.kill(int(answer.text), signal.SIGTERM)
            code = served.process.wait(LINE_WAIT)
            said = served.said()
        return code, said, len(held.logs)


@pytest.mark.e2e
def test_hypercorn_worker_alone_sigterm_spawns_no_worker_while_its_close_runs(
        tmp_path: Path) -> None:
    """``-w 2``, one logged call, SIGTERM to the worker that served it alone, the API
    holding its answers (``shutdown_timeout`` 4 s): the close says its log not
    delivered, that worker dies by the SIGTERM, hypercorn stops, and no worker was
    started past the first two (bare: none). Before: the other worker, stopped by the
    shared event, was replaced again and again while the close ran."""
    code, said, _ = sigterm_the_serving_worker(tmp_path, APP, 2)
    started = sorted(path.name for path in tmp_path.glob("started-*"))
    assert len(started) == 2, (started, said)
    assert said.count("worker exit") == 2, said
    assert "worker exit -15" in said, said
    assert gave_up_total(r"closing gave up [^\n]*?: ", said) == 1, said
    assert code == 0, said


#: pyuwsgi's uWSGI started from a script that imported the app (and so the library)
#: first: ``uwsgi`` is not yet in ``sys.modules`` as the library is imported.
_PYUWSGI_SCRIPT = '''\
import sys

import app132u  # (the app, and the library, imported before uWSGI starts)
import pyuwsgi

pyuwsgi.run(["--master", "--processes", "2", "--http-socket", "127.0.0.1:" + sys.argv[1],
             "--die-on-term", "--disable-logging",
             "--eval", "import app132u; application = app132u.app"])
'''

_PYUWSGI_APP = '''\
import os

from readme_metrics import MetricsApiConfig, MetricsMiddleware


def _app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [str(os.getpid()).encode()]


def grouping(request):
    return {"api_key": "caller-132", "label": "review132"}


app = MetricsMiddleware(_app, MetricsApiConfig(grouping_function=grouping))
'''


@pytest.mark.e2e
@pytest.mark.skipif(importlib.util.find_spec("pyuwsgi") is None, reason="pyuwsgi")
def test_pyuwsgi_run_from_a_script_that_imported_the_app_gives_each_log_its_own_id(
        tmp_path: Path) -> None:
    """``pyuwsgi.run([... --processes 2])`` from a script that imported the app first:
    uWSGI forks its workers in C (no Python fork hook runs), and the library was
    imported before the ``uwsgi`` module was loaded. Each log reaching the API has an
    ``_id`` of its own. Before (cpu21's fork check decided once, at import, that the
    hooks could be trusted): both workers kept the master's id and random state, and
    gave the same ids in turn (12 logs, 7 ids)."""
    (tmp_path / "app132u.py").write_text(_PYUWSGI_APP)
    (tmp_path / "serve132.py").write_text(_PYUWSGI_SCRIPT)
    collector = Collector().start()
    try:
        with serving(["serve132.py", "{port}"], server_env(
                collector, PYTHONPATH=f"{ROOT}{os.pathsep}{tmp_path}"), tmp_path,
                "server.log") as served:
            pids: list[str] = []
            for n in range(200):
                answer = requests.get(f"{served.url}/u{n}", timeout=30, headers={
                    **CALLER, "Connection": "close"})
                pids.append(answer.text)
                if len(set(pids)) == 2 and len(pids) >= 12:
                    break
            logs = collector.wait_for_logs(len(pids))
            said = served.said()
    finally:
        collector.stop()
    assert len(set(pids)) == 2, (pids, said)
    assert len({log["_id"] for log in logs}) == len(logs) == len(pids), said
