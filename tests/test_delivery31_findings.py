"""delivery31: what a close says of the POSTs it cuts, and the close a release() begins.

Through ``requests``, a POST the close cut at its deadline once sent could come back as
a connect timeout, its log said "not delivered" alone (the API may have it): the
watchdog set ``fired``, shut the socket down, and only then noted that it was connected;
the thread in the POST, woken by the shut-down socket, could read ``fired`` before that
note, and took the cut for one while connecting. Now the note comes first, and the
close's count follows the cut as the watchdog saw it (``watchdog.last_cut``), not the
error the POST's thread met.

A close begun by the middleware being collected (``Delivery.release``, a finalizer) was
begun by the first sender back from its POST: those in flight kept their stretched
bound (up to 60 s) past its deadline, and none ended them by it. Now the watchdog
thread begins it at once, and every close ends the POSTs in flight the same way
(``Batcher.on_close``: ``Attempt.close_begins``).
"""

from __future__ import annotations

import logging
import threading
from typing import Any

import pytest

from readme_metrics.delivery import session, watchdog
from readme_metrics.delivery.batcher import Batcher
from tests.support.delivery import (
    MakeDelivery,
    api_key_never_logged_fixture,  # noqa: F401 - autouse
    make_delivery_fixture,  # noqa: F401 - ``make_delivery``
    messages,
    never_fixture,  # noqa: F401 - ``never``
)
from tests.support.fake_api import Collector
from tests.support.polling import wait_until
from tests.support.watchdog_points import patch_cut
from tests.test_delivery29_findings import GUARD, _close_on_a_black_hole

CUT = ("readme_metrics: closing gave up after shutdown_timeout (README_SHUTDOWN_TIMEOUT) "
       "of 0.5s: 0 logs not delivered, 1 unknown (in POSTs sent in full, cut unanswered: "
       "the Metrics API may have them)")  # (delivery80: "1 log not delivered (1 of them")


@pytest.fixture
def post_thread_first(monkeypatch: pytest.MonkeyPatch) -> threading.Event:
    """The order the fresh CI met once, made certain on the requests route: the
    watchdog, having shut a connection's socket down, returns from ``watchdog.cut`` only
    once the thread in the POST has turned its failed read into the POST's error
    (``requests_error``, its arguments read from the limit); and the close ends only
    once that thread has counted its batch (not counted by the close as still in
    flight). Set once the POST's error was made."""
    raised = threading.Event()
    cut = watchdog.cut
    made = session.requests_error
    end_close = Batcher.end_close

    def cut_then_wait(connection: Any) -> bool:
        connected = cut(connection)
        raised.wait(GUARD)  # (a guard: the POST's thread sets it at once)
        return connected

    def requests_error(*args: Any, **kwargs: Any) -> Exception:
        try:
            return made(*args, **kwargs)
        finally:
            raised.set()

    def end_once_counted(batcher: Batcher, *args: Any, **kwargs: Any) -> tuple[int, int]:
        wait_until(lambda: not batcher.queue.in_flight, timeout=GUARD)
        return end_close(batcher, *args, **kwargs)

    patch_cut(monkeypatch, cut_then_wait)
    monkeypatch.setattr(session, "requests_error", requests_error)
    monkeypatch.setattr(Batcher, "end_close", end_once_counted)
    return raised


def test_a_post_cut_at_the_close_once_sent_is_said_so_whichever_thread_runs_first(
        make_delivery: MakeDelivery, collector: Collector, never: threading.Event,
        post_thread_first: threading.Event, caplog: pytest.LogCaptureFixture) -> None:
    """Through requests, the POST the API read and never answered, cut at the close's
    deadline, its thread running before the watchdog is back from the cut: its log is
    said to be in a POST cut at the close (the API may have it). Main: "1 log not
    delivered" alone, counted as never sent (a connect timeout to the POST's thread)."""
    caplog.set_level(logging.DEBUG, logger="readme_metrics")
    _close_on_a_black_hole(make_delivery, collector, never, direct=False)
    assert post_thread_first.is_set()  # the order this test is about did happen
    said = messages(caplog, logging.WARNING, "closing gave up")
    assert said == [CUT], said


@pytest.mark.parametrize("direct", [True, False], ids=["direct", "requests"])
@pytest.mark.parametrize("how", ["close", "release"])
def test_every_close_ends_the_posts_in_flight_by_its_deadline(
        make_delivery: MakeDelivery, collector: Collector, never: threading.Event,
        caplog: pytest.LogCaptureFixture, how: str, direct: bool) -> None:
    """The bound stretched to 20 s, one log in a POST the API read and never answers,
    the only sender in it; then ``close()``, or ``release()`` as the middleware's
    finalizer calls it (``shutdown_timeout`` 0.5 s): that POST is cut at the close's
    deadline, its log dropped at shutdown and said to be in a POST cut at the close.
    Main, release: nobody began the close until the sender was back, the POST cut at
    its own bound (20 s, or later: the API taken for slow) instead."""
    caplog.set_level(logging.DEBUG, logger="readme_metrics")
    delivery, _, running = _close_on_a_black_hole(make_delivery, collector, never, direct,
                                                  release=how == "release")
    assert running.fired and running.cut_at == delivery._batcher.deadline, (
        running.cut_at - running.began, delivery._batcher.deadline - running.began)
    said = messages(caplog, logging.WARNING, "closing gave up")
    assert said == [CUT], said

