"""flaky60: a gunicorn sync worker recycled by ``--max-requests`` after a slow request.

The master aborts a recycled worker ``--timeout`` after its last heartbeat, and a sync
worker beats only between requests: its last beat came before its last request began.
Its close counted the timeout from its own start (the heartbeat file is closed by the
worker's exit, so the time since the beat was taken for none): a last request of 5 s,
``--timeout=8``, the API failing and ``shutdown_timeout`` 10 s: the close took 7 s, the
master's WORKER TIMEOUT aborted it 3 s in, its logs lost and only Python's "Exception
ignored in atexit callback" said. Now the beat is kept as the file closes, and the close
ends before the abort, saying what it gave up on. Real parts: gunicorn in a subprocess,
the loopback collector; the slow request is the app's own sleep, nothing timed is
asserted.
"""

from __future__ import annotations

import re
from functools import partial
from pathlib import Path

import requests

from tests.support.fake_api import Collector
from tests.support.gunicorn_recycled import recycling, settled
from tests.support.polling import wait_until
from tests.support.processes import LINE_WAIT

APP = '''\
import time

from readme_metrics import MetricsApiConfig, MetricsMiddleware


def _app(environ, start_response):
    if environ["PATH_INFO"] == "/slow":
        time.sleep(5)  # (a sync worker sends no heartbeat meanwhile)
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"ok"]


def grouping(request):
    return {"api_key": "caller-f60", "label": "flaky60"}


app = MetricsMiddleware(_app, MetricsApiConfig(grouping_function=grouping))
'''

def test_a_sync_worker_recycled_after_a_slow_request_ends_before_its_timeout(
        tmp_path: Path, collector: Collector) -> None:
    with recycling(tmp_path, collector, APP, "sync", timeout=8) as (base, output):
        # Exactly 3 requests, each sent once (OPTIONS: no log, one of the 3).
        assert requests.options(f"{base}/nolog", timeout=LINE_WAIT).status_code == 200
        assert requests.get(f"{base}/g0", timeout=LINE_WAIT).status_code == 200
        assert requests.get(f"{base}/slow", timeout=LINE_WAIT).status_code == 200
        wait_until(partial(settled, output), timeout=60)
        wait_until(lambda: "Booting worker" in output.read_text(errors="replace")
                   .split("Worker exiting", 1)[-1], timeout=60)  # (the first one reaped)
        said = output.read_text(errors="replace")
    assert "[CRITICAL] WORKER TIMEOUT" not in said and "Exception ignored" not in said, said
    assert "gunicorn's --timeout of 8s" in said, said
    assert [int(n) for n in re.findall(r"(\d+) logs? not delivered", said)] == [2], said
