"""flaky54: delivery47's pyuwsgi stop sent before uWSGI took it (CI98, once).

test_delivery47_pyuwsgi sent its SIGINT as soon as its calls were answered, and they
need only the first worker. Under pyuwsgi the master is a Python process: from its
start until its loop (set once every worker is spawned) its SIGINT goes to Python's
handler, which only notes it for Python code the master never runs again: the master
served on with no "killing workers" line (a worker forked after that inherits the note
and prints a KeyboardInterrupt from uWSGI's ``random.seed``). A worker just spawned
has the same handler until uWSGI sets its own: the master's "killing workers" SIGINT
was lost there, and the master waited for that worker until its mercy (60 s). Either
way the test's 60 s ran out. The tests now wait until the master and each worker catch
their stop signals (``tests/support/uwsgi_run.takes_its_stops``, flaky50's) first.

Each window is made here, not waited for: the master held after its first fork (an
after-fork hook, run there by ``--py-call-uwsgi-fork-hooks``), or the second worker
held in its ``uwsgi.post_fork_hook`` (before uWSGI's handlers), until the test writes
"go" after its SIGINT (``HOLD_S`` at most), as a process waiting for a core would be.
Real pyuwsgi, a real collector on 127.0.0.1.
"""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path

import requests

from tests.support.fake_api import Collector
from tests.support.polling import wait_until
from tests.support.ports import free_ports
from tests.support.processes import LINE_WAIT, start_server, stop_server
from tests.support.runserver import children
from tests.support.signal_dispositions import catches
from tests.support.uwsgi_run import APP, MASTER_STOPS, WORKER_STOPS, paths
from tests.test_delivery47_pyuwsgi import CALLS, SCRIPT, Run, _run, collector, pytestmark
from tests.test_e2e_servers import server_env, uwsgi_argv

__all__ = ["collector", "pytestmark"]

#: How long HOLD holds at most (seconds). The test's "go" comes only once the run
#: yields, which (fixed) waits for the end of the hold: each case waits it out. Before
#: the fix the stop came within a second of the hold's start (suite49: 3 s, was 10).
HOLD_S = 3

#: Imported by the script's ``--eval`` (uWSGI loaded, in the master, before its forks):
#: holds the master after its first fork, or the second worker as it starts, until the
#: file "go" is in the folder (HOLD_S at most).
HOLD = '''\
import os
import time

import uwsgi

with open("hold") as kind:
    HOLD = kind.read()
_forks = []


def _wait_for_go():
    open("held-" + HOLD, "w").close()
    give_up = time.monotonic() + HELD_SECONDS
    while not os.path.exists("go") and time.monotonic() < give_up:
        time.sleep(0.05)


def _after_a_fork():
    _forks.append(None)
    if len(_forks) == 1:
        _wait_for_go()


def _worker_starts():
    if uwsgi.worker_id() == 2:
        _wait_for_go()


if HOLD == "master":
    os.register_at_fork(after_in_parent=_after_a_fork)
else:
    uwsgi.post_fork_hook = _worker_starts
'''.replace("HELD_SECONDS", str(HOLD_S))

#: The script, its ``--eval`` importing the hold too.
HELD_SCRIPT = SCRIPT.replace('"import app47;', '"import hold54, app47;', 1)
assert HELD_SCRIPT != SCRIPT


def _stopped_while_held(tmp_path: Path, collector: Collector, hold: str,
                        *options: str) -> None:
    (tmp_path / "hold54.py").write_text(HOLD)
    (tmp_path / "hold").write_text(hold)
    with _run(tmp_path, collector, *options, script=HELD_SCRIPT) as served:
        run = Run(tmp_path, served, collector)
        run.call(CALLS, "r")
        served.process.send_signal(signal.SIGINT)
        (tmp_path / "go").touch()
        code, said = run.ended()
    delivered, lost_said = run.counts(said)
    assert (tmp_path / f"held-{hold}").exists(), said
    assert len(delivered) == CALLS, (sorted(delivered), said)
    assert lost_said == 0, said
    assert code == 0, said


def test_a_stop_once_the_run_yields_ends_a_master_slow_to_reach_its_loop(
        tmp_path: Path, collector: Collector) -> None:
    """Before: the run yielded as the first worker answered, the SIGINT went to the
    master's Python handler, and the master never ended (60 s)."""
    _stopped_while_held(tmp_path, collector, "master", "--py-call-uwsgi-fork-hooks")


def test_a_stop_once_the_run_yields_ends_a_worker_slow_to_start(
        tmp_path: Path, collector: Collector) -> None:
    """Before: the master's SIGINT reached the second worker before uWSGI's handlers, in
    Python's; the master waited for it until its mercy (set to 120 s here)."""
    _stopped_while_held(tmp_path, collector, "worker", "--worker-reload-mercy", "120")


#: delivery36's app (uWSGI's own start: the library set its ``uwsgi.post_fork_hook`` in
#: the master), whose second worker waits inside the library's preparation of its
#: stops (``uwsgi_stop._prepare``, before its handler) until "go", or 10 s.
PREPARING = APP.replace("def grouping", '''\
import time

import uwsgi

from readme_metrics.delivery import uwsgi_exit

_options = uwsgi_exit.uwsgi_options


def _held_options():
    if uwsgi.worker_id() == 2 and not os.path.exists("held"):
        with open("held", "w") as held:
            held.write(str(os.getpid()))
        give_up = time.monotonic() + 10
        while not os.path.exists("go") and time.monotonic() < give_up:
            time.sleep(0.05)
    return _options()


uwsgi_exit.uwsgi_options = _held_options


def grouping''', 1)
assert PREPARING != APP


def test_a_stop_while_a_worker_prepares_its_stops_ends_the_worker(
        tmp_path: Path, collector: Collector) -> None:
    """The master's SIGINT ("killing workers") reaches the second worker inside the
    library's post-fork hook (``_prepare``), in Python's handler inherited from the
    master: a KeyboardInterrupt there. Before: it left the hook (printed), the SIGINT
    was spent, the worker served on and the master waited for it (its mercy: 120 s
    here)."""
    (tmp_path / "d54_app.py").write_text(PREPARING)
    port = free_ports(1)[0]
    env = server_env(collector, README_BACKGROUND_WORKER_MODE="true",
                     README_SHUTDOWN_TIMEOUT="3")
    output = tmp_path / "uwsgi.log"
    with output.open("wb") as log:
        process = start_server(
            uwsgi_argv(port, "d54_app:app", "--processes=2", "--worker-reload-mercy=120"),
            env=env, cwd=tmp_path, stdout=log, stderr=subprocess.STDOUT)
    held = tmp_path / "held"
    try:
        # The master in its loop, the second worker held, the first one ready.
        wait_until(lambda: held.exists() and held.read_text() != "" and all(
            catches(process.pid, stop) for stop in MASTER_STOPS), timeout=60)
        first = [pid for pid in children(process.pid) if pid != int(held.read_text())]
        wait_until(lambda: len(first) == 1 and all(
            catches(first[0], stop) for stop in WORKER_STOPS), timeout=60)
        base = f"http://127.0.0.1:{port}"
        assert requests.get(f"{base}/f0", timeout=LINE_WAIT).status_code == 200
        process.send_signal(signal.SIGINT)
        wait_until(lambda: "killing workers" in output.read_text(errors="replace"),
                   timeout=60)
        (tmp_path / "go").touch()
        try:
            code = process.wait(LINE_WAIT)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"no end {LINE_WAIT:g} s after the SIGINT:\n"
                                 + output.read_text(errors="replace")) from None
    finally:
        stop_server(process)
    said = output.read_text(errors="replace")
    assert code == 0, said
    assert paths(collector) == ["f0"], said
