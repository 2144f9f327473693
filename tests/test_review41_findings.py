"""review41: adversarial review of newcomer7's landing (55caa30..6a74d59).

Items that failed on main, each with its fix (checked failing without it):

1. f2a285f's ``reloader_parent`` read flask's reloader from ``--reload``/``--debug`` and
   FLASK_DEBUG only: ``FLASK_DEBUG=1 FLASK_RUN_RELOAD=false flask run`` (click's variable
   for ``--no-reload``) and ``FLASK_DEBUG=1 flask run --no-debug`` serve in one process,
   which was taken for the reloader's and said no start-up warning at all;
   ``FLASK_RUN_RELOAD=true flask run`` reloads and said each twice; ``manage.py runserver
   --norel`` (argparse takes an unambiguous prefix of ``--noreload``) said none.
2. 191f9a5's Django check, with README's plain WSGI middleware around Django's handler
   and ``settings.README_METRICS_CONFIG``: under ``manage.py runserver`` the handler is
   wrapped in staticfiles' ``StaticFilesHandler``, which serves ``/static/...`` through
   Django's handler without the middleware around it (no request of Django's own), so a
   static file as the first request said "no request is logged" though every other is.
   A request of the staticfiles handlers is not looked at; the next one is.
3. e10bfba held the warnings that the missing key's error repeats only with api_key left
   out: ``api_key=os.environ.get("README_API_KEY")`` (None, or "") said both.

Probed and found clean (not kept as tests): the Django check under the ASGI middleware
around get_asgi_application(), the ASGI one around asgiref's WsgiToAsgi, WsgiToAsgi
around the plain one, 8 threads racing the first request (said once), metrics off, the
line added by override_settings, a logger filter that raises (the requests answered),
the receiver gone after the first look; ``flask run --debug --no-reload`` (said once);
8ad9322's sentinels: MetricsApiConfig(**kwargs), the official positional order, copy,
deepcopy, pickle, the signature's defaults passed back, the 3.x upper-case attributes;
3366cd4's and 6a74d59's messages (a function, a partial, a callable object as api_key,
with README_API_KEY set or not: no key shown).
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.support.processes import run_command
from tests.test_newcomer7_findings import (
    _FLASK_APP,
    _NEAR_MISS,
    ROOT,
    _django_project,
    _said_while_serving,
)


@pytest.mark.parametrize(("args", "env"), [
    pytest.param(["run"], {"FLASK_DEBUG": "1", "FLASK_RUN_RELOAD": "false"},
                 id="debug-variable-reload-off-by-variable"),
    pytest.param(["run", "--no-debug"], {"FLASK_DEBUG": "1"}, id="debug-variable-no-debug"),
    pytest.param(["run"], {"FLASK_RUN_RELOAD": "true"}, id="reload-on-by-variable"),
])
def test_flask_runs_reloader_is_read_as_flask_reads_it(
        tmp_path: Path, args: list[str], env: dict[str, str]) -> None:
    """The serving process says each start-up warning once, whichever way flask's run
    was told to reload or not."""
    (tmp_path / "app.py").write_text(textwrap.dedent(_FLASK_APP))
    said = _said_while_serving(
        tmp_path, [sys.executable, "-m", "flask", "--app", "app", *args, "--port"], env)
    assert said.count(_NEAR_MISS) == 1, said


def test_runserver_noreload_abbreviated_still_says_the_start_up_warnings(
        tmp_path: Path) -> None:
    """``runserver --norel`` is ``--noreload`` to argparse: one process, which serves."""
    _django_project(tmp_path, with_the_middleware_line=True)
    said = _said_while_serving(
        tmp_path, [sys.executable, "-m", "django", "runserver", "--norel"],
        {"DJANGO_SETTINGS_MODULE": "mysite.settings"})
    assert said.count(_NEAR_MISS) == 1, said


# runserver's handler (DEBUG, staticfiles installed): StaticFilesHandler around the
# WSGI_APPLICATION, here README's plain middleware around Django's handler.
_STATIC_FIRST = """
    from wsgiref.util import setup_testing_defaults
    import django
    django.setup()
    from django.conf import settings
    from django.contrib.staticfiles.handlers import StaticFilesHandler
    from django.core.wsgi import get_wsgi_application
    from readme_metrics import MetricsMiddleware

    app = StaticFilesHandler(
        MetricsMiddleware(get_wsgi_application(), settings.README_METRICS_CONFIG))
    for path in ("/static/site.css", "/", "/"):
        environ = {"HTTP_X_API_KEY": "owlbert-key", "SERVER_NAME": "127.0.0.1",
                   "PATH_INFO": path}
        setup_testing_defaults(environ)
        said = []
        body = app(environ, lambda status, headers, exc_info=None: said.append(status))
        b"".join(body)
        body.close()
        print(said[0].split()[0])
    """


def _serve_static(project: Path) -> None:
    """Have the project serve ``/static/site.css`` (django.contrib.staticfiles, which
    runserver with DEBUG on puts in front of the app)."""
    (project / "static").mkdir()
    (project / "static" / "site.css").write_text("body {}\n")
    settings = project / "mysite" / "settings.py"
    settings.write_text(settings.read_text().replace(
        "INSTALLED_APPS = [", "STATIC_URL = '/static/'\n"
        f"STATICFILES_DIRS = [{str(project / 'static')!r}]\n"
        "INSTALLED_APPS = ['django.contrib.staticfiles', "))


def _static_first(project: Path, script: str) -> subprocess.CompletedProcess[str]:
    """Run ``script`` (:data:`_STATIC_FIRST` or a variant) in ``project``, its settings
    and this checkout on the path, the metrics API a closed port."""
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "mysite.settings",
           "README_API_KEY": "any-key", "README_METRICS_SERVER": "http://127.0.0.1:9",
           "README_SHUTDOWN_TIMEOUT": "0.1",
           "PYTHONPATH": os.pathsep.join([str(project), str(ROOT)])}
    return run_command([sys.executable, "-c", textwrap.dedent(script)], cwd=project,
                       env=env, capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("with_the_middleware_line", [
    pytest.param(False, id="wrapped-outside"),
    pytest.param(True, id="line-there"),
])
def test_a_static_file_first_says_nothing_where_the_requests_are_logged(
        tmp_path: Path, with_the_middleware_line: bool) -> None:
    project = _django_project(tmp_path, with_the_middleware_line)
    _serve_static(project)
    done = _static_first(project, _STATIC_FIRST)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["200", "200", "200"], (done.stdout, done.stderr)
    assert "not in settings.MIDDLEWARE" not in done.stderr, done.stderr


def test_a_static_file_first_then_the_apps_request_still_says_the_missing_line(
        tmp_path: Path) -> None:
    """The check is put off past the static file, not dropped: the app's first request
    still says the line is missing."""
    project = _django_project(tmp_path, with_the_middleware_line=False)
    _serve_static(project)
    script = _STATIC_FIRST.replace(
        "MetricsMiddleware(get_wsgi_application(), settings.README_METRICS_CONFIG))",
        "get_wsgi_application())")
    done = _static_first(project, script)
    assert done.returncode == 0, done.stderr
    assert done.stderr.count("not in settings.MIDDLEWARE") == 1, done.stderr


def _lines_said(directory: Path, env: dict[str, str], arguments: str) -> list[str]:
    """The lines ``MetricsApiConfig(arguments)`` made in ``directory`` writes to stderr
    (no logging configured: Python's last resort handler), traceback frames left out."""
    environment = {name: value for name, value in os.environ.items()
                   if not name.upper().startswith(("README", "RDME"))}
    done = run_command(
        [sys.executable, "-c",
         f"from readme_metrics import MetricsApiConfig\nMetricsApiConfig({arguments})\n"],
        cwd=directory, env={**environment, "PYTHONPATH": str(ROOT), **env},
        capture_output=True, text=True, timeout=60)
    return [line for line in done.stderr.splitlines()
            if line and not line.startswith((" ", "Traceback"))]


@pytest.mark.parametrize("key", ["None", "''"])
@pytest.mark.parametrize(("dotenv", "env", "named"), [
    pytest.param("", {"README_APIKEY": "near-miss-key"}, "README_APIKEY is set",
                 id="near-miss-variable"),
    pytest.param("README_API_KEY: near-miss-key\n", {}, "its line 1 is no README_API_KEY=value",
                 id="colon-in-dotenv"),
])
def test_a_key_passed_as_none_or_empty_is_said_missing_once(
        tmp_path: Path, key: str, dotenv: str, env: dict[str, str], named: str) -> None:
    """``api_key=os.environ.get("README_API_KEY")`` (None, or "" with a default) is no key
    either: e10bfba held the warnings that the key's error says again only with the
    argument left out, so the error came after the same thing said as a warning."""
    (tmp_path / ".env").write_text(dotenv)
    said = _lines_said(tmp_path, env,
                       f"api_key={key}, grouping_function=lambda request: None")
    assert len(said) == 1, said
    assert said[0].startswith("ValueError: readme_metrics: api_key is required"), said
    assert named in said[0], said
    assert "near-miss-key" not in "\n".join(said)
