"""A newcomer's first hour, seventh pass: README's quick starts followed in a fresh clone
and fresh virtualenvs, pointed at ``readme-metrics collect``, then the usual mistakes,
and what the library says about each.

Each test is one thing tried there, written down with the library's real parts (real
Django projects in a subprocess, real configuration); none passed before its fix.
"""

from __future__ import annotations

import inspect
import logging
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
import requests

from readme_metrics import MetricsApiConfig, MetricsMiddleware
from readme_metrics.options import OPTIONS
from readme_metrics.unwrapped import DJANGO_UNWRAPPED
from tests.support.polling import wait_until
from tests.support.ports import free_port
from tests.support.processes import run_command, start_server, stop_server

ROOT = Path(__file__).resolve().parent.parent

_README_LINES = """
    from readme_metrics import MetricsApiConfig

    {insert}MIDDLEWARE.insert(0, "readme_metrics.django.MetricsMiddleware")

    README_METRICS_CONFIG = MetricsApiConfig(
        grouping_function="myapp.metrics.grouping",
    )
    """


def _django_project(tmp_path: Path, with_the_middleware_line: bool) -> Path:
    """A project as ``django-admin startproject`` leaves it, reduced to one view, with
    README's Django lines at the end of its settings (the MIDDLEWARE one commented out,
    as a newcomer leaves it out) and the grouping module they name."""
    (tmp_path / "mysite").mkdir()
    (tmp_path / "mysite" / "__init__.py").write_text("")
    lines = _README_LINES.format(insert="" if with_the_middleware_line else "# ")
    (tmp_path / "mysite" / "settings.py").write_text(textwrap.dedent("""\
        SECRET_KEY = "newcomer7-not-secret"
        DEBUG = True
        ALLOWED_HOSTS = ["testserver", "127.0.0.1"]
        ROOT_URLCONF = "mysite.urls"
        INSTALLED_APPS = ["django.contrib.contenttypes", "django.contrib.auth"]
        MIDDLEWARE = [
            "django.middleware.security.SecurityMiddleware",
            "django.middleware.common.CommonMiddleware",
        ]
        """) + textwrap.dedent(lines))
    (tmp_path / "mysite" / "urls.py").write_text(textwrap.dedent("""\
        from django.http import JsonResponse
        from django.urls import path

        urlpatterns = [path("", lambda request: JsonResponse({"hello": "world"}))]
        """))
    (tmp_path / "myapp").mkdir()
    (tmp_path / "myapp" / "__init__.py").write_text("")
    (tmp_path / "myapp" / "metrics.py").write_text(textwrap.dedent("""\
        def grouping(request):
            key = request.headers.get("X-Api-Key")
            return {"api_key": key} if key else None
        """))
    return tmp_path


def _served(project: Path, script: str) -> str:
    """The stderr of ``script`` run in the project (two requests, the way it serves
    them), with the settings module and a metrics server nothing listens on (no log is
    queued where the middleware is missing; where it is there, the exit flush gives up
    at once)."""
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "mysite.settings",
           "README_API_KEY": "any-key", "README_METRICS_SERVER": "http://127.0.0.1:9",
           "README_SHUTDOWN_TIMEOUT": "0.1",
           "PYTHONPATH": os.pathsep.join([str(project), str(ROOT)])}
    done = run_command([sys.executable, "-c", textwrap.dedent(script)], cwd=project,
                       env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["200", "200"], done.stdout
    return done.stderr


_TEST_CLIENT = """
    import django
    django.setup()
    from django.test import Client
    for _ in range(2):
        print(Client().get("/", HTTP_X_API_KEY="owlbert-key").status_code)
    """

_ASYNC_CLIENT = """
    import asyncio
    import django
    django.setup()
    from django.test import AsyncClient

    async def main():
        for _ in range(2):
            print((await AsyncClient().get("/", HTTP_X_API_KEY="owlbert-key")).status_code)

    asyncio.run(main())
    """

# Django's own handlers, called as a server calls them (runserver and gunicorn the WSGI
# one, uvicorn and daphne the ASGI one): the test client is not looked at (review47).
_WSGI_HANDLER = """
    from wsgiref.util import setup_testing_defaults
    from django.core.wsgi import get_wsgi_application

    app = get_wsgi_application()
    for _ in range(2):
        environ = {"HTTP_X_API_KEY": "owlbert-key", "SERVER_NAME": "127.0.0.1"}
        setup_testing_defaults(environ)
        said = []
        body = app(environ, lambda status, headers, exc_info=None: said.append(status))
        b"".join(body)
        body.close()
        print(said[0].split()[0])
    """

_ASGI_HANDLER = """
    import asyncio
    from django.core.asgi import get_asgi_application
    from tests.support.asgi import http_scope, run

    app = get_asgi_application()

    async def main():
        for _ in range(2):
            scope = http_scope(headers=[(b"x-api-key", b"owlbert-key")])
            scope["headers"][0] = (b"host", b"127.0.0.1")
            print((await run(app, scope)).sent[0]["status"])

    asyncio.run(main())
    """

# README's plain WSGI way around Django's handler: every request is logged there.
_WRAPPED_OUTSIDE = """
    from wsgiref.util import setup_testing_defaults
    from django.conf import settings
    from django.core.wsgi import get_wsgi_application
    from readme_metrics import MetricsMiddleware

    app = MetricsMiddleware(get_wsgi_application(), settings.README_METRICS_CONFIG)
    for _ in range(2):
        environ = {"HTTP_X_API_KEY": "owlbert-key", "SERVER_NAME": "127.0.0.1"}
        setup_testing_defaults(environ)
        said = []
        body = app(environ, lambda status, headers, exc_info=None: said.append(status))
        b"".join(body)
        body.close()
        print(said[0].split()[0])
    """


@pytest.mark.parametrize("script", [
    pytest.param(_WSGI_HANDLER, id="wsgi-handler"),
    pytest.param(_ASGI_HANDLER, id="asgi-handler"),
])
def test_djangos_middleware_line_left_out_is_said_at_the_first_request(
        tmp_path: Path, script: str) -> None:
    """README's Django quick start is two lines in settings.py; with the
    ``MIDDLEWARE.insert(0, ...)`` one left out, ``manage.py runserver`` served every
    request unlogged and nothing was said, at any level. Now the first request says it,
    once."""
    said = _served(_django_project(tmp_path, with_the_middleware_line=False), script)
    assert said.count(DJANGO_UNWRAPPED) == 1, said
    assert said.strip() == DJANGO_UNWRAPPED
    assert "any-key" not in said


@pytest.mark.parametrize(("with_the_middleware_line", "script"), [
    pytest.param(True, _TEST_CLIENT, id="line-there-wsgi"),
    pytest.param(True, _ASYNC_CLIENT, id="line-there-asgi"),
    pytest.param(False, _WRAPPED_OUTSIDE, id="wrapped-outside"),
    pytest.param(False, _TEST_CLIENT, id="wrapped-in-wsgi-py-test-client"),
    pytest.param(False, _ASYNC_CLIENT, id="wrapped-in-asgi-py-async-client"),
])
def test_nothing_is_said_where_the_requests_are_logged(
        tmp_path: Path, with_the_middleware_line: bool, script: str) -> None:
    """The README's way (the line there, under either handler), or Django's WSGI
    handler wrapped with the plain middleware and the settings' config: logged, so no
    word about a missing line. Nor under Django's test client (review47), which calls
    the handler itself, around wsgi.py and asgi.py: a project wrapping the handler
    there, README's plain way, was told at every test run to add a line it does not
    need (and nothing tells such a project's tests from one missing the line)."""
    project = _django_project(tmp_path, with_the_middleware_line)
    (project / "mysite" / "wsgi.py").write_text(textwrap.dedent("""\
        from django.conf import settings
        from django.core.wsgi import get_wsgi_application
        from readme_metrics import MetricsMiddleware

        application = MetricsMiddleware(get_wsgi_application(),
                                        settings.README_METRICS_CONFIG)
        """))
    said = _served(project, script)
    assert "not in settings.MIDDLEWARE" not in said, said


def test_the_configs_signature_shows_where_each_value_comes_from() -> None:
    """``help(MetricsApiConfig)`` (and IPython's ``MetricsApiConfig?``, an IDE's tooltip),
    the first thing tried after the quick start, showed ``= <object object at 0x7f...>``
    for each of the 23 arguments: the "not passed" sentinel. Each now shows its variable
    and default, as README's options table does."""
    signature = inspect.signature(MetricsApiConfig)
    assert "object at" not in str(signature)
    shown = {name: repr(parameter.default)
             for name, parameter in signature.parameters.items()}
    assert shown["api_key"] == "<README_API_KEY, required>"
    assert shown["buffer_length"] == "<README_BUFFER_LENGTH or 10>"
    assert shown["metrics_api"] == "<README_METRICS_SERVER or https://metrics.readme.io>"
    assert shown["blacklist"] == "<deprecated: denylist>"
    assert shown["logger"] == '<logging.getLogger("readme_metrics")>'
    for option in OPTIONS:
        if option.variable is not None:
            assert shown[option.name].startswith(f"<{option.variable}"), option.name
    # Left out, each is still read from the environment, then defaulted.
    config = MetricsApiConfig(api_key="any-key", grouping_function=_no_caller)
    assert (config.buffer_length, config.skip_methods) == (10, ["OPTIONS"])
    assert MetricsApiConfig(api_key="any-key", grouping_function=_no_caller,
                            buffer_length=None).buffer_length == 10


def _no_caller(request: object) -> None:
    return None


@pytest.mark.parametrize("variable_set", [
    pytest.param(False, id="no-key-variable"),
    pytest.param(True, id="key-variable-set"),
])
def test_the_grouping_function_passed_first_says_api_key_comes_first(
        monkeypatch: pytest.MonkeyPatch, variable_set: bool) -> None:
    """``MetricsApiConfig(grouping)``, the key left to README_API_KEY as the quick starts
    do: the official package's positional order puts api_key first, and the error was
    "api_key (README_API_KEY) must be a str, got a value of type function", with the
    key's variable set and right (the error then also said the argument overrides it)."""
    monkeypatch.delenv("README_API_KEY", raising=False)
    if variable_set:
        monkeypatch.setenv("README_API_KEY", "any-key")
    with pytest.raises(ValueError) as raised:
        MetricsApiConfig(_no_caller)  # type: ignore[arg-type]
    assert ("must be a str, got a value of type function: api_key is MetricsApiConfig's "
            "first positional argument; name the function: "
            "MetricsApiConfig(grouping_function=...) (the key then comes from "
            "README_API_KEY)") in str(raised.value)
    # Any other type is not taken for a misplaced function.
    with pytest.raises(ValueError) as raised:
        MetricsApiConfig(12, _no_caller)  # type: ignore[arg-type]
    assert "positional" not in str(raised.value)


_PATH_FIRST = ("api_key was given a 'module.attribute' path, as grouping_function takes "
               "(api_key is MetricsApiConfig's first positional argument): name it, "
               "MetricsApiConfig(grouping_function=...), the key then comes from "
               "README_API_KEY")


def test_a_grouping_path_passed_first_says_api_key_comes_first(
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    """review47: ``MetricsApiConfig("myapp.metrics.grouping")``, README's Django line with
    ``grouping_function=`` left out, took the path for the API key: with no
    README_GROUPING_FUNCTION the error was "grouping_function (README_GROUPING_FUNCTION)
    is required" (it was passed, the user would say); with it set, the config was made
    with the path as its key, and nothing was said until ReadMe refused every POST."""
    caplog.set_level(logging.WARNING, logger="readme_metrics")
    monkeypatch.setenv("README_API_KEY", "any-key")
    monkeypatch.delenv("README_GROUPING_FUNCTION", raising=False)
    with pytest.raises(ValueError) as raised:
        MetricsApiConfig("tests.test_newcomer7_findings._no_caller")
    assert "grouping_function (README_GROUPING_FUNCTION) is required" in str(raised.value)
    assert _PATH_FIRST in str(raised.value)
    # The function's variable set: the config is made, the key said to be a path.
    monkeypatch.setenv("README_GROUPING_FUNCTION", "tests.test_newcomer7_findings._no_caller")
    config = MetricsApiConfig("tests.test_newcomer7_findings._no_caller")
    assert config.grouping_function is _no_caller
    said = [record.getMessage() for record in caplog.records]
    assert ("readme_metrics: api_key (README_API_KEY) is a 'module.attribute' path, as "
            "grouping_function takes, not a key: ReadMe will refuse it") in said[-1], said
    assert "tests.test_newcomer7_findings" not in " ".join(said)
    # A key (no dot) or a grouping function given too: nothing of the kind.
    caplog.clear()
    MetricsApiConfig("rdme_abc123", "tests.test_newcomer7_findings._no_caller")
    assert "path" not in caplog.text


_NEAR_MISS = ("readme_metrics: README_METRIC_SERVER (set in the environment) is no "
              "variable of this library and is ignored: did you mean README_METRICS_SERVER?")

_FLASK_APP = """
    from flask import Flask

    from readme_metrics import MetricsApiConfig
    from readme_metrics.flask_readme import ReadMeMetrics

    app = Flask(__name__)
    ReadMeMetrics(MetricsApiConfig(grouping_function=lambda request: None), app)

    @app.get("/")
    def hello():
        return {"hello": "world"}
    """


def _said_while_serving(tmp_path: Path, command: list[str], env: dict[str, str]) -> str:
    """What a development server started as ``command`` wrote to stderr by the time it
    answered a first request (its reloader's child serves it), then stopped."""
    port = free_port()
    stderr = tmp_path / "stderr.txt"
    with stderr.open("wb") as sink:
        server = start_server(
            [*command, str(port)], cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=sink,
            env={**os.environ, "README_API_KEY": "any-key",
                 "README_METRIC_SERVER": "http://127.0.0.1:9",
                 "PYTHONPATH": os.pathsep.join([str(tmp_path), str(ROOT)]), **env})  # type: ignore[call-overload]
        try:
            wait_until(lambda: _answers(port), timeout=60)
        finally:
            stop_server(server)
    return stderr.read_text()


def _answers(port: int) -> bool:
    try:
        return requests.get(f"http://127.0.0.1:{port}/", timeout=2).status_code == 200
    except requests.RequestException:
        return False


_ASGI_APP = """
    from readme_metrics import MetricsApiConfig
    from readme_metrics.asgi import MetricsMiddleware

    async def hello(scope, receive, send):
        if scope["type"] == "http":
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": b"hello"})

    app = MetricsMiddleware(hello, MetricsApiConfig(grouping_function=lambda request: None))
    """

# hypercorn's own command line, the port given last (as the helper gives it).
_HYPERCORN_RELOAD = ("import sys; from hypercorn.__main__ import main; "
                     "sys.exit(main(['--reload', '--bind', '127.0.0.1:' + sys.argv[1], "
                     "'asgiapp:app']))")


@pytest.mark.parametrize("server", ["flask-run-debug", "runserver", "runserver-noreload",
                                    "hypercorn-reload"])
def test_a_start_up_warning_is_said_once_under_a_reloading_dev_server(
        tmp_path: Path, server: str) -> None:
    """``flask run --debug`` and ``manage.py runserver`` (the quick starts' servers, with
    their reloader) make the app in the reloader's process too, which serves nothing:
    each start-up warning (here, a near miss of README_METRICS_SERVER) was said twice.
    So did ``hypercorn --reload`` (review47): its main process imports the app to know
    the files to watch, and spawns a worker that serves it."""
    if server == "hypercorn-reload":
        (tmp_path / "asgiapp.py").write_text(textwrap.dedent(_ASGI_APP))
        command = [sys.executable, "-c", _HYPERCORN_RELOAD]
        env: dict[str, str] = {}
    elif server.startswith("flask"):
        (tmp_path / "app.py").write_text(textwrap.dedent(_FLASK_APP))
        command = [sys.executable, "-m", "flask", "--app", "app", "run", "--debug",
                   "--port"]
        env = {}
    else:
        _django_project(tmp_path, with_the_middleware_line=True)
        command = [sys.executable, "-m", "django", "runserver",
                   *(["--noreload"] if server.endswith("noreload") else [])]
        env = {"DJANGO_SETTINGS_MODULE": "mysite.settings"}
    said = _said_while_serving(tmp_path, command, env)
    assert said.count(_NEAR_MISS) == 1, said


_CORS_APP = """
    from flask import Flask

    from readme_metrics.cors import CORSMiddleware

    app = Flask(__name__)
    app.wsgi_app = CORSMiddleware(app.wsgi_app)

    @app.get("/")
    def hello():
        return {"hello": "world"}
    """


def test_the_cors_start_up_warning_is_said_once_under_flask_run_debug(
        tmp_path: Path) -> None:
    """review47: the CORS middleware's start-up warning (any origin with credentials)
    was said by the reloader's process too: twice under ``flask run --debug``."""
    (tmp_path / "corsapp.py").write_text(textwrap.dedent(_CORS_APP))
    said = _said_while_serving(
        tmp_path, [sys.executable, "-m", "flask", "--app", "corsapp", "run", "--debug",
                   "--port"], {"CORS_ALLOWED": "*", "CORS_ALLOW_CREDENTIALS": "true"})
    assert said.count("CORS allows any origin with credentials") == 1, said


def _made_in(directory: Path, env: dict[str, str]) -> list[str]:
    """The lines a ``MetricsApiConfig`` made in ``directory`` (its ``.env``) with
    ``env`` writes to stderr, as a script started there shows them (Python's last
    resort handler: no logging configured), the traceback's frames left out."""
    environment = {name: value for name, value in os.environ.items()
                   if not name.upper().startswith(("README", "RDME"))}
    done = run_command(
        [sys.executable, "-c",
         "from readme_metrics import MetricsApiConfig\n"
         "MetricsApiConfig(grouping_function=lambda request: None)\n"],
        cwd=directory, env={**environment, "PYTHONPATH": str(ROOT), **env},
        capture_output=True, text=True, timeout=60)
    return [line for line in done.stderr.splitlines()
            if line and not line.startswith((" ", "Traceback"))]


_REQUIRED = ("ValueError: readme_metrics: api_key is required: pass api_key=... or set "
             "README_API_KEY in the environment or ")


@pytest.mark.parametrize(("dotenv", "env", "said"), [
    pytest.param("README_API_KEY: any-key\n", {},
                 "(read, but its line 1 is no README_API_KEY=value", id="colon-in-dotenv"),
    pytest.param("README_API_KEY=any-key\n", {"README_API_KEY": ""},
                 "README_API_KEY is set empty in the environment", id="empty-over-dotenv"),
    pytest.param("", {"README_APIKEY": "any-key"},
                 "(README_APIKEY is set, but this library reads the key from README_API_KEY",
                 id="near-miss-name"),
])
def test_a_missing_key_is_said_once(tmp_path: Path, dotenv: str, env: dict[str, str],
                                    said: str) -> None:
    """Three messages for one mistake: ``README_API_KEY: any-key`` in .env (YAML's way)
    gave python-dotenv's "could not parse statement starting at line 1" (of this
    library's own read of the file), this library's warning naming the line, then the
    missing key's error naming the line again; README_API_KEY set empty over the file's
    value, and README_APIKEY set, a warning and the error saying the same. The error
    alone now says it."""
    if dotenv:
        (tmp_path / ".env").write_text(dotenv)
    lines = _made_in(tmp_path, env)
    assert len(lines) == 1, lines
    assert lines[0].startswith(_REQUIRED) and said in lines[0], lines


def test_with_metrics_off_the_warnings_are_still_said(tmp_path: Path) -> None:
    """No key error comes with metrics turned off: the warnings are the only word.
    python-dotenv's own line stays for a line of the app's (line 2), which nothing of
    this library's names."""
    (tmp_path / ".env").write_text("README_API_KEY: any-key\nAPP_SETTING: its own\n")
    lines = _made_in(tmp_path, {"README_APIKEY": "any-key",
                                "README_METRICS_ENABLED": "false"})
    assert lines == [
        "python-dotenv could not parse statement starting at line 2",
        "readme_metrics: README_APIKEY (set in the environment) is no variable of this "
        "library and is ignored: did you mean README_API_KEY?",
        f"readme_metrics: line 1 of {tmp_path / '.env'} is no README_API_KEY=value (a "
        "':' or a blank where '=' belongs?), so it does not set README_API_KEY: write "
        "README_API_KEY=<the value>",
    ]


def _hello(environ: Any, start_response: Any) -> list[bytes]:
    start_response("200 OK", [("Content-Type", "application/json")])
    return [b'{"hello": "world"}']


@pytest.mark.parametrize("returned", [False, True])
def test_a_grouping_function_returning_a_bool_is_told_none_leaves_a_call_out(
        caplog: pytest.LogCaptureFixture, returned: bool) -> None:
    """``return False`` to leave a call out (None is the way): the error said "got bool
    (return {...}, not the key alone)", a bool being an int, though no key was
    returned."""
    from werkzeug.test import Client

    app = MetricsMiddleware(_hello, MetricsApiConfig(
        api_key="any-key", metrics_api="http://127.0.0.1:9", base_log_url=None,
        grouping_function=lambda request: returned))
    caplog.set_level(logging.ERROR, logger="readme_metrics")
    Client(app).get("/", headers={"X-Api-Key": "owlbert-key"}, buffered=True)
    app.close()
    assert [r.getMessage() for r in caplog.records] == [
        "readme_metrics: the grouping function must return a mapping or None, got bool "
        f"(return None, not {returned}, to leave a call out, and {{\"api_key\": <the "
        "caller's key>, \"label\": ..., \"email\": ...} to log it); the request is not "
        "logged"]
