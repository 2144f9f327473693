"""Shared parts of the transport tests: one key, both routes, a clean environment."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable

import pytest
import requests

from readme_metrics.config import MetricsApiConfig
from readme_metrics.delivery import watchdog
from readme_metrics.transport import Transport
from tests.support.fake_api import basic_auth

API_KEY = "rdme_transport_SECRET_key_4242"
#: Both routes a POST can take: ``direct`` (own sockets) and ``requests`` (the session).
ROUTES = [pytest.param(True, id="direct"), pytest.param(False, id="requests")]
_ENVIRONMENT = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY", "REQUESTS_CA_BUNDLE",
                "CURL_CA_BUNDLE")


def clear_proxy_and_bundle(monkeypatch: pytest.MonkeyPatch) -> None:
    """No proxy or CA bundle variable of the machine (either case) reaches a test."""
    for name in _ENVIRONMENT:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)


def assert_key_not_logged(records: Iterable[logging.LogRecord]) -> None:
    """No record shows the API key or its Basic token."""
    token = basic_auth(API_KEY).split()[1]
    for record in records:
        text = record.getMessage()
        assert API_KEY not in text and token not in text


def without_watchdog(monkeypatch: pytest.MonkeyPatch) -> None:
    """POSTs run as when no watchdog thread can start (a first POST at interpreter exit,
    where Python 3.12+ starts no thread): nothing cuts their sockets at the deadline."""
    def unwatched(current: watchdog.Limit) -> None:
        current.watched = False

    monkeypatch.setattr(watchdog, "_arm", unwatched)


def make_transport(metrics_api: str, direct: bool = True, **options: object) -> Transport:
    """A transport to ``metrics_api`` on the direct route (or requests with False)."""
    config = MetricsApiConfig(api_key=API_KEY, grouping_function=lambda req: None,
                              metrics_api=metrics_api, **options)  # type: ignore[arg-type]
    return Transport(config, direct=direct)


def seconds_to_time_out(transport: Transport) -> float:
    """How long a POST on ``transport`` took to fail with ``requests.Timeout`` (it must);
    the transport is closed after."""
    started = time.monotonic()
    with pytest.raises(requests.Timeout):
        transport.post_logs(b"[]")
    elapsed = time.monotonic() - started
    transport.close()
    return elapsed


def lower(headers: dict[str, str]) -> dict[str, str]:
    """Header names in lower case, for comparisons."""
    return {name.lower(): value for name, value in headers.items()}
