"""A newcomer's first hour, ninth pass: README's quick starts followed in a fresh clone,
pointed at ``readme-metrics collect``, then the mistakes a newcomer makes, and what the
library says about each.

Each test is one thing tried there, with the library's real parts (a real Django project
in a subprocess, a real collector, real configuration); none passed before its fix.
"""

from __future__ import annotations

import logging
import os
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

import tests.test_newcomer4_findings as newcomer4
from readme_metrics import MetricsApiConfig
from readme_metrics.django import DJANGO_NOT_FIRST
from tests.support.fake_api import Collector
from tests.support.processes import run_command
from tests.test_newcomer7_findings import _django_project
from tests.test_readme import _quoted_pattern, troubleshooting_row

ROOT = Path(__file__).resolve().parent.parent

_TWO_CALLS = """
    import django
    django.setup()
    from django.test import Client
    client = Client()
    for path in ("/", "/hello"):  # /hello: CommonMiddleware's APPEND_SLASH, a 301
        print(client.get(path, HTTP_X_API_KEY="owlbert-key").status_code)
    """


@pytest.mark.parametrize("placed", ["insert(0, ", "append("])
def test_django_middleware_appended_logs_the_views_answer_and_says_so(
        tmp_path: Path, collector: Collector, placed: str) -> None:
    """``MIDDLEWARE.append(...)``, as most packages' instructions have it, in place of
    README's ``insert(0, ...)``: the client got CommonMiddleware's 301 to ``/hello/`` and
    the log said 404, the view's answer, without a word. Now a warning at start-up says
    why and what to write (README's Troubleshooting row quotes it); first, nothing is
    said and the log has the 301."""
    project = _django_project(tmp_path, with_the_middleware_line=True)
    settings = project / "mysite" / "settings.py"
    settings.write_text(settings.read_text().replace("MIDDLEWARE.insert(0, ",
                                                     f"MIDDLEWARE.{placed}"))
    (project / "mysite" / "urls.py").write_text(textwrap.dedent("""\
        from django.http import JsonResponse
        from django.urls import path

        urlpatterns = [path("", lambda request: JsonResponse({"hello": "world"})),
                       path("hello/", lambda request: JsonResponse({"hello": "slash"}))]
        """))
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "mysite.settings",
           "README_API_KEY": "any-key", "README_METRICS_SERVER": collector.url,
           "PYTHONPATH": os.pathsep.join([str(project), str(ROOT)])}
    done = run_command([sys.executable, "-c", textwrap.dedent(_TWO_CALLS)],
                       cwd=project, env=env, capture_output=True, text=True,
                       timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["200", "301"], done.stdout  # what the client got
    logged = sorted((log["request"]["log"]["entries"][0]["request"]["url"],
                     log["request"]["log"]["entries"][0]["response"]["status"])
                    for log in collector.wait_for_logs(2))
    warned = [line for line in done.stderr.splitlines() if "comes after Django's" in line]
    if placed == "append(":
        assert logged == [("http://testserver/", 200), ("http://testserver/hello", 404)]
        assert warned == [DJANGO_NOT_FIRST.format("SecurityMiddleware, CommonMiddleware")]
        assert _quoted_pattern("a warning \"readme_metrics.django.MetricsMiddleware "
                               "comes after").search(warned[0])
    else:
        assert logged == [("http://testserver/", 200), ("http://testserver/hello", 301)]
        assert warned == [], done.stderr


def test_the_readme_row_for_a_django_middleware_appended_says_what_to_write() -> None:
    row = troubleshooting_row('a warning "readme_metrics.django.MetricsMiddleware comes')
    assert '`MIDDLEWARE.insert(0, "readme_metrics.django.MetricsMiddleware")`' in row
    assert "`MIDDLEWARE.append(...)`" in row
    assert 'MIDDLEWARE.insert(0, \\"readme_metrics.django.MetricsMiddleware\\")' not in row


def grouping(request: object) -> None:
    return None


@pytest.mark.parametrize("name, meant", [
    ("README_METRICS_BUFFER_LENGTH", "README_BUFFER_LENGTH"),
    ("README_METRICS_FLUSH_INTERVAL", "README_FLUSH_INTERVAL"),
    ("README_METRICS_TIMEOUT", "README_TIMEOUT"),
    ("README_METRICS_DENYLIST", "README_DENYLIST"),
    ("readme_metrics_allowlist", "README_ALLOWLIST"),
    ("README_METRICS_BATCH_SIZE", "README_BUFFER_LENGTH"),  # METRICS_ and another word
    ("README_METRICS_API_KEY", "README_API_KEY"),  # the key given otherwise: a warning
    # what was said before stays said (README_METRICS_API_URL: newcomer4's list)
    ("README_METRICS_SERVR", "README_METRICS_SERVER"),
    ("README_METRICS_DEVELOPMENT_MODE", "README_DEVELOPMENT_MODE"),
])
def test_metrics_put_into_another_options_variable_names_the_variable(
        caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch, name: str,
        meant: str) -> None:
    """Two variables say METRICS (README_METRICS_SERVER, README_METRICS_ENABLED), so a
    newcomer writes README_METRICS_FLUSH_INTERVAL=1 or README_METRICS_DENYLIST=password:
    ignored without a word, the option left at its default (the password sent), while
    README_METRICS_DEVELOPMENT_MODE, close enough for difflib, got the warning."""
    newcomer4.test_a_guessed_name_for_an_option_names_the_variable(
        caplog, monkeypatch, name, meant)  # its check: the one warning, naming ``meant``


@pytest.mark.parametrize("name, meant", [
    ("RAEDME_API_KEY", "README_API_KEY"),  # README mistyped: two letters swapped,
    ("REDME_API_KEY", "README_API_KEY"),  # one dropped,
    ("READ_ME_API_KEY", "README_API_KEY"),  # split in two
    ("REDME_METRICS_SERVER", "README_METRICS_SERVER"),
    ("README_MAX_QUEUE", "README_MAX_QUEUE_SIZE"),  # the noun left out
    ("README_TIMEOUT_SECONDS", "README_TIMEOUT"),  # the unit added
    ("README_BLOCKLIST", "README_DENYLIST"),  # another word for the list
    ("README_METRIC_API", "README_METRICS_SERVER"),  # the argument, METRIC for METRICS
])
def test_the_near_misses_newcomer9_found_ignored_silently_name_the_variable(
        caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch, name: str,
        meant: str) -> None:
    """Each was ignored without a word (README_TIMEOUT_SECONDS=10 left 3 s, and
    RAEDME_API_KEY with the key given otherwise, or in a .env, said nothing at all)."""
    newcomer4.test_a_guessed_name_for_an_option_names_the_variable(
        caplog, monkeypatch, name, meant)  # its check: the one warning, naming ``meant``


@pytest.mark.parametrize("name", ["RDME_API_KEY", "READER_TIMEOUT", "OPENAI_API_KEY",
                                  "READMEE_API_KEY", "API_KEY"])
def test_a_name_that_only_ends_like_a_variable_is_left_alone(
        caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch,
        name: str) -> None:
    """The rdme CLI's RDME_API_KEY and an app's own names are no misspelled README."""
    test_metrics_before_a_name_that_is_no_options_is_left_alone(caplog, monkeypatch, name)


@pytest.mark.parametrize("name", ["README_METRICS_CONFIG", "README_METRICS_PROJECT"])
def test_metrics_before_a_name_that_is_no_options_is_left_alone(
        caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch,
        name: str) -> None:
    monkeypatch.setenv(name, "1")
    logger = logging.getLogger(f"newcomer9-metrics-other-{name}")
    caplog.set_level(logging.WARNING)
    MetricsApiConfig(api_key="any-key", grouping_function=grouping, logger=logger)
    assert [r.getMessage() for r in caplog.records if r.name == logger.name] == []


def _hello(environ: dict[str, object], start_response: Any) -> list[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"hello"]


async def _asgi_hello(scope: Any, receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"hello"})


def test_options_given_to_the_middleware_say_they_go_to_metricsapiconfig() -> None:
    """``MetricsMiddleware(app, api_key=..., grouping_function=...)``, the way Starlette's
    own middlewares take their options: Python's "got an unexpected keyword argument
    'api_key'" said nothing of where they go."""
    from readme_metrics import MetricsMiddleware
    from readme_metrics.asgi import MetricsMiddleware as ASGIMetricsMiddleware

    for middleware, app in ((MetricsMiddleware, _hello),
                            (ASGIMetricsMiddleware, _asgi_hello)):
        name = middleware.__name__
        with pytest.raises(TypeError) as caught:
            middleware(app, api_key="any-key", grouping_function=grouping)
        assert str(caught.value) == (
            f"readme_metrics: {name}(app, config): api_key=..., grouping_function=... are "
            "options of MetricsApiConfig, not of the middleware: pass "
            "config=MetricsApiConfig(api_key=..., grouping_function=...)")
        with pytest.raises(TypeError, match=r"\(app, config\): denylist=\.\.\. is an "
                                            r"option of MetricsApiConfig"):
            middleware(app, MetricsApiConfig(api_key="any-key", grouping_function=grouping),
                       denylist=["password"])
        # a name that is no option: Python's own words, as before
        with pytest.raises(TypeError, match=rf"^{name}\.__init__\(\) got an unexpected "
                                            r"keyword argument 'confg'$"):
            middleware(app, confg=None)


def test_fastapi_add_middleware_with_options_fails_its_request_saying_where_they_go(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """``app.add_middleware(ReadMeMetricsMiddleware, grouping_function=...)``: Starlette
    makes the middleware at the first request, and every request was a 500 whose
    traceback said only "unexpected keyword argument 'grouping_function'". It still fails
    there (Starlette's choice), now saying what to write; no README_API_KEY is set, and
    the configuration the environment would give (api_key is required) is not what is
    said."""
    import inspect

    from fastapi import FastAPI
    from fastapi.testclient import TestClient

    from readme_metrics.fastapi import ReadMeMetricsMiddleware

    # what type checkers, help() and inspect read stays the constructor's own
    assert list(inspect.signature(ReadMeMetricsMiddleware).parameters) == ["app", "config"]
    monkeypatch.delenv("README_API_KEY", raising=False)
    app = FastAPI()
    app.add_middleware(ReadMeMetricsMiddleware, grouping_function=grouping)
    with pytest.raises(TypeError) as caught:
        TestClient(app).get("/")
    assert str(caught.value) == (
        "readme_metrics: ReadMeMetricsMiddleware(app, config): grouping_function=... is an "
        "option of MetricsApiConfig, not of the middleware: pass "
        "config=MetricsApiConfig(grouping_function=...)")
