"""delivery39: the "--lifespan off" line said where no log was lost.

delivery38's line (``WITHOUT_LIFESPAN``) tells that uvicorn, its lifespan off, ends
Python at a SIGTERM without its exit hooks: it raises the signal again into the handler
it found, the default action. Under gunicorn, a worker class of uvicorn-worker's
``UvicornWorker`` that keeps a Python SIGTERM handler (gunicorn's own ``handle_exit``)
has that handler run instead: the worker leaves as usual, its exit hooks send what
waits, every log arrives; the line was said all the same (4 of 4 delivered). Now it is
not; under ``UvicornWorker``'s own signals (the default action) the loss is real and
still said (0 of 4 delivered).

Real parts: gunicorn with the worker classes in a subprocess, the loopback collector.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import requests

from readme_metrics.capture.asgi_no_lifespan import WITHOUT_LIFESPAN
from tests.support.fake_api import Collector
from tests.support.gunicorn_close import answers
from tests.support.polling import wait_until
from tests.support.ports import free_port
from tests.support.processes import start_server
from tests.test_greenlet_servers import _stop

ROOT = Path(__file__).resolve().parents[1]

WORKERS = textwrap.dedent("""
    import signal
    from uvicorn_worker import UvicornWorker

    class OffWorker(UvicornWorker):
        CONFIG_KWARGS = {"loop": "asyncio", "http": "h11", "lifespan": "off"}

    class KeepWorker(OffWorker):
        def init_signals(self):
            super().init_signals()
            signal.signal(signal.SIGTERM, self.handle_exit)  # gunicorn's own
""")

APP = textwrap.dedent("""
    import os
    from readme_metrics import MetricsApiConfig
    from readme_metrics.asgi import MetricsMiddleware

    async def inner(scope, receive, send):
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-length", b"2")]})
        await send({"type": "http.response.body", "body": b"ok"})

    application = MetricsMiddleware(inner, MetricsApiConfig(
        api_key="rdme_delivery39_key", metrics_api=os.environ["METRICS_URL"],
        flush_interval=600, grouping_function=lambda req: {"api_key": "caller-39"}))
""")


@pytest.mark.e2e
@pytest.mark.parametrize(("worker", "delivered"), [("KeepWorker", 4), ("OffWorker", 0)])
@pytest.mark.parametrize("layout", ["own-module", "app-module"])
def test_the_line_is_said_where_the_sigterm_loses_the_logs_only(
        worker: str, delivered: int, layout: str, collector: Collector, tmp_path: Path
) -> None:
    """The readiness probe and 3 requests, the flush interval 600 s away, SIGTERM.
    KeepWorker: the 4 arrive, nothing said (failed before: the line said). OffWorker:
    none arrive, the line said once. The worker classes in a module of their own (the
    app loaded in the worker), or in the app's (gunicorn's master imports it for the
    class: the middleware made there, before the fork)."""
    pytest.importorskip("uvicorn_worker")
    if layout == "own-module":
        (tmp_path / "off_app.py").write_text(APP)
        (tmp_path / "off_workers.py").write_text(WORKERS)
        module = "off_workers"
    else:
        (tmp_path / "off_app.py").write_text(WORKERS + APP)
        module = "off_app"
    port = free_port()
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("README_")},
           "METRICS_URL": collector.url,
           "PYTHONPATH": os.pathsep.join([str(tmp_path), str(ROOT)])}
    process = start_server(
        [sys.executable, "-m", "gunicorn", f"--worker-class={module}.{worker}",
         "--workers=1", f"--bind=127.0.0.1:{port}", "off_app:application"],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    wait_until(lambda: answers(f"{base}/ready"))
    with requests.Session() as session:
        for n in range(3):
            assert session.get(f"{base}/r/{n}", timeout=10).status_code == 200
    _, err = _stop(process)  # (the worker has ended: what it sent has arrived)
    assert len(collector.logs) == delivered, err
    assert err.count(WITHOUT_LIFESPAN) == (1 if delivered == 0 else 0), err
