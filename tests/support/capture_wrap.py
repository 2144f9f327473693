"""The middleware as the capture tests wrap an app, and the one log it sends.

The ``wrap`` fixture (defined here as ``wrap_fixture``; a test module imports that name to
have it) sends each log at once, inline, to the ``collector`` fixture under Owlbert's
``GROUP``; ``wrapping`` makes such a ``wrap`` for another middleware class (the ASGI one)
or other defaults. ``only_log`` is the single log that arrived, checked against SPEC
section 4.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Callable

import pytest

from readme_metrics import MetricsApiConfig, MetricsMiddleware
from tests.support.fake_api import INLINE_TIMEOUT, Collector
from tests.support.har_check import assert_valid_log

GROUP = {"api_key": "owlbert-api-key", "label": "Owlbert", "email": "owlbert@example.com"}


def owlbert(req: Any) -> dict[str, str]:
    """The grouping function of ``wrap``: Owlbert's ``GROUP``, a fresh copy each call."""
    return dict(GROUP)


@contextmanager
def wrapping(collector: Collector, cls: type = MetricsMiddleware,
             **defaults: Any) -> Iterator[Callable[..., Any]]:
    """``make(app, **options)``: ``app`` in a ``cls`` that sends each log at once, inline,
    to ``collector`` under Owlbert's ``GROUP`` (``options``, then ``defaults``, override
    that); every middleware made is closed when the block ends."""
    made: list[Any] = []

    def make(app: Any, **options: Any) -> Any:
        for name, value in defaults.items():
            options.setdefault(name, value)
        options.setdefault("grouping_function", owlbert)
        options.setdefault("buffer_length", 1)
        options.setdefault("background_worker_mode", False)
        # A POST answered late (a loaded machine) is sent again: two logs (flaky58).
        options.setdefault("timeout", INLINE_TIMEOUT)
        config = MetricsApiConfig(
            api_key="rdme_abcdefghijklmnopqrstuvwxyz", metrics_api=collector.url, **options
        )
        middleware = cls(app, config)
        made.append(middleware)
        return middleware

    try:
        yield make
    finally:
        for middleware in made:
            middleware.close()


@pytest.fixture(name="wrap")
def wrap_fixture(collector: Collector) -> Iterator[Callable[..., MetricsMiddleware]]:
    """Wrap an app in a MetricsMiddleware that sends each log at once to the collector."""
    with wrapping(collector) as make:
        yield make


def only_log(collector: Collector) -> dict[str, Any]:
    """The one log the collector got, checked with ``assert_valid_log``."""
    logs = collector.wait_for_logs(1)
    assert len(logs) == 1, logs
    assert_valid_log(logs[0])
    return logs[0]
