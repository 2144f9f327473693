"""blackbox22: SPEC section 2, read as a stranger would: "Invalid values (negative buffer, a
non-URL server, ...) raise ``ValueError`` ... naming the option and the variable".

README's migration notes promise that the official upper-case attributes
(``config.BUFFER_LENGTH``, ``config.METRICS_API``, ...) "read and set the options, checked as
the arguments are". The options' own names, the ones SPEC's table and every example use,
were not: ``config.buffer_length = 0`` or ``config.metrics_api = "ftp://x"`` after
construction were taken as they were, and so were values the argument would have
normalised: ``config.skip_methods = ["head"]`` left HEAD calls logged (the method is
compared upper-case), ``config.grouping_function = "module.attr"`` was never imported (each
call then logged a TypeError and was not logged), ``config.metrics_api = "nope"`` raised
requests' ``MissingSchema`` from ``MetricsMiddleware(...)``, and ``config.blacklist = [...]``
made an attribute nothing reads (no denylist, no DeprecationWarning). Reading: an option
set by its own name after construction is checked and normalised as the argument is, as
its official name already was (set before the middleware is made, as README says).

Every case failed before the fix, through the public API only.
"""

from __future__ import annotations

import os
from typing import Any

import pytest

from readme_metrics import MetricsApiConfig, MetricsMiddleware
from tests.support.contract import json_app
from tests.support.wsgi import run_wsgi, wsgi_environ


def grouping(req: Any) -> dict[str, str]:
    return {"api_key": "caller-key-0001"}


def made() -> MetricsApiConfig:
    return MetricsApiConfig(api_key="rdme_key", grouping_function=grouping,
                            metrics_api="http://127.0.0.1:9")


@pytest.mark.parametrize(("name", "value", "message"), [
    pytest.param("buffer_length", 0, r"buffer_length \(README_BUFFER_LENGTH\) must be",
                 id="buffer-length-zero"),
    pytest.param("flush_interval", -1, r"flush_interval \(README_FLUSH_INTERVAL\) must be",
                 id="flush-interval-negative"),
    pytest.param("metrics_api", "ftp://x", r"metrics_api \(README_METRICS_SERVER\) must be",
                 id="metrics-api-not-http"),
    pytest.param("base_log_url", "docs", r"base_log_url \(README_BASE_LOG_URL\) must be",
                 id="base-log-url-not-a-url"),
    pytest.param("max_queue_size", -5, r"max_queue_size \(README_MAX_QUEUE_SIZE\) must be",
                 id="max-queue-size-negative"),
    pytest.param("timeout", 0, r"timeout \(README_TIMEOUT\) must be", id="timeout-zero"),
    pytest.param("trusted_proxies", -1, r"trusted_proxies \(README_TRUSTED_PROXIES\)",
                 id="trusted-proxies-negative"),
])
def test_an_option_set_by_its_name_is_checked_as_the_argument(name: str, value: Any,
                                                               message: str) -> None:
    config = made()
    before = getattr(config, name)
    with pytest.raises(ValueError, match=message):
        setattr(config, name, value)
    assert getattr(config, name) == before


@pytest.mark.parametrize(("name", "value", "expected"), [
    pytest.param("metrics_api", "http://127.0.0.1:8001/", "http://127.0.0.1:8001",
                 id="metrics-api-trailing-slash"),
    pytest.param("skip_methods", ["options", "head"], ["OPTIONS", "HEAD"],
                 id="skip-methods-upper-cased"),
    pytest.param("denylist", "password", ["password"], id="denylist-one-string"),
    pytest.param("grouping_function", "os.path.basename", os.path.basename,
                 id="grouping-dotted-path-imported"),
    pytest.param("buffer_length", None, 10, id="none-is-the-default"),
])
def test_an_option_set_by_its_name_is_normalised_as_the_argument(name: str, value: Any,
                                                                  expected: Any) -> None:
    config = made()
    setattr(config, name, value)
    assert getattr(config, name) == expected


def test_a_deprecated_alias_set_later_sets_its_option_and_warns() -> None:
    config = made()
    with pytest.warns(DeprecationWarning, match="blacklist is deprecated, use denylist"):
        config.blacklist = ["secret"]  # type: ignore[attr-defined]
    assert config.denylist == ["secret"]


def test_skip_methods_set_later_skips_the_method() -> None:
    config = made()
    config.skip_methods = ["head"]
    middleware = MetricsMiddleware(json_app, config)
    try:
        result = run_wsgi(middleware, wsgi_environ("HEAD", "/skipped"))
        assert result.status == "200 OK"
        assert middleware.stats["skipped"] == 1
        assert middleware.stats["queued"] == 0
    finally:
        middleware.close()
