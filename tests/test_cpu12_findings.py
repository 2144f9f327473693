"""cpu12's items (issue 11): the list answer's check of a development server, written out.

exit18 (f858872) passes a list or tuple answer through as an iterable where a signal's
exception may land while the server writes it: wsgiref's server (runserver
``--nothreading``) or werkzeug's, serving in the process's main thread. Every list
answer under any other server not told apart (the in-process loop, cheroot, a test
client) paid two Python calls for it (``signals_land``, then ``under_wsgiref``): 1.8k
instructions a small GET (callgrind 83,298 -> 85,089, review111). ``wrap()`` now reads
the server from the ``SERVER_SOFTWARE`` it has already and asks the thread only under
those two servers.

1. The same answers as before for each server and thread (table below, against exit18's
   predicate as it was written).
2. No Python call for it on a list answer under another server (failed before: one call
   each to ``signals_land`` and ``under_wsgiref``).
3. ``benchmarks/bench.py``'s gunicorn run began its 1 s warm-up as soon as the master
   accepted connections, before the workers had imported the app: at load 17 the
   warm-up ended with 0 requests answered, and the measured run held the workers'
   imports. It now waits until each worker has imported it (failed before: no wait).
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Callable

import pytest

from tests.support.capture_wrap import only_log, wrap_fixture  # noqa: F401 - ``wrap``
from tests.support.command import REPO_ROOT
from tests.support.fake_api import Collector, free_port
from tests.support.load_file import load_file
from tests.support.processes import start_server, stop_server
from tests.support.wsgi import given_back, wsgi_environ

_BODY = [b"first", b"second"]


def _list_app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
    start_response("200 OK", [("Content-Type", "text/plain")])
    return _BODY


def _former_signals_land(environ: dict[str, Any], main: bool) -> bool:
    """exit18's ``signals_land`` as f858872 wrote it, the thread given."""
    software = environ.get("SERVER_SOFTWARE")
    wsgiref = software.__class__ is str and software.startswith("WSGIServer/")
    return (wsgiref or "werkzeug.socket" in environ) and main


#: (SERVER_SOFTWARE, or None for none; whether werkzeug's socket key is in the environ)
SERVERS = [
    (None, False),
    (None, True),
    ("WSGIServer/0.2 CPython/3.11.7", False),
    ("WSGIServer/0.2 CPython/3.11.7", True),
    ("Werkzeug/3.0.1", True),
    ("Werkzeug/3.0.1", False),
    ("CherryPy/18.10.0 Cheroot/11.1.2 Server", False),
    ("wsgiserver/0.2", False),  # (not wsgiref's: the case differs)
    (b"WSGIServer/0.2", False),  # not a str: no server told apart
    ("", False),
]


def _environ(software: Any, werkzeug: bool) -> dict[str, Any]:
    environ = wsgi_environ()
    environ.pop("SERVER_SOFTWARE", None)
    if software is not None:
        environ["SERVER_SOFTWARE"] = software
    if werkzeug:
        environ["werkzeug.socket"] = object()
    return environ


@pytest.mark.parametrize("main", [True, False], ids=["main-thread", "other-thread"])
@pytest.mark.parametrize("software,werkzeug", SERVERS)
def test_a_list_answer_goes_back_as_it_is_unless_a_signal_may_land(
        wrap: Callable[..., Any], collector: Collector, software: Any, werkzeug: bool,
        main: bool) -> None:
    middleware = wrap(_list_app)
    environ = _environ(software, werkzeug)
    got: list[tuple[Any, bytes]] = []
    if main:
        got.append(given_back(middleware, environ))
    else:
        thread = threading.Thread(target=lambda: got.append(given_back(middleware, environ)))
        thread.start()
        thread.join()
    result, body = got[0]
    assert body == b"firstsecond"
    assert (result is not _BODY) == _former_signals_land(environ, main), type(result)
    response = only_log(collector)["request"]["log"]["entries"][0]["response"]
    assert response["status"] == 200 and response["content"]["text"] == "firstsecond"


def test_no_call_for_a_development_server_on_a_list_answer_under_another(
        wrap: Callable[..., Any], collector: Collector) -> None:
    middleware = wrap(_list_app)
    environ = _environ(None, False)
    given_back(middleware, environ)  # (the first request's one-time work aside)
    called: list[str] = []

    def profile(frame: Any, event: str, arg: Any) -> None:
        if event == "call" and frame.f_code.co_name in ("signals_land", "under_wsgiref"):
            called.append(frame.f_code.co_name)

    sys.setprofile(profile)
    try:
        result, body = given_back(middleware, _environ(None, False))
    finally:
        sys.setprofile(None)
    assert result is _BODY and body == b"firstsecond"
    assert called == []
    assert len(collector.wait_for_logs(2)) == 2


# -- 3. the server benchmark's workers, ready ---------------------------------------------

#: Imported by each gunicorn worker in place of bench.py's app module: it imports that
#: module only once the test's ``go`` file exists, so the workers are still importing
#: when the master already accepts connections.
_HELD_APP = """
import os, time
go = os.path.join(os.environ["BENCH_SERVED_DIR"], "go")
while not os.path.exists(go):
    time.sleep(0.02)
from bench_app import bare
"""


def _bench() -> Any:
    return load_file("cpu12_bench", REPO_ROOT / "benchmarks" / "bench.py")


@pytest.mark.e2e
def test_the_server_benchmark_waits_for_its_workers_to_import_the_app(
        tmp_path: Path, collector: Collector) -> None:
    bench = _bench()
    (tmp_path / "bench_app.py").write_text(bench.GUNICORN_APP)
    (tmp_path / "held_app.py").write_text(_HELD_APP)
    port = free_port()
    env = {**os.environ, "METRICS_URL": collector.url,
           "BENCH_DIR": str(REPO_ROOT / "benchmarks"), "BENCH_SERVED_DIR": str(tmp_path),
           "PYTHONPATH": os.pathsep.join([str(tmp_path), str(REPO_ROOT)])}
    server = start_server([sys.executable, "-m", "gunicorn", "--workers", "2",
                           "--worker-class", "sync", "--bind", f"127.0.0.1:{port}",
                           "--log-level", "warning", "held_app:bare"],
                          cwd=str(tmp_path), env=env, stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL)
    try:
        bench.wait_for_port(port, "gunicorn")  # the master listens; no worker can answer
        with ThreadPoolExecutor(1) as pool:
            ready = pool.submit(bench.wait_for_workers, server.pid, str(tmp_path), 2)
            assert not ready.done()  # (the workers wait for "go": none can be ready)
            assert not list(tmp_path.glob("ready-*"))
            (tmp_path / "go").touch()
            workers = ready.result(timeout=180)
        assert sorted(workers) == sorted(bench.child_pids(server.pid))
        assert sorted(path.name for path in tmp_path.glob("ready-*")) == sorted(
            f"ready-{pid}" for pid in workers)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=60) as answer:
            assert answer.status == 200
    finally:
        stop_server(server)
