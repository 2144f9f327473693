"""odds9's items (a newcomer run's first-hour frictions): each test failed on main at
e2eb350 and passes with its fix, under real parts (the configuration as users build it,
the collector on 127.0.0.1 as the Metrics API and as a proxy, the real CLI)."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from readme_metrics import MetricsApiConfig
from readme_metrics.cli import main
from readme_metrics.dotted_path_hints import not_on_sys_path
from tests.support.delivery import (
    MakeDelivery,
    item,
    make_delivery_fixture,  # noqa: F401 - ``make_delivery``
    messages,
    proxy_taken_for_elsewhere,
    said_on,
    through_proxy,
)
from tests.support.fake_api import Collector, Reply
from tests.support.polling import wait_until


def _grouping(request: Any) -> None:
    return None


# -- 1. README_GROUPING_FN, README_ENABLE, README_METRICS_DEBUG: ignored without a word ------

_DEBUG_MEANT = (
    "README_DEVELOPMENT_MODE (which marks the logs as development's; there is no debug "
    "or log level variable: the library logs to logging.getLogger('readme_metrics') and "
    "adds no handler, so turn it on with "
    "logging.getLogger('readme_metrics').setLevel(logging.DEBUG) and logging.basicConfig())")


@pytest.mark.parametrize("name, meant", [
    ("README_GROUPING_FN", "README_GROUPING_FUNCTION"),
    ("README_ENABLE", "README_METRICS_ENABLED"),
    ("README_METRICS_DEBUG", _DEBUG_MEANT),
    ("README_DEBUG", _DEBUG_MEANT),
    # odds10: a log level or verbosity one looks for gets the same hint
    ("README_LOG_LEVEL", _DEBUG_MEANT),
    ("README_METRICS_LOG_LEVEL", _DEBUG_MEANT),
    ("README_VERBOSE", _DEBUG_MEANT),
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
    assert said_on(caplog, logger) == [
        f"readme_metrics: {name} (set in the environment) is no variable of this library "
        f"and is ignored: did you mean {meant}?"]


# -- 2. a 403 through a proxy: not "the API key is wrong" ----------------------------------


@pytest.mark.parametrize("loopback", [True, False], ids=["collector", "remote-api"])
def test_a_refusal_through_a_proxy_does_not_say_the_key_is_wrong(
        collector: Collector, make_delivery: MakeDelivery,
        caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch,
        loopback: bool) -> None:
    """A company proxy's 403 for a host it does not let through read "refused the API
    key (HTTP 403 Forbidden): the api_key (README_API_KEY) is wrong or revoked" before
    the proxy hint (or with no hint at all for ReadMe's own URL): the key was never
    looked at. Through a proxy the error now says the proxy or the API refused. The proxy
    is a real one: a second collector answering 403 to the POSTs requests sends it,
    standing for one on another host (the library is made to take it for one, odds10)."""
    proxy_taken_for_elsewhere(monkeypatch)
    proxy = Collector().start()
    try:
        proxy.default = Reply(403)
        through_proxy(monkeypatch, proxy.url)
        api = collector.url if loopback else "http://metrics.example.test"
        delivery = make_delivery(api, buffer_length=1)
        delivery.submit(item("a"))
        # (the error is said after the count: wait for both, a -n 6 run read it between)
        wait_until(lambda: delivery.stats["dropped_auth"] == 1
                   and messages(caplog, logging.ERROR, "refused"))
        assert len(proxy.failed) >= 1 and collector.received == []
        (said,) = messages(caplog, logging.ERROR, "refused")
        assert said.startswith(
            f"readme_metrics: the proxy or the Metrics API at {api}/v1/request refused the "
            "POST of logs (HTTP 403 Forbidden): the POSTs go through a proxy, whose own "
            "refusal this may be; if it was the API's, the api_key passed to "
            "MetricsApiConfig(api_key=...), not README_API_KEY, is wrong or revoked. Logs "
            "are dropped for the next 60.0s; "), said
        assert "is wrong or revoked. Logs" in said and "refused the API key" not in said
        if loopback:
            assert "NO_PROXY=127.0.0.1" in said, said
        else:
            assert said.endswith(
                "; if it was the proxy's: ask for metrics.example.test to be let through "
                "it, or add metrics.example.test to NO_PROXY where it is reached without "
                "the proxy."), said
    finally:
        proxy.stop()


def test_a_refusal_without_a_proxy_still_names_the_key(
        collector: Collector, make_delivery: MakeDelivery,
        caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    """No proxy: the API's 403 is the key's, said as before."""
    through_proxy(monkeypatch, "")
    collector.replies.append(Reply(403))
    delivery = make_delivery(collector.url, buffer_length=1)
    delivery.submit(item("a"))
    wait_until(lambda: delivery.stats["dropped_auth"] == 1
               and messages(caplog, logging.ERROR, "refused"))
    # make_delivery passes the key: the argument is named (newcomer33)
    assert messages(caplog, logging.ERROR, "refused") == [
        f"readme_metrics: the Metrics API at {collector.url}/v1/request refused the API key "
        "(HTTP 403 Forbidden): the api_key passed to MetricsApiConfig(api_key=...), not "
        "README_API_KEY, is wrong or revoked. Logs are dropped for the next 60.0s."]


# -- 3. an argument's error while the variable is set too -----------------------------------


# newcomer25: a top-level module no folder on sys.path holds says which are the app's.
_NOT_FOUND = not_on_sys_path("odds9_no_such_module")


def _config_error(**given: Any) -> str:
    with pytest.raises(ValueError) as raised:
        MetricsApiConfig(api_key="any-key", **given)
    return str(raised.value)


def test_an_arguments_error_says_it_overrides_the_variable_set(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """``grouping_function="app.grouping"`` mistyped in code, with README_GROUPING_FUNCTION
    set right in the environment: "grouping_function (README_GROUPING_FUNCTION) cannot
    import ..." sent the reader to the variable, which was not the value refused. The
    error now names the argument as the source, as the ``api_key=None`` one does."""
    monkeypatch.setenv("README_GROUPING_FUNCTION", "tests.test_odds9_findings._grouping")
    assert _config_error(grouping_function="odds9_no_such_module.grouping") == (
        "readme_metrics: grouping_function (README_GROUPING_FUNCTION) cannot import "
        f"'odds9_no_such_module.grouping': No module named 'odds9_no_such_module': {_NOT_FOUND} "
        "(from the grouping_function argument, which overrides README_GROUPING_FUNCTION, "
        "set in the environment)")
    monkeypatch.setenv("README_BUFFER_LENGTH", "5")
    assert _config_error(grouping_function=_grouping, buffer_length=0) == (
        "readme_metrics: buffer_length (README_BUFFER_LENGTH) must be an integer >= 1, got 0 "
        "(from the buffer_length argument, which overrides README_BUFFER_LENGTH, set in the "
        "environment)")


@pytest.mark.parametrize("from_environment", [False, True], ids=["argument", "environment"])
def test_an_error_without_both_sources_is_as_before(
        monkeypatch: pytest.MonkeyPatch, from_environment: bool) -> None:
    """The house convention stays: an error names the option and its variable, and one
    of a value read from the environment ends with where it was read."""
    monkeypatch.delenv("README_GROUPING_FUNCTION", raising=False)
    if from_environment:
        monkeypatch.setenv("README_GROUPING_FUNCTION", "odds9_no_such_module.grouping")
    said = _config_error(**({} if from_environment
                            else {"grouping_function": "odds9_no_such_module.grouping"}))
    assert said == (
        "readme_metrics: grouping_function (README_GROUPING_FUNCTION) cannot import "
        f"'odds9_no_such_module.grouping': No module named 'odds9_no_such_module': {_NOT_FOUND}"
        + (" (from the environment)" if from_environment else ""))


# -- 4. --help's example: what collect prints ----------------------------------------------


def test_the_help_example_sets_what_collect_prints(
        capsys: pytest.CaptureFixture[str]) -> None:
    """``readme-metrics --help`` showed ``export README_METRICS_SERVER=... README_API_KEY=
    any-key``, while collect prints ``export README_METRICS_SERVER=... README_API_URL=...``
    (README_API_URL makes each logged response link to its call on the dashboard): the
    two disagreed on what to set."""
    with pytest.raises(SystemExit):
        main(["--help"])
    lines = [line.strip() for line in capsys.readouterr().out.splitlines()]
    assert ("export README_METRICS_SERVER=http://127.0.0.1:8001 "
            "README_API_URL=http://127.0.0.1:8001") in lines, lines
    assert "export README_API_KEY=any-key" in lines, lines
