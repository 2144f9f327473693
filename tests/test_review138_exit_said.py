"""review138 (an adversarial read of delivery55): a log the exit's warning said "not
delivered" was delivered all the same, background mode.

``MetricsPipeline.finish_at_exit`` warns of the finishes the library's thread is still
in (a grouping function that has not answered) as "not delivered", counted dropped if
they ever queue their log (delivery55 marks them: ``HandedOver.say_others``). In
background mode the close that follows takes the logs of calls answered while it drains
(delivery41: ``Batcher._put_closed_locked``), its own logs still unsettled: such a
finish, answering then, had its log taken and delivered. The warning had said it was
lost (one log, said dropped, delivered; the counts: ``dropped`` 0 and the warning's 1).

So it was when the finish queued its log between the warning and the close's start
(queued as any log, delivered by the close). Now such a log is refused there too
(counted ``dropped_shutdown``, said by the warning alone). Before: 2 of 2 failed (the
log delivered); after: pass.

A real process: a WSGI app wrapped by the middleware, one response read and closed (its
log queued, held by the collector's slow answer as the close drains), one dropped unread
(its finalizer hands the log over; the library's thread runs the grouping function,
which answers once the exit's warning was said).
"""

from __future__ import annotations

import json
import textwrap

import pytest

from tests.support.contract import run_python
from tests.support.fake_api import Collector, Reply
from tests.test_delivery55_exit_said_once import APP, CALLS, GAVE_UP

SCRIPT = textwrap.dedent("""
    import json, logging, sys, threading, time
    from wsgiref.util import setup_testing_defaults

    answer = threading.Event()

    def app_exit():  # registered first: runs after the library's exit (its close ended)
        handed = middleware.pipeline.handed
        deadline = time.monotonic() + 30
        while handed.others_finishing() and time.monotonic() < deadline:
            time.sleep(0.01)
        print(json.dumps(dict(middleware.stats)), flush=True)

    import atexit
    atexit.register(app_exit)

    class Warned(logging.Handler):  # the exit's warning said: the grouping answers
        def emit(self, record):
            print(record.getMessage(), file=sys.stderr, flush=True)
            if "not yet queued" in record.getMessage():
                answer.set()
                deadline = time.monotonic() + 30
                while (sys.argv[2] == "1" and time.monotonic() < deadline
                       and middleware.pipeline.handed.others_finishing()):
                    time.sleep(0.01)  # the finish queues its log before the close

    logging.getLogger("readme_metrics").addHandler(Warned())

""")

GROUPING = textwrap.dedent("""

    def grouping(req):
        if req.path == "/dropped":  # the library's thread, for the response dropped
            answer.wait(30)
        return {"api_key": "caller"}

    middleware = MetricsMiddleware(streamed, MetricsApiConfig(
        api_key="rdme_exit_SECRET_key_5150", metrics_api=sys.argv[1],
        base_log_url="http://d.x", shutdown_timeout=20.0, flush_interval=600,
        background_worker_mode=True, grouping_function=grouping))
""")


@pytest.mark.parametrize("delay, before_close", [
    pytest.param(1.5, "0", id="in-the-close's-drain"),
    pytest.param(0.0, "1", id="before-the-close")])
def test_a_log_the_exit_said_not_delivered_is_not_delivered_after_all(
        collector: Collector, delay: float, before_close: str) -> None:
    # The close's own POST (the /read log) answered late: the close drains meanwhile;
    # or the finish queues its log as the warning is said (its handler waits for that).
    collector.default = Reply(delay=delay)
    done = run_python(SCRIPT + APP + GROUPING + CALLS, collector.url, before_close)
    assert done.returncode == 0, done.stderr
    assert done.stderr.count(GAVE_UP) == 1, done.stderr
    said = done.stderr
    paths = sorted(log["request"]["log"]["entries"][0]["request"]["url"].rpartition("/")[2]
                   for log in collector.logs)
    # What the warning said: the dropped response's log not delivered, counted so.
    assert paths == ["read"], (paths, said)
    stats = json.loads(done.stdout.strip().splitlines()[-1])
    assert stats["captured"] == 2 and stats["sent"] == 1, stats
    assert stats["dropped"] == stats["dropped_shutdown"] == 1, stats
    assert "after the close had ended" not in said and "rdme_exit_SECRET" not in said
