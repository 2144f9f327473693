"""delivery26: ``flush()`` starts a sender for each POST's worth waiting behind busy
senders, as ``close()`` does (exit16), and ``close()`` where no thread can start posts in
the closing thread.

(delivery26 also waited each POST ``watchdog.cut_lost`` takes for lost as long as the
sparing would; review92 found that it held the logs of a connection that had really died
up to 16 s instead of 3: with ``max_queue_size`` 3,000, 22,000 to 22,900 of 35,000
delivered instead of 28,400, and a ``close()`` right after such a phase gave up on 946
more logs. Fewer duplicates are not worth lost logs: reverted, its tests with it.)
"""

from __future__ import annotations

import pytest

from readme_metrics.delivery import Delivery
from readme_metrics.delivery.core import WORKER_NAME
from readme_metrics.delivery.inline import FLUSH_HELPER_NAME
from tests.support.delivery import (
    MakeDelivery,
    api_key_never_logged_fixture,  # noqa: F401 - autouse
    make_delivery_fixture,  # noqa: F401 - ``make_delivery``
)
from tests.support.fake_api import Collector
from tests.support.threads import AT_EXIT, no_thread_starts
from tests.test_exit16_findings import every_log_in_a_post_at_once


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
    refused: list[list[str]] = []

    def close(delivery: Delivery) -> None:
        # (Every thread of the close that posts: the senders and, since
        # delivery39/review120, the exit's helpers posting side by side.)
        refused.append(no_thread_starts(monkeypatch, WORKER_NAME, FLUSH_HELPER_NAME,
                                        message=AT_EXIT))
        delivery.close()

    every_log_in_a_post_at_once(collector, make_delivery, close, posted=(640 + 500, 5))
    assert refused[0]  # (it tried: the guard is what was run)
