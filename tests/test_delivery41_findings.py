"""Calls answered while the close drains go in its remaining POSTs (delivery41).

Once the close (the exit's, a server's stop) began, every log that came was refused:
counted ``dropped_shutdown`` and said ("... of calls the server answered after the close
began ..."), never sent. Servers serve on through it: uWSGI --threads (the worker's
other threads, 20-24% of the calls of delivery40's sweep), Django's runserver at an
autoreload (903 of 2,993 calls, blackbox12). Now, in background mode, a log that comes
before the close's deadline, within the queue's bounds, goes in its remaining POSTs;
only one left waiting as it ends (after its last POST) is refused, and said as before.

Real parts: a real collector on 127.0.0.1 whose first answer is held until the late
call was answered (no timing), uWSGI (pyuwsgi) --threads 2 and runserver with its
autoreloader in subprocesses.
"""

from __future__ import annotations

import os
import re
import signal
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.support.delivery import (  # noqa: F401 (fixtures)
    MakeDelivery,
    adds_up,
    api_key_never_logged_fixture,
    clocked_batcher,
    item,
    make_delivery_fixture,
    put_log,
    take_batch,
)
from tests.support.fake_api import INLINE_TIMEOUT, Collector, Received, Reply
from tests.support.polling import wait_until
from tests.support.processes import LINE_WAIT
from tests.support.runserver import children, held_env, runserver, serving
from tests.support.uwsgi_run import NO_UWSGI, paths, uwsgi
from tests.test_blackbox12_findings import SETTINGS

_LATE_LINE = "after the close began"


def _first_held(gate: threading.Event) -> Any:
    """A judge: the first POST read and answered once ``gate`` is set; the rest at once."""
    seen = [0]
    lock = threading.Lock()

    def judge(received: Received) -> Reply:
        with lock:
            seen[0] += 1
            first = seen[0] == 1
        return Reply(gate=gate) if first else Reply()
    return judge


def _refused_while_the_close_drains(make_delivery: MakeDelivery, collector: Collector,
                                    caplog: Any, **options: Any) -> None:
    """The close's POST of ``log-0`` held by the API, ``log-1`` submitted meanwhile: it
    is refused, counted ``dropped_shutdown`` and said; the stats add up."""
    gate = threading.Event()
    collector.judge = _first_held(gate)
    # (the held POST answered past 3 s under load was sent again: flaky62)
    options.setdefault("timeout", INLINE_TIMEOUT)
    delivery = make_delivery(collector.url, buffer_length=100, shutdown_timeout=30.0,
                             **options)
    assert delivery.submit(item("log-0"))
    closing = threading.Thread(target=delivery.close, daemon=True)
    closing.start()
    collector.wait_for_logs(1)
    assert not delivery.submit(item("log-1"))
    gate.set()
    closing.join(LINE_WAIT)
    stats = delivery.stats
    assert adds_up(stats), stats
    assert (stats["sent"], stats["dropped_shutdown"]) == (1, 1), stats
    assert "1 log not delivered: of calls the server answered after the close began" \
        in caplog.text


def test_a_log_that_comes_while_the_close_drains_is_sent_in_its_next_post(
        make_delivery: MakeDelivery, collector: Collector, caplog: Any) -> None:
    """The close's POST of ``log-0`` held by the API; ``log-1`` comes meanwhile (a call
    the server answered as the close drains): it goes in the close's next POST, stats
    add up, nothing said. Before: refused, ``dropped_shutdown`` 1, said."""
    gate = threading.Event()
    collector.judge = _first_held(gate)
    # Not about the timeout: the held POST answered past 3 s (a loaded machine) was sent
    # again, ``log-0`` counted twice (at-least-once, SPEC 7; flaky62).
    delivery = make_delivery(collector.url, buffer_length=100, shutdown_timeout=30.0,
                             timeout=INLINE_TIMEOUT)
    assert delivery.submit(item("log-0"))
    closing = threading.Thread(target=delivery.close, daemon=True)
    closing.start()
    collector.wait_for_logs(1)  # (the close began: it posts what waited)
    assert delivery.submit(item("log-1"))
    gate.set()
    closing.join(LINE_WAIT)
    assert not closing.is_alive()
    assert sorted(log["_id"] for log in collector.logs) == ["log-0", "log-1"]
    stats = delivery.stats
    assert adds_up(stats), stats
    assert stats["sent"] == 2 and stats["dropped_shutdown"] == 0, stats
    assert _LATE_LINE not in caplog.text


def test_at_the_queues_bounds_while_the_close_drains_a_log_is_refused_and_said(
        make_delivery: MakeDelivery, collector: Collector, caplog: Any) -> None:
    """``max_queue_size`` 1, its one log in the close's POST (held by the API): a log
    that comes then is refused and said as before, and the stats add up."""
    _refused_while_the_close_drains(make_delivery, collector, caplog, max_queue_size=1)


def test_a_log_taken_while_draining_but_in_no_post_as_the_close_ends_is_said_late() -> None:
    """The close's bookkeeping on a fake clock: a log taken while it drains that no
    POST carried when it ends is counted with the late ones (said so), not among those
    it gave up on; one taken past the deadline is refused."""
    now = [0.0]
    queue, batcher = clocked_batcher(now, logs=1)
    assert batcher.begin_close(10.0)
    assert take_batch(queue, batcher) is not None  # (in its POST: the close's)
    put_log(batcher, "late")
    assert queue.accepted == 2
    now[0] = 10.0
    put_log(batcher, "past")  # past the deadline: refused
    assert queue.accepted == 2
    # The batch in its POST, none of it sent yet, is given up as the close ends: not
    # delivered (delivery85: left "pending", queued, by a close that ended early).
    dropped, cut = batcher.end_close()
    assert (dropped, cut) == (1, 0)
    assert batcher.refused_closing == 2
    stats = queue.stats()
    assert stats["dropped_shutdown"] == 3 and stats["queued"] == 0, stats


def test_a_log_after_the_close_ended_is_refused_and_a_second_close_changes_nothing(
        make_delivery: MakeDelivery, collector: Collector) -> None:
    """Once the close returned, a log is refused (``dropped_shutdown``), not sent; a
    close called again sends nothing more, and the stats still add up."""
    delivery = make_delivery(collector.url, buffer_length=100)
    assert delivery.submit(item("log-0"))
    delivery.close()
    assert not delivery.submit(item("late"))
    delivery.close()
    stats = delivery.stats
    assert adds_up(stats), stats
    assert (stats["sent"], stats["dropped_shutdown"]) == (1, 1), stats
    assert [log["_id"] for log in collector.logs] == ["log-0"]


def test_inline_the_close_still_refuses_what_comes_while_it_drains(
        make_delivery: MakeDelivery, collector: Collector, caplog: Any) -> None:
    """Inline mode as before: only the close's thread sends, so a log that comes while
    it drains is refused and said."""
    _refused_while_the_close_drains(make_delivery, collector, caplog,
                                    background_worker_mode=False)


@pytest.mark.e2e
@NO_UWSGI
def test_uwsgi_threads_a_call_served_during_the_stops_close_is_delivered(
        tmp_path: Path, collector: Collector) -> None:
    """uWSGI --threads 2: ``/first`` logged and held (10 a batch, no timer), then
    SIGTERM. The stop's close posts ``first`` (its answer held by the API); the worker
    serves on meanwhile: ``/late`` answered, its log goes in the close's next POST.
    Before: 1 of 2 delivered, "1 log not delivered: of calls the server answered after
    the close began" said."""
    gate = threading.Event()
    collector.judge = _first_held(gate)
    try:
        with uwsgi(tmp_path, collector, "--threads=2",
                   shutdown_timeout="30") as (process, base, output):
            assert requests.get(f"{base}/first", timeout=LINE_WAIT).status_code == 200
            process.send_signal(signal.SIGTERM)
            collector.wait_for_logs(1)  # the close began: it posted "first"
            assert requests.get(f"{base}/late", timeout=LINE_WAIT).status_code == 200
            gate.set()
            process.wait(3 * LINE_WAIT)
    finally:
        gate.set()
    said = output.read_text(errors="replace")
    assert sorted(paths(collector)) == ["first", "late"], said
    assert _LATE_LINE not in said, said


@pytest.mark.e2e
def test_runserver_at_a_reload_delivers_the_calls_it_serves_on_during_the_close(
        collector: Collector, tmp_path: Path) -> None:
    """runserver with its autoreloader: 3 calls logged (1,000 a batch), then a file
    changed: the old child's exit posts them (the API holds the answer), runserver
    serves on: 4 calls answered meanwhile, then the answer let go. All 7 delivered, no
    late line. Before: the 4 refused, said "4 logs not delivered: of calls the server
    answered after the close began"."""
    gate = threading.Event()
    collector.judge = _first_held(gate)
    (tmp_path / "bb12_settings.py").write_text(SETTINGS)
    env = held_env(collector, tmp_path, "30", DJANGO_SETTINGS_MODULE="bb12_settings",
                   README_GROUPING_FUNCTION="tests.support.e2e_apps.django_grouping",
                   README_TIMEOUT=str(INLINE_TIMEOUT))  # (held past 3 s: sent twice)
    with serving(runserver(), env, tmp_path, "runserver.log") as server:
        try:
            child = children(server.process.pid)
            assert len(child) == 1, child
            server.call([f"n{n}" for n in range(3)])
            later = time.time() + 10
            os.utime(tmp_path / "bb12_settings.py", (later, later))
            collector.wait_for_logs(3, timeout=60)  # the old child's close posted them
            server.call([f"late{n}" for n in range(4)])
            gate.set()
            collector.wait_for_logs(7, timeout=60)
            wait_until(lambda: not os.path.exists(f"/proc/{child[0]}"), timeout=60)
        finally:
            gate.set()  # (before the server's stop: its close may wait on the answer)
    said = server.said()
    names = sorted(re.search(r"name=(\w+)", entry["request"]["log"]["entries"][0][
        "request"]["url"]).group(1) for entry in collector.logs)  # type: ignore[union-attr]
    assert names == ["late0", "late1", "late2", "late3", "n0", "n1", "n2"], said
    assert _LATE_LINE not in said, said
