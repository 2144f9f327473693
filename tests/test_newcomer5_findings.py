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
