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
import threading
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

APP = SLOW_WSGI + config("caller-37")
ASGI_APP = SLOW_ASGI + config("caller-37")

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
    if worker == "uvicorn":
        pytest.importorskip("uvicorn_worker")
    answered, out, err = stop_with_slow_in_flight(
        collector, tmp_path, ASGI_APP if worker == "uvicorn" else APP,
        [f"--worker-class={CLASSES[worker]}",
         f"--threads={4 if worker == 'gthread' else 1}"], "rdme_delivery37_key")
    assert answered == [200]  # served whole, before the worker left
    assert "was sent SIGKILL" not in err, err
    if worker == "uvicorn":  # (no exit hook: the lifespan's flush is the last send)
        assert re.search(r"the flush at the ASGI lifespan's shutdown gave up after "
                         r"[\d.]+s, not shutdown_timeout \(README_SHUTDOWN_TIMEOUT\) of "
                         r"8s: gunicorn's --graceful-timeout of 6s has its master SIGKILL "
                         r"this worker after that: 22 logs not delivered yet", err), err
        return
    # (before: killed mid-close, this line never said)
    assert gave_up_total(r"closing gave up after [\d.]+s, gunicorn's --graceful-timeout of "
                         r"6s being near: ", err) == 22, err
    began = re.search(r"closing: 22 logs to send within ([\d.]+)s, not shutdown_timeout "
                      r"\(README_SHUTDOWN_TIMEOUT\) of 8s: gunicorn's --graceful-timeout "
                      r"of 6s has its master SIGKILL this worker after that, counted "
                      r"from its SIGTERM ([\d.]+)s before the close began", err)
    assert began is not None, err
    assert float(began.group(1)) + float(began.group(2)) == pytest.approx(5, abs=0.15)
    _check_quiet(out, err)


@pytest.fixture()
def worker_handler() -> Iterator[Any]:
    """A gunicorn worker object whose ``handle_exit`` is this process's SIGTERM
    handler, as in a worker (restored after)."""
    with worker_object() as worker:
        yield worker


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
