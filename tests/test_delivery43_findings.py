"""A signal that reaches a close the server no longer watches ends it said (delivery43).

NOTE44, each seen black-box first (a real server, a collector on 127.0.0.1 holding its
answers so that the close is mid-way, no timing):

1. hypercorn's CLI runs the app in a worker process that ignores SIGINT (its parent sets
   it so before spawning it) and leaves SIGTERM at its default: a second Ctrl-C never
   cut the ASGI lifespan's flush, which kept its whole bound (20.4 s at 20 s), and a
   SIGTERM that reached the worker then (``kill`` of the worker, a process group's
   SIGTERM, hypercorn's own ``terminate()`` of the other workers once one has ended under
   ``-w N``) ended it outright, nothing said.
4. The same SIGTERM where nothing handles it (werkzeug's ``run_simple``, waitress,
   ``flask run``) during the exit's close (after a Ctrl-C): killed outright, unsaid.

Now, only while the library's own close runs (the process already ending), a SIGINT the
process ignores (the lifespan's flush only) cuts the close, said, and the process goes on
as bare; a SIGTERM left at its default cuts it, said, then ends the process by that same
SIGTERM (its exit status as bare: killed by signal 15). No handler outside that window.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from tests.support.delivery import (  # noqa: F401 (fixtures)
    MakeDelivery,
    adds_up,
    ids,
    item,
    make_delivery_fixture,
)
from tests.support.fake_api import Collector
from tests.support.polling import wait_until
from tests.support.processes import LINE_WAIT
from tests.support.runserver import Served, children, held_collector, serving
from tests.test_e2e_servers import server_env

ROOT = Path(__file__).resolve().parents[1]
#: A close whose bound no test reaches: one that ends did so at the signal.
LONG = "120"


def _env(held: Collector, tmp_path: Path) -> dict[str, str]:
    return server_env(held, PYTHONPATH=f"{ROOT}{os.pathsep}{tmp_path}",
                      README_BACKGROUND_WORKER_MODE="true", README_BUFFER_LENGTH="1000",
                      README_FLUSH_INTERVAL="600", README_SHUTDOWN_TIMEOUT=LONG,
                      README_TIMEOUT=LONG)


_HYPERCORN = ["-m", "hypercorn", "-b", "127.0.0.1:{port}",
              "tests.support.asgi_apps:fastapi_app"]


def _hypercorn_worker(served: Served) -> int:
    """The one worker hypercorn's CLI spawned (``multiprocessing``'s spawn)."""
    found: list[int] = []

    def one() -> bool:
        found[:] = children(served.process.pid)
        # (spawn's resource tracker is a child too, if started: the worker serves)
        found[:] = [pid for pid in found
                    if "resource_tracker" not in Path(f"/proc/{pid}/cmdline").read_text()]
        return len(found) == 1
    wait_until(one, timeout=LINE_WAIT)
    return found[0]


@pytest.mark.e2e
def test_hypercorn_a_second_ctrl_c_during_the_lifespan_flush_ends_it_said(
        tmp_path: Path) -> None:
    """hypercorn (FastAPI), 40 calls, Ctrl-C to its process group (as a terminal sends
    it): the worker's lifespan flush waits for the API's answers (held); Ctrl-C again:
    the flush ends at once, "40 unknown" (read, unanswered) said naming the KeyboardInterrupt,
    and hypercorn exits 0, as it does bare. Before: the worker ignores SIGINT, the flush
    waited its whole ``shutdown_timeout`` (here 120 s, past LINE_WAIT)."""
    gate = threading.Event()
    with held_collector(gate) as held:
        with serving(_HYPERCORN, _env(held, tmp_path), tmp_path, "server.log") as served:
            _hypercorn_worker(served)
            served.call([f"n{n}" for n in range(40)])
            os.killpg(served.process.pid, signal.SIGINT)
            held.wait_for_logs(40, timeout=LINE_WAIT)  # (the lifespan's flush's POST)
            os.killpg(served.process.pid, signal.SIGINT)
            code = served.process.wait(LINE_WAIT)
            said = served.said()
        assert not gate.is_set()
    assert code == 0, said
    assert "closing gave up at a KeyboardInterrupt" in said, said
    assert "0 logs not delivered, 40 unknown" in said, said  # (read, unanswered)


@pytest.mark.e2e
def test_hypercorn_worker_sigterm_during_the_lifespan_flush_says_then_dies_by_it(
        tmp_path: Path) -> None:
    """hypercorn, 40 calls, SIGTERM to the parent (its stop): the worker's flush waits
    for the held answers; SIGTERM to the worker (what a process group's SIGTERM, or
    hypercorn's own ``terminate()`` of a slower worker under ``-w N``, does): it says
    "40 unknown" (read, unanswered) naming the SIGTERM, then dies by that signal, as bare.
    Before: killed outright, nothing said."""
    gate = threading.Event()
    with held_collector(gate) as held:
        with serving(_HYPERCORN, _env(held, tmp_path), tmp_path, "server.log") as served:
            worker = _hypercorn_worker(served)
            served.call([f"n{n}" for n in range(40)])
            served.process.send_signal(signal.SIGTERM)
            held.wait_for_logs(40, timeout=LINE_WAIT)
            os.kill(worker, signal.SIGTERM)
            served.process.wait(LINE_WAIT)
            said = served.said()
        assert not gate.is_set()
    assert "closing gave up at a SIGTERM" in said, said
    assert "0 logs not delivered, 40 unknown" in said, said  # (read, unanswered)


_PLAIN = """\
import sys
from readme_metrics.delivery import process
from werkzeug.serving import run_simple
from tests.support.e2e_apps import plain_app

process.before_exit(lambda: print("exit close begins", flush=True))
run_simple("127.0.0.1", int(sys.argv[1]), plain_app, threaded=True)
"""


@pytest.mark.e2e
def test_werkzeug_sigterm_during_the_exit_close_says_then_dies_by_it(
        tmp_path: Path) -> None:
    """``python app.py`` (werkzeug's ``run_simple``, which handles no SIGTERM), 40
    calls, Ctrl-C: the exit's close waits for the held answers; SIGTERM (a process
    manager's stop): "40 unknown" (read, unanswered) said, naming the SIGTERM, and the process
    ends by that signal (returncode -15), as bare. Before: killed outright, unsaid."""
    (tmp_path / "app43.py").write_text(_PLAIN)
    gate = threading.Event()
    with held_collector(gate) as held:
        with serving(["app43.py", "{port}"], _env(held, tmp_path), tmp_path,
                     "server.log") as served:
            served.call([f"n{n}" for n in range(40)])
            served.process.send_signal(signal.SIGINT)
            held.wait_for_logs(40, timeout=LINE_WAIT)
            served.wait_said("exit close begins")
            served.process.send_signal(signal.SIGTERM)
            code = served.process.wait(LINE_WAIT)
            said = served.said()
        assert not gate.is_set()
    assert code == -signal.SIGTERM, said
    assert "closing gave up at a SIGTERM" in said, said
    assert "0 logs not delivered, 40 unknown" in said, said  # (read, unanswered)


@pytest.mark.skipif(threading.current_thread() is not threading.main_thread(),
                    reason="signal handlers are set in the main thread only")
def test_watching_sets_handlers_only_while_it_runs_and_only_where_none_takes_the_signal(
        ) -> None:
    """SIGTERM is watched only at its default (a server's or the app's handler, or
    SIG_IGN, stays as it is); an ignored SIGINT only when asked (the lifespan's flush);
    ``sigint=False`` (the exit's close) leaves SIGINT alone. Each is put back as the
    block ends: no handler outside the close."""
    from readme_metrics.delivery.second_interrupt import watching

    term, interrupt = signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)

    def own(signum: int, frame: object) -> None:
        pass
    try:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        with watching(sigint=False):
            assert signal.getsignal(signal.SIGTERM) not in (signal.SIG_DFL, None)
        assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL
        for kept in (own, signal.SIG_IGN):
            signal.signal(signal.SIGTERM, kept)
            with watching():
                assert signal.getsignal(signal.SIGTERM) is kept
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        with watching():
            assert signal.getsignal(signal.SIGINT) == signal.SIG_IGN
        with watching(ignored_sigint=True):
            assert signal.getsignal(signal.SIGINT) != signal.SIG_IGN
        assert signal.getsignal(signal.SIGINT) == signal.SIG_IGN
        signal.signal(signal.SIGINT, own)
        with watching(sigint=False):
            assert signal.getsignal(signal.SIGINT) is own
        with watching():
            assert signal.getsignal(signal.SIGINT) is not own
        assert signal.getsignal(signal.SIGINT) is own
    finally:
        signal.signal(signal.SIGTERM, term)
        signal.signal(signal.SIGINT, interrupt)


def test_the_sigterm_said_names_it() -> None:
    """The close's words for a SIGTERM it did not stop."""
    from readme_metrics.delivery.closing_interrupt import Terminated, interruption

    assert interruption(Terminated()).startswith("a SIGTERM (no handler takes it")


def test_two_threads_first_use_in_a_process_forked_without_hooks_keep_both_logs(
        make_delivery: MakeDelivery, collector: Collector) -> None:
    """A uWSGI ``--threads`` worker (forked in C: no fork hook ran, the delivery still
    has its parent's process id): two threads' first requests at once each rebuilt the
    delivery's state, the second thread's log queued in the state the first one's
    rebuild then replaced: lost, unsaid (the sweep: ``n2``, one of a worker's first two
    calls, in 1 of 12 stops). Here the first rebuild is held until the second thread
    had its chance: now it waits for that rebuild and queues in the state it made.
    Before: "second" never reached the API (fails)."""
    delivery = make_delivery(collector.url, buffer_length=1000, flush_interval=600)
    delivery._pid = -1  # (as a process forked in C finds it)
    rebuild = delivery._reset_state
    inside, go = threading.Event(), threading.Event()
    rebuilds: list[int] = []

    def held(closed: bool) -> None:
        rebuilds.append(1)
        if len(rebuilds) == 1:
            inside.set()
            go.wait(LINE_WAIT)
        rebuild(closed)

    delivery._reset_state = held  # type: ignore[method-assign]
    first = threading.Thread(target=delivery.submit, args=(item("first"),))
    second = threading.Thread(target=delivery.submit, args=(item("second"),))
    first.start()
    assert inside.wait(LINE_WAIT)
    second.start()
    second.join(2.0)  # (before: it rebuilt and queued meanwhile; now it waits: no matter)
    go.set()
    first.join(LINE_WAIT)
    second.join(LINE_WAIT)
    delivery.close()
    assert sorted(ids(collector.logs)) == ["first", "second"], delivery.stats
    assert len(rebuilds) == 1
    assert delivery.stats["sent"] == 2 and adds_up(delivery.stats), delivery.stats


_UWSGI_APP = """\
import signal, threading
from readme_metrics.delivery.second_interrupt import watching

def app(environ, start_response):
    main = threading.current_thread() is threading.main_thread()
    with watching():
        during = signal.getsignal(signal.SIGTERM)
    body = f"main={main} kept={during == signal.SIG_DFL}".encode()
    start_response("200 OK", [("Content-Length", str(len(body)))])
    return [body]
"""


@pytest.mark.e2e
@pytest.mark.skipif(not Path(sys.executable).with_name("uwsgi").exists(), reason="uWSGI")
def test_uwsgi_worker_sigterm_is_uwsgis_the_close_sets_no_handler_over_it(
        tmp_path: Path) -> None:
    """In a uWSGI worker Python's ``getsignal`` says SIGTERM is SIG_DFL, but uWSGI's own
    C handler has it (set after Python started): the close must not put a handler over
    it (nor "put back" SIG_DFL after, which would end uWSGI's). Checked in the worker's
    main thread (no ``--threads``), where the close runs."""
    import requests

    from tests.support.ports import free_port
    from tests.support.processes import start_server, stop_server
    from tests.test_e2e_servers import uwsgi_argv

    (tmp_path / "uwsgi43.py").write_text(_UWSGI_APP)
    port = free_port()
    env = {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{tmp_path}"}
    process = start_server(uwsgi_argv(port, "uwsgi43:app"), env=env, cwd=str(tmp_path),
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        got: list[str] = []

        def answered() -> bool:
            try:
                got.append(requests.get(f"http://127.0.0.1:{port}/", timeout=5).text)
                return True
            except requests.RequestException:
                return False
        wait_until(answered, timeout=LINE_WAIT)
    finally:
        stop_server(process)
    assert got[-1] == "main=True kept=True", got


_HELD_LOCK = """\
import signal
from readme_metrics.delivery import second_interrupt
from readme_metrics.delivery.core import Delivery
from readme_metrics.config import MetricsApiConfig

config = MetricsApiConfig(api_key="k", grouping_function=lambda r: None,
                          metrics_api="http://127.0.0.1:9/", flush_interval=600)
delivery = Delivery(config, lambda pending: {})
lock = delivery._batcher.lock
lock.acquire()  # (the main thread in the queue's lock as the SIGTERM came)
second_interrupt._say_here()  # (where no thread can start: Python 3.12 at exit)
second_interrupt._end()
print("still here")
"""


def test_sigterm_said_in_the_main_thread_holding_the_queue_lock_still_ends_it(
        tmp_path: Path) -> None:
    """Where no thread can start (Python 3.12's exit), the SIGTERM's close is said in
    the main thread, which may hold the queue's lock as the signal came: the timer then
    ends the process by SIGTERM all the same (exit -15), not a hang."""
    from tests.support.processes import run_command

    (tmp_path / "held43.py").write_text(_HELD_LOCK)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = run_command([sys.executable, str(tmp_path / "held43.py")], timeout=LINE_WAIT,
                       env=env, capture_output=True)
    assert done.returncode == -signal.SIGTERM, done
    assert b"still here" not in done.stdout
