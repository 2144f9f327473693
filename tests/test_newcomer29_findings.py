"""newcomer29's first hour on main at eb5bf23d (2026-12-05): README followed in order
from a fresh clone, then the mistakes a newcomer makes. Each test named "warned",
"says" or "row" failed there and passes with its fix.

1. README's "See it locally" with the app's ``export README_METRICS_SERVER=...`` line
   left out (typed in the collector's terminal, or as ``README_API_KEY=any-key python
   app.py`` alone): the app sent README's stand-in key, ``any-key``, to ReadMe's own
   Metrics API, and the first word of it was, seconds later, "this machine cannot reach
   metrics.readme.io: a firewall or egress rule ..." (or ReadMe's 401). One start-up
   warning now says which variable the app did not get.
2. ``ReadMeMetrics(config, api_key=...)`` (and ``ReadMeMetrics(grouping_function=...)``)
   said only Python's "got an unexpected keyword argument 'api_key'", where the WSGI and
   ASGI middlewares say that it is MetricsApiConfig's option and how to pass it; and a
   bare ``ReadMeMetrics()`` only "missing 1 required positional argument: 'config'",
   where they say "config is missing: pass MetricsApiConfig(...)".
3. A ``logging.config.dictConfig`` without ``"disable_existing_loggers": False``
   (Django's ``LOGGING`` setting, as many projects write it) turns the library's logger
   off for good: no warning or error of the library showed, even with the debug log
   on, and nothing in README said why. Troubleshooting has that row now, and the Django
   quick start a sentence; the tests check the symptom (in plain Python and under
   Django's ``LOGGING``) and that both fixes given work.
"""

from __future__ import annotations

import inspect
import logging
import os
import sys
import textwrap
from pathlib import Path
from typing import Any, Optional

import pytest

from readme_metrics import MetricsApiConfig
from readme_metrics.flask_readme import ReadMeMetrics
from tests.support.command import REPO_ROOT
from tests.support.processes import run_command
from tests.test_readme import README, troubleshooting_row


def _grouping(request: Any) -> Optional[dict[str, str]]:
    key = request.headers.get("X-Api-Key")
    return {"api_key": key} if key else None


class _Kept(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def _start_up_warnings(name: str, **options: Any) -> list[str]:
    """The start-up warnings of a config made with ``options``, on a logger of its own
    (each warning is said once per process and logger)."""
    logger = logging.getLogger(f"tests.newcomer29.{name}")
    logger.propagate = False
    kept = _Kept()
    logger.addHandler(kept)
    try:
        MetricsApiConfig(grouping_function=_grouping, logger=logger, **options)
    finally:
        logger.removeHandler(kept)
    return kept.messages


def _environment() -> dict[str, str]:
    """This one without its ``README_*`` variables, the checkout first on the path."""
    env = {name: value for name, value in os.environ.items()
           if not name.startswith("README_")}
    env["PYTHONPATH"] = str(REPO_ROOT)
    return env


# -- 1. the stand-in key sent to ReadMe ---------------------------------------------------


def test_the_stand_in_key_sent_to_readme_is_warned_at_start_up(tmp_path: Path) -> None:
    """As a newcomer runs it: README's WSGI quick start's config, ``README_API_KEY=any-key``
    and no ``README_METRICS_SERVER``, no logging configured (Python's last resort prints
    the warning)."""
    env = _environment()
    env["README_API_KEY"] = "any-key"
    done = run_command(
        [sys.executable, "-c", "from readme_metrics import MetricsApiConfig\n"
         "MetricsApiConfig(grouping_function=lambda request: None)"],
        cwd=str(tmp_path), env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stderr.startswith(
        "readme_metrics: api_key (README_API_KEY) is 'any-key', the stand-in key for the "
        "local collector, `readme-metrics collect`, but the logs go to ReadMe's Metrics "
        "API, metrics_api (README_METRICS_SERVER) https://metrics.readme.io, which will "
        "refuse it"), done.stderr
    assert "export README_METRICS_SERVER=http://127.0.0.1:8001" in done.stderr
    assert done.stderr.count("\n") == 1, done.stderr  # one line, once
    # Troubleshooting's row for the symptom quotes it, as the line to look for.
    row = troubleshooting_row("`readme-metrics collect` shows nothing")
    assert row.count("is 'any-key', the stand-in key for the local collector") == 2, row


@pytest.mark.parametrize("key", ["any-key", "Any-Key ", "ANY-KEY"])
def test_the_stand_in_key_is_warned_in_any_case(monkeypatch: pytest.MonkeyPatch,
                                               key: str) -> None:
    monkeypatch.setenv("README_API_KEY", key)
    monkeypatch.delenv("README_METRICS_SERVER", raising=False)
    (said,) = _start_up_warnings(f"case.{key.strip()}")
    assert "the stand-in key for the local collector" in said
    assert "metrics_api (README_METRICS_SERVER) https://metrics.readme.io" in said


def test_the_stand_in_warning_shows_no_password_of_the_url(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("README_API_KEY", "any-key")
    monkeypatch.setenv("README_METRICS_SERVER", "https://user:hunter2pw@metrics.readme.io")
    (said,) = _start_up_warnings("userinfo")
    assert "hunter2pw" not in said
    assert "https://***@metrics.readme.io" in said


@pytest.mark.parametrize("variables, options", [
    ({"README_API_KEY": "any-key", "README_METRICS_SERVER": "http://127.0.0.1:8001"}, {}),
    ({"README_API_KEY": "any-key"}, {"metrics_api": "http://127.0.0.1:8001"}),
    ({"README_API_KEY": "any-key",
      "README_METRICS_SERVER": "http://host.docker.internal:8001"}, {}),
    ({"README_API_KEY": "rdme_live_0123456789abcdef"}, {}),  # a key: to ReadMe, as meant
    ({"README_API_KEY": "any-key-2"}, {}),
    ({"README_API_KEY": "any-key"}, {"enabled": False}),
    # An argument: a test's config, which may never send (the official package's suites
    # and this one's pass such keys); README's way to the mistake is the variable.
    ({}, {"api_key": "any-key"}),
], ids=["collector", "collector-argument", "collector-elsewhere", "real-key", "other-key",
        "off", "argument"])
def test_no_stand_in_warning_where_the_key_goes_where_it_is_meant(
        monkeypatch: pytest.MonkeyPatch, variables: dict[str, str],
        options: dict[str, Any]) -> None:
    monkeypatch.delenv("README_API_KEY", raising=False)
    monkeypatch.delenv("README_METRICS_SERVER", raising=False)
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    name = "-".join(f"{key}={value}" for key, value in {**variables, **options}.items())
    said = _start_up_warnings("none." + name.replace(".", "_"), **options)
    assert [message for message in said if "stand-in" in message] == []


# -- 2. Flask's extension given an option of the config ------------------------------------


def test_the_flask_extension_says_an_option_given_to_it_is_the_configs() -> None:
    config = MetricsApiConfig(api_key="any-key", grouping_function=_grouping,
                              metrics_api="http://127.0.0.1:9")
    with pytest.raises(TypeError) as raised:
        ReadMeMetrics(config, api_key="rdme_abc")  # type: ignore[call-arg]
    assert str(raised.value) == (
        "readme_metrics: ReadMeMetrics(config, app): api_key=... is an option of "
        "MetricsApiConfig, not of the middleware: pass config=MetricsApiConfig(api_key=...)")
    with pytest.raises(TypeError) as raised:
        ReadMeMetrics(grouping_function=_grouping, api_key="k")  # type: ignore[call-arg]
    assert "grouping_function=..., api_key=... are options of MetricsApiConfig" in str(
        raised.value)
    # A keyword that is no option: Python's own words, as before.
    with pytest.raises(TypeError, match="unexpected keyword argument 'nonsense'"):
        ReadMeMetrics(config, nonsense=1)  # type: ignore[call-arg]
    # What the signature takes still works, by keyword too.
    assert ReadMeMetrics(config=config, app=None).config is config


def test_a_bare_flask_extension_says_the_config_is_missing() -> None:
    """``metrics = ReadMeMetrics()``, as Flask-SQLAlchemy's ``db = SQLAlchemy()`` is made,
    got Python's "missing 1 required positional argument: 'config'"."""
    for make in (lambda: ReadMeMetrics(), lambda: ReadMeMetrics(app=None)):
        with pytest.raises(TypeError) as raised:
            make()
        assert str(raised.value) == (
            "readme_metrics: ReadMeMetrics(config, app): config is missing: pass "
            "MetricsApiConfig(...) (or MetricsApiConfig(), which reads the README_* "
            "variables)")
    # The signature stays the extension's own, for help() and inspect.
    assert list(inspect.signature(ReadMeMetrics).parameters) == ["config", "app"]


def test_a_flask_extension_subclass_taking_options_is_made_as_before() -> None:
    class Mine(ReadMeMetrics):
        def __init__(self, api_key: str) -> None:
            super().__init__(MetricsApiConfig(api_key=api_key, grouping_function=_grouping,
                                              metrics_api="http://127.0.0.1:9"))

    assert Mine(api_key="any-key").config.api_key == "any-key"


# -- 3. a logging configuration that turns the library's logger off -------------------------


_LOGGING = """
import logging.config, sys
import readme_metrics  # first, as settings.py imports it before Django's LOGGING is applied
config = {"version": 1, "handlers": {"h": {"class": "logging.StreamHandler",
          "stream": "ext://sys.stdout", "formatter": "f"}},
          "formatters": {"f": {"format": "%(name)s %(levelname)s %(message)s"}},
          "root": {"level": "INFO", "handlers": ["h"]}}
config.update(FIX)
logging.config.dictConfig(config)
from readme_metrics import MetricsApiConfig
MetricsApiConfig(api_key="any-key", grouping_function=lambda request: None,
                 metrics_api="http://127.0.0.1:9")  # README_BUFER_LENGTH: warned of
print("disabled", logging.getLogger("readme_metrics").disabled)
"""


@pytest.mark.parametrize("fix", [
    "{}",  # the symptom
    '{"disable_existing_loggers": False}',
    '{"loggers": {"readme_metrics": {"level": "INFO"}}}',
], ids=["as-written", "disable_existing_loggers", "named"])
def test_troubleshooting_row_on_a_logging_config_that_silences_the_library(
        tmp_path: Path, fix: str) -> None:
    row = troubleshooting_row("no word from the library at all")
    assert '"disable_existing_loggers": False' in row
    assert '"readme_metrics"' in row
    env = _environment()
    env["README_BUFER_LENGTH"] = "3"
    done = run_command([sys.executable, "-c", textwrap.dedent(_LOGGING).replace("FIX", fix)],
                       cwd=str(tmp_path), env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    warned = "README_BUFER_LENGTH (set in the environment) is no variable of this library"
    if fix == "{}":
        assert done.stdout == "disabled True\n", done
        assert warned not in done.stderr
    else:
        assert f"readme_metrics WARNING readme_metrics: {warned}" in done.stdout, done
        assert done.stdout.endswith("disabled False\n")


_DJANGO = """
import logging, django
from django.conf import settings
from readme_metrics import MetricsApiConfig  # as settings.py imports it
LOGGING = {"version": 1, "handlers": {"h": {"class": "logging.StreamHandler"}},
           "root": {"level": "INFO", "handlers": ["h"]}}
LOGGING.update(FIX)
settings.configure(LOGGING=LOGGING, README_METRICS_CONFIG=MetricsApiConfig(
    api_key="any-key", grouping_function=lambda request: None,
    metrics_api="http://127.0.0.1:9"))
django.setup()  # applies LOGGING, as manage.py and wsgi.py do
print("disabled", logging.getLogger("readme_metrics").disabled)
"""


@pytest.mark.parametrize("fix, disabled", [
    ("{}", True), ('{"disable_existing_loggers": False}', False)])
def test_a_django_logging_setting_turns_the_library_off_unless_it_says_so(
        tmp_path: Path, fix: str, disabled: bool) -> None:
    """README's Django quick start: a ``LOGGING`` setting without
    ``"disable_existing_loggers": False`` turns the library's logger off."""
    pytest.importorskip("django")
    assert '"disable_existing_loggers": False' in README.read_text(encoding="utf-8").split(
        "## Quick start: Django")[1].split("## Quick start: FastAPI")[0]
    done = run_command([sys.executable, "-c", textwrap.dedent(_DJANGO).replace("FIX", fix)],
                       cwd=str(tmp_path), env=_environment(), capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"disabled {disabled}\n", done
