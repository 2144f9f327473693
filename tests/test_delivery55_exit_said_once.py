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

from tests.support.dropped_at_exit import DROPPED_APP, KEY, MODES, run_at_exit
from tests.support.fake_api import Collector

SCRIPT = textwrap.dedent("""
    import atexit, json, threading, time

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

""") + DROPPED_APP

#: The exit's word for a log it gave up on (MetricsPipeline.finish_at_exit).
GAVE_UP = "not yet queued"
#: LateRefused's word for a log refused once the close had ended.
LATE = "after the close had ended"


@pytest.mark.parametrize("background", MODES)
def test_a_log_the_exit_gave_up_on_is_said_once_when_its_finish_comes_after_the_close(
        collector: Collector, background: bool) -> None:
    done = run_at_exit(SCRIPT, collector.url, background)
    stats = json.loads(done.stdout.strip().splitlines()[-1])
    # The dropped response's log: not delivered, counted once (dropped_shutdown)
    assert stats["captured"] == 2 and stats["sent"] == 1, stats
    assert stats["dropped"] == stats["dropped_shutdown"] == 1, stats
    assert len(collector.logs) == 1
    # and said once, by the exit's warning, with its reason (the grouping function had
    # not answered); before, LateRefused said it a second time as a late call's.
    assert done.stderr.count(GAVE_UP) == 1, done.stderr
    assert LATE not in done.stderr, done.stderr
    assert KEY not in done.stderr
