"""odds5's items: each test failed on main at d4145a4 and passes with its fix, under
real parts (the collector on 127.0.0.1, real Django and WSGI apps, real forks)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.delivery import (  # noqa: F401 - fixtures
    adds_up,
    api_key_never_logged_fixture,
    build_id,
    ids,
    item,
    make_delivery_fixture,
)
from tests.support.fake_api import Collector
from tests.support.polling import wait_until

# -- 1. flush() after a log of the batch could not be built --------------------------------


def _build_or_fail(pending: Any) -> dict:
    if pending.to_exchange().id.startswith("bad"):
        raise ValueError("this log cannot be built")
    return build_id(pending)


@pytest.mark.parametrize("background", [pytest.param(True, id="background"),
                                        pytest.param(False, id="inline")])
def test_flush_says_false_for_a_log_dropped_before_it_was_called(
        collector: Collector, make_delivery: Any, background: bool) -> None:
    """Inline, a full batch is sent by the request that fills it: a log of it that could
    not be built was dropped before the flush at the end of the invocation, which found
    nothing waiting and said True (background mode too, once the sender was done). The
    flush answers for every log since the last flush's answer: False here, once."""
    delivery = make_delivery(collector.url, _build_or_fail, buffer_length=2,
                             background_worker_mode=background)
    assert delivery.submit(item("ok-1"))
    assert delivery.submit(item("bad-1"))  # the batch of two goes (inline: right here)
    wait_until(lambda: delivery.stats["queued"] == 0)
    assert delivery.stats["dropped_build_error"] == 1
    assert delivery.flush(5.0) is False
    assert delivery.flush(5.0) is True  # said once: nothing dropped since
    assert delivery.submit(item("ok-2"))
    assert delivery.flush(5.0) is True
    assert delivery.submit(item("ok-3"))
    assert delivery.submit(item("bad-2"))
    wait_until(lambda: delivery.stats["queued"] == 0)
    assert delivery.flush(5.0) is False
    assert sorted(ids(collector.logs)) == ["ok-1", "ok-2", "ok-3"]
    assert adds_up(delivery.stats)
