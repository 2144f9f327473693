"""odds3's items: each test failed on main at 0293130 and passes with its fix, under
real parts (the collector on 127.0.0.1)."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from readme_metrics import MetricsApiConfig
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


# -- 2. README_TRUSTED_PROXIES=true ------------------------------------------------------

_COUNT_HINT = ("it is the number of reverse proxies in front of the app, not a flag "
               "(1 for one load balancer, 0 for none)")


@pytest.mark.parametrize("environment, argument, message", [
    pytest.param("true", None, "trusted_proxies (README_TRUSTED_PROXIES) must be an integer "
                 ">= 0, got 'true' (from the environment): " + _COUNT_HINT, id="env-true"),
    pytest.param("yes", None, "trusted_proxies (README_TRUSTED_PROXIES) must be an integer "
                 ">= 0, got 'yes' (from the environment): " + _COUNT_HINT, id="env-yes"),
    pytest.param(None, True, "trusted_proxies (README_TRUSTED_PROXIES) must be an int >= 0, "
                 "got the bool True: " + _COUNT_HINT, id="argument-true"),
    # Not a flag: as before, no hint.
    pytest.param("one", None, "trusted_proxies (README_TRUSTED_PROXIES) must be an integer "
                 ">= 0, got 'one' (from the environment)", id="env-word"),
    pytest.param(None, -1, "trusted_proxies (README_TRUSTED_PROXIES) must be an integer "
                 ">= 0, got -1", id="argument-negative"),
])
def test_trusted_proxies_given_as_a_flag_says_it_is_a_count(
        monkeypatch: pytest.MonkeyPatch, environment: str, argument: Any,
        message: str) -> None:
    """README_TRUSTED_PROXIES=true got the bare "must be an integer >= 0", which does not
    say what the number counts."""
    if environment is not None:
        monkeypatch.setenv("README_TRUSTED_PROXIES", environment)
    given = {} if argument is None else {"trusted_proxies": argument}  # None wins over env
    with pytest.raises(ValueError) as raised:
        MetricsApiConfig(api_key="rdme_key", grouping_function=lambda req: None, **given)
    assert str(raised.value) == "readme_metrics: " + message
