"""The fork checks without a system call where Python's fork hooks run (cpu21, issue 11).

Each log asked ``os.getpid()`` twice on the request path (``Delivery.submit``'s fork check
and ``log_id``'s): a system call each, 0.7 to 1.6 us on the benchmark's VM. Where every
fork runs Python's fork hooks (gunicorn, multiprocessing, ``os.fork``), the hook now
records the child's id and the checks read it; a server that forks in C (uWSGI, mod_wsgi)
still has them ask the system, so its workers still find out they are not the master.

Counted in a fresh interpreter whose ``os.getpid`` counts its calls on the serving thread
(wrapped before the library is imported, so every ``from os import``-style binding is
the counting one too); a real collector on 127.0.0.1; real uWSGI with two processes of
four threads each.
"""

from __future__ import annotations

import ast
import os
import re
import textwrap
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from tests.support.contract import run_python
from tests.support.fake_api import Collector
from tests.support.processes import LINE_WAIT
from tests.support.uwsgi_run import NO_UWSGI, stopped, uwsgi

_COUNTED = textwrap.dedent("""
    import os, sys, threading, types
    if sys.argv[2] == "uwsgi":
        sys.modules["uwsgi"] = types.ModuleType("uwsgi")  # a server that forks in C
    real, serving, calls = os.getpid, threading.get_ident(), []

    def counted():
        if threading.get_ident() == serving:
            calls.append(sys._getframe(1).f_code.co_name)
        return real()

    os.getpid = counted
    from wsgiref.util import setup_testing_defaults
    from readme_metrics import MetricsApiConfig, MetricsMiddleware

    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "application/json")])
        return [b'{"ok": true}']

    middleware = MetricsMiddleware(app, MetricsApiConfig(
        api_key="rdme_cpu21_key", metrics_api=sys.argv[1], buffer_length=10,
        grouping_function=lambda request: {"api_key": "caller-21"}))

    def serve(path):
        environ = {"PATH_INFO": path}
        setup_testing_defaults(environ)
        result = middleware(environ, lambda status, headers, exc_info=None: None)
        b"".join(result)
        getattr(result, "close", lambda: None)()

    for n in range(20):  # the first log starts the sender and hooks the exit
        serve(f"/warm/{n}")
    del calls[:]
    for n in range(200):
        serve(f"/counted/{n}")
    counted_calls = list(calls)
    print(repr((len(counted_calls), sorted(set(counted_calls)),
                middleware.flush(30.0), middleware.pipeline.delivery.stats["sent"])))
""")


def _count(collector: Collector, server: str) -> tuple[int, list[str], bool, int]:
    result = run_python(_COUNTED, collector.url, server, timeout=90.0)
    assert result.returncode == 0, result.stderr
    counted: tuple[int, list[str], bool, int] = ast.literal_eval(
        result.stdout.strip().splitlines()[-1])
    return counted


def test_the_request_path_asks_no_process_id_where_the_fork_hooks_run(
        collector: Collector) -> None:
    """200 requests served: no ``os.getpid()`` on the serving thread (before: 400, two a
    request, ``submit`` and ``log_id``), and every log delivered."""
    calls, callers, flushed, sent = _count(collector, "plain")
    assert (calls, callers) == (0, []), callers
    assert flushed and sent == 220
    assert len(collector.wait_for_logs(220)) == 220


def test_under_a_server_that_forks_in_c_the_checks_still_ask(collector: Collector) -> None:
    """With a ``uwsgi`` module loaded (uWSGI forks its workers in C, no Python fork hook
    runs) the checks ask the system on each log, as before: a worker still finds out it
    is not its master at its first request."""
    calls, callers, flushed, sent = _count(collector, "uwsgi")
    assert calls >= 200 and {"submit", "log_id"} <= set(callers), (calls, callers)
    assert flushed and sent == 220


_TRUSTED = textwrap.dedent("""
    import os, sys, types
    if sys.argv[1]:
        sys.modules[sys.argv[1]] = types.ModuleType(sys.argv[1])
    from readme_metrics import _process_id
    print(_process_id.hooks_trusted(), _process_id.getpid is os.getpid,
          _process_id.getpid() == os.getpid())
""")


@pytest.mark.parametrize(("loaded", "trusted"), [
    ("", True), ("uwsgi", False), ("mod_wsgi", False), ("gunicorn", True)])
def test_the_hooks_are_trusted_unless_a_server_that_forks_in_c_is_loaded(
        loaded: str, trusted: bool) -> None:
    result = run_python(_TRUSTED, loaded, timeout=60.0)
    assert result.stdout.split() == [str(trusted), str(not trusted), "True"], result.stderr


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork")
def test_a_child_forked_by_os_fork_reads_its_own_id_without_asking() -> None:
    """The fork hook records the child's id: the checks see the child's, the parent
    keeps its own (grandchildren too)."""
    script = textwrap.dedent("""
        import os
        from readme_metrics import _process_id
        seen = [_process_id.getpid() == os.getpid()]
        pid = os.fork()
        if pid == 0:
            child = os.fork()
            if child == 0:
                os._exit(0 if _process_id.getpid() == os.getpid() else 3)
            _, status = os.waitpid(child, 0)
            ok = _process_id.getpid() == os.getpid() and status == 0
            os._exit(0 if ok else 4)
        _, status = os.waitpid(pid, 0)
        print(seen + [status == 0, _process_id.getpid() == os.getpid()])
    """)
    result = run_python(script, timeout=60.0)
    assert result.stdout.strip() == "[True, True, True]", result.stderr


_REBUILDS_APP = '''\
import os

from readme_metrics import MetricsApiConfig, MetricsMiddleware, _process_id
from readme_metrics.delivery.core import Delivery

HERE = os.path.dirname(os.path.abspath(__file__))
_rebuild = Delivery.after_fork_in_child


def counted(self):
    with open(os.path.join(HERE, f"rebuilt.{os.getpid()}"), "a") as out:
        out.write("1\\n")
    _rebuild(self)


Delivery.after_fork_in_child = counted


def _app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [f"{os.getpid()} {_process_id.getpid is os.getpid}".encode()]


def grouping(request):
    return {"api_key": "caller-21", "label": "cpu21"}


app = MetricsMiddleware(_app, MetricsApiConfig(grouping_function=grouping))
'''


@NO_UWSGI
@pytest.mark.e2e
def test_uwsgi_workers_of_four_threads_each_rebuild_once_and_deliver_every_log(
        tmp_path: Path, collector: Collector) -> None:
    """Real uWSGI, ``--processes 2 --threads 4`` (workers forked in C: no Python fork
    hook runs), 8 clients at once: each worker that served rebuilt the master's delivery
    state once (its first requests, four threads at once), asked the system for its id
    (``uwsgi`` loaded), and every log reached the API once, with ids of its own."""
    count = 80
    with uwsgi(tmp_path, collector, "--processes=2", "--threads=4",
               app=_REBUILDS_APP) as (process, base, output):
        with ThreadPoolExecutor(8) as pool:
            answers = list(pool.map(
                lambda n: requests.get(f"{base}/r{n}", timeout=3 * LINE_WAIT).text,
                range(count)))
        assert stopped(process) == 0, output.read_text(errors="replace")
    pids = {answer.split()[0] for answer in answers}
    assert {answer.split()[1] for answer in answers} == {"True"}, answers
    rebuilt = {path.name.split(".")[1]: path.read_text().count("1")
               for path in tmp_path.glob("rebuilt.*")}
    assert pids <= set(rebuilt) and set(rebuilt.values()) == {1}, (pids, rebuilt)
    logs = collector.wait_for_logs(count)
    urls = sorted(log["request"]["log"]["entries"][0]["request"]["url"] for log in logs)
    assert [re.sub(r".*/r", "", url) for url in urls] == sorted(str(n) for n in range(count))
    assert len({log["_id"] for log in logs}) == count
