"""newcomer35's first hour on main at 133a2739 (2026-12-06): README followed from a fresh
clone (the demo; the WSGI, Flask, Django and FastAPI quick starts pointed at
``readme-metrics collect``; the subcommands' --help), then the mistakes a newcomer makes.

1. An option written as a Django setting of its own (``GROUPING_FUNCTION = ...`` or
   ``README_GROUPING_FUNCTION = ...`` at the top level of settings.py, ``README_DENYLIST``
   beside a right ``README_METRICS_CONFIG``) was ignored without a word, or refused as
   "required" while the user could see it set. Now one warning per such setting at
   start-up, and the "required" error, names the setting and where the option goes.
2. ``CORSMiddleware(app)`` (WSGI or ASGI) with no origin, neither argument nor
   ``CORS_ALLOWED``, changed nothing and said nothing: one warning now says so.
3. ``grouping_function=grouping(None)`` (the function called where it is named) was
   refused as "must be a callable ..., got the dict ...": now it says to pass the
   function itself.
4. ``README_DEVELOPMENT_MODE=production`` (an environment's name, as NODE_ENV takes) was
   refused as "must be true or false": now it also says which way that name means.

Each test named "said" or "warned" failed before its fix; the others pin what stays.
"""

from __future__ import annotations

import logging
import os
import sys
import textwrap
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from readme_metrics import MetricsApiConfig
from readme_metrics.asgi import CORSMiddleware as AsgiCORSMiddleware
from readme_metrics.cors import CORSMiddleware
from tests.support.processes import run_command
from tests.test_newcomer7_findings import ROOT, _django_project, _said_while_serving

NOT_READ = "is not read"
NO_ORIGIN = "has no allowed origin"


def _grouping(request: Any) -> None:
    return None


# -- 1. an option given as a Django setting of its own -----------------------------------------

@pytest.mark.parametrize(("settings", "said"), [
    pytest.param({"README_GROUPING_FUNCTION": "myapp.metrics.grouping"},
                 ["settings.README_GROUPING_FUNCTION is not read (README_GROUPING_FUNCTION is "
                  "an environment variable, not a Django setting): give the option inside "
                  "README_METRICS_CONFIG = MetricsApiConfig(grouping_function=...) in "
                  "settings.py, or export README_GROUPING_FUNCTION"],
                 id="the-variable-as-a-setting"),
    pytest.param({"GROUPING_FUNCTION": "myapp.metrics.grouping"},
                 ["settings.GROUPING_FUNCTION is not read: give the option inside "
                  "README_METRICS_CONFIG = MetricsApiConfig(grouping_function=...) in "
                  "settings.py, or export README_GROUPING_FUNCTION"],
                 id="the-option-at-the-top-level"),
    pytest.param({"README_GROUPING": "myapp.metrics.grouping"},
                 ["settings.README_GROUPING is not read: give the option inside "
                  "README_METRICS_CONFIG = MetricsApiConfig(grouping_function=...) in "
                  "settings.py, or export README_GROUPING_FUNCTION"],
                 id="a-near-miss-of-the-variable"),
    pytest.param({"README_METRICS": object()},
                 ["settings.README_METRICS is not read: the setting is README_METRICS_CONFIG "
                  "= MetricsApiConfig(...)"], id="the-configuration-misnamed"),
    pytest.param({"README_METRICS_CONFIGS": object()},
                 ["settings.README_METRICS_CONFIGS is not read: the setting is "
                  "README_METRICS_CONFIG = MetricsApiConfig(...)"], id="its-near-miss"),
    pytest.param({"METRICS_CONFIG": MetricsApiConfig(
        api_key="rdme_review137_key_0001", grouping_function=_grouping)},
                 ["settings.METRICS_CONFIG is not read: the setting is README_METRICS_CONFIG "
                  "= MetricsApiConfig(...)"], id="the-configuration-misnamed-without-readme"),
    pytest.param({"METRICS_CONFIG": {"backend": "statsd", "host": "127.0.0.1"}}, [],
                 id="a-projects-own-metrics-config"),  # (review137: warned before)
    pytest.param({"DEBUG": True, "API_KEY": "k", "TIMEOUT": 3, "README_PATH": "README.md",
                  "README_METRICS_CONFIG": object(), "grouping_function": "x"}, [],
                 id="others-settings-alone"),
])
def test_each_unread_setting_is_named_with_its_place(settings: dict[str, Any],
                                                     said: list[str]) -> None:
    from readme_metrics.django_settings_names import unread_settings

    assert unread_settings(SimpleNamespace(**settings)) == said


def test_a_setting_the_configuration_uses_anyway_is_not_named() -> None:
    """settings.py that reads the variable into a setting and passes it on
    (``api_key=README_API_KEY``, ``grouping_function=GROUPING_FUNCTION``) loses nothing."""
    from readme_metrics.django_settings_names import unread_settings

    path = f"{__name__}:_grouping"
    config = MetricsApiConfig(api_key="rdme_newcomer35_passed_on_0001",
                              grouping_function=path, denylist=["password"])
    settings = SimpleNamespace(README_API_KEY="rdme_newcomer35_passed_on_0001",
                               GROUPING_FUNCTION=path, README_GROUPING=_grouping,
                               README_DENYLIST=("password",), README_ALLOWLIST=["name"],
                               README_GROUPING_FUNCTION=f"{__name__}._other")
    said = unread_settings(settings, config)
    assert [line.split()[0] for line in said] == [
        "settings.README_ALLOWLIST", "settings.README_GROUPING_FUNCTION"], said
    assert "rdme_newcomer35" not in " ".join(said)


_SETTINGS_BESIDE = """
    GROUPING_FUNCTION = "myapp.metrics.other"
    README_DENYLIST = ["password"]
"""


@pytest.mark.e2e
def test_options_given_as_settings_of_their_own_are_warned_once_under_runserver(
        tmp_path: Path) -> None:
    """README's Django lines, right, with two more settings beside them that a newcomer
    writes: each ignored before without a word (passwords then sent unredacted)."""
    project = _django_project(tmp_path, with_the_middleware_line=True)
    settings = project / "mysite" / "settings.py"
    settings.write_text(settings.read_text() + textwrap.dedent(_SETTINGS_BESIDE))
    said = _said_while_serving(project, [sys.executable, "-m", "django", "runserver",
                                         "--noreload"],
                               {"DJANGO_SETTINGS_MODULE": "mysite.settings"})
    assert said.count("settings.GROUPING_FUNCTION is not read") == 1, said
    assert said.count("settings.README_DENYLIST is not read (README_DENYLIST is an "
                      "environment variable") == 1, said
    assert said.count(NOT_READ) == 2, said


_SETUP_AND_CALL = ("import django; django.setup(); from django.test import Client; "
                   "Client().get('/')")


@pytest.mark.parametrize(("written", "said"), [
    pytest.param('GROUPING_FUNCTION = "myapp.metrics.grouping"\n'
                 "README_METRICS_CONFIG = MetricsApiConfig()\n",
                 "ValueError: readme_metrics: grouping_function (README_GROUPING_FUNCTION) "
                 "is required and must be a callable or a 'module.attribute' path (or set "
                 "README_METRICS_ENABLED=false to turn metrics off); "
                 "settings.GROUPING_FUNCTION is not read: give the option inside "
                 "README_METRICS_CONFIG = MetricsApiConfig(grouping_function=...)",
                 id="above-MetricsApiConfig()"),
    pytest.param('README_GROUPING_FUNCTION = "myapp.metrics.grouping"\n',
                 "may configure it instead; settings.README_GROUPING_FUNCTION is not read "
                 "(README_GROUPING_FUNCTION is an environment variable, not a Django "
                 "setting)", id="with-no-configuration"),
    pytest.param('README_API_KEY = "rdme_newcomer35_in_settings_0001"\n'
                 'README_METRICS_CONFIG = MetricsApiConfig(grouping_function="x.y")\n',
                 "; settings.README_API_KEY is not read (README_API_KEY is an environment "
                 "variable, not a Django setting): give the option inside "
                 "README_METRICS_CONFIG = MetricsApiConfig(api_key=...) in settings.py, or "
                 "export README_API_KEY", id="the-key-above-MetricsApiConfig()"),
])
def test_the_missing_option_error_said_the_setting_written(
        tmp_path: Path, written: str, said: str) -> None:
    project = _django_project(tmp_path, with_the_middleware_line=True)
    settings = project / "mysite" / "settings.py"
    text = settings.read_text()
    head = text[:text.index("README_METRICS_CONFIG = ")]
    settings.write_text(head + written)
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("README_", "DJANGO_"))}
    result = run_command(
        [sys.executable, "-c", _SETUP_AND_CALL], cwd=project, capture_output=True,
        env={**env, "DJANGO_SETTINGS_MODULE": "mysite.settings",
             **({} if "README_API_KEY" in written else {"README_API_KEY": "any-key"}),
             "PYTHONPATH": os.pathsep.join([str(project), str(ROOT)])})
    stderr = result.stderr.decode(errors="replace")
    assert result.returncode != 0 and said in stderr, stderr
    assert "rdme_newcomer35" not in stderr, stderr


# -- 2. a CORS middleware with no origin ---------------------------------------------------------

def _wsgi_app(environ: Any, start_response: Any) -> list[bytes]:
    start_response("200 OK", [])
    return [b""]


async def _asgi_app(scope: Any, receive: Any, send: Any) -> None:
    pass


def _warned(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if NO_ORIGIN in r.getMessage()]


@pytest.mark.parametrize(("make", "path"), [
    pytest.param(lambda: CORSMiddleware(_wsgi_app), "readme_metrics.cors.CORSMiddleware",
                 id="wsgi"),
    pytest.param(lambda: AsgiCORSMiddleware(_asgi_app), "readme_metrics.asgi.CORSMiddleware",
                 id="asgi"),
    pytest.param(lambda: CORSMiddleware(_wsgi_app, allowed_origins=[]),
                 "readme_metrics.cors.CORSMiddleware", id="an-empty-list"),
])
def test_a_cors_middleware_with_no_origin_is_warned_once(
        caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch, make: Any,
        path: str) -> None:
    monkeypatch.delenv("CORS_ALLOWED", raising=False)
    with caplog.at_level(logging.WARNING, logger="readme_metrics"):
        make()
    assert _warned(caplog) == [
        f"readme_metrics: {path} has no allowed origin (neither allowed_origins= nor "
        "CORS_ALLOWED), so it changes no response and answers no preflight: browsers "
        "refuse your API to pages on other origins as they would without it. Pass "
        "allowed_origins=[\"https://app.example.com\"] or set CORS_ALLOWED "
        "(comma-separated; * for any origin)"]


@pytest.mark.parametrize("given", [
    pytest.param({"allowed_origins": ["https://app.example.com"]}, id="argument"),
    pytest.param({"allowed_origins": "*"}, id="any"),
    pytest.param({}, id="CORS_ALLOWED"),
])
def test_a_cors_middleware_with_an_origin_says_nothing(
        caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch,
        given: dict[str, Any]) -> None:
    monkeypatch.setenv("CORS_ALLOWED", "https://app.example.com")
    with caplog.at_level(logging.WARNING, logger="readme_metrics"):
        CORSMiddleware(_wsgi_app, **given)
        AsgiCORSMiddleware(_asgi_app, **given)
    assert _warned(caplog) == []


# -- 3. the grouping function's result given for the function ----------------------------------

def _caller(request: Any) -> dict[str, str]:
    return {"api_key": "owlbert-key", "label": "Owlbert"}


@pytest.mark.parametrize("given", [
    pytest.param(_caller(None), id="called"),
    pytest.param({"api_key": "owlbert-key"}, id="a-dict-written-there"),
])
def test_a_grouping_functions_result_given_for_it_said_to_pass_the_function(
        given: Any) -> None:
    with pytest.raises(ValueError) as raised:
        MetricsApiConfig(api_key="any-key", grouping_function=given)
    assert str(raised.value).endswith(
        "that is what a grouping function returns: pass the function itself, without "
        "parentheses (grouping_function=grouping, not grouping(...))"), raised.value


# -- 4. an environment's name given for development_mode -----------------------------------------

@pytest.mark.parametrize(("written", "meant"), [
    pytest.param("production", "false", id="production"),
    pytest.param("dev", "true", id="dev"),
    pytest.param("Staging", "false", id="staging"),
])
def test_an_environments_name_for_development_mode_said_which_way_it_means(
        monkeypatch: pytest.MonkeyPatch, written: str, meant: str) -> None:
    monkeypatch.setenv("README_DEVELOPMENT_MODE", written)
    with pytest.raises(ValueError) as raised:
        MetricsApiConfig(api_key="any-key", grouping_function=_grouping)
    assert str(raised.value).endswith(
        f"(from the environment): it is a switch, not the environment's name: {meant} for "
        f"{written!r} (true marks the logs as development's, false as production's)"
    ), raised.value


def test_another_wrong_flag_is_refused_as_before(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("README_DEVELOPMENT_MODE", "maybe")
    with pytest.raises(ValueError, match=r"must be true or false, got 'maybe' \(from the "
                                         r"environment\)$"):
        MetricsApiConfig(api_key="any-key", grouping_function=_grouping)
