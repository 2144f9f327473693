"""Findings of a second newcomer's walk through README: each test failed on the code of
its day.

The messages after the mistakes a first hour makes: the key's variable named otherwise
(``README_METRICS_API_KEY``), the collector's address without its ``http://``, a grouping
function returning the caller's key itself, and no collector listening at the loopback
URL the app was given (not started, or another port).
"""

from __future__ import annotations

import logging
from typing import Any

import pytest

from readme_metrics import MetricsApiConfig, MetricsMiddleware
from tests.support.delivery import (
    MakeDelivery,
    item,
    make_delivery_fixture,  # noqa: F401 - ``make_delivery``
    messages,
)
from tests.support.polling import wait_until
from tests.support.ports import free_port


@pytest.mark.parametrize("name", ["README_METRICS_API_KEY", "README_KEY", "README_TOKEN"])
def test_a_missing_key_names_the_key_variables_that_are_set(
        monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    # "api_key is required: ... set README_API_KEY" while README_METRICS_API_KEY was set:
    # too far from README_API_KEY for the near-miss warning, and nothing said it was seen.
    for variable in ("README_API_KEY", "README_METRICS_ENABLED"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv(name, "the-secret-value")
    with pytest.raises(ValueError) as caught:
        MetricsApiConfig(grouping_function=lambda request: None)
    message = str(caught.value)
    assert f"{name} is set" in message and "README_API_KEY" in message, message
    assert "the-secret-value" not in message


@pytest.mark.parametrize("given, meant", [
    ("127.0.0.1:8001", "http://127.0.0.1:8001"),
    ("localhost:8001", "http://localhost:8001"),
    ("metrics.example.com", "https://metrics.example.com"),
])
def test_a_url_without_its_scheme_says_the_url_meant(given: str, meant: str) -> None:
    # README_METRICS_SERVER=127.0.0.1:8001 (copied from the collector's "listening on"
    # line without its scheme) said only "must be an http(s) URL, got '127.0.0.1:8001'".
    with pytest.raises(ValueError) as caught:
        MetricsApiConfig(api_key="any-key", grouping_function=lambda request: None,
                         metrics_api=given)
    assert f"did you mean {meant!r}?" in str(caught.value), str(caught.value)


def _hello(environ: Any, start_response: Any) -> list[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"hello"]


def test_a_grouping_function_returning_the_key_itself_says_what_to_return(
        caplog: pytest.LogCaptureFixture) -> None:
    # return request.headers.get("X-Api-Key"): "must return a mapping or None, got str",
    # without the shape to return.
    from werkzeug.test import Client

    app = MetricsMiddleware(_hello, MetricsApiConfig(
        api_key="any-key", metrics_api="http://127.0.0.1:9", base_log_url=None,
        grouping_function=lambda request: request.headers.get("X-Api-Key")))
    caplog.set_level(logging.ERROR, logger="readme_metrics")
    Client(app).get("/", headers={"X-Api-Key": "owlbert-key"}, buffered=True)
    app.close()
    (message,) = [r.getMessage() for r in caplog.records if "grouping" in r.getMessage()]
    assert "got str" in message and '{"api_key": ' in message, message
    assert "owlbert-key" not in message


def _closed_port() -> int:
    """A port nothing listens on during the test: from this xdist worker's share below
    the ephemeral range (tests/support/ports.py). One bound on port 0 and closed could be
    handed to the other worker's collector meanwhile, which would then answer."""
    return free_port()


def test_nothing_listening_on_a_loopback_url_says_to_start_the_collector(
        make_delivery: MakeDelivery, caplog: pytest.LogCaptureFixture) -> None:
    # README_METRICS_SERVER=http://127.0.0.1:8001 with no `readme-metrics collect`
    # running (or on another port): "could not deliver ... (ConnectionError:
    # ConnectionRefusedError ...)", with no word of the collector the URL was meant for.
    port = _closed_port()
    url = f"http://127.0.0.1:{port}"
    delivery = make_delivery(url, buffer_length=1,
                             max_down_attempts=5)  # given up sooner: the same words
    delivery.submit(item("a"))
    wait_until(lambda: delivery.stats["dropped"] == 1)
    # The first warning, "3 POSTs in a row ... failed", says it; the one that drops the
    # batch then says it in short (newcomer24: the fix said once).
    (warning,) = messages(caplog, logging.WARNING, "POSTs in a row")
    assert "ConnectionRefusedError" in warning, warning
    assert "nothing listens there" in warning and "readme-metrics collect" in warning, (
        warning)
    (dropped,) = messages(caplog, logging.WARNING, "could not deliver")
    assert dropped.endswith(f"after 8 attempts (the same: nothing listens at 127.0.0.1:"
                            f"{port}, see above); dropping it"), dropped
