"""review135: an adversarial read of last session's landings (blackbox18, delivery48,
flaky34, delivery47, hostile41, review133).

blackbox18 made gunicorn's quick stop (SIGINT or SIGQUIT to the master, which sends its
workers SIGQUIT) stop uvicorn's server under ``-k uvicorn_worker.UvicornWorker``, as its
SIGTERM does; but the SIGQUIT's time was not noted (:mod:`.gunicorn_signal`), so the
lifespan's flush counted gunicorn's ``--graceful-timeout`` from its own start, not from
the signal: a request of 3 s in flight at the stop, the API holding every answer,
``shutdown_timeout`` 8 s, ``--graceful-timeout`` 6 s: the flush began 3 s after the
signal with 5 s to go, the master SIGKILLed the worker midway, its 22 logs lost with
nothing said (delivery37's defect, back for the quick stop). Real parts: gunicorn with
uvicorn-worker in a subprocess, the loopback collector; nothing timed.
"""

from __future__ import annotations

import re
import signal
from pathlib import Path

import pytest

from tests.support.fake_api import Collector
from tests.support.gunicorn_apps import SLOW_ASGI, config, stop_with_slow_in_flight
from tests.test_greenlet_servers import _check_quiet

ASGI_APP = SLOW_ASGI + config("caller-r135")


@pytest.mark.e2e
def test_quick_stop_under_uvicorn_worker_ends_the_flush_before_the_kill(
        collector: Collector, tmp_path: Path) -> None:
    """SIGINT to gunicorn's master with a request of 3 s in flight: the lifespan's flush
    ends before the kill (its bound counted from the SIGQUIT the worker got) and says
    the 22 logs it gave up on. Before: SIGKILLed mid-flush, nothing said."""
    pytest.importorskip("uvicorn_worker")
    answered, out, err = stop_with_slow_in_flight(
        collector, tmp_path, ASGI_APP,
        ["--worker-class=uvicorn_worker.UvicornWorker"], "rdme_review135_key",
        stop=signal.SIGINT)
    assert answered == [200]  # served whole, before the worker left
    assert "was sent SIGKILL" not in err, err
    assert re.search(r"the flush at the ASGI lifespan's shutdown gave up after "
                     r"[\d.]+s, not shutdown_timeout \(README_SHUTDOWN_TIMEOUT\) of "
                     r"8s: gunicorn's --graceful-timeout of 6s has its master SIGKILL "
                     r"this worker after that: 22 logs not delivered yet", err), err
    _check_quiet(out, err)
