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
import subprocess
import sys
from functools import partial
from pathlib import Path

import requests

from tests.support.fake_api import Collector, Reply
from tests.support.polling import wait_until
from tests.support.ports import free_ports
from tests.support.processes import LINE_WAIT, start_server, stop_server
from tests.test_delivery36_findings import accepts
from tests.test_e2e_servers import GUNICORN, server_env

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

#: Each worker's heartbeat kept until it has booted (the app's import, under load:
#: test_delivery36_findings.SLOW_BOOT), none of its own time spent there.
BOOT = """
import threading
import time


def post_fork(server, worker):
    def beat():
        while not worker.booted:
            worker.notify()
            time.sleep(0.1)

    threading.Thread(target=beat, name="f60-boot-heartbeat", daemon=True).start()
"""


def test_a_sync_worker_recycled_after_a_slow_request_ends_before_its_timeout(
        tmp_path: Path, collector: Collector) -> None:
    collector.default = Reply(status=503, body=b"down")
    (tmp_path / "f60_app.py").write_text(APP)
    (tmp_path / "f60_boot.py").write_text(BOOT)
    port = free_ports(1)[0]
    env = server_env(collector, README_BACKGROUND_WORKER_MODE="true",
                     README_BUFFER_LENGTH="10", README_FLUSH_INTERVAL="0",
                     README_SHUTDOWN_TIMEOUT="10")
    output = tmp_path / "gunicorn.log"
    argv = [sys.executable, *GUNICORN, "--worker-class=sync", "--graceful-timeout=30",
            "--timeout=8", "--max-requests=3", "--max-requests-jitter=0",
            f"--bind=127.0.0.1:{port}", "--config=f60_boot.py", "f60_app:app"]
    with output.open("wb") as log:
        process = start_server(argv, env=env, cwd=tmp_path, stdout=log,
                               stderr=subprocess.STDOUT)
    try:
        base = f"http://127.0.0.1:{port}"
        wait_until(partial(accepts, process, port, output), timeout=60)
        # Exactly 3 requests, each sent once (OPTIONS: no log, one of the 3).
        assert requests.options(f"{base}/nolog", timeout=LINE_WAIT).status_code == 200
        assert requests.get(f"{base}/g0", timeout=LINE_WAIT).status_code == 200
        assert requests.get(f"{base}/slow", timeout=LINE_WAIT).status_code == 200

        def settled() -> bool:  # the recycled worker's end, one way or the other
            text = output.read_text(errors="replace")
            return ("not delivered" in text or "Exception ignored" in text
                    or "[CRITICAL] WORKER TIMEOUT" in text)
        wait_until(settled, timeout=60)
        wait_until(lambda: "Booting worker" in output.read_text(errors="replace")
                   .split("Worker exiting", 1)[-1], timeout=60)  # (the first one reaped)
        said = output.read_text(errors="replace")
    finally:
        stop_server(process)
    assert "[CRITICAL] WORKER TIMEOUT" not in said and "Exception ignored" not in said, said
    assert "gunicorn's --timeout of 8s" in said, said
    assert [int(n) for n in re.findall(r"(\d+) logs? not delivered", said)] == [2], said
