"""delivery52: in inline mode, the logs split off a full batch wait for no later request.

Inline mode (``background_worker_mode=False``) posts a full batch from the request that
fills it. Past one POST's caps (``max_post_bytes``: large logs, or after a 413 lowered
it) the batch goes in parts: the POST takes what fits (the cut by captured bytes, or the
encode by JSON, which leaves the rest first in line as a batch of its own). Before, the
request thread then looked only for a full batch or an overdue partial one among the
logs not yet cut: the rest of a batch that was due (fewer than ``buffer_length``, not
overdue yet) waited for the next request or a flush, however long the quiet that came
(SPEC 7: a POST as soon as ``buffer_length`` logs wait). The exit's flush sent them:
none lost at a stop. Now the sender takes another turn for them, as for a note
(``INLINE_TAKEOVERS`` bounds a request's turns as before).
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.delivery import (
    MakeDelivery,
    adds_up,
    api_key_never_logged_fixture,  # noqa: F401 - autouse
    build_id,
    ids,
    item,
    make_delivery_fixture,  # noqa: F401 - ``make_delivery``
)
from tests.support.fake_api import Collector


def _padded(pending: Any) -> dict:
    """A log whose JSON is larger than its captured bytes (as a body's escapes make it)."""
    return {**build_id(pending), "pad": "p" * 3000}


@pytest.mark.parametrize("by", ["captured", "json"])
def test_inline_mode_the_rest_of_a_full_batch_past_a_posts_cap_goes_at_once(
        collector: Collector, make_delivery: MakeDelivery, by: str) -> None:
    logs = [item(name, b"x" * 1000) for name in "abcd"]
    captured = sum(log.nbytes for log in logs)
    delivery = make_delivery(collector.url, _padded if by == "json" else build_id,
                             buffer_length=4, background_worker_mode=False,
                             flush_interval=3600)  # (the quiet after: longer than this)
    # "captured": the cut takes half the batch; "json": the cut takes it all, the encode
    # half of it (the JSON of two logs fits, not that of three).
    delivery._queue.max_post_bytes = captured // 2 if by == "captured" else 7000
    for log in logs:
        delivery.submit(log)  # the fourth fills the batch: posted before submit returns
    # Every log of the full batch posted by the request that filled it, in two POSTs
    # (before: a and b only, c and d queued until a later request or a flush)
    assert [ids(post.json()) for post in collector.received] == [["a", "b"], ["c", "d"]]
    assert delivery.stats["queued"] == 0 and delivery.stats["sent"] == 4
    assert adds_up(delivery.stats)
