"""flaky37: in inline mode, a log queued during the inline sender's last turn is posted.

Inline mode (``background_worker_mode=False``) posts from the request thread; a request
that finds another one posting leaves a note, and that sender takes another turn for it,
``INLINE_TAKEOVERS`` more at most (a request thread is not held for good under steady
traffic). A request that came during the last of those turns was left for "the next
request": in tests/test_e2e_servers.py's test_framework_under_server (granian, gunicorn
gthread, under load) the test sends its next request as soon as the last log reached the
collector, before the POST's answer reached the server: a chain of four such requests
ended the turns, and the fifth log waited for the server's exit while the test waited
30 s for it. Now the sender that ends its turns with a note left hands the turn to a
thread of its own, which posts what waits.

The chain is forced here: the collector, holding each POST unanswered, submits the next
log (from its handler thread: another request's thread, turned away by the sender in
its POST), as the e2e test's next request came.
"""

from __future__ import annotations

from readme_metrics.delivery.core import INLINE_TAKEOVERS
from tests.support.delivery import (
    MakeDelivery,
    adds_up,
    api_key_never_logged_fixture,  # noqa: F401 - autouse
    ids,
    item,
    make_delivery_fixture,  # noqa: F401 - ``make_delivery``
)
from tests.support.fake_api import Collector, Received, Reply


def test_a_log_queued_in_the_inline_senders_last_turn_is_posted_without_another_request(
        collector: Collector, make_delivery: MakeDelivery) -> None:
    names = [f"log-{index}" for index in range(INLINE_TAKEOVERS + 2)]
    delivery = make_delivery(collector.url, buffer_length=1, background_worker_mode=False,
                             flush_interval=3600)
    turned_away: list[str] = []
    chained = iter(names[1:])

    def judge(received: Received) -> Reply:
        # The POST in hand is the sender's turn: the next request comes now (a thread
        # other than the sender's, which holds the inline turn until this answer).
        name = next(chained, None)
        if name is not None:
            turned_away.append(name)
            delivery.submit(item(name))
        return Reply()

    collector.judge = judge
    delivery.submit(item(names[0]))  # one sender's turns: its own, INLINE_TAKEOVERS more
    assert turned_away == names[1:]  # each came while a POST of that sender was open
    # Every log posted, the last one too, with no request after it (before: the first
    # 1 + INLINE_TAKEOVERS only, the last queued until a later request, a flush or the exit)
    posts = collector.wait_for_posts(len(names))
    assert [ids(post.json()) for post in posts] == [[name] for name in names]
    assert delivery.flush(timeout=5)
    assert delivery.stats["sent"] == len(names) and delivery.stats["queued"] == 0
    assert adds_up(delivery.stats)
