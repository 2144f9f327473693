"""delivery47: ``pyuwsgi.run()`` from a script that imported the app first.

The library's uWSGI hooks (the stop of a worker in a request: :mod:`.uwsgi_stop`; the
close from ``uwsgi.atexit`` under ``--skip-atexit-teardown`` and the ``--skip-atexit``
line: :mod:`.uwsgi_exit`) were set up as the first Delivery was made. Made before
``pyuwsgi.run()`` loaded uWSGI (the script imported the app, and so the library, first),
they found no ``uwsgi`` module and were never set: the master runs no library code after
that, and forks its workers in C. On main (2f67e649), 2 workers, the API answering in
1 s: a stop (SIGINT, SIGQUIT, SIGTERM with --die-on-term, SIGTERM's brutal reload)
with both workers in a request lost every log they held, with no line (0 of 6
delivered, 0 said); under --skip-atexit-teardown, 0 of 6 at a --max-requests recycling
and the stop; --skip-atexit's line never said. Now each worker's first request sets
them up (``uwsgi_stop.arm``), and those stops deliver what was served and say the two
requests cut in flight. SIGHUP's graceful reload and a plain --max-requests recycling
delivered before too (the workers exit out of a request: ``atexit``): kept as guards.
The recycling runs with ``--min-worker-lifetime 0`` (uWSGI recycles no worker younger
than 10 s by default: before flaky56 none was recycled there) and says which workers
were.

Real uWSGI (the pyuwsgi wheel of the test extra), a real collector on 127.0.0.1; both
workers held in the app's code (a file each says so) while the stop comes, whatever
the machine's load.
"""

from __future__ import annotations

import importlib.util
import signal
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests

from tests.support.blackbox14_run import said_in
from tests.support.fake_api import Collector, Reply
from tests.support.polling import wait_until
from tests.support.processes import LINE_WAIT
from tests.support.runserver import CALLER, Served, children, held_env, serving
from tests.support.uwsgi_run import paths, wait_takes_its_stops

pytestmark = [pytest.mark.e2e, pytest.mark.skipif(
    importlib.util.find_spec("pyuwsgi") is None,
    reason="pyuwsgi is not installed (pip install pyuwsgi, in the test extra)")]

#: The app, and the library, imported before ``pyuwsgi.run()`` loads uWSGI; the venv's
#: own python for uWSGI's reloads (it re-executes ``/proc/self/exe``: the base
#: interpreter, without the venv's packages).
SCRIPT = '''\
import sys

import app47  # (the app, and the library, imported before uWSGI starts)
import pyuwsgi

pyuwsgi.run(["--master", "--processes", "2", "--http-socket", "127.0.0.1:" + sys.argv[1],
             "--disable-logging", "--binary-path", sys.executable, *sys.argv[2:],
             "--eval", "import app47; application = app47.app"])
'''

APP = '''\
import os
import time

from readme_metrics import MetricsApiConfig, MetricsMiddleware

HERE = os.path.dirname(os.path.abspath(__file__))
_served = []  # (this process's requests, unlogged ones too: as uWSGI counts them)


def _app(environ, start_response):
    if environ["PATH_INFO"].startswith("/hold"):  # (until the test lets it go: the file "go")
        open(os.path.join(HERE, "held-%d" % os.getpid()), "w").close()
        while not os.path.exists(os.path.join(HERE, "go")):
            time.sleep(0.05)
    _served.append(None)
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [("%d %d" % (os.getpid(), len(_served))).encode()]


def grouping(request):
    return {"api_key": "caller-47", "label": "delivery47"}


app = MetricsMiddleware(_app, MetricsApiConfig(grouping_function=grouping))
'''

#: Logged calls before the stop (both workers serve some: each is held next).
CALLS = 6
#: The recycling test's --max-requests.
MAX_REQUESTS = 2


def _state(pid: int) -> str:
    """A process's state, wait channel and caught signals (/proc), for a failure's
    message."""
    try:
        status = Path(f"/proc/{pid}/status").read_text().splitlines()
        wchan = Path(f"/proc/{pid}/wchan").read_text()
    except OSError as error:
        return repr(error)
    return " ".join([line for line in status if line.startswith(("State:", "SigCgt:",
                                                                  "SigIgn:", "Threads:"))]
                    + [f"wchan: {wchan}"])


class Run:
    """The script under pyuwsgi, a collector answering in 1 s, the calls served."""

    def __init__(self, tmp_path: Path, served: Served, collector: Collector) -> None:
        self.tmp_path, self.served, self.collector = tmp_path, served, collector
        self.answered: list[str] = []
        #: Each call answered: the worker's pid, and its requests so far (this one too).
        self.served_by: dict[str, tuple[int, int]] = {}
        self.holds: list[threading.Thread] = []

    def call(self, count: int, prefix: str) -> None:
        for n in range(len(self.answered), len(self.answered) + count):
            name = f"{prefix}{n}"
            answer = requests.get(f"{self.served.url}/{name}", timeout=30,
                                  headers={**CALLER, "Connection": "close"})
            assert answer.status_code == 200, self.served.said()
            self.answered.append(name)
            pid, served = answer.text.split()
            self.served_by[name] = (int(pid), int(served))

    def recycled(self) -> set[int]:
        """The workers that served their --max-requests (``MAX_REQUESTS``): uWSGI
        recycles each as its last request ends. Their count includes the requests the
        test did not see (``serving``'s OPTIONS /nolog), all made before its calls."""
        most: dict[int, int] = {}
        for pid, served in self.served_by.values():
            most[pid] = max(most.get(pid, 0), served)
        return {pid for pid, served in most.items() if served >= MAX_REQUESTS}

    def respawned(self, recycled: set[int]) -> bool:
        """Whether each of the ``recycled`` workers has ended (reaped: no longer the
        master's child) and the master spawned one worker for each."""
        process = self.served.process
        assert process.poll() is None, self.served.said()
        return (not recycled & set(children(process.pid))
                and self.served.said().count("Respawned uWSGI worker") >= len(recycled))

    def hold_both(self) -> None:
        """Both workers in a request (one core each): the second /hold can only go to
        the worker the first did not."""
        def hold(name: str) -> None:
            try:
                requests.get(f"{self.served.url}/{name}", timeout=60,
                             headers={**CALLER, "Connection": "close"})
            except requests.RequestException:
                pass  # (cut by the stop)

        for n in range(2):
            thread = threading.Thread(target=hold, args=(f"hold{n}",), daemon=True)
            thread.start()
            self.holds.append(thread)
        wait_until(lambda: len(list(self.tmp_path.glob("held-*"))) == 2, timeout=60)

    def let_go(self) -> None:
        (self.tmp_path / "go").touch()
        for thread in self.holds:
            thread.join(60)

    def ended(self) -> tuple[int, str]:
        process = self.served.process
        try:
            code = process.wait(LINE_WAIT)
        except subprocess.TimeoutExpired as error:  # (CI98, once: what was still there)
            left = {pid: _state(pid) for pid in [process.pid, *children(process.pid)]}
            raise AssertionError(f"uWSGI still running {LINE_WAIT}s after its stop: "
                                 f"{left}; it said: {self.served.said()}") from error
        return code, self.served.said()

    def counts(self, said_text: str) -> tuple[set[str], int]:
        """The calls answered that reached the API (each once), and the logs the
        server's lines say were not delivered."""
        delivered = paths(self.collector)
        assert len(delivered) == len(set(delivered)), delivered
        return set(delivered) & set(self.answered), said_in(said_text)[0]


@contextmanager
def _run(tmp_path: Path, collector: Collector, *options: str, script: str = SCRIPT
         ) -> Iterator[Served]:
    """The script serving on a free port with ``options``; logs sent at the exit only,
    within 3 s (``shutdown_timeout``), POSTs bounded at 5 s. Yielded once uWSGI takes
    its stops (flaky54: a SIGINT before was lost, CI98)."""
    (tmp_path / "app47.py").write_text(APP)
    (tmp_path / "serve47.py").write_text(script)
    env = held_env(collector, tmp_path, "3", README_TIMEOUT="5")
    with serving(["serve47.py", "{port}", *options], env, tmp_path, "server.log") as served:
        wait_takes_its_stops(served.process, served.output)
        yield served


@pytest.fixture
def collector() -> Iterator[Collector]:
    """A collector answering each POST in 1 s (a slow API)."""
    found = Collector().start()
    found.default = Reply(delay=1.0)
    yield found
    found.stop()


@pytest.mark.parametrize("stop, options", [
    (signal.SIGINT, ()),
    (signal.SIGQUIT, ()),
    (signal.SIGTERM, ("--die-on-term",)),
], ids=["sigint", "sigquit", "sigterm-die-on-term"])
def test_a_stop_with_both_workers_in_a_request_sends_what_they_held(
        tmp_path: Path, collector: Collector, stop: int, options: tuple[str, ...]) -> None:
    """The master's stop reaches both workers in a request: every call answered before
    is delivered, the two cut in flight said. Before: 0 of 6 delivered, 0 said."""
    with _run(tmp_path, collector, *options) as served:
        run = Run(tmp_path, served, collector)
        run.call(CALLS, "r")
        run.hold_both()
        served.process.send_signal(stop)
        code, said = run.ended()
    delivered, lost_said = run.counts(said)
    assert len(delivered) == CALLS, (sorted(delivered), said)
    assert lost_said == 2, said  # (the two requests held: "1 request unfinished" each)
    assert code == 0, said


def test_sigterms_brutal_reload_sends_what_the_workers_held(
        tmp_path: Path, collector: Collector) -> None:
    """SIGTERM without --die-on-term: uWSGI's brutal reload (its workers SIGTERMed in
    their request, the master executed again: the script imports the app again, before
    uWSGI, so the new workers are the same case). Before: 6 of 12 delivered (none of the
    6 served before the reload), 0 said."""
    with _run(tmp_path, collector) as served:
        run = Run(tmp_path, served, collector)
        run.call(CALLS, "r")
        run.hold_both()
        served.process.send_signal(signal.SIGTERM)
        served.wait_said("binary reloading uWSGI")
        run.let_go()  # (the new workers' /hold answer at once)
        run.call(CALLS, "after")  # (served by the reloaded master's workers)
        wait_takes_its_stops(served.process, served.output)  # (the new master's loop)
        served.process.send_signal(signal.SIGINT)
        code, said = run.ended()
    delivered, lost_said = run.counts(said)
    assert len(delivered) == 2 * CALLS, (sorted(delivered), said)
    assert lost_said == 2, said
    assert code == 0, said


def test_sighups_graceful_reload_sends_what_the_workers_held(
        tmp_path: Path, collector: Collector) -> None:
    """SIGHUP: each worker ends once its request is done, out of it (``atexit``), the
    master executed again; then a stop. Every call delivered (before too: a guard)."""
    with _run(tmp_path, collector) as served:
        run = Run(tmp_path, served, collector)
        run.call(CALLS, "r")
        run.hold_both()
        served.process.send_signal(signal.SIGHUP)
        served.wait_said("gracefully killing workers")
        run.let_go()
        served.wait_said("binary reloading uWSGI")
        wait_until(lambda: served.said().count("spawned uWSGI worker 2") == 2, timeout=60)
        run.call(CALLS, "after")
        wait_takes_its_stops(served.process, served.output)
        served.process.send_signal(signal.SIGINT)
        code, said = run.ended()
    delivered, lost_said = run.counts(said)
    assert len(delivered) == 2 * CALLS, (sorted(delivered), said)
    assert lost_said == 0, said
    assert code == 0, said


@pytest.mark.parametrize("options", [
    (),
    ("--skip-atexit-teardown",),
], ids=["max-requests", "max-requests-skip-atexit-teardown"])
def test_max_requests_recycling_sends_what_each_worker_held(
        tmp_path: Path, collector: Collector, options: tuple[str, ...]) -> None:
    """Workers recycled every 2 requests (at least 2 recycles in 6 calls), then, once
    each recycled worker has ended and the new workers take their stops, a stop. What a
    recycled worker held was delivered at its recycle, before the stop; every call once.
    Before, under --skip-atexit-teardown (no ``atexit``: the close runs from
    ``uwsgi.atexit``, which was never set): 0 of 6. flaky56: a mutant that skips the
    close at the recycle (``atexit``'s, or ``uwsgi.atexit``'s) fails here."""
    with _run(tmp_path, collector, "--max-requests", str(MAX_REQUESTS),
              "--min-worker-lifetime", "0", *options) as served:
        run = Run(tmp_path, served, collector)
        run.call(CALLS, "r")
        recycled = run.recycled()
        assert len(recycled) >= 2, (run.served_by, served.said())
        wait_until(lambda: run.respawned(recycled), timeout=60)
        wait_takes_its_stops(served.process, served.output)  # (the new workers too)
        before_stop = set(paths(collector))
        served.process.send_signal(signal.SIGINT)
        code, said = run.ended()
    for pid in recycled:
        assert f"...The work of process {pid} is done" in said, said
    held = {name for name, (pid, _) in run.served_by.items() if pid in recycled}
    assert held <= before_stop, (sorted(held - before_stop), run.served_by, said)
    delivered, lost_said = run.counts(said)
    assert len(delivered) == CALLS, (sorted(delivered), said)
    assert lost_said == 0, said
    assert code == 0, said


def test_skip_atexit_is_said_by_the_workers(tmp_path: Path, collector: Collector) -> None:
    """--skip-atexit: a worker's stop runs no Python, its logs are lost; the library
    says so, and the fix. Before: never said (the Delivery was made before uWSGI)."""
    with _run(tmp_path, collector, "--skip-atexit") as served:
        run = Run(tmp_path, served, collector)
        run.call(2, "r")
        served.process.send_signal(signal.SIGINT)
        _, said = run.ended()
    assert "readme_metrics: uWSGI runs with --skip-atexit" in said, said

