"""A child process that queues logs through the library's WSGI middleware, then runs a
test's own closes (``process.close_all``) and ends as that test's script says
(tests/test_delivery72_close_under_way.py, delivery73's close order, delivery74's
exit_began)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Callable

from tests.support.fake_api import Collector, Received, Reply
from tests.support.processes import run_command

ROOT = Path(__file__).resolve().parents[2]

#: The child's start, before a test's own lines: ``CALLS`` (from its environment) calls
#: of a plain WSGI app wrapped by the middleware (key ``API_KEY``, posting to
#: ``METRICS_URL``), every log held for the close (a batch of 1,000, a flush each 600 s,
#: a close's bound of 20 s). ``process`` is :mod:`readme_metrics.delivery.process`.
QUEUED = textwrap.dedent("""
    import os, sys, threading, time
    from wsgiref.util import setup_testing_defaults
    from readme_metrics import MetricsApiConfig, MetricsMiddleware
    from readme_metrics.delivery import process

    def app(environ, start_response):
        start_response("200 OK", [("Content-Length", "2")])
        return [b"ok"]

    wrapped = MetricsMiddleware(app, MetricsApiConfig(
        api_key=os.environ["API_KEY"], metrics_api=os.environ["METRICS_URL"],
        base_log_url="http://docs.example", buffer_length=1000, flush_interval=600,
        shutdown_timeout=20, grouping_function=lambda req: {"api_key": "caller-1"}))
    for i in range(int(os.environ["CALLS"])):
        environ = {}
        setup_testing_defaults(environ)
        environ["PATH_INFO"] = f"/item/{i}"
        b"".join(wrapped(environ, lambda *args: None))
""")


def two_a_post(marker: Path) -> Callable[[Received], Reply]:
    """The stand-in API's judge: 413 to a POST of more than 2 logs; else ``marker``
    touched (a POST is in) and the answer 250 ms later."""

    def judge(received: Received) -> Reply:
        if len(json.loads(received.body)) > 2:
            return Reply(status=413)
        marker.touch()
        return Reply(delay=0.25)

    return judge


def run_child(script: str, collector: Collector, calls: int, api_key: str,
              **variables: str) -> subprocess.CompletedProcess[str]:
    """``script`` (:data:`QUEUED` and a test's lines) run to its end (2 minutes at most),
    posting to ``collector``, with no ``README_*`` variable of the test run's and
    ``variables`` on top: its output as text."""
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("README_")},
           "METRICS_URL": collector.url, "CALLS": str(calls), "API_KEY": api_key,
           "PYTHONPATH": str(ROOT), **variables}
    return run_command([sys.executable, "-c", script], env=env, capture_output=True,
                       text=True, timeout=120)
