"""Stops that still lost logs unsaid (delivery40, after flake30/blackbox12).

uWSGI with ``--threads``: flake30's handler of the stop signals was set at a worker's
first request in its MAIN thread (``signal.signal`` and ``signal.set_wakeup_fd`` need
it). uWSGI's main thread is only one of the worker's N cores: a worker whose wrapped
requests all ran in its other threads was never armed, and a stop that caught it in a
request (uWSGI's exit then runs no Python) lost every log it held, unsaid.

Deterministic: the main thread is held in a route the middleware does not wrap (or let
go back to uWSGI's accept loop in C) before any wrapped request, so that the wrapped
ones can only run in the other thread; the wrapped answer waits in its ``close()`` as
the stop comes. Real uWSGI (pyuwsgi), a real collector on 127.0.0.1 answering in 1 s.
"""

from __future__ import annotations

import os
import re
import signal
import threading
from pathlib import Path

import pytest
import requests

from tests.support.fake_api import Collector, Reply
from tests.support.polling import wait_until
from tests.support.processes import LINE_WAIT
from tests.support.runserver import children, held_env, runserver, serving
from tests.support.uwsgi_run import NO_UWSGI, paths, uwsgi
from tests.test_blackbox12_findings import SETTINGS

pytestmark = pytest.mark.e2e

_APP = '''\
import os
import threading
import time

from readme_metrics import MetricsApiConfig, MetricsMiddleware

HERE = os.path.dirname(os.path.abspath(__file__))


def _waits(name, until):
    open(os.path.join(HERE, name), "w").close()
    while not os.path.exists(os.path.join(HERE, until)):
        time.sleep(0.05)


class InClose:
    def __iter__(self):
        yield b"hello"

    def close(self):
        _waits("in_close", "go")


def _app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    if environ["PATH_INFO"] == "/close":
        return InClose()
    main = threading.current_thread() is threading.main_thread()
    return [b"main" if main else b"other"]


def grouping(request):
    return {"api_key": "caller-40", "label": "delivery40"}


_wrapped = MetricsMiddleware(_app, MetricsApiConfig(grouping_function=grouping))


def app(environ, start_response):
    """``/hold``: not logged (outside the middleware); in the main thread it waits for
    the file ``free`` (and says so by ``main_held``), elsewhere it answers at once."""
    if environ["PATH_INFO"] == "/hold":
        start_response("200 OK", [("Content-Type", "text/plain")])
        if threading.current_thread() is threading.main_thread():
            _waits("main_held", "free")
            return [b"main"]
        return [b"other"]
    return _wrapped(environ, start_response)
'''


def _ask(url: str, answers: list[str]) -> None:
    try:
        answers.append(requests.get(url, timeout=3 * LINE_WAIT).text)
    except requests.RequestException as error:  # (the stop cut it)
        answers.append(repr(error))


def _hold_the_main_thread(base: str, tmp_path: Path) -> threading.Thread:
    """``/hold`` until uWSGI's main thread took one (the other thread answers at once:
    asked again). The thread that waits for the main thread's answer is returned."""
    for _ in range(200):
        answers: list[str] = []
        asking = threading.Thread(target=_ask, args=(f"{base}/hold", answers), daemon=True)
        asking.start()
        wait_until(lambda: answers or (tmp_path / "main_held").exists(),  # noqa: B023
                   timeout=LINE_WAIT)
        if (tmp_path / "main_held").exists():
            return asking
        assert answers == ["other"], answers
    raise AssertionError("uWSGI's main thread never took a request")


@NO_UWSGI
@pytest.mark.parametrize("main", ["held", "idle"])
@pytest.mark.parametrize("stop", ["SIGTERM", "SIGINT"])
def test_a_threaded_worker_whose_main_thread_served_no_log_sends_what_it_held(
        tmp_path: Path, collector: Collector, main: str, stop: str) -> None:
    """uWSGI --threads 2: every logged request ran in the worker's second thread (the
    main one held in a route the middleware does not wrap, then, for ``idle``, back in
    uWSGI's accept loop). The stop caught the worker in a logged answer's close():
    before, 0 of 2 logs delivered, nothing said."""
    collector.default = Reply(delay=1.0)  # a slow API
    with uwsgi(tmp_path, collector, "--threads=2", app=_APP) as (process, base, output):
        asking = _hold_the_main_thread(base, tmp_path)
        assert requests.get(f"{base}/held", timeout=LINE_WAIT).text == "other"
        if main == "idle":
            (tmp_path / "free").touch()
            asking.join(LINE_WAIT)
        with requests.get(f"{base}/close", timeout=LINE_WAIT, stream=True) as answer:
            assert answer.raw.read(5) == b"hello"
            wait_until(lambda: (tmp_path / "in_close").exists(), timeout=LINE_WAIT)
            process.send_signal(getattr(signal, stop))
            assert process.wait(LINE_WAIT) == 0
    said = output.read_text(errors="replace")
    assert sorted(paths(collector)) == ["close", "held"], said
    assert "NO MERCY" not in said, said


_POSTFORK = ('from uwsgidecorators import postfork\n\n\n'
             '@postfork\n'
             'def _mark():\n'
             '    open(os.path.join(HERE, "app_postfork_ran"), "w").close()\n\n\n')
_HOOK = ('import uwsgi\n\n\n'
         'def _mark():\n'
         '    open(os.path.join(HERE, "app_postfork_ran"), "w").close()\n\n\n'
         'uwsgi.post_fork_hook = _mark\n\n\n')


@NO_UWSGI
@pytest.mark.parametrize("setup", ["--lazy-apps", "uwsgidecorators", "post_fork_hook"])
def test_the_threaded_worker_is_armed_whatever_loads_the_app(
        tmp_path: Path, collector: Collector, setup: str) -> None:
    """The app loaded in the worker (--lazy-apps: the middleware is made in its main
    thread), or an app with a post-fork hook of its own set before the middleware is
    made (uwsgidecorators' ``@postfork`` chain, ``uwsgi.post_fork_hook``): the library's
    runs first, the app's still runs. (One the app sets AFTER the middleware is made
    replaces the library's: the worker is armed at its first request in its main thread
    then, as before delivery40: docs/DELIVERY.md.)"""
    app, options = _APP, ("--threads=2",)
    if setup == "--lazy-apps":
        options += ("--lazy-apps",)
    elif setup == "uwsgidecorators":
        app = app.replace("def _waits(", _POSTFORK + "def _waits(", 1)
    else:
        app = app.replace("def _waits(", _HOOK + "def _waits(", 1)
    collector.default = Reply(delay=1.0)
    with uwsgi(tmp_path, collector, *options, app=app) as (process, base, output):
        asking = _hold_the_main_thread(base, tmp_path)
        assert requests.get(f"{base}/held", timeout=LINE_WAIT).text == "other"
        (tmp_path / "free").touch()
        asking.join(LINE_WAIT)
        with requests.get(f"{base}/close", timeout=LINE_WAIT, stream=True) as answer:
            assert answer.raw.read(5) == b"hello"
            wait_until(lambda: (tmp_path / "in_close").exists(), timeout=LINE_WAIT)
            process.send_signal(signal.SIGTERM)
            assert process.wait(LINE_WAIT) == 0
    said = output.read_text(errors="replace")
    assert sorted(paths(collector)) == ["close", "held"], said
    if setup != "--lazy-apps":
        assert (tmp_path / "app_postfork_ran").exists(), said


@NO_UWSGI
def test_an_idle_stop_ends_before_uwsgis_3s_kill_and_says_what_it_lost(
        tmp_path: Path, collector: Collector) -> None:
    """``--idle=1``: the workers idle for a second, uWSGI's master sends each SIGINT
    (going cheap) and SIGKILLs one still alive 3 s later, whatever
    ``--worker-reload-mercy``. The API fails every POST and ``shutdown_timeout`` is
    10 s: before, the close was killed midway and nothing said the 4 logs it held were
    lost. Now it ends before the kill and says so, naming the option."""
    collector.default = Reply(status=503, body=b"down")
    with uwsgi(tmp_path, collector, "--idle=1", shutdown_timeout="10") as (process, base,
                                                                           output):
        for i in range(4):
            assert requests.get(f"{base}/i{i}", timeout=LINE_WAIT).status_code == 200
        wait_until(lambda: "cheap mode enabled" in output.read_text(errors="replace"),
                   timeout=3 * LINE_WAIT)
        said = output.read_text(errors="replace")
        assert process.poll() is None, said  # (the master waits for a connection)
    assert "uWSGI's --idle" in said, said
    assert [int(n) for n in re.findall(r"(\d+) logs? not delivered", said)] == [4], said
    assert collector.logs == []


# Each look of the autoreloader's main thread at the files: the file ``looked``.
_LOOKED = """
import os as _os
from django.utils import autoreload as _autoreload

_files = _autoreload.iter_all_python_module_files


def _looking(*args, **kwargs):
    open(_os.path.join(_os.path.dirname(__file__), "looked"), "w").close()
    return _files(*args, **kwargs)


_autoreload.iter_all_python_module_files = _looking
"""


def _runserver_stopped_by_sigterm(collector: Collector, tmp_path: Path, calls: int) -> str:
    """runserver with its autoreloader, ``calls`` calls logged (batches of 10, the API
    answering each in 1 s), then SIGTERM to the child alone (``kill <pid>``: its parent
    waits for it, and then exits as it did). What both printed."""
    (tmp_path / "d40_settings.py").write_text(SETTINGS + _LOOKED)
    env = held_env(collector, tmp_path, "30", DJANGO_SETTINGS_MODULE="d40_settings",
                   README_GROUPING_FUNCTION="tests.support.e2e_apps.django_grouping",
                   README_BUFFER_LENGTH="10", README_TIMEOUT="5")
    with serving(runserver(), env, tmp_path, "runserver.log") as server:
        child = children(server.process.pid)
        assert len(child) == 1, child
        server.call([f"n{n}" for n in range(calls)])
        # The autoreloader's main thread looked at the files since the middleware was
        # made (its SIGTERM's noting is taken there: reloader_stop.watch_reload).
        looked = tmp_path / "looked"
        looked.unlink(missing_ok=True)
        wait_until(looked.exists, timeout=60)
        os.kill(child[0], signal.SIGTERM)
        assert server.process.wait(60) == 0
        return server.said()


def test_runserver_child_stopped_by_sigterm_alone_keeps_its_whole_close(
        tmp_path: Path, collector: Collector) -> None:
    """A SIGTERM to runserver's child alone (``kill``; its parent, the autoreloader,
    waits for it): blackbox12's 0.15 s bound (for Ctrl-C, which the parent follows by
    a SIGKILL 0.25 s later) cut its close, though nothing was coming to kill it; the
    logs it held were given up on (said). Now a SIGTERM keeps the whole
    ``shutdown_timeout``: every log delivered. (A SIGTERM to the parent too, a process
    manager's, has the parent SIGKILL the child at once: docs/DELIVERY.md.)"""
    collector.default = Reply(delay=1.0)
    said = _runserver_stopped_by_sigterm(collector, tmp_path, 50)
    names = sorted({log["request"]["log"]["entries"][0]["request"]["url"].rsplit("=", 1)[1]
                    for log in collector.logs})
    assert names == sorted(f"n{n}" for n in range(50)), said
    assert "within 0.15s" not in said and "not delivered" not in said, said
