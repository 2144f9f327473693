"""delivery58 (1): an exit-named finish that queues its log while the close's own drain
POST is unanswered, background mode.

At exit ``MetricsPipeline.finish_at_exit`` names the finishes the library's thread is
still in (a grouping function that has not answered): "still being finished there:
delivered if queued before delivery closes, else not delivered (counted in
dropped_shutdown)" (delivery57). The background close then drains: while its own logs
are unsettled, a log that comes is taken into its remaining POSTs (delivery41,
``BatchPutting._put_closed_locked``). review138 had refused such a log there (its test
removed by delivery57); nothing pinned the window since.

A real process: a WSGI app wrapped by the middleware (background mode), one response
read and closed (its log queued, sent by the close), one dropped unread (its finalizer
hands the log over; the library's thread runs the grouping function, which waits for a
file). The collector on 127.0.0.1 holds its answer to the POST of the /read log (posted
as the interpreter's threads end, ``post_waiting``: the close begins with it unsettled
and drains). Once it holds it and the exit's warning named the finish, the test lets
the grouping function answer, waits for that finish to end (its log queued or refused),
and only then lets the collector answer. With review138's refusal put back first in
``_put_closed_locked``, or without the drain branch, it fails (1 log of 2 arrives). The
app's own exit hook, registered first, runs after the close and prints the counts.
"""

from __future__ import annotations

import json
import textwrap
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from tests.support.dropped_at_exit import DROPPED_APP, KEY, run_at_exit
from tests.support.fake_api import Collector, Reply
from tests.support.polling import wait_until

HEAD = textwrap.dedent("""
    import atexit, json, logging, os, sys, threading, time

    class Touched:  # an event another process sets: a file in sys.argv[4]
        def __init__(self, name):
            self.path = os.path.join(sys.argv[4], name)
        def set(self):
            open(self.path, "w").close()
        def wait(self, timeout):
            deadline = time.monotonic() + timeout
            while not os.path.exists(self.path) and time.monotonic() < deadline:
                time.sleep(0.01)

    answer, answered, finished = Touched("answer"), Touched("answered"), Touched("finished")
    warned = Touched("warned")

    class Said(logging.Handler):  # each line of the library's, to stderr
        def emit(self, record):
            sys.stderr.write(record.getMessage() + "\\n")
            if "not yet queued" in record.getMessage():
                warned.set()  # the exit's warning named the finish under way

    logging.getLogger("readme_metrics").addHandler(Said())

    def tell_finished():  # once the grouping function answered and its finish ended
        answered.wait(60)
        deadline = time.monotonic() + 30
        while middleware.pipeline.handed.others_finishing() and time.monotonic() < deadline:
            time.sleep(0.01)
        finished.set()

    threading.Thread(target=tell_finished, daemon=True).start()

    def app_exit():  # registered first: runs after the library's exit (its close ended)
        print(json.dumps(dict(middleware.stats)), flush=True)

    atexit.register(app_exit)

""") + DROPPED_APP


def test_a_finish_the_exit_named_queued_while_the_close_drains_is_delivered(
        collector: Collector, tmp_path: Path) -> None:
    held = threading.Event()
    collector.replies.append(Reply(gate=held))  # the close's POST: answered once let go
    with ThreadPoolExecutor(1) as pool:
        running = pool.submit(run_at_exit, HEAD, collector.url, True, "30", str(tmp_path))
        try:
            # The exit's warning named the finish; the close drains: its POST (the /read
            # log) is here, unanswered
            posts = collector.wait_for_posts(1)
            wait_until(lambda: (tmp_path / "warned").exists())
            assert [log["request"]["log"]["entries"][0]["request"]["url"].rpartition("/")[2]
                    for log in posts[0].json()] == ["read"]
            (tmp_path / "answer").touch()  # the named finish's grouping function answers
            wait_until(lambda: (tmp_path / "finished").exists())
            assert collector.in_flight >= 1  # still held: the finish came in the window
        finally:
            held.set()
        done = running.result()
    # The dropped response's log arrives: queued while delivery was still open
    logs = collector.wait_for_logs(2)
    paths = sorted(log["request"]["log"]["entries"][0]["request"]["url"].rpartition("/")[2]
                   for log in logs)
    assert paths == ["dropped", "read"], done.stderr
    stats = json.loads(done.stdout.strip().splitlines()[-1])
    assert stats["captured"] == 2 and stats["sent"] == 2, stats
    assert stats["dropped"] == 0 and stats["queued"] == 0, stats
    # and what was said is true of it: named as still being finished, "delivered if
    # queued before delivery closes"; no line says a log was not delivered or refused
    said = done.stderr
    warning = next(line for line in said.splitlines() if "not yet queued" in line)
    assert "1 log still being finished there: delivered if queued before delivery " \
           "closes" in warning, said
    assert "not delivered" not in said.replace("else not delivered", ""), said
    assert "refused" not in said, said
    assert KEY not in said
