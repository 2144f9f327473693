"""A newcomer's first hour, sixth pass: README's quick starts followed in a fresh clone
and fresh virtualenvs (Python 3.11 and 3.9), pointed at ``readme-metrics collect``, then
the usual mistakes, and what the library says about each.

Each test is one thing tried there, written down with the library's real parts (real
Django projects in a subprocess, real configuration); none passed before its fix.
"""

from __future__ import annotations

import dataclasses
import inspect
import logging
import os
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from readme_metrics import MetricsApiConfig, MetricsMiddleware
from readme_metrics.asgi import MetricsMiddleware as ASGIMetricsMiddleware
from tests.support.delivery import said_on
from tests.support.processes import run_command

ROOT = Path(__file__).resolve().parent.parent


def _django_project(tmp_path: Path, readme_lines: str) -> Path:
    """A project as ``django-admin startproject`` leaves it, reduced to what loading the
    middleware needs, with README's Django lines (or a newcomer's take on them) at the
    end of its settings, and the grouping module they name."""
    (tmp_path / "mysite").mkdir()
    (tmp_path / "mysite" / "__init__.py").write_text("")
    (tmp_path / "mysite" / "settings.py").write_text(textwrap.dedent("""\
        SECRET_KEY = "newcomer6-not-secret"
        DEBUG = True
        ALLOWED_HOSTS = ["127.0.0.1"]
        ROOT_URLCONF = "mysite.urls"
        INSTALLED_APPS = ["django.contrib.contenttypes", "django.contrib.auth"]
        MIDDLEWARE = [
            "django.middleware.security.SecurityMiddleware",
            "django.middleware.common.CommonMiddleware",
        ]
        """) + textwrap.dedent(readme_lines))
    (tmp_path / "mysite" / "urls.py").write_text("urlpatterns = []\n")
    (tmp_path / "myapp").mkdir()
    (tmp_path / "myapp" / "__init__.py").write_text("")
    (tmp_path / "myapp" / "metrics.py").write_text(
        "def grouping(request):\n    return None\n")
    return tmp_path


def _load(project: Path, handler: str) -> str:
    """What ``get_wsgi_application()`` or ``get_asgi_application()`` (what gunicorn,
    runserver and uvicorn call first) raises for the project: its last line."""
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "mysite.settings",
           "README_API_KEY": "any-key", "README_METRICS_SERVER": "http://127.0.0.1:9",
           "PYTHONPATH": os.pathsep.join([str(project), str(ROOT)])}
    done = run_command(
        [sys.executable, "-c",
         f"from django.core.{handler} import get_{handler}_application\n"
         f"get_{handler}_application()\n"],
        cwd=project, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode != 0, done.stdout
    return done.stderr.strip().splitlines()[-1]


_NAMES_DJANGOS = (
    "config is missing: pass MetricsApiConfig(...) (or MetricsApiConfig(), which reads "
    "the README_* variables); in Django's MIDDLEWARE setting, name "
    "'readme_metrics.django.MetricsMiddleware' instead, which reads "
    "settings.README_METRICS_CONFIG")


@pytest.mark.parametrize(("middleware", "handler"), [
    pytest.param("readme_metrics.MetricsMiddleware", "wsgi", id="wsgi-middleware"),
    # Under ASGI, Django hands a sync-only middleware asgiref's AsyncToSync of its chain.
    pytest.param("readme_metrics.MetricsMiddleware", "asgi", id="wsgi-middleware-asgi"),
    pytest.param("readme_metrics.asgi.MetricsMiddleware", "wsgi", id="asgi-middleware"),
])
def test_the_plain_middleware_in_djangos_setting_names_the_django_one(
        tmp_path: Path, middleware: str, handler: str) -> None:
    """``MIDDLEWARE.insert(0, "readme_metrics.MetricsMiddleware")``, the class README's
    first quick start imports, for Django's: Django calls it with the next handler alone,
    and it said only "TypeError: MetricsMiddleware.__init__() missing 1 required
    positional argument: 'config'", the settings' README_METRICS_CONFIG right there."""
    project = _django_project(tmp_path, f"""
        from readme_metrics import MetricsApiConfig

        MIDDLEWARE.insert(0, "{middleware}")

        README_METRICS_CONFIG = MetricsApiConfig(
            grouping_function="myapp.metrics.grouping",
        )
        """)
    assert _load(project, handler) == (
        "TypeError: readme_metrics: MetricsMiddleware(app, config): " + _NAMES_DJANGOS)


def test_a_dict_as_djangos_setting_says_how_to_make_the_config(tmp_path: Path) -> None:
    """``README_METRICS_CONFIG = {"grouping_function": ...}``, as DATABASES and CACHES are
    written: "must be a MetricsApiConfig, got dict" and no more, where the WSGI and ASGI
    middlewares' own check of a dict says MetricsApiConfig(**options) makes one."""
    project = _django_project(tmp_path, """
        MIDDLEWARE.insert(0, "readme_metrics.django.MetricsMiddleware")

        README_METRICS_CONFIG = {"grouping_function": "myapp.metrics.grouping"}
        """)
    assert _load(project, "wsgi") == (
        "django.core.exceptions.ImproperlyConfigured: readme_metrics: "
        "settings.README_METRICS_CONFIG must be a MetricsApiConfig, got dict "
        "(MetricsApiConfig(**options) makes one of a dict, with from readme_metrics "
        "import MetricsApiConfig)")


def _wsgi_app(environ: Any, start_response: Any) -> list[bytes]:
    start_response("200 OK", [])
    return []


async def _asgi_app(scope: Any, receive: Any, send: Any) -> None:
    pass


@pytest.mark.parametrize(("middleware", "app"), [
    pytest.param(MetricsMiddleware, _wsgi_app, id="wsgi"),
    pytest.param(ASGIMetricsMiddleware, _asgi_app, id="asgi"),
])
def test_a_middleware_made_without_its_config_says_what_to_pass(
        middleware: Any, app: Any) -> None:
    """Outside Django, the same mistake is told what to pass, and nothing of Django; the
    signature (``help()``) shows the argument as required, not as an object's address."""
    assert repr(inspect.signature(middleware).parameters["config"].default) == "<required>"
    with pytest.raises(TypeError) as raised:
        middleware(app)
    assert str(raised.value) == (
        "readme_metrics: MetricsMiddleware(app, config): config is missing: pass "
        "MetricsApiConfig(...) (or MetricsApiConfig(), which reads the README_* "
        "variables)")


@dataclasses.dataclass
class User:
    """The caller's own object, as an authentication layer gives it (Django's
    request.user, a FastAPI dependency's model)."""

    api_key: str
    name: str


@pytest.mark.parametrize(("returned", "kind", "hint"), [
    pytest.param(lambda key: (key, "Owlbert"), "tuple", "", id="tuple"),
    # (A dataclass is also told the call that makes it the mapping: newcomer31.)
    pytest.param(lambda key: User(key, "Owlbert"), "User", ", or dataclasses.asdict(it)",
                 id="user-object"),
])
def test_a_grouping_function_returning_no_mapping_is_shown_the_shape(
        caplog: pytest.LogCaptureFixture, returned: Any, kind: str, hint: str) -> None:
    """``return request.user`` or ``return key, label``: "must return a mapping or None,
    got User", without the keys to return, which only the key alone (a str) was shown."""
    from werkzeug.test import Client

    app = MetricsMiddleware(_wsgi_app, MetricsApiConfig(
        api_key="any-key", metrics_api="http://127.0.0.1:9", base_log_url=None,
        grouping_function=lambda request: returned(request.headers["X-Api-Key"])))
    caplog.set_level(logging.ERROR, logger="readme_metrics")
    Client(app).get("/", headers={"X-Api-Key": "owlbert-key"}, buffered=True)
    app.close()
    assert [r.getMessage() for r in caplog.records] == [
        f"readme_metrics: the grouping function must return a mapping or None, got {kind} "
        f'(return {{"api_key": <the caller\'s key>, "label": ..., "email": ...}}{hint}); '
        "the request is not logged"]


@pytest.mark.parametrize(("variable", "text", "said"), [
    pytest.param("README_FLUSH_INTERVAL", "5000",
                 "flush_interval (README_FLUSH_INTERVAL) is 5000 seconds (83 minutes): a "
                 "partial batch waits that long to be sent. It is in seconds, not "
                 "milliseconds: 5 for 5000 ms", id="flush_interval"),
    pytest.param("README_TIMEOUT", "3000",
                 "timeout (README_TIMEOUT) is 3000 seconds (50 minutes): a Metrics API "
                 "that does not answer holds a POST that long. It is in seconds, not "
                 "milliseconds: 3 for 3000 ms", id="timeout"),
    pytest.param("README_SHUTDOWN_TIMEOUT", "10000",
                 "shutdown_timeout (README_SHUTDOWN_TIMEOUT) is 10000 seconds (167 "
                 "minutes): the exit may wait that long for the Metrics API. It is in "
                 "seconds, not milliseconds: 10 for 10000 ms", id="shutdown_timeout"),
    pytest.param("README_FLUSH_INTERVAL", "999", None, id="under-1000-seconds"),
])
def test_a_duration_in_milliseconds_is_said_at_start_up(
        caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch,
        variable: str, text: str, said: Any) -> None:
    """``README_FLUSH_INTERVAL=5000`` (milliseconds, as JavaScript's timers take them,
    for README's 5 s) was taken without a word as 83 minutes: under ``flask run``, two
    calls, fewer than ``buffer_length``, had not reached the collector 8 s later, and
    nothing was said. The option keeps the value given."""
    monkeypatch.setenv(variable, text)
    logger = logging.getLogger(f"newcomer6-milliseconds-{variable}-{text}")
    caplog.set_level(logging.WARNING)
    config = MetricsApiConfig(api_key="any-key", grouping_function=_no_caller,
                              logger=logger)
    assert getattr(config, variable[len("README_"):].lower()) == float(text)
    assert said_on(caplog, logger) == ([f"readme_metrics: {said}"] if said else [])


def test_a_duration_argument_in_milliseconds_is_said_too(
        caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("newcomer6-milliseconds-argument")
    caplog.set_level(logging.WARNING)
    MetricsApiConfig(api_key="any-key", grouping_function=_no_caller, logger=logger,
                     flush_interval=2000)
    assert said_on(caplog, logger) == [
        "readme_metrics: flush_interval (README_FLUSH_INTERVAL) is 2000 seconds (33 "
        "minutes): a partial batch waits that long to be sent. It is in seconds, not "
        "milliseconds: 2 for 2000 ms"]


def _no_caller(request: Any) -> None:
    return None


def test_a_flask_extension_made_with_the_app_alone_says_the_app_comes_second() -> None:
    """``ReadMeMetrics(app)``, as Flask-CORS and Flask-SQLAlchemy are made: "config must
    be a MetricsApiConfig, got Flask", without the order of the arguments."""
    from flask import Flask

    from readme_metrics.flask_readme import ReadMeMetrics

    with pytest.raises(TypeError) as raised:
        ReadMeMetrics(Flask("newcomer6"))  # type: ignore[arg-type]
    assert str(raised.value) == (
        "readme_metrics: ReadMeMetrics(config, app): config must be a MetricsApiConfig, "
        "got Flask (the app comes second: ReadMeMetrics(MetricsApiConfig(...), app); "
        "MetricsApiConfig() reads the README_* variables)")
