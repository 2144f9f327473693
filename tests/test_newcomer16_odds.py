"""newcomer16's small first-hour items (odds3, 2026-12-04): each test failed on main at
4fad7ec and passes with its fix."""

from __future__ import annotations

import logging

import pytest

from readme_metrics import MetricsApiConfig

# -- 3. more guessed names for the Metrics API's (the collector's) address ----------------


@pytest.mark.parametrize("name", [
    "README_COLLECTOR_URL", "README_COLLECTOR", "README_COLLECTOR_HOST",
    "README_METRICS_COLLECTOR", "README_METRICS_COLLECTOR_URL", "README_SERVER_URL",
    "README_METRICS_ADDRESS", "README_METRICS_URI", "README_METRICS_API_HOST",
    "README_METRICS_API_ENDPOINT", "README_METRICS_API_BASE_URL"])
def test_a_collector_or_api_name_for_the_address_names_the_variable(
        caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    """``README_COLLECTOR_URL=http://127.0.0.1:8001`` (the docs call readme-metrics
    collect the collector) was ignored without a word: the logs went to ReadMe."""
    monkeypatch.setenv(name, "http://127.0.0.1:8001")
    logger = logging.getLogger(f"newcomer16-odds-guessed-{name}")  # warned once per logger
    caplog.set_level(logging.WARNING)
    MetricsApiConfig(api_key="any-key", grouping_function=lambda request: None,
                     logger=logger)
    assert [r.getMessage() for r in caplog.records if r.name == logger.name] == [
        f"readme_metrics: {name} (set in the environment) is no variable of this library "
        "and is ignored: did you mean README_METRICS_SERVER?"]


@pytest.mark.parametrize("name", ["README_URL", "README_HOST", "METRICS_SERVER",
                                  "METRICS_URL", "METRICS_HOST"])
def test_a_name_that_may_be_the_apps_own_is_not_warned_about(
        caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    """README_URL (a link to the project's README) and METRICS_SERVER (a Prometheus or
    StatsD setup's) are plausibly another program's: no warning at every start."""
    monkeypatch.setenv(name, "http://127.0.0.1:8001")
    logger = logging.getLogger(f"newcomer16-odds-other-{name}")
    caplog.set_level(logging.WARNING)
    MetricsApiConfig(api_key="any-key", grouping_function=lambda request: None,
                     logger=logger)
    assert [r.getMessage() for r in caplog.records
            if r.name == logger.name and name in r.getMessage()] == []
