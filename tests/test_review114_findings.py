"""review114: an adversarial look at delivery34 and blackbox9 (the close and the exit),
against a real collector on 127.0.0.1.

1. Inline mode (``background_worker_mode=False``) posted nothing as the main thread
   ended: ``Delivery.post_waiting`` returned at once there, and the logs waited for the
   close at ``atexit``, which runs only once the app's non-daemon threads have ended. A
   script whose own thread runs on held its logs until that thread ended (for ever if it
   never does), and gunicorn's gthread worker stopped at once (SIGQUIT, Ctrl-C) past
   ``--graceful-timeout`` lost them unsaid (SIGKILLed before ``atexit``), though the
   README says "what waits goes as soon as the main thread ends". It now posts them in
   the main thread as it ends, where an app's thread runs on: each due POST once, no
   backoff waited for (the close at exit sends the rest, within its own bound, as
   before). With no such thread the close comes at once, and nothing is posted before.
2. The ASGI lifespan's flush that gave up still said "else the exit tries again": since
   delivery34 the exit's close ends within the same shutdown_timeout (no log since), and
   tries nothing more. It now says the close says what became of them, within that
   same bound (one of its own if a log comes first).
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Iterator

import pytest

from readme_metrics.delivery import closing
from tests.support.delivery import (
    MakeDelivery,
    adds_up,
    api_key_never_logged_fixture,  # noqa: F401 - autouse
    item,
    make_delivery_fixture,  # noqa: F401 - ``make_delivery``
    messages,
    never_fixture,  # noqa: F401 - ``never``
)
from tests.support.fake_api import Collector, Reply
from tests.support.lifespan_stop import stopped_with_the_api_silent
from tests.support.lingering_exit import logs_while_it_lingers, script
from tests.support.processes import LINE_WAIT

ROOT = Path(__file__).resolve().parents[1]

# The inline script whose own thread runs on after its main thread: a mode of
# tests/test_blackbox9_lifecycles.py::test_logs_go_while_the_exit_waits_for_the_apps_own_threads
# (it failed before review114's fix: 0 of 30 logs until that thread had ended).


@pytest.fixture(name="app_thread")
def app_thread_fixture() -> Iterator[None]:
    """A non-daemon thread of the app's runs (the interpreter's exit would wait for it)
    while the test does."""
    done = threading.Event()
    thread = threading.Thread(target=done.wait, args=(LINE_WAIT,), daemon=False)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join(LINE_WAIT)


def test_inline_post_waiting_waits_for_no_backoff(collector: Collector,
                                                 make_delivery: MakeDelivery,
                                                 app_thread: None) -> None:
    """Inline, the API failing: post_waiting makes one attempt and returns (no backoff
    waited for: the backoff is 60 s), and again sends nothing before that backoff."""
    collector.replies.append(Reply(status=503))
    delivery = make_delivery(collector.url, buffer_length=10, background_worker_mode=False,
                             backoff_base=60.0, backoff_cap=60.0, shutdown_timeout=60.0)
    assert delivery.submit(item("a"))
    delivery.post_waiting()
    assert len(collector.failed) == 1  # one attempt, answered 503, and returned
    assert delivery.stats["queued"] == 1
    delivery.post_waiting()  # its backoff not over: not sent again
    assert len(collector.failed) == 1 and not collector.received
    stats = delivery.stats
    assert adds_up(stats) and (stats["sent"], stats["queued"]) == (0, 1), stats


def test_inline_post_waiting_without_app_threads_leaves_it_to_the_close(
        collector: Collector, make_delivery: MakeDelivery,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Inline, no app thread for the exit to wait for: the close at exit comes at once,
    so post_waiting posts nothing (a POST there would only lengthen the exit); the
    close sends the log. (The test runner's own threads, pytest-timeout's, are not
    daemons: the question is answered here as a plain script's exit answers it.)"""
    monkeypatch.setattr(closing, "_app_threads_run", lambda: False)
    delivery = make_delivery(collector.url, buffer_length=10, background_worker_mode=False)
    assert delivery.submit(item("a"))
    delivery.post_waiting()
    assert not collector.received and delivery.stats["queued"] == 1
    delivery.close()
    assert [log["_id"] for log in collector.logs] == ["a"]


# -- 2. the lifespan's line after delivery34 -------------------------------------------


def test_the_lifespans_line_says_the_exit_has_no_bound_of_its_own(
        collector: Collector, never: threading.Event,
        caplog: pytest.LogCaptureFixture) -> None:
    """The API reads every POST and answers none: the lifespan's flush gives up after
    shutdown_timeout (0.5 s) with 3 logs queued. Since delivery34 the exit's close ends
    at that same deadline (no log came since) and tries nothing more; the lifespan's line
    still said "else the exit tries again"."""
    delivery, closing = stopped_with_the_api_silent(collector, never)
    assert delivery._batcher.deadline <= closing  # no time to try
    flush = messages(caplog, logging.WARNING, "the flush at the ASGI lifespan's shutdown "
                     "gave up after shutdown_timeout (README_SHUTDOWN_TIMEOUT) of 0.5s: "
                     "3 logs not delivered yet, still queued")
    assert len(flush) == 1, [r.getMessage() for r in caplog.records]
    assert "exit tries again" not in flush[0], flush
    assert flush[0].endswith("else the exit's close says what became of them, within "
                             "this same shutdown_timeout (one of its own if a log comes "
                             "first)"), flush


# -- 3. an executor's threads, its module imported after the middleware ------------------

POOL_SCRIPT = script("rdme_review114_key", "caller-114", """
    # The app's work runs on in a thread pool made only now (concurrent.futures.thread
    # imported after the middleware started), after the main thread ended: here, until
    # the test closes stdin.
    from concurrent.futures import ThreadPoolExecutor
    ThreadPoolExecutor(1).submit(sys.stdin.read)
""")


@pytest.mark.e2e
@pytest.mark.parametrize("mode", ["background", "inline"])
def test_logs_go_while_the_exit_waits_for_an_executors_work(
        collector: Collector, tmp_path: Path, mode: str) -> None:
    """As blackbox9's script, the app's work in a ThreadPoolExecutor whose module was
    imported after the middleware started: ``concurrent.futures``' own exit hook (which
    joins its pools' threads) ran before the library's (``threading`` runs them last
    registered first), and the 30 logs waited for that work to end. They arrive while
    it runs now, each once."""
    logs_while_it_lingers(collector, tmp_path, POOL_SCRIPT, mode)
