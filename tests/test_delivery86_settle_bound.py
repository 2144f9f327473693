"""delivery86: delivery85's leftovers, the stop lines and counts exact and within bounds.

1. The close's wait for the senders of the POSTs it cut (delivery85's ``SETTLE``, 0.5 s)
   came past its deadline: a POST nothing can cut (through a SOCKS proxy; here a sender
   held once its POST ended, as test_delivery33_findings does) held the close 0.5 s past
   ``shutdown_timeout``, and gunicorn's master, under a ``--graceful-timeout`` below
   2.5 s, killed the worker before the close's line. Now the POSTs are cut a moment
   before the close's end (``settle_reserve``) and the wait ends by it.
2. (b) A 401/403's pause and a TLS or proxy drop of a batch a POST of which went in
   full unanswered (the API may have it) did not say so: now counted ``dropped_unknown``
   and said in the one wording of every stop line (``post_progress.UNKNOWN``).
3. (c) A close giving a batch up between its sender's look at it (back from its POST)
   and the outcome's settle: the answer was lost on it (``dropped_unknown`` for good of
   logs answered 202). Now the settle finds it and recounts them as what came of it.

Real parts: the loopback collector (tests/support/fake_api.py), gunicorn in a
subprocess. The held points are events the test sets (no sleeps decide an order).
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from readme_metrics.delivery.batcher_close import SETTLE
from tests.support.closing_lines import closing_lines, said_as_counted, senders_back
from tests.support.command import app_environment
from tests.support.delivery import (  # noqa: F401 (fixtures)
    MakeDelivery,
    adds_up,
    api_key_never_logged_fixture,
    item,
    make_delivery_fixture,
    said_counts,
)
from tests.support.fake_api import Collector
from tests.support.gunicorn_close import answers
from tests.support.held_head import (  # noqa: F401 (the fixture)
    closed_as_the_head_came,
    head_then_held_fixture,
)
from tests.support.polling import wait_until
from tests.support.ports import free_port
from tests.support.processes import start_server, stop_for_output
from tests.support.watchdog_points import GUARD, ROUTES, held_after_the_post

#: A close this short, with a POST it cannot cut: its end is all of it.
TINY = 0.2


@ROUTES
def test_a_close_whose_post_nothing_cuts_ends_within_shutdown_timeout(
        make_delivery: MakeDelivery, collector: Collector, caplog: Any,
        direct: bool) -> None:
    """1. 2 logs in one POST, answered 202 at once, its sender held once back (a POST
    the close cannot cut); ``close()`` with ``shutdown_timeout`` 0.2 s. Before: it
    waited for that sender until 0.5 s past its deadline (``SETTLE``), 0.7 s in all,
    every time (the sender is held until after ``close()`` returns). Now its bound's
    end (``Batcher.ends``, computed) is ``shutdown_timeout`` from its start, its POSTs
    cut before it, and it returns within that plus scheduling (asserted below
    ``SETTLE`` past it: the overshoot removed; measured 0.4 to 3.7 ms, load 15)."""
    caplog.set_level(logging.WARNING, logger="readme_metrics")
    go, entered = threading.Event(), threading.Event()
    delivery = make_delivery(collector.url, buffer_length=2, shutdown_timeout=TINY,
                             direct=direct)
    held_after_the_post(delivery, go, entered)
    batcher = delivery._batcher
    try:
        assert delivery.submit(item("a")) and delivery.submit(item("b"))
        assert entered.wait(GUARD)
        began = time.monotonic()
        delivery.close(began=began)
        returned = time.monotonic()
        closed = delivery.stats
        assert not go.is_set() and entered.is_set()  # (held all along)
    finally:
        go.set()
    # Before: returned SETTLE past its bound at least, every time (its sender held).
    assert returned - (began + TINY) < SETTLE, returned - began
    # The bound the close computed: its end all of shutdown_timeout, its POSTs cut
    # before it (the senders' settle kept within it).
    assert batcher.ends == began + TINY, (began, batcher.ends)
    assert began < batcher.deadline < batcher.ends
    assert adds_up(closed), closed
    # Its request went in full, its sender not back: unknown, said as counted.
    assert (closed["dropped_unknown"], closed["queued"]) == (2, 0), closed
    said_as_counted(closing_lines(caplog), closed)
    # Back once the close ended: counted as what came of it (delivery81).
    assert senders_back(delivery)["sent"] == 2


@ROUTES
def test_a_202_head_read_as_the_close_cut_the_post_is_still_said_sent(
        make_delivery: MakeDelivery, caplog: Any, direct: bool,
        head_then_held: tuple[str, threading.Event]) -> None:  # noqa: F811
    """1. delivery85's gain kept with the settle inside the bound: 3 logs, the 202's
    head read, its body held, ``close()`` (0.5 s) cuts the POST (now 0.1 s before its
    end): no line, ``sent`` 3 as ``close()`` returns, the same once the sender ended."""
    url, body = head_then_held
    caplog.set_level(logging.WARNING, logger="readme_metrics")
    delivery = closed_as_the_head_came(make_delivery, url, direct)
    closed = delivery.stats
    body.set()
    assert adds_up(closed) and closed == senders_back(delivery), closed
    assert not closing_lines(caplog)
    assert (closed["sent"], closed["dropped"]) == (3, 0), closed


APP = '''\
import json
import logging
import os
import sys
import threading

from readme_metrics import MetricsApiConfig, MetricsMiddleware
from readme_metrics.delivery.sender import Sender

_never = threading.Event()
_real = Sender.post


def _held(self, *args, **kwargs):
    """The POST goes, and is answered; its sender is held after it (a POST the close
    cannot cut, as through a SOCKS proxy)."""
    outcome = _real(self, *args, **kwargs)
    _never.wait()
    return outcome


Sender.post = _held


def app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"ok"]


application = MetricsMiddleware(app, MetricsApiConfig(
    metrics_api=os.environ["METRICS_URL"], buffer_length=1, shutdown_timeout=8,
    grouping_function=lambda req: {"api_key": "caller-86"}))


class _Stats(logging.Handler):
    """Each line to stderr, as without a handler; the stats as the close's line is
    said (its counts made by then)."""

    def emit(self, record):
        sys.stderr.write(record.getMessage() + "\\n")
        if "closing gave up" in record.getMessage():
            with open(os.environ["STATS_FILE"], "w") as out:
                json.dump(application.stats, out)


logging.getLogger("readme_metrics").addHandler(_Stats())
'''


@pytest.mark.e2e
def test_gunicorn_with_a_short_graceful_timeout_says_the_line_before_its_kill(
        collector: Collector, tmp_path: Path) -> None:
    """1. gunicorn, ``--graceful-timeout=1`` (the close ends 0.2 s before the kill),
    one log whose POST's sender is held once answered (nothing cuts it), SIGTERM.
    Before: the close waited 0.5 s past its deadline for that sender, 0.3 s past the
    master's SIGKILL: no line ("was sent SIGKILL"). Now the close's line comes, and its
    numbers are the stats' as it is said."""
    (tmp_path / "d86_app.py").write_text(APP)
    stats_file = tmp_path / "stats.json"
    port = free_port()
    env = app_environment(collector.url, tmp_path, METRICS_URL=collector.url,
                          STATS_FILE=str(stats_file))
    argv = [sys.executable, "-m", "gunicorn", "--worker-class=sync", "--workers=1",
            "--graceful-timeout=1", f"--bind=127.0.0.1:{port}", "d86_app:application"]
    process = start_server(argv, cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    wait_until(lambda: answers(f"{base}/ready"), timeout=60)
    collector.wait_for_posts(1)  # (its sender held once answered)
    out, err = stop_for_output(process)
    lines = [line for line in err.splitlines() if "closing gave up" in line]
    assert len(lines) == 1, err
    assert "gunicorn's --graceful-timeout of 1s being near" in lines[0], lines
    stats = json.loads(stats_file.read_text())
    assert said_counts(lines[0]) == (stats["dropped_shutdown"], stats["dropped_unknown"]), (
        lines, stats)
    assert stats["dropped_unknown"] == 1, stats

