"""odds9's items (a newcomer run's first-hour frictions): each test failed on main at
e2eb350 and passes with its fix, under real parts (the configuration as users build it,
the collector on 127.0.0.1 as the Metrics API and as a proxy, the real CLI)."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from readme_metrics import MetricsApiConfig


def _grouping(request: Any) -> None:
    return None


def _said(caplog: pytest.LogCaptureFixture, logger: logging.Logger) -> list[str]:
    return [record.getMessage() for record in caplog.records if record.name == logger.name]


# -- 1. README_GROUPING_FN, README_ENABLE, README_METRICS_DEBUG: ignored without a word ------

_DEBUG_MEANT = (
    "README_DEVELOPMENT_MODE (which marks the logs as development's; there is no debug "
    "variable: the library logs to logging.getLogger('readme_metrics') and adds no "
    "handler, so turn it on with logging.getLogger('readme_metrics').setLevel(logging.DEBUG) "
    "and logging.basicConfig())")


@pytest.mark.parametrize("name, meant", [
    ("README_GROUPING_FN", "README_GROUPING_FUNCTION"),
    ("README_ENABLE", "README_METRICS_ENABLED"),
    ("README_METRICS_DEBUG", _DEBUG_MEANT),
    ("README_DEBUG", _DEBUG_MEANT),
])
def test_a_guessed_name_gets_the_variable_meant(
        caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch, name: str,
        meant: str) -> None:
    """``README_GROUPING_FN=app.grouping``, ``README_ENABLE=false``,
    ``README_METRICS_DEBUG=1``: too far from any variable for difflib, each was ignored
    without a word (the grouping function then "required", metrics left on, no debug
    line and no hint where the debug log is)."""
    monkeypatch.setenv(name, "1")
    logger = logging.getLogger(f"odds9-guessed-{name}")  # warned once per logger
    caplog.set_level(logging.WARNING)
    MetricsApiConfig(api_key="any-key", grouping_function=_grouping, logger=logger)
    assert _said(caplog, logger) == [
        f"readme_metrics: {name} (set in the environment) is no variable of this library "
        f"and is ignored: did you mean {meant}?"]
