"""A newcomer's first hour, fifth pass: README's quick starts followed in a fresh clone
and a fresh virtualenv, pointed at ``readme-metrics collect``, then the usual mistakes
(a variable guessed, the wrong middleware for the app, a proxy in the shell, the
extension never given its app) and what the library says about each.

Each test is one thing tried there, written down with the library's real parts (real
configuration, collector, apps and servers); none passed before its fix.
"""

from __future__ import annotations

import logging
from typing import Any

import pytest

from readme_metrics import MetricsApiConfig
from tests.support.delivery import (
    MakeDelivery,
    item,
    make_delivery_fixture,  # noqa: F401 - ``make_delivery``
    messages,
)
from tests.support.fake_api import Collector, Reply
from tests.support.polling import wait_until


def grouping(request: Any) -> None:
    return None


def _said(caplog: pytest.LogCaptureFixture, logger: logging.Logger) -> list[str]:
    return [record.getMessage() for record in caplog.records if record.name == logger.name]


@pytest.mark.parametrize("name", ["README_METRICS_DISABLED", "README_METRICS_DISABLE",
                                  "README_DISABLE", "readme_metrics_disabled"])
def test_a_disabled_variable_is_said_to_be_the_opposite_of_enabled(
        caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch,
        name: str) -> None:
    """``README_METRICS_DISABLED=true`` (to turn metrics off in tests) was answered "did
    you mean README_METRICS_ENABLED?" without the sense being turned round, which
    README_DISABLED gets: copied as ``README_METRICS_ENABLED=true`` it kept metrics on."""
    monkeypatch.setenv(name, "true")
    logger = logging.getLogger(f"newcomer5-opposite-{name}")  # warned once per logger
    caplog.set_level(logging.WARNING)
    MetricsApiConfig(api_key="any-key", grouping_function=grouping, logger=logger)
    upper = name.upper()
    assert _said(caplog, logger) == [
        f"readme_metrics: {name} (set in the environment) is no variable of this library "
        f"and is ignored: did you mean README_METRICS_ENABLED (the opposite: {upper}=true "
        "is README_METRICS_ENABLED=false)?"]


def test_a_refused_api_key_names_where_the_logs_were_posted(
        collector: Collector, make_delivery: MakeDelivery,
        caplog: pytest.LogCaptureFixture) -> None:
    """A newcomer whose README_METRICS_SERVER did not reach the app (set in the other
    terminal, or in a .env elsewhere) posts ``any-key`` to ReadMe, which refuses it; the
    error said only "the Metrics API refused the API key (HTTP 401 Unauthorized)", read
    as the local collector's doing (it takes any key). It now says where the POST went,
    as the warning for a rejected batch does."""
    collector.replies.append(Reply(401, b'{"error":"bad key"}'))
    delivery = make_delivery(collector.url, buffer_length=1)
    delivery.submit(item("a"))
    wait_until(lambda: delivery.stats["dropped_auth"] == 1)
    assert messages(caplog, logging.ERROR, "refused the API key") == [
        f"readme_metrics: the Metrics API at {collector.url}/v1/request refused the API key "
        "(HTTP 401 Unauthorized): the api_key (README_API_KEY) is wrong or revoked. Logs "
        "are dropped for the next 60.0s."]
