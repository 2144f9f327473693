"""A newcomer's first hour, tenth pass: README's quick starts followed in a fresh clone,
pointed at ``readme-metrics collect``, then the mistakes a newcomer makes, and what the
library says about each.

Each test is one thing tried there, with the library's real parts (a real interpreter in
a subprocess, real configuration); none passed before its fix.
"""

from __future__ import annotations

import sys
import textwrap
from typing import Any

import pytest

from tests.support.command import REPO_ROOT
from tests.support.fake_api import Collector
from tests.support.processes import run_command

#: What an app's test suite run with warnings as errors does first: import the library.
_IMPORT_AND_WRAP = textwrap.dedent("""\
    import sys
    from readme_metrics import MetricsApiConfig, MetricsMiddleware
    from readme_metrics.fastapi import ReadMeMetricsMiddleware
    from readme_metrics.flask_readme import ReadMeMetrics
    from readme_metrics.asgi import MetricsMiddleware as AsgiMiddleware

    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"hi"]

    config = MetricsApiConfig(enabled=False)
    MetricsMiddleware(app, config)
    print("imported", "cgi" in sys.modules)
    """)


@pytest.mark.parametrize("flags", [["-W", "error"], ["-X", "dev", "-W", "error"],
                                   ["-W", "error::DeprecationWarning"]])
def test_the_library_imports_under_warnings_as_errors(flags: list[str]) -> None:
    """``python -W error`` (or pytest's ``filterwarnings = ["error"]``, as many projects
    set): ``from readme_metrics import MetricsMiddleware`` raised ``DeprecationWarning:
    'cgi' is deprecated and slated for removal in Python 3.13`` on Python 3.11 and 3.12,
    from webob (the library's dependency; every webob 1.8 imports the standard library's
    ``cgi`` there), so an app's test suite stopped at its first import of the app. The
    library now imports webob with that one warning ignored; the app's own warnings are
    still errors."""
    run = run_command([sys.executable, *flags, "-c", _IMPORT_AND_WRAP],
                      cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith("imported"), run.stdout
    assert "DeprecationWarning" not in run.stderr, run.stderr


def test_warnings_as_errors_still_raise_the_apps_own_deprecations() -> None:
    """The library's import leaves the interpreter's warning filters as they were: a
    deprecation of the app's own, after the import, is still an error."""
    code = _IMPORT_AND_WRAP + textwrap.dedent("""\
        import warnings
        try:
            warnings.warn("the app's own", DeprecationWarning)
        except DeprecationWarning:
            print("still an error")
        """)
    run = run_command([sys.executable, "-W", "error", "-c", code], cwd=REPO_ROOT,
                      capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert "still an error" in run.stdout, run.stdout


@pytest.mark.parametrize("module", [
    "readme_metrics.middleware", "readme_metrics.flask_readme",
    "readme_metrics.fastapi", "readme_metrics.asgi", "readme_metrics.django",
    "readme_metrics.cli.demo_app",
])
def test_each_entry_module_imports_first_under_warnings_as_errors(module: str) -> None:
    """Whichever of the library's modules an app imports first (the Flask extension, the
    FastAPI middleware, the demo's app), ``-W error`` does not stop it: each one that
    imports webob does so through the one guarded import."""
    run = run_command([sys.executable, "-W", "error", "-c", f"import {module}"],
                      cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr


@pytest.mark.parametrize("make", [
    pytest.param(lambda config: config(...), id="MetricsApiConfig(...)"),
    pytest.param(lambda config: config(..., denylist=["password"]), id="denylist example"),
    pytest.param(lambda config: config(api_key="any-key", grouping_function=...),
                 id="grouping_function=..."),
])
def test_an_examples_ellipsis_copied_as_written_is_named(make: Any) -> None:
    """README's "your own secrets" example is ``MetricsApiConfig(..., denylist=[...])``
    and its companions stack ``MetricsApiConfig(...)``: copied as written, the ``...``
    (Ellipsis) is the first positional argument, ``api_key``, and the error said only
    "api_key (README_API_KEY) must be a str, got a value of type ellipsis", though the
    key was set in README_API_KEY. It now says what the ``...`` is, and what to do."""
    from readme_metrics import MetricsApiConfig

    with pytest.raises(ValueError) as raised:
        make(MetricsApiConfig)
    assert "`...` in the examples stands for your own arguments: leave it out" in str(
        raised.value), raised.value


@pytest.mark.parametrize(("variable", "text", "meant"), [
    ("README_DENYLIST", "password;token", "password,token"),
    ("README_DENYLIST", "password token", "password,token"),
    ("README_ALLOWLIST", "id | name", "id,name"),
])
def test_a_key_list_written_with_another_separator_is_warned_about(
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
        collector: Collector, variable: str, text: str, meant: str) -> None:
    """``README_DENYLIST="password;token"`` (or with blanks, as a shell list is written)
    was one key, ``password;token``, that no field has: the denylist redacted nothing
    and the caller's password went out as sent, without a word. It is still that one
    key (a JSON key may hold a ';' or a blank), with one warning at start-up saying how
    keys are separated."""
    import logging

    from werkzeug.test import Client

    from readme_metrics import MetricsApiConfig, MetricsMiddleware

    monkeypatch.setenv(variable, text)
    caplog.set_level(logging.WARNING, logger="readme_metrics")

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        start_response("200 OK", [("Content-Type", "application/json")])
        return [b'{"ok": true}']

    middleware = MetricsMiddleware(app, MetricsApiConfig(
        api_key="any-key", metrics_api=collector.url,
        grouping_function=lambda request: {"api_key": "owlbert-key"}))
    Client(middleware).post("/", json={"password": "hunter2"}, buffered=True)
    assert middleware.flush(30)
    middleware.close()
    warned = [record.getMessage() for record in caplog.records
              if variable in record.getMessage() and "separated" in record.getMessage()]
    assert len(warned) == 1, [record.getMessage() for record in caplog.records]
    assert repr(meant) in warned[0], warned


def test_collects_export_line_copied_into_a_dotenv_file_is_named(
        tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """``readme-metrics collect`` prints, for the app's shell, the one line ``export
    README_METRICS_SERVER=http://127.0.0.1:8001 README_API_URL=http://127.0.0.1:8001``.
    Copied whole into a ``.env`` file (which python-dotenv reads, ``export`` and all), the
    first variable's value is the rest of the line, and the error said only "it holds a
    blank or control character". It now says what the blank is in front of."""
    from readme_metrics import MetricsApiConfig

    (tmp_path / ".env").write_text(
        "export README_METRICS_SERVER=http://127.0.0.1:8001 "
        "README_API_URL=http://127.0.0.1:8001\nREADME_API_KEY=any-key\n")
    monkeypatch.chdir(tmp_path)
    for variable in ("README_METRICS_SERVER", "README_API_URL", "README_API_KEY"):
        monkeypatch.delenv(variable, raising=False)
    with pytest.raises(ValueError) as raised:
        MetricsApiConfig(grouping_function=lambda request: None)
    assert "a .env file one variable a line" in str(raised.value), raised.value


def test_an_api_key_on_the_same_dotenv_line_is_not_in_the_error(
        tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """A .env line holding two assignments, the second the API key
    (``README_METRICS_SERVER=http://... README_API_KEY=rdme_...``): the error quoted the
    whole value, key included (review62). It now quotes the URL up to the other
    assignment."""
    from readme_metrics import MetricsApiConfig

    (tmp_path / ".env").write_text(
        "README_METRICS_SERVER=http://127.0.0.1:8001 README_API_KEY=rdme_leaked0secret\n")
    monkeypatch.chdir(tmp_path)
    for variable in ("README_METRICS_SERVER", "README_API_KEY"):
        monkeypatch.delenv(variable, raising=False)
    with pytest.raises(ValueError) as raised:
        MetricsApiConfig(api_key="rdme_leaked0secret", grouping_function=lambda request: None)
    said = str(raised.value)
    assert "leaked0secret" not in said and "README_API_KEY" not in said, said
    assert "'http://127.0.0.1:8001 ...'" in said and "one variable a line" in said, said


@pytest.mark.parametrize("written", ["a statement", "assigned", "served around",
                                     "the extension"])
def test_a_middleware_around_a_flask_app_never_assigned_says_so(
        written: str, collector: Collector, caplog: pytest.LogCaptureFixture) -> None:
    """``MetricsMiddleware(app.wsgi_app, config)`` written as a statement, as a Flask
    extension is (``CORS(app)``), its result never assigned: the app served every request
    unlogged, the debug log said "logs are posted to ..." as for a working setup, and
    nothing else was said. The first request the app serves now says so, once; nothing
    is said where the middleware serves the request (README's assignment, the middleware
    given to the server around the app, the extension)."""
    import logging

    from flask import Flask
    from werkzeug.test import Client

    from readme_metrics import MetricsApiConfig, MetricsMiddleware
    from readme_metrics.flask_readme import ReadMeMetrics
    caplog.set_level(logging.WARNING, logger="readme_metrics")
    app = Flask(f"app_{written.replace(' ', '_')}")
    app.get("/")(lambda: "hello")
    config = MetricsApiConfig(api_key="any-key", metrics_api=collector.url, buffer_length=1,
                              grouping_function=lambda request: {"api_key": "owlbert-key"})
    served: Any = app
    if written == "a statement":
        MetricsMiddleware(app.wsgi_app, config)
    elif written == "assigned":
        app.wsgi_app = MetricsMiddleware(app.wsgi_app, config)  # type: ignore[method-assign]
    elif written == "served around":
        served = MetricsMiddleware(app.wsgi_app, config)
    else:
        ReadMeMetrics(config, app)
    for _ in range(2):
        assert Client(served).get("/", buffered=True).status_code == 200
    said = [record.getMessage() for record in caplog.records
            if "does not serve it" in record.getMessage()]
    if written == "a statement":
        assert len(said) == 1 and repr(app.name) in said[0], said
        assert "app.wsgi_app = MetricsMiddleware(app.wsgi_app, config)" in said[0]
    else:
        assert said == [], said
        assert len(collector.wait_for_logs(2)) == 2
