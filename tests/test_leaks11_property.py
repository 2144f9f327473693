"""A generative leak hunt over the whole pipeline (SPEC 6): one secret planted where a
server framework reads it as a denied field (or the caller's key in X-Api-Key or
Authorization), nested up to three carriers deep in random encodings
(tests/support/leak_carriers.py), posted through the real WSGI middleware to a real
collector on 127.0.0.1; the posted batches must never spell it.

The committed example count is small (a few seconds); ``LEAKS11_EXAMPLES=5000`` runs
the long hunt.
"""

from __future__ import annotations

import os
from typing import Iterator

import pytest
from hypothesis import HealthCheck, given, settings

from readme_metrics import MetricsApiConfig, MetricsMiddleware
from tests.support.contract import exchange, reading_app
from tests.support.fake_api import INLINE_TIMEOUT, Collector
from tests.support.leak_carriers import DENIED, Planted, api_key_caller, planted_requests, spelled

EXAMPLES = int(os.environ.get("LEAKS11_EXAMPLES", "60"))


@pytest.fixture(scope="module")
def site() -> Iterator[tuple[Collector, MetricsMiddleware]]:
    collector = Collector().start()
    middleware = MetricsMiddleware(reading_app(), MetricsApiConfig(
        api_key="rdme_leaks11_key", metrics_api=collector.url, denylist=DENIED,
        grouping_function=api_key_caller, buffer_length=1, background_worker_mode=False,
        timeout=INLINE_TIMEOUT))
    try:
        yield collector, middleware
    finally:
        middleware.close()
        collector.stop()


@settings(max_examples=EXAMPLES, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(planted=planted_requests())
def test_a_planted_secret_never_leaves_in_any_spelling(
        site: tuple[Collector, MetricsMiddleware], planted: Planted) -> None:
    collector, middleware = site
    before = len(collector.received)
    exchange(middleware, collector, **planted.request())
    batches = [r.body for r in collector.received[before:] if r.path == "/v1/request"]
    assert spelled(batches, planted.secret) == [], planted.how
