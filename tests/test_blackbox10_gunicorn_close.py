"""blackbox10: a gunicorn worker's exit close within its master's graceful timeout.

gunicorn's master SIGKILLs a worker still alive ``--graceful-timeout`` after it told it
to stop. With ``shutdown_timeout`` above that and the API not answering at the stop, the
exit's close was killed midway: every log the worker held lost, no line said (delivery34:
``shutdown_timeout`` 8 s, graceful 5 s, 400 of 400 lost, sync and gthread). Now the close
learns the graceful timeout from gunicorn's own SIGTERM handler (the worker object's
``cfg``), says what it holds as it begins, and ends a second before the kill, saying what
it gave up on.

Real parts: gunicorn (sync, gthread) in a subprocess, the loopback collector holding every
answer; nothing timed (the test waits for the server to end).
"""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest

from tests.support.delivery import gave_up_total
from tests.support.fake_api import Collector
from tests.support.gunicorn_close import stopped_holding_every_answer
from tests.test_greenlet_servers import _check_quiet

API_KEY = "rdme_blackbox10_key"

APP = textwrap.dedent("""
    import os
    from readme_metrics import MetricsApiConfig, MetricsMiddleware

    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]

    application = MetricsMiddleware(app, MetricsApiConfig(
        api_key=os.environ["PROJECT_KEY"], metrics_api=os.environ["METRICS_URL"],
        base_log_url="http://docs.example", buffer_length=1000, flush_interval=600,
        shutdown_timeout=8, grouping_function=lambda req: {"api_key": "caller-10"}))
""")


@pytest.mark.e2e
@pytest.mark.parametrize("worker", ["sync", "gthread"])
def test_close_ends_before_gunicorns_kill_and_says_what_it_gave_up(
        worker: str, collector: Collector, tmp_path: Path) -> None:
    """40 logs held (a buffer of 1,000, a 600 s flush interval: only the exit sends
    them), the API holding every answer, ``shutdown_timeout`` 8 s, gunicorn's
    ``--graceful-timeout`` 5 s, SIGTERM: the worker says at the close's start what it
    holds and within what time, and ends before the kill saying the 40 logs (and the
    readiness probe's) were not delivered. Before: SIGKILLed mid-close, no line."""
    out, err = stopped_holding_every_answer(collector, tmp_path, APP, API_KEY,
                                            [f"--worker-class={worker}"], 40)
    assert "was sent SIGKILL" not in err, err
    # (4 s counted from the SIGTERM since delivery37: a fraction less as the worker
    # takes its time to leave its loop)
    assert re.search(r"closing: 41 logs to send within (4|3\.\d)s, not shutdown_timeout "
                     r"\(README_SHUTDOWN_TIMEOUT\) of 8s: gunicorn's --graceful-timeout "
                     r"of 5s", err), err
    assert gave_up_total(r"closing gave up after (4|3\.\d)s, gunicorn's --graceful-timeout "
                         r"of 5s being near: ", err) == 41, err
    _check_quiet(out, err)


def test_outside_gunicorn_the_close_keeps_shutdown_timeout() -> None:
    """No gunicorn worker's SIGTERM handler here: no graceful timeout, the close's bound
    is ``shutdown_timeout`` whatever it is."""
    from readme_metrics.delivery import gunicorn_stop

    assert gunicorn_stop.graceful_timeout() is None
    assert gunicorn_stop.close_bound(8.0) == (8.0, None)
