"""delivery26: a POST taken for lost by :func:`watchdog.cut_lost` is waited as the
watchdog's sparing would wait it (:meth:`Stretch.spare`), and a spared one still
unanswered ends the sparing (:meth:`Stretch.spared_lost`).

Before, ``cut_lost`` marked lost every unanswered POST begun before a fast answer, moving
only the deadlines later than ``timeout``: one whose bound ended sooner (3 s) was cut at
it and never spared, though the tail learned was 8 s (its wait 16 s), and a spared one
it marked was cut as lost without starting ``QUIET``. Real sockets on 127.0.0.1 and the
real watchdog thread; no timed assertion (a cut is waited for by the read it ends).
"""

from __future__ import annotations

import math
import socket
import threading
import time
import types
from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from readme_metrics.delivery import Delivery, watchdog, worker
from tests.support.delivery import (
    MakeDelivery,
    api_key_never_logged_fixture,  # noqa: F401 - autouse
    make_delivery_fixture,  # noqa: F401 - ``make_delivery``
    new_stretch,
)
from tests.support.fake_api import Collector
from tests.test_exit16_findings import every_log_in_a_post_at_once


class _Connection:
    """What the watchdog cuts: a connected socket (as the transport's connections)."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.connecting = False


@pytest.fixture
def dead_line() -> Iterator[socket.socket]:
    """A connection to a server on 127.0.0.1 that reads and never answers."""
    server = socket.create_server(("127.0.0.1", 0))
    client = socket.create_connection(server.getsockname()[:2])
    client.settimeout(60.0)  # (only if the watchdog never cuts it: the test then fails)
    accepted, _ = server.accept()
    try:
        yield client
    finally:
        for sock in (client, accepted, server):
            sock.close()


def _cut(sock: socket.socket) -> None:
    """Wait until the watchdog shuts the socket down (the read ends, no answer came)."""
    try:
        assert sock.recv(1) == b""
    except OSError:
        pass


def test_a_post_taken_for_lost_before_its_bound_waits_the_tails_wait(
        dead_line: socket.socket) -> None:
    """Tail learned (a 0.3 s answer, ``timeout`` 0.2 s: its wait 0.6 s), a POST bounded to
    ``timeout`` taken for lost by a later fast answer is waited 0.6 s, as the watchdog
    spares one at its bound; unanswered then, it was lost indeed: the tail is forgotten
    and ``QUIET`` starts. Before: cut at 0.2 s, the tail kept, no quiet."""
    stretch = new_stretch(0.2)
    stretch.answered(began=0.0, took=0.3, bound=0.4)
    waited = stretch.lost_wait()
    assert waited == pytest.approx(0.6)
    with watchdog.limit(0.2, _Connection(dead_line), stretch) as current:
        watchdog.cut_lost(stretch, current.began + 0.01, waited)
        assert current.deadline == pytest.approx(current.began + waited)
        assert current.lost and current.spared
        _cut(dead_line)
    assert current.fired
    assert stretch.tail == 0.0 and stretch.quiet_until > -math.inf


def test_a_spared_post_keeps_its_wait_and_ends_the_sparing_if_unanswered(
        dead_line: socket.socket) -> None:
    """A POST taken for lost at its bound is spared by the watchdog (the tail's wait);
    a fast answer meanwhile (``cut_lost`` with ``timeout``) leaves it so, and cut there
    unanswered it ends the sparing. Before: marked lost, cut at once, and no
    ``spared_lost`` (the sparing went on, every dead POST waited the tail)."""
    stretch = new_stretch(0.2)
    stretch.answered(began=0.0, took=0.3, bound=0.4)
    with watchdog.limit(0.2, _Connection(dead_line), stretch) as current:
        stretch.answered(began=current.began + 0.001, took=0.01, bound=0.2)  # fast: lost
        for _ in range(6000):  # (until the watchdog spares it at its bound)
            if current.spared:
                break
            time.sleep(0.005)
        assert current.spared and not current.fired
        spared_until = current.deadline
        watchdog.cut_lost(stretch, current.began + 0.01, stretch.timeout)
        assert current.deadline == spared_until and not current.lost
        _cut(dead_line)
    assert current.fired
    assert stretch.tail == 0.0 and stretch.quiet_until > -math.inf


@settings(max_examples=200, deadline=None)
@given(bound=st.floats(20.0, 100.0), waited=st.floats(20.0, 100.0),
       until=st.one_of(st.just(math.inf), st.floats(20.0, 200.0)))
def test_cut_lost_waits_each_post_taken_for_lost_its_wait(
        bound: float, waited: float, until: float) -> None:
    """Whatever its bound: a POST taken for lost is cut once it has waited ``waited``
    (never past a flush's or the exit's deadline); waited beyond its bound, it counts as
    spared. (Bounds far ahead: the watchdog cuts nothing while it runs.)"""
    stretch = new_stretch(3.0)
    with watchdog.limit(bound, None, stretch, until=time.monotonic() + until) as current:
        if current.deadline > current.until:
            current.deadline = current.until
        before = current.deadline
        watchdog.cut_lost(stretch, current.began + 1.0, waited)
        assert current.lost
        assert current.deadline == min(current.began + waited, current.until)
        assert current.spared == (current.deadline > before)


def test_flush_posts_every_batch_waiting_behind_busy_senders_at_once(
        collector: Collector, make_delivery: MakeDelivery) -> None:
    """SPEC 2: ``flush()`` sends everything queued now. Four senders each hold a POST of
    160 logs (the API has not answered) and 1,100 logs wait: the flush's sender takes a
    POST's worth (500) and, as at close() (exit16), starts another for what is left,
    which starts the one after: every log in a POST while the API holds its answers.
    Before: the flush started one sender only, and 600 logs waited for an answer."""
    flushed: list[bool] = []
    every_log_in_a_post_at_once(collector, make_delivery,
                                lambda delivery: flushed.append(delivery.flush(60.0)))
    assert flushed == [True]


def test_close_where_no_thread_can_start_posts_in_the_closing_thread(
        collector: Collector, make_delivery: MakeDelivery,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Python 3.12+ at interpreter exit: no thread can start. close()'s sender for the
    POST's worth beyond its own (exit16's ``claim_beside``) does not start, and nothing
    raises: the closing thread posts 500 logs beside the four busy senders, and the rest
    goes once the API answers, every log once, stats exact. A guard (this machine runs
    3.11, whose exit still starts threads): passes before delivery26 too."""
    failed: list[str] = []

    class NoStart(threading.Thread):
        def start(self) -> None:
            failed.append(self.name)
            raise RuntimeError("can't create new thread at interpreter shutdown")

    def close(delivery: Delivery) -> None:
        monkeypatch.setattr(worker, "threading", types.SimpleNamespace(
            **{**vars(threading), "Thread": NoStart}))
        delivery.close()

    every_log_in_a_post_at_once(collector, make_delivery, close, posted=(640 + 500, 5))
    assert failed  # (it tried: the guard is what was run)
