"""delivery35: gunicorn with uvicorn-worker's ``UvicornWorker`` (README's FastAPI quick
start) at a stop whose flush outlasts gunicorn's ``--graceful-timeout``.

UvicornWorker resets SIGTERM to its default (uvicorn's ``Server`` takes it, and raises it
again once served: no exit hook runs, so no exit close): only the ASGI lifespan's flush
at shutdown sends what is queued, within ``shutdown_timeout``. Real parts: gunicorn
with ``-k uvicorn_worker.UvicornWorker`` in a subprocess, the loopback collector holding
every answer; nothing timed (the test waits for the server to end).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.support.fake_api import Collector
from tests.support.gunicorn_apps import SLOW_ASGI, config
from tests.support.gunicorn_close import stopped_holding_every_answer

API_KEY = "rdme_delivery35_key"

APP = SLOW_ASGI + config("caller-35")


@pytest.mark.e2e
def test_uvicorn_worker_flush_within_gunicorns_graceful_timeout(
        collector: Collector, tmp_path: Path) -> None:
    """20 logs held, the API holding every answer, ``shutdown_timeout`` 8 s, gunicorn's
    ``--graceful-timeout`` 5 s, SIGTERM: the worker's flush ends before gunicorn's kill
    and says what it gave up on."""
    out, err = stopped_holding_every_answer(collector, tmp_path, APP, API_KEY,
                                            ["-k", "uvicorn_worker.UvicornWorker"], 20)
    assert "was sent SIGKILL" not in err, err
    # (4 s counted from the SIGTERM since delivery37: a fraction less as uvicorn takes
    # its time to reach the lifespan's shutdown)
    assert re.search(r"the flush at the ASGI lifespan's shutdown gave up after (4|3\.\d)s, "
                     r"not shutdown_timeout \(README_SHUTDOWN_TIMEOUT\) of 8s: gunicorn's "
                     r"--graceful-timeout of 5s has its master SIGKILL this worker after "
                     r"that: 21 logs not delivered yet", err), err
