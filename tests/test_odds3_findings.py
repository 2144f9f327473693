"""odds3's items: each test failed on main at 0293130 and passes with its fix, under
real parts (the collector on 127.0.0.1)."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from tests.support.delivery import API_KEY as DELIVERY_KEY
from tests.support.delivery import (  # noqa: F401 - fixtures
    adds_up,
    api_key_never_logged_fixture,
    build_id,
    ids,
    item,
    make_delivery_fixture,
    messages,
)
from tests.support.fake_api import Collector

# -- 1. a build error whose own text cannot be made ------------------------------------


class _Unshowable(Exception):
    """A build error whose str() raises, with the API key in that second error."""

    def __str__(self) -> str:
        raise RuntimeError(f"cannot show the error of a log for {DELIVERY_KEY}")


def _build_or_fail(pending: Any) -> dict:
    if pending.to_exchange().id == "unshowable":
        raise _Unshowable()
    return build_id(pending)


@pytest.mark.parametrize("background", [pytest.param(True, id="background"),
                                        pytest.param(False, id="inline")])
def test_a_build_error_whose_text_raises_drops_that_log_alone(
        collector: Collector, make_delivery: Any, caplog: pytest.LogCaptureFixture,
        background: bool) -> None:
    """The log line of a build error was made with ``str(exc)`` outside any guard: when
    that raised, the error left the batch's encoding and the whole batch (the three good
    logs with it) was dropped as an "unexpected delivery error"."""
    delivery = make_delivery(collector.url, _build_or_fail, buffer_length=4,
                             background_worker_mode=background)
    for name in ("ok-1", "unshowable", "ok-2", "ok-3"):  # one batch of four
        assert delivery.submit(item(name))
    delivery.flush(5.0)  # inline, the fourth submit sent the batch already

    assert sorted(ids(collector.logs)) == ["ok-1", "ok-2", "ok-3"]
    stats = delivery.stats
    assert stats["sent"] == 3 and stats["dropped_build_error"] == 1, stats
    assert stats["dropped"] == 1 and adds_up(stats), stats
    # Said as Python's own tracebacks say it; the key (in the second error) is in neither
    # line (the autouse fixture checks every record).
    assert messages(caplog, logging.ERROR, "could not build a log") == [
        "readme_metrics: could not build a log, dropping it: "
        "_Unshowable: <exception str() failed>"]
    assert not messages(caplog, logging.ERROR, "unexpected delivery error")
