"""delivery55's process at exit with a response dropped unread, shared by
tests/test_delivery55_exit_said_once.py and tests/test_delivery57_exit_named.py: a WSGI app
wrapped by the middleware (the key ``KEY``, the collector's URL ``sys.argv[1]``,
background mode when ``sys.argv[2]`` is "1"), one response read and closed, one dropped
unread (its finalizer hands the log over; ``shutdown_timeout`` ``sys.argv[3]``, 1 s when
not given); the script ends once the library's thread runs
that response's grouping function, which waits for the event ``answer`` (then sets
``answered``): the script before it (``HEAD`` of each test) defines both, and what lets
it answer."""

from __future__ import annotations

import subprocess
import textwrap

import pytest

from tests.support.contract import run_python

__all__ = ["DROPPED_APP", "KEY", "MODES", "run_at_exit"]

#: Both delivery modes, for ``@pytest.mark.parametrize("background", MODES)``.
MODES = [pytest.param(True, id="background"), pytest.param(False, id="inline")]

KEY = "rdme_exit_SECRET_key_5150"

DROPPED_APP = textwrap.dedent("""
    import sys, time
    from wsgiref.util import setup_testing_defaults

    from readme_metrics import MetricsApiConfig, MetricsMiddleware

    def streamed(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        yield b"ok"

    def grouping(req):
        if req.path == "/dropped":  # the library's thread, for the response dropped
            answer.wait(30)
            answered.set()
        return {"api_key": "caller"}

    middleware = MetricsMiddleware(streamed, MetricsApiConfig(
        api_key="rdme_exit_SECRET_key_5150", metrics_api=sys.argv[1],
        base_log_url="http://d.x", shutdown_timeout=float(sys.argv[3:4] and sys.argv[3] or 1),
        background_worker_mode=sys.argv[2] == "1", grouping_function=grouping))

    def call(path):
        environ = {"PATH_INFO": path}
        setup_testing_defaults(environ)
        return middleware(environ, lambda status, headers, exc_info=None: None)

    response = call("/read")
    b"".join(response)
    response.close()
    response = call("/dropped")  # never read nor closed: its finalizer hands it over
    del response
    deadline = time.monotonic() + 30
    while not middleware.pipeline.handed.others_finishing() and time.monotonic() < deadline:
        time.sleep(0.01)  # the library's thread took it: its grouping function waits
""")


def run_at_exit(script: str, url: str, background: bool, *args: str
                ) -> subprocess.CompletedProcess[str]:
    """``script`` (a head and :data:`DROPPED_APP`) run to its end, sending to ``url``
    (``args`` after the mode: ``shutdown_timeout``, then the head's own)."""
    done = run_python(script, url, "1" if background else "0", *args)
    assert done.returncode == 0, done.stderr
    return done
