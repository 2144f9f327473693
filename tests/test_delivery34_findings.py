"""delivery34: delivery's known leftovers, each order forced (held points, events),
against a real collector on 127.0.0.1.

1. A log refused by the full queue as ``close()`` runs (its request thread between the
   queue's lock, where ``stats`` counts it, and ``QueueFullNotice.dropped``) was in
   ``stats['dropped_queue_full']`` but in no line: the close had said its drops before
   that one was told, and the warning after it is limited to one a minute.
"""

from __future__ import annotations

import logging
import math
import re
import signal
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import requests

from readme_metrics.config import MetricsApiConfig
from readme_metrics.delivery import Delivery, watchdog
from readme_metrics.delivery.session import SessionPoster
from readme_metrics.delivery.transport import Transport
from tests.support.delivery import (
    API_KEY,
    MakeDelivery,
    adds_up,
    api_key_never_logged_fixture,  # noqa: F401 - autouse
    item,
    make_delivery_fixture,  # noqa: F401 - ``make_delivery``
    messages,
    never_fixture,  # noqa: F401 - ``never``
    new_stretch,
)
from tests.support.fake_api import INLINE_TIMEOUT, Collector, Reply
from tests.support.lifespan_stop import stopped_with_the_api_silent
from tests.support.polling import wait_until
from tests.support.watchdog_points import (
    GUARD,
    ROUTES,
    Cuts,
    before_the_first_verdict,
    close_ends_once_the_sender_acted,
)

#: The counts the queue-full lines say (as tests/test_review109_counts.py reads them).
SAID = re.compile(r"(\d+) logs? dropped (?:while it was full|as the delivery queue was full)")


def said_dropped(caplog: pytest.LogCaptureFixture) -> int:
    return sum(int(m.group(1)) for m in (SAID.search(r.getMessage()) for r in caplog.records
                                         if r.name == "readme_metrics") if m)


def close_racing_a_drop(collector: Collector, delivery: Delivery, name: str) -> None:
    """Fill the queue (one log: ``kept``, its POST held), then submit ``name`` on a
    request thread that, refused by the full queue, is held between the queue's count
    and the notice's until ``close()`` (which delivers ``kept``) has returned."""
    answer = threading.Event()
    collector.default = Reply(gate=answer)
    assert delivery.submit(item("kept"), send=False)  # (inline: queued, not sent)
    notice: Any = delivery._queue_full
    told = notice.dropped
    refused, go = threading.Event(), threading.Event()

    def held(so_far: int) -> None:
        refused.set()
        go.wait(GUARD)
        told(so_far)

    notice.dropped = held
    thread = threading.Thread(target=lambda: (delivery.submit(item(name)), refused.set()))
    thread.start()
    try:
        assert refused.wait(GUARD)
        answer.set()
        delivery.close()
    finally:
        answer.set()
        go.set()
        thread.join(GUARD)
    assert not thread.is_alive()


@pytest.mark.parametrize("background", [True, False], ids=["background", "inline"])
def test_a_drop_racing_the_close_is_said(collector: Collector, make_delivery: MakeDelivery,
                                         caplog: pytest.LogCaptureFixture,
                                         background: bool) -> None:
    delivery = make_delivery(collector.url, buffer_length=10, max_queue_size=1,
                             flush_interval=60, background_worker_mode=background,
                             timeout=INLINE_TIMEOUT)  # (flaky62: no second POST)
    close_racing_a_drop(collector, delivery, "refused")
    stats = delivery.stats
    assert adds_up(stats) and stats["queued"] == 0, stats
    assert stats["dropped_queue_full"] == 1 and stats["sent"] == 1, stats
    assert said_dropped(caplog) == 1, [r.getMessage() for r in caplog.records]
    assert [log["_id"] for log in collector.logs] == ["kept"]
    assert API_KEY not in caplog.text


def test_a_drop_said_by_the_close_is_not_said_again(
        collector: Collector, make_delivery: MakeDelivery,
        caplog: pytest.LogCaptureFixture) -> None:
    """The late notice of the drop the close said opens no second count."""
    delivery = make_delivery(collector.url, buffer_length=10, max_queue_size=1,
                             flush_interval=60)
    close_racing_a_drop(collector, delivery, "refused")
    delivery.say_dropped()
    delivery.close()
    assert said_dropped(caplog) == 1, [r.getMessage() for r in caplog.records]


# -- 2. a deadline before the requests route's first watch ------------------------------


def held_before_the_first_watch(monkeypatch: pytest.MonkeyPatch) -> threading.Event:
    """Each POST on the requests route waits, inside its limit and before any of its
    connections joined it, until the watchdog has looked at that limit's deadline (cut
    it, or let it go: its entry at that deadline is no longer in the watchdog's heap);
    the event is set each time."""
    real = SessionPoster._send
    passed = threading.Event()

    def send(self: SessionPoster, body: bytes, seconds: tuple[float, float]) -> Any:
        running = watchdog.current()
        assert running is not None and not running.connections
        wait_until(lambda: running.fired or (
            time.monotonic() >= running.deadline
            and not any(at <= running.deadline and due is running
                        for at, _, due in list(watchdog.state.heap))))
        passed.set()
        return real(self, body, seconds)

    monkeypatch.setattr(SessionPoster, "_send", send)
    return passed


def test_a_deadline_before_the_first_watch_still_cuts_the_post(
        collector: Collector, never: threading.Event,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A POST bounded to 0.3 s, to an API that reads it and never answers. Before: the
    watchdog dropped the limit unfired, and the POST waited requests' read timeout (the
    stretch's longest, 30 s), no cut at all; now it is cut as it connects."""
    collector.default = Reply(gate=never)
    cuts = Cuts(monkeypatch)
    passed = held_before_the_first_watch(monkeypatch)
    config = MetricsApiConfig(api_key=API_KEY, grouping_function=lambda request: None,
                              metrics_api=collector.url)
    transport = Transport(config, direct=False)
    try:
        with pytest.raises(requests.Timeout):
            transport.post_logs(b"[]", 0.3, new_stretch(0.3))
    finally:
        transport.close()
    assert passed.is_set()
    assert not never.is_set()  # (the API answered nothing)
    assert True in cuts.made, cuts.made  # (before: no cut, [])


def test_a_post_held_before_its_first_watch_ends_by_the_closes_deadline(
        collector: Collector, never: threading.Event, make_delivery: MakeDelivery,
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    """The close's deadline comes while the sender's POST (requests route) has not yet
    connected: it is cut as it connects, the sender back before the API answers.
    Before: not cut at the close's deadline, nor at its own bound (120 s), it waited
    for the API's answer (the collector's gate gives up after 60 s)."""
    collector.default = Reply(gate=never)
    cuts = Cuts(monkeypatch)
    passed = held_before_the_first_watch(monkeypatch)
    delivery = make_delivery(collector.url, buffer_length=1, timeout=120.0,
                             shutdown_timeout=0.3, direct=False)
    assert delivery.submit(item("log-0"))
    delivery.close()
    delivery._pool.join(time.monotonic() + GUARD)
    assert passed.is_set()
    assert True in cuts.made, cuts.made  # (before: [])
    assert not delivery._pool.running()
    assert not never.is_set()
    stats = delivery.stats
    assert adds_up(stats) and (stats["sent"], stats["dropped_shutdown"]) == (0, 1), stats
    assert messages(caplog, logging.WARNING, "1 log not delivered")


# -- 3. a 5xx read at the close's deadline ------------------------------------------------


@ROUTES
@pytest.mark.parametrize("status", [503, 500])
def test_a_5xx_read_at_the_closes_deadline_is_not_retried(
        make_delivery: MakeDelivery, collector: Collector, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture, direct: bool, status: int) -> None:
    """The API answers a 5xx at once; the POST's thread reads that head only once the
    close cut the POST at its deadline, and acts on it before the close ends."""
    caplog.set_level(logging.DEBUG, logger="readme_metrics")
    collector.default = Reply(status=status, headers={"Retry-After": "0"})
    cuts = Cuts(monkeypatch)
    before_the_first_verdict(monkeypatch, lambda: cuts.done.wait(GUARD))
    delivery = make_delivery(collector.url, buffer_length=1, timeout=5.0,
                             shutdown_timeout=0.3, direct=direct)
    batcher = delivery._batcher
    close_ends_once_the_sender_acted(monkeypatch, batcher,
                                     ("settle", "cut_at_close", "retry_later"))
    assert delivery.submit(item("log-0"))
    delivery.close()
    delivery._pool.join(time.monotonic() + GUARD)
    assert not delivery._pool.running()
    assert cuts.done.is_set()
    stats = delivery.stats
    assert adds_up(stats), stats
    assert (stats["sent"], stats["dropped_shutdown"], stats["retries"]) == (0, 1, 0), stats
    assert (len(collector.failed), len(collector.received)) == (1, 0)
    assert not messages(caplog, logging.DEBUG, "retrying in")  # (before: "retrying in 0.00s")
    assert batcher.health.failures == 0  # (before: 1, counted after the deadline)
    said = messages(caplog, logging.WARNING, "not delivered")
    assert len(said) == 1 and "1 log not delivered" in said[0], said
    assert "may have them" not in said[0], said  # it answered: it has them not
    assert f"HTTP {status}" in said[0], said


# -- 4. a server's stop within shutdown_timeout -------------------------------------------


def test_the_close_after_the_lifespans_flush_has_no_bound_of_its_own(
        collector: Collector, never: threading.Event,
        caplog: pytest.LogCaptureFixture) -> None:
    """The API reads every POST and answers none: the lifespan's flush gives up after
    shutdown_timeout (0.5 s), and the close after it (the exit's) ends at the same
    deadline, not 0.5 s later. Before: the close's deadline was its own start plus
    0.5 s, the stop twice its bound."""
    delivery, closing = stopped_with_the_api_silent(collector, never)
    assert delivery._batcher.deadline <= closing  # (before: closing + 0.5)
    stats = delivery.stats
    # (read in full, unanswered: dropped_unknown, "0 logs not delivered, 3 unknown" since
    # delivery80)
    assert adds_up(stats) and (stats["sent"], stats["dropped_unknown"]) == (0, 3), stats
    flush = messages(caplog, logging.WARNING, "the flush at the ASGI lifespan's shutdown "
                     "gave up after shutdown_timeout (README_SHUTDOWN_TIMEOUT) of 0.5s")
    close = messages(caplog, logging.WARNING, "closing gave up after shutdown_timeout "
                     "(README_SHUTDOWN_TIMEOUT) of 0.5s: 0 logs not delivered, 3 unknown")
    assert len(flush) == 1 and len(close) == 1, [r.getMessage() for r in caplog.records]
    assert "(the same logs, not more)" in close[0], close


def test_a_log_after_the_lifespans_flush_gives_the_close_its_own_bound(
        collector: Collector, make_delivery: MakeDelivery) -> None:
    """A stop's mark holds only while no log came after it (a lifespan run again, as a
    test client does, then more calls): the close then has its own bound."""
    delivery = make_delivery(collector.url, buffer_length=10, shutdown_timeout=0.5)
    delivery.stop_begins()
    assert delivery.submit(item("later"))
    closing = time.monotonic()
    delivery.close()
    assert delivery._batcher.ends >= closing + 0.5
    assert [log["_id"] for log in collector.logs] == ["later"]


def test_a_stop_mark_older_than_its_bound_leaves_the_close_its_own(
        collector: Collector, make_delivery: MakeDelivery,
        caplog: pytest.LogCaptureFixture) -> None:
    """delivery35: a lifespan ended long ago (its mark 60 s back, no log since), logs
    still queued: the close has its whole bound and sends them (before: a deadline 59.5 s
    past, the 3 logs dropped at once "after shutdown_timeout of 0.5s")."""
    delivery = make_delivery(collector.url, buffer_length=10, shutdown_timeout=0.5)
    for n in range(3):
        assert delivery.submit(item(f"queued-{n}"))
    delivery.stop_begins()
    when, accepted = delivery._stop_began
    delivery._stop_began = (when - 60.0, accepted)
    closing = time.monotonic()
    delivery.close()
    assert delivery._batcher.ends >= closing + 0.5
    stats = delivery.stats
    assert adds_up(stats) and stats["sent"] == 3, stats
    assert sorted(log["_id"] for log in collector.logs) == [f"queued-{n}" for n in range(3)]
    assert not messages(caplog, logging.WARNING, "gave up"), caplog.text


def test_a_forked_child_forgets_the_parents_stop_mark(
        collector: Collector, make_delivery: MakeDelivery) -> None:
    """delivery35: a child's queue counts from 0 again, so a parent's mark made with no
    log (accepted 0) matched the child's and gave its close the parent's start."""
    delivery = make_delivery(collector.url, shutdown_timeout=0.5)
    delivery.stop_begins()
    delivery.after_fork_in_child()  # (what os.fork's hook runs in the child)
    assert delivery._stop_began == (math.inf, -1)


@pytest.mark.parametrize("server, stop", [("uvicorn", signal.SIGINT),
                                          ("hypercorn", signal.SIGTERM)])
def test_a_servers_stop_says_the_bound_in_one_wording(
        collector: Collector, never: threading.Event, tmp_path: Path, server: str,
        stop: signal.Signals) -> None:
    """A real server stopped after 3 calls, the API reading every POST and answering
    none: the lifespan's flush and the exit's close say the same "1s" (before: "1s",
    then "1.0s"). The stop took 5.1 s (uvicorn, Ctrl-C) and 4.5 s (hypercorn) of a
    2 s bound before, 2.7 and 3.0 s now (measured, not asserted here: see item 4)."""
    from tests.test_asgi_servers import stop_after_calls
    from tests.test_e2e_servers import API_KEY as SERVER_KEY

    collector.default = Reply(gate=never)
    said = stop_after_calls(collector, tmp_path, "fastapi_app", server, stop, 3,
                            README_SHUTDOWN_TIMEOUT="1")[1]
    lines = [line for line in said.splitlines() if "not delivered" in line]
    assert len(lines) == 2, said
    assert "the flush at the ASGI lifespan's shutdown gave up after shutdown_timeout " \
        "(README_SHUTDOWN_TIMEOUT) of 1s: 3 logs" in lines[0], said
    assert "closing gave up after shutdown_timeout (README_SHUTDOWN_TIMEOUT) of 1s: " \
        "0 logs not delivered, 3 unknown" in lines[1], said
    assert SERVER_KEY not in said
