"""newcomer30's first hour on main at 58b25a5b (2026-12-05): two known rough edges, then
README followed in order from a fresh clone. Each test named "warned", "says" or "help"
failed there and passes with its fix.

1. A grouping function returning the ReadMe API key itself as the caller's ``api_key``
   (``{"api_key": os.environ["README_API_KEY"]}``: the two keys mixed up) was logged
   without a word: every call went to ReadMe as one caller, the mask of the project's own
   key (its last four characters shown on the dashboard). One warning now says so, once,
   never the key; the calls are still logged, the key masked as every caller's key is.
3. README_API_KEY in a ``.env`` the library does not read: beside the script run from
   another folder (``python proj/app.py``), or in a folder above the working directory
   (the project's root, the app run from ``src/``): the error said only "(the working
   directory) has none". It now names the file and what to do.
4. An app's test suite (pytest, the app's test client) with the project's real key in
   the environment sent every test's call to ReadMe's dashboard as production traffic,
   and a passing run showed nothing (pytest shows no passing test's log lines): one
   warning now says so when the configuration is made, as a Python warning too, which
   pytest's summary shows at the app's line.
2. ``readme-metrics help`` was argparse's "invalid choice: 'help'", and ``help collect``
   the same: both now print the help asked for (exit 0); ``help nosuch`` names the
   commands there are.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import textwrap
from pathlib import Path
from typing import Any, Optional

import pytest
import requests

from readme_metrics import MetricsApiConfig
from readme_metrics.asgi import MetricsMiddleware as AsgiMetricsMiddleware
from readme_metrics.cli import main
from readme_metrics.flask_readme import ReadMeMetrics
from readme_metrics.masking import mask
from tests.support.asgi import http_scope, run
from tests.support.command import REPO_ROOT
from tests.support.fake_api import Collector, free_port
from tests.support.processes import run_command
from tests.support.wsgi_servers import served

#: A key of the shape of a real ReadMe key (no placeholder: no start-up warning of its own).
READMES_KEY = "rdme_xn8s9hb2c0f6e4d1a7k3m5p9q2r8t4v6w0y1z3aBcDeFgHiJkLmNoPqRsTuVwXyZ0123"
CALLER = "owlbert-key"
WORDS = "your ReadMe API key"


def _mixed_up(request: Any) -> Optional[dict[str, str]]:
    # The newcomer's mistake: the project's key where the caller's belongs.
    return {"api_key": READMES_KEY, "label": "Customer name"}


def _callers(request: Any) -> Optional[dict[str, str]]:
    key = request.headers.get("X-Api-Key")
    return {"api_key": key, "label": "Customer name"} if key else None


def _said(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if WORDS in r.getMessage()]


def _everything(caplog: pytest.LogCaptureFixture) -> str:
    return "\n".join(r.getMessage() for r in caplog.records)


def _flask(collector: Collector, grouping: Any) -> tuple[Any, ReadMeMetrics]:
    flask = pytest.importorskip("flask")
    app = flask.Flask("newcomer30")

    @app.get("/")
    def hello() -> Any:
        return {"hello": "world"}

    metrics = ReadMeMetrics(MetricsApiConfig(
        api_key=READMES_KEY, grouping_function=grouping, metrics_api=collector.url,
        base_log_url="https://docs.example.com", buffer_length=1), app)
    return app, metrics


# -- 1. the ReadMe API key returned as the caller's ------------------------------------------


def test_the_readme_key_returned_as_the_callers_is_warned_once_and_still_logged_masked(
        collector: Collector, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="readme_metrics")
    app, metrics = _flask(collector, _mixed_up)
    with served("werkzeug", app) as port:
        for _ in range(3):
            answer = requests.get(f"http://127.0.0.1:{port}/", timeout=30,
                                  headers={"X-Api-Key": CALLER})
            assert answer.status_code == 200
        logs = collector.wait_for_logs(3)
    metrics.close()
    # What goes out: the calls, each under the mask of the project's key, never in clear.
    assert [log["group"]["id"] for log in logs] == [mask(READMES_KEY)] * 3
    assert all(READMES_KEY not in received.body.decode() for received in collector.received)
    [said] = _said(caplog)  # once, not per call
    assert said.levelno == logging.WARNING
    message = said.getMessage()
    assert "README_API_KEY" in message and "X-Api-Key" in message, message
    assert "one caller" in message and "still logged" in message, message
    assert READMES_KEY not in _everything(caplog)
    assert READMES_KEY[-4:] not in message


def test_an_async_grouping_function_returning_the_readme_key_is_warned(
        collector: Collector, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="readme_metrics")

    async def grouping(request: Any) -> dict[str, str]:
        return {"api_key": READMES_KEY}

    async def hello(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"{}"})

    app = AsgiMetricsMiddleware(hello, MetricsApiConfig(
        api_key=READMES_KEY, grouping_function=grouping, metrics_api=collector.url,
        base_log_url="https://docs.example.com", buffer_length=1))
    for _ in range(2):
        asyncio.run(run(app, http_scope()))
    logs = collector.wait_for_logs(2)
    app.close()
    assert [log["group"]["id"] for log in logs] == [mask(READMES_KEY)] * 2
    assert len(_said(caplog)) == 1
    assert READMES_KEY not in _everything(caplog)


def test_a_callers_own_key_says_nothing(
        collector: Collector, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="readme_metrics")
    app, metrics = _flask(collector, _callers)
    with served("werkzeug", app) as port:
        requests.get(f"http://127.0.0.1:{port}/", timeout=30, headers={"X-Api-Key": CALLER})
        [log] = collector.wait_for_logs(1)
    metrics.close()
    assert log["group"]["id"] == mask(CALLER)
    assert _said(caplog) == []


# -- 2. readme-metrics help ------------------------------------------------------------------


@pytest.mark.parametrize(("argv", "shown"), [
    pytest.param(["help"], "usage: readme-metrics [-h]", id="help"),
    pytest.param(["help", "collect"], "usage: readme-metrics collect", id="help-collect"),
    pytest.param(["help", "demo"], "usage: readme-metrics demo", id="help-demo"),
])
def test_help_shows_the_help_asked_for(capsys: pytest.CaptureFixture[str], argv: list[str],
                                       shown: str) -> None:
    assert main(argv) == 0
    out, err = capsys.readouterr()
    assert out.startswith(shown), out
    assert err == ""


def test_help_of_no_such_command_names_the_commands(
        capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["help", "colect"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "no command 'colect'" in err and "collect, demo" in err, err


def test_the_top_help_lists_help_and_says_the_middleware_is_no_command(
        capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["help"]) == 0
    flowing = " ".join(capsys.readouterr().out.split())
    assert "commands: COMMAND collect" in flowing, flowing  # not "positional arguments"
    assert "help show this help, or a command's: readme-metrics help collect" in flowing
    assert "readme-metrics help COMMAND" in flowing
    assert "The middleware itself is no command" in flowing


def test_collects_api_key_option_says_which_key(capsys: pytest.CaptureFixture[str]) -> None:
    # "accept only this ReadMe API key (Basic auth)": which one, the app's or a caller's?
    assert main(["help", "collect"]) == 0
    flowing = " ".join(capsys.readouterr().out.split())
    assert "give the app's README_API_KEY" in flowing, flowing
    assert "README_API_KEY=any-key will do" in flowing, flowing
    assert "in the current folder" in flowing, flowing


def test_help_from_the_installed_command() -> None:
    done = run_command([sys.executable, "-m", "readme_metrics", "help", "collect"],
                       capture_output=True, text=True, cwd=str(REPO_ROOT))
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("usage: readme-metrics collect"), done.stdout


# -- 3. a .env the library does not read -----------------------------------------------------

_APP = textwrap.dedent("""\
    from readme_metrics import MetricsApiConfig, MetricsMiddleware


    def hello_app(environ, start_response):
        start_response("200 OK", [("Content-Type", "application/json")])
        return [b"{}"]


    def grouping_function(request):
        return None


    app = MetricsMiddleware(hello_app, MetricsApiConfig(grouping_function=grouping_function))
    """)


def _environment() -> dict[str, str]:
    env = {name: value for name, value in os.environ.items()
           if not name.startswith("README_")}
    env["PYTHONPATH"] = str(REPO_ROOT)
    return env


def _error(argv: list[str], cwd: Path) -> str:
    done = run_command([sys.executable, *argv], capture_output=True, text=True,
                       cwd=str(cwd), env=_environment())
    assert done.returncode == 1, (done.stdout, done.stderr)
    return done.stderr.strip().splitlines()[-1]


def test_a_dotenv_beside_the_script_run_from_elsewhere_is_named_in_the_error(
        tmp_path: Path) -> None:
    project = tmp_path / "proj"
    project.mkdir()
    (project / "app.py").write_text(_APP)
    (project / ".env").write_text("README_API_KEY=any-key\n")
    error = _error(["proj/app.py"], tmp_path)
    assert "api_key is required" in error, error
    assert (f"({tmp_path} has none; {project / '.env'}, beside the script run, sets "
            f"README_API_KEY, but is not read: run the app from {project}") in error, error
    assert "any-key" not in error.split("no key yet?")[0]  # the file's value is not said


def test_a_dotenv_in_a_folder_above_is_named_in_the_error(tmp_path: Path) -> None:
    source = tmp_path / "src"
    source.mkdir()
    (source / "app.py").write_text(_APP)
    (tmp_path / ".env").write_text("README_API_KEY=rdme_abc123secret\n")
    error = _error(["app.py"], source)
    assert (f"({source} has none; {tmp_path / '.env'} sets README_API_KEY, but a .env in "
            f"a folder above is not read: run the app from {tmp_path}") in error, error
    assert "rdme_abc123secret" not in error


def test_a_dotenv_above_without_the_key_adds_nothing(tmp_path: Path) -> None:
    source = tmp_path / "src"
    source.mkdir()
    (source / "app.py").write_text(_APP)
    (tmp_path / ".env").write_text("DATABASE_URL=sqlite://\n")
    error = _error(["app.py"], source)
    assert f"({source} has none);" in error, error


# -- 4. an app's test suite sending to ReadMe -----------------------------------------------

_FLASK_APP = textwrap.dedent("""\
    from flask import Flask, jsonify

    from readme_metrics import MetricsApiConfig
    from readme_metrics.flask_readme import ReadMeMetrics


    def grouping_function(request):
        api_key = request.headers.get("X-Api-Key")
        return {"api_key": api_key, "label": "Customer name"} if api_key else None


    metrics = ReadMeMetrics(MetricsApiConfig(grouping_function=grouping_function))


    def create_app():
        app = Flask(__name__)

        @app.get("/")
        def hello():
            return jsonify(hello="world")

        metrics.init_app(app)
        return app
    """)

_TEST = textwrap.dedent("""\
    from app import create_app


    def test_hello():
        client = create_app().test_client()
        answer = client.get("/", headers={"X-Api-Key": "owlbert-key"})
        assert answer.get_json() == {"hello": "world"}
    """)

_UNDER_PYTEST = "UserWarning: readme_metrics: this app is made in a pytest run"


def _apps_suite(tmp_path: Path, **variables: str) -> str:
    """Run a Flask app's own test suite with pytest, the project's key in the
    environment; what pytest printed. ReadMe is reached through a proxy on a loopback
    port where nothing listens: nothing leaves the machine."""
    pytest.importorskip("flask")
    (tmp_path / "app.py").write_text(_FLASK_APP)
    (tmp_path / "test_app.py").write_text(_TEST)
    env = {name: value for name, value in _environment().items()
           if not name.startswith("PYTEST_") and name.upper() != "NO_PROXY"}
    proxy = f"http://127.0.0.1:{free_port()}"
    env.update(README_API_KEY=READMES_KEY, HTTPS_PROXY=proxy, HTTP_PROXY=proxy,
               README_SHUTDOWN_TIMEOUT="1", **variables)
    done = run_command([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                        "test_app.py"], capture_output=True, text=True, cwd=str(tmp_path),
                       env=env)
    assert done.returncode == 0, (done.stdout, done.stderr)
    assert READMES_KEY not in done.stdout + done.stderr
    return " ".join(done.stdout.split())


def test_an_apps_test_suite_sending_to_readme_says_so_in_pytests_summary(
        tmp_path: Path) -> None:
    said = _apps_suite(tmp_path)
    assert "1 passed, 1 warning" in said, said
    assert f"app.py:12: {_UNDER_PYTEST}" in said, said  # the line making the config
    assert "README_METRICS_ENABLED=false" in said, said


@pytest.mark.parametrize("fix", [{"README_METRICS_ENABLED": "false"},
                                 {"README_DEVELOPMENT_MODE": "true"}],
                         ids=["metrics-off", "development-mode"])
def test_the_fixes_it_gives_quiet_it(tmp_path: Path, fix: dict[str, str]) -> None:
    said = _apps_suite(tmp_path, **fix)
    assert "1 passed" in said and _UNDER_PYTEST not in said, said


def test_a_dummy_key_or_the_local_collector_says_nothing(
        caplog: pytest.LogCaptureFixture) -> None:
    # This suite's own configs: pytest runs (PYTEST_CURRENT_TEST is set now).
    caplog.set_level(logging.WARNING, logger="readme_metrics")
    MetricsApiConfig(api_key="test-key", grouping_function=_callers)
    MetricsApiConfig(api_key=READMES_KEY, grouping_function=_callers,
                     metrics_api="http://127.0.0.1:8001")
    MetricsApiConfig(api_key=READMES_KEY, grouping_function=_callers, enabled=False)
    assert not [r for r in caplog.records if "pytest run" in r.getMessage()]
