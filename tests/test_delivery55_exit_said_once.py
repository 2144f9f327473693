"""delivery55 (review137, by reading): a log the exit gave up on was said twice.

At exit, ``MetricsPipeline.finish_at_exit`` warns of the responses dropped without
``close()`` whose log the library's thread is still finishing (its grouping function
slow: ``handed_over.others_finishing``), "not delivered", counted dropped if it ever
queues its log. When that finish then queued it after the close had ended, the refusal
(counted once, ``dropped_shutdown``) was said again by delivery53's LateRefused, in the
words of "a thread that serves on past the close": one log, two lines, two reasons.

A real process: a WSGI app wrapped by the middleware, one response read and closed, one
dropped unread (its finalizer hands the log over; the library's thread runs the grouping
function, which waits for the app's own exit hook). The app's hook, registered first,
runs after the library's (the close ended): it lets the grouping function answer, waits
for the finish to end, and prints the counts.
"""

from __future__ import annotations

import json
import textwrap

import pytest

from tests.support.contract import run_python
from tests.support.fake_api import Collector

SCRIPT = textwrap.dedent("""
    import atexit, json, sys, threading, time
    from wsgiref.util import setup_testing_defaults

    answer = threading.Event()
    answered = threading.Event()

    def app_exit():  # registered first: runs after the library's exit (its close ended)
        answer.set()
        answered.wait(30)
        handed = middleware.pipeline.handed
        deadline = time.monotonic() + 30
        while handed.others_finishing() and time.monotonic() < deadline:
            time.sleep(0.01)  # the finish queues its log (refused: the close ended)
        print(json.dumps(dict(middleware.stats)), flush=True)

    atexit.register(app_exit)

""")

#: The app the middleware wraps (review138's test too).
APP = textwrap.dedent("""
    from readme_metrics import MetricsApiConfig, MetricsMiddleware

    def streamed(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        yield b"ok"
""")

GROUPING = textwrap.dedent("""

    def grouping(req):
        if req.path == "/dropped":  # the library's thread, for the response dropped
            answer.wait(30)
            answered.set()
        return {"api_key": "caller"}

    middleware = MetricsMiddleware(streamed, MetricsApiConfig(
        api_key="rdme_exit_SECRET_key_5150", metrics_api=sys.argv[1],
        base_log_url="http://d.x", shutdown_timeout=1.0,
        background_worker_mode=sys.argv[2] == "1", grouping_function=grouping))
""")

#: The calls (``middleware`` made above them): one response read and closed, one
#: dropped unread, its finish parked in the grouping function (review138's test too).
CALLS = textwrap.dedent("""
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

#: The exit's word for a log it gave up on (MetricsPipeline.finish_at_exit).
GAVE_UP = "not yet queued"
#: LateRefused's word for a log refused once the close had ended.
LATE = "after the close had ended"


@pytest.mark.parametrize("background", [pytest.param(True, id="background"),
                                        pytest.param(False, id="inline")])
def test_a_log_the_exit_gave_up_on_is_said_once_when_its_finish_comes_after_the_close(
        collector: Collector, background: bool) -> None:
    done = run_python(SCRIPT + APP + GROUPING + CALLS, collector.url, "1" if background else "0")
    assert done.returncode == 0, done.stderr
    stats = json.loads(done.stdout.strip().splitlines()[-1])
    # The dropped response's log: not delivered, counted once (dropped_shutdown)
    assert stats["captured"] == 2 and stats["sent"] == 1, stats
    assert stats["dropped"] == stats["dropped_shutdown"] == 1, stats
    assert len(collector.logs) == 1
    # and said once, by the exit's warning, with its reason (the grouping function had
    # not answered); before, LateRefused said it a second time as a late call's.
    assert done.stderr.count(GAVE_UP) == 1, done.stderr
    assert LATE not in done.stderr, done.stderr
    assert "rdme_exit_SECRET_key_5150" not in done.stderr
