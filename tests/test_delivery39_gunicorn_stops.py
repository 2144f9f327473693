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
import textwrap
from pathlib import Path
from typing import Any, Iterator

import pytest

from readme_metrics.delivery import gunicorn_stop
from tests.support.delivery import gave_up_total
from tests.support.fake_api import Collector
from tests.support.gunicorn_apps import (
    SLOW_ASGI,
    SLOW_WSGI,
    config,
    stop_with_slow_in_flight,
    worker_object,
)
from tests.support.polling import wait_until
from tests.test_greenlet_servers import _check_quiet

CONFIG = config("caller-39")
WSGI = SLOW_WSGI + CONFIG
ASGI = SLOW_ASGI + CONFIG

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
    return stop_with_slow_in_flight(collector, tmp_path, source, argv,
                                    "rdme_delivery39_key", {"Connection": "close"})


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
    assert gave_up_total(r"closing gave up after [\d.]+s, gunicorn's --graceful-timeout of "
                         r"6s being near: ", err) == 22, err
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


@pytest.fixture()
def fake_worker() -> Iterator[Any]:
    """A gunicorn worker object (its handlers set by the test; restored after)."""
    pytest.importorskip("gunicorn.arbiter")
    with worker_object(handles_sigterm=False) as made:
        yield made


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

    from gunicorn.arbiter import Arbiter

    class Master(Arbiter):  # type: ignore[misc]
        # (gunicorn's method's frame, its local ``worker``: only gunicorn's methods'
        # frames are read, flaky34)
        def spawn_worker(self, worker: Any = None) -> None:  # type: ignore[override]
            gunicorn_stop.watch_fork()

    spawn = Master.__new__(Master).spawn_worker
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
