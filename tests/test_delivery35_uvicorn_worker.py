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
import textwrap
from pathlib import Path

import pytest

from tests.support.fake_api import Collector
from tests.support.gunicorn_close import stopped_holding_every_answer

API_KEY = "rdme_delivery35_key"

APP = textwrap.dedent("""
    import os
    from readme_metrics import MetricsApiConfig
    from readme_metrics.asgi import MetricsMiddleware

    async def app(scope, receive, send):
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                else:
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"text/plain")]})
        await send({"type": "http.response.body", "body": b"ok"})

    application = MetricsMiddleware(app, MetricsApiConfig(
        api_key=os.environ["PROJECT_KEY"], metrics_api=os.environ["METRICS_URL"],
        base_log_url="http://docs.example", buffer_length=1000, flush_interval=600,
        shutdown_timeout=8, grouping_function=lambda req: {"api_key": "caller-35"}))
""")


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
