"""delivery57 (2): the exit's warning of the logs of responses dropped without ``close()``
not yet queued said "not delivered" of a finish the library's thread was still in (its
grouping function slow), though that finish may end before delivery closes, its log
queued and delivered. Now the warning says so of those: delivered if queued before
delivery closes, else counted dropped; "not delivered" only of the finishes the exit
gave up on itself.

A real process: a WSGI app wrapped by the middleware, one response read and closed, one
dropped unread (its finalizer hands the log over; the library's thread runs the grouping
function, which waits). A logging handler on the library's logger lets the grouping
function answer once the exit's warning is said and waits for that finish to end, as a
thread scheduled right after the warning would: the log is queued before the close.
"""

from __future__ import annotations

import textwrap

import pytest

from tests.support.dropped_at_exit import DROPPED_APP, KEY, MODES, run_at_exit
from tests.support.fake_api import Collector

SCRIPT = textwrap.dedent("""
    import logging, sys, threading, time

    answer, answered = threading.Event(), threading.Event()

    class LetItAnswer(logging.Handler):  # at the exit's warning, in the exit's thread
        def emit(self, record):  # (said as Python's last resort says it, to stderr)
            sys.stderr.write(record.getMessage() + "\\n")
            if "not yet queued" in record.getMessage():
                answer.set()
                deadline = time.monotonic() + 30
                while (middleware.pipeline.handed.others_finishing()
                       and time.monotonic() < deadline):
                    time.sleep(0.01)  # the finish queues its log, delivery still open

    logging.getLogger("readme_metrics").addHandler(LetItAnswer())

""") + DROPPED_APP


@pytest.mark.parametrize("background", MODES)
def test_a_finish_the_exit_names_that_ends_before_the_close_is_not_said_lost(
        collector: Collector, background: bool) -> None:
    done = run_at_exit(SCRIPT, collector.url, background)
    # Both logs delivered: the dropped response's finish queued its log before the close
    collector.wait_for_logs(2)
    urls = sorted(log["request"]["log"]["entries"][0]["request"]["url"]
                  for log in collector.logs)
    assert [url.rsplit("/", 1)[1] for url in urls] == ["dropped", "read"], urls
    warning = next(line for line in done.stderr.splitlines() if "not yet queued" in line)
    # and the exit's warning did not say it lost: that thread was still finishing it
    assert "not delivered" not in warning.replace("else not delivered", ""), warning
    assert "1 log still being finished" in warning, warning
    assert KEY not in done.stderr
