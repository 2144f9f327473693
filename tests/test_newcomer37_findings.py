"""newcomer37's first hour on main at 162e8982 (2026-12-06): README read from a fresh clone
as a newcomer wanting FastAPI and Django under ASGI, the ``readme-metrics`` command's
help and wrong flags, and the mistakes a newcomer makes with Flask's extension.

1. ``ReadMeMetrics(config, app.wsgi_app)`` (the WSGI middleware's way, written for the
   extension) failed with Python's "'function' object has no attribute 'extensions'";
   the class ``Flask``, an app already wrapped, another framework's app or a plain WSGI
   callable said the same of themselves. Now a ``TypeError`` names the right call.
2. ``readme-metrics --port 8001`` (a command's option before any command) said "invalid
   choice: '8001'", the option's value taken for the command; ``readme-metrics demo
   --host 0.0.0.0`` (``collect``'s option given to ``demo``, or ``--requests`` to
   ``collect``) said only "unrecognized arguments". Both now say whose option it is.
3. README's code blocks: three Python blocks (Configuration's ``MetricsApiConfig()``,
   the denylist's, Troubleshooting's logger lines) and the Install block's extras were
   run by no test. They are run here, and every block of README is now listed with the
   test that runs it: a new block without one fails
   ``test_every_readme_code_block_is_run_by_a_test``.

Each test named "said" failed before its fix; the others pin what stays.
"""

from __future__ import annotations

import logging
import re
from typing import Any

import pytest

from readme_metrics import MetricsApiConfig, MetricsMiddleware
from readme_metrics.cli import main as cli_main
from tests.support.command import REPO_ROOT
from tests.support.fake_api import Collector
from tests.test_readme import code_blocks, readme_sections, troubleshooting_row

flask = pytest.importorskip("flask")

from readme_metrics.flask_readme import ReadMeMetrics  # noqa: E402 - after the skip

KEY = "rdme_newcomer37_key_4242"


def _grouping(request: Any) -> Any:
    return {"api_key": request.headers.get("X-Api-Key", "anonymous")}


def _config(collector: Collector, **options: Any) -> MetricsApiConfig:
    return MetricsApiConfig(api_key=KEY, metrics_api=collector.url, buffer_length=1,
                            grouping_function=_grouping, **options)


def _app() -> Any:
    app = flask.Flask("newcomer37")
    app.get("/")(lambda: "hello")
    return app


# -- 1. the Flask extension given something other than the Flask app -------------------

@pytest.mark.parametrize("enabled", [True, False])
def test_the_extension_given_app_wsgi_app_said_to_give_the_app(
        collector: Collector, enabled: bool) -> None:
    """The mistake itself, metrics on or off (off, it failed the same way): the error
    names the argument given and the call to write instead."""
    app = _app()
    with pytest.raises(TypeError) as raised:
        ReadMeMetrics(_config(collector, enabled=enabled), app.wsgi_app)
    said = str(raised.value)
    assert said.startswith("readme_metrics: ReadMeMetrics(config, app): app is "
                           "app.wsgi_app, not the Flask app"), said
    assert "ReadMeMetrics(config, app) or metrics.init_app(app)" in said, said
    assert "'extensions'" not in said
    assert not isinstance(app.wsgi_app, MetricsMiddleware)  # the app is left as it was


def test_init_app_given_app_wsgi_app_said_in_init_apps_words(collector: Collector) -> None:
    metrics = ReadMeMetrics(_config(collector))
    with pytest.raises(TypeError, match=r"^readme_metrics: metrics\.init_app\(app\): app is "
                                        r"app\.wsgi_app, not the Flask app"):
        metrics.init_app(_app().wsgi_app)


def test_init_app_given_the_wrapped_wsgi_app_said_it_already_wraps_one(
        collector: Collector) -> None:
    """``metrics.init_app(app.wsgi_app)`` after the app was wrapped: its wsgi_app is the
    middleware ("'FlaskMetricsMiddleware' object has no attribute 'extensions'")."""
    app = _app()
    metrics = ReadMeMetrics(_config(collector), app)
    with pytest.raises(TypeError, match="app is a FlaskMetricsMiddleware, which already "
                                        "wraps an app: give the Flask app itself"):
        metrics.init_app(app.wsgi_app)


def test_the_extension_given_the_flask_class_said_to_make_the_app(
        collector: Collector) -> None:
    with pytest.raises(TypeError, match=r"app is the class flask\.app\.Flask, not an app: "
                                        r"make the app \(app = Flask\(__name__\)\)"):
        ReadMeMetrics(_config(collector), flask.Flask)


def test_the_extension_given_a_plain_wsgi_app_said_to_use_the_middleware(
        collector: Collector) -> None:
    def hello_app(environ: Any, start_response: Any) -> list[bytes]:
        start_response("200 OK", [])
        return [b"hello"]

    with pytest.raises(TypeError, match=r"app is hello_app, not a Flask app, and "
                                        r"ReadMeMetrics is Flask's extension: wrap any other "
                                        r"WSGI app with readme_metrics\.MetricsMiddleware"):
        ReadMeMetrics(_config(collector), hello_app)


def test_the_extension_given_a_fastapi_app_said_to_use_the_asgi_middleware(
        collector: Collector) -> None:
    fastapi = pytest.importorskip("fastapi")
    with pytest.raises(TypeError, match=r"app is an ASGI app \(FastAPI\), and ReadMeMetrics "
                                        r"is Flask's extension: app\.add_middleware\("
                                        r"ReadMeMetricsMiddleware"):
        ReadMeMetrics(_config(collector), fastapi.FastAPI())


def test_the_call_the_error_names_logs_the_call(collector: Collector) -> None:
    """What the error says to write, ``ReadMeMetrics(config, app)``, logs a real call."""
    from werkzeug.test import Client

    app = _app()
    config = _config(collector)
    with pytest.raises(TypeError):
        ReadMeMetrics(config, app.wsgi_app)
    metrics = ReadMeMetrics(config, app)
    answer = Client(app).get("/", headers={"X-Api-Key": "owlbert-key"})
    assert answer.status_code == 200 and answer.get_data() == b"hello"
    assert metrics.flush(10)
    (log,) = collector.wait_for_logs(1)
    assert log["request"]["log"]["entries"][0]["request"]["url"] == "http://localhost/"
    metrics.close()


def test_troubleshooting_row_quotes_the_extensions_refusal() -> None:
    row = troubleshooting_row("at start-up, `TypeError: readme_metrics: ReadMeMetrics(config, app)")
    assert row.count("app is app.wsgi_app, not the Flask app ...") == 2, row
    assert "metrics.init_app(app)" in row


# -- 2. the readme-metrics command's wrong flags -----------------------------------------

def _error(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    with pytest.raises(SystemExit) as stopped:
        cli_main(argv)
    assert stopped.value.code == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    return captured.err.strip().splitlines()[-1]


@pytest.mark.parametrize("argv, said", [
    (["--port", "8001"], "readme-metrics: error: --port is an option of a command, given "
     "before any command: write it after the command, 'readme-metrics collect --port ...' "
     "or 'readme-metrics demo --port ...'"),
    (["--requests=20"], "readme-metrics: error: --requests is an option of a command, given "
     "before any command: write it after the command, 'readme-metrics demo --requests ...'"),
    (["demo", "--host", "0.0.0.0"], "readme-metrics demo: error: unrecognized arguments: "
     "--host 0.0.0.0 (--host is an option of 'readme-metrics collect', not of demo)"),
    (["collect", "--requests", "5"], "readme-metrics collect: error: unrecognized arguments: "
     "--requests 5 (--requests is an option of 'readme-metrics demo', not of collect)"),
])
def test_another_commands_option_said_whose_it_is(
        argv: list[str], said: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert _error(argv, capsys) == said


@pytest.mark.parametrize("argv, said", [
    (["colect"], "readme-metrics: error: argument COMMAND: invalid choice: 'colect' "),
    (["demo", "--bogus"], "readme-metrics demo: error: unrecognized arguments: --bogus"),
    (["collect", "--port", "abc"], "readme-metrics collect: error: argument --port: not a "
     "port number: 'abc'"),
])
def test_other_wrong_arguments_are_said_as_before(
        argv: list[str], said: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert _error(argv, capsys).startswith(said)  # (argparse's choices quoted or not)


def test_help_and_version_first_are_not_taken_for_a_commands_option(
        capsys: pytest.CaptureFixture[str]) -> None:
    for argv in (["--help"], ["--version"], ["-h"]):
        with pytest.raises(SystemExit) as stopped:
            cli_main(argv)
        assert stopped.value.code == 0
    assert "readme-metrics 4." in capsys.readouterr().out


# -- 3. every code block of README run by a test -----------------------------------------

#: Each README code block, by its section and first line, and the test that runs it as
#: written (file, and its name or a line of it); the install and wheel commands' test
#: checks what they name.
RUN_BY = {
    ("", "# the demo: an example API"):  # .ci/run runs the test command too
        ("test_readme.py", "test_the_first_two_commands_are_the_demo_and_the_tests"),
    ("Install", ". .venv/bin/activate"):  # and its pip lines: test_readme_install_extras_
        ("test_readme.py", "test_the_install_block_activates_the_demos_virtualenv"),
    ("Install", "pip wheel --no-deps -w dist ."):
        ("test_readme.py", "test_version_is_above_the_official_3x_line_and_install_says_how"),
    ("Quick start: any WSGI app", "from readme_metrics import MetricsApiConfig"):
        ("test_readme.py", "test_quick_start_copied_verbatim_logs_a_call"),
    ("Quick start: Flask", "from flask import Flask"):
        ("test_readme.py", "test_quick_start_copied_verbatim_logs_a_call"),
    ("Quick start: Django", "from readme_metrics import MetricsApiConfig"):
        ("test_readme.py", "test_quick_start_copied_verbatim_logs_a_call"),
    ("Quick start: Django", "def grouping(request):"):
        ("test_readme.py", "test_quick_start_copied_verbatim_logs_a_call"),
    ("Quick start: Django", "import os"):  # mysite/asgi.py, under uvicorn
        ("test_newcomer15_findings.py", "_django(tmp_path, 0, lifespan="),
    ("Quick start: FastAPI (and any ASGI app)", "from fastapi import FastAPI, Request"):
        ("test_readme.py", "test_quick_start_copied_verbatim_logs_a_call"),
    ("See it locally", "readme-metrics collect               # http://127.0.0.1:8001"):
        ("test_newcomer25_findings.py", "test_see_it_locally_run_as_written_links_each_"),
    ("See it locally", "export README_METRICS_SERVER=http://127.0.0.1:8001"):
        ("test_newcomer25_findings.py", "test_see_it_locally_run_as_written_links_each_"),
    ("Configuration", "config = MetricsApiConfig()"):
        ("test_newcomer37_findings.py", "test_the_configuration_block_reads_the_variables"),
    ("What is sent, and how to keep secrets out", "MetricsApiConfig(..., denylist="):
        ("test_newcomer37_findings.py", "test_the_denylist_block_redacts_what_it_names"),
    ("Troubleshooting", "import logging"):
        ("test_newcomer37_findings.py", "test_the_troubleshooting_logger_block_shows_the_"),
    ("Companions: webhooks, CORS, request ids", "from readme_metrics import MetricsApiConfig"):
        ("test_readme.py", "test_the_companion_snippets_run_as_written"),
    ("Companions: webhooks, CORS, request ids", "from readme_metrics.asgi import CORSMiddleware"):
        ("test_readme.py", "test_the_companion_snippets_run_as_written"),
    ("Development", "python3 -m venv .venv && .venv/bin/pip install -q -e '.[test]'"):
        ("test_readme.py", "test_tox_runs_readmes_test_command_on_every_python_setup_py_"),
}


def _readme_blocks() -> list[tuple[str, str, str]]:
    """(section, first line, code) of every fenced block; "" is the part before the first
    section."""
    text = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    sections = {"": text.split("\n## ", 1)[0], **readme_sections()}
    return [(heading, code.splitlines()[0], code) for heading, section in sections.items()
            for code in re.findall(r"^```\w*\n(.*?)^```", section, flags=re.M | re.S)]


def test_every_readme_code_block_is_run_by_a_test() -> None:
    """A block added to README without a test that runs it fails here, naming it."""
    blocks = [(heading, first) for heading, first, _ in _readme_blocks()]
    listed = {block: [key for key in RUN_BY if key[0] == block[0] and block[1].startswith(key[1])]
              for block in blocks}
    assert [block for block, keys in listed.items() if not keys] == [], "no test runs these"
    used = {key for keys in listed.values() for key in keys}
    assert [key for key in RUN_BY if key not in used] == [], "README no longer has these"
    for module, test in RUN_BY.values():  # the test named is there
        assert test in (REPO_ROOT / "tests" / module).read_text(encoding="utf-8"), test


def test_readme_install_extras_are_setup_pys() -> None:
    """The Install block's ``pip install ".[name]"`` lines name extras setup.py has (a
    misspelled one is only warned by pip, and installs nothing)."""
    (install, _wheel) = code_blocks(readme_sections()["Install"], "bash")
    named = re.findall(r'pip install "\.\[(\w+)\]"', install)
    setup = (REPO_ROOT / "setup.py").read_text(encoding="utf-8")
    assert named == ["flask", "django", "fastapi", "fast"], named
    for extra in named:
        assert f'"{extra}": [' in setup, extra


def _block(heading: str, first: str) -> str:
    (code,) = [code for where, line, code in _readme_blocks()
               if where == heading and line.startswith(first)]
    return code


def test_the_configuration_block_reads_the_variables(
        monkeypatch: pytest.MonkeyPatch) -> None:
    code = _block("Configuration", "config = MetricsApiConfig()")
    monkeypatch.setenv("README_API_KEY", KEY)
    monkeypatch.setenv("README_GROUPING_FUNCTION", f"{__name__}:_grouping")
    monkeypatch.setenv("README_DENYLIST", "password")
    names: dict[str, Any] = {"MetricsApiConfig": MetricsApiConfig}  # the quick starts' import
    exec(code, names)  # noqa: S102 - README's code
    config = names["config"]
    assert config.api_key == KEY and config.grouping_function is _grouping
    assert list(config.denylist) == ["password"]


def test_the_denylist_block_redacts_what_it_names(collector: Collector) -> None:
    """``MetricsApiConfig(..., denylist=[...])``, its ``...`` the options a quick start
    gives: the names it lists are redacted in a real call's log."""
    from werkzeug.test import Client

    code = _block("What is sent, and how to keep secrets out", "MetricsApiConfig(...,")
    filled = code.replace("MetricsApiConfig(..., ", "config = MetricsApiConfig(api_key=KEY, "
                          "metrics_api=URL, buffer_length=1, grouping_function=_grouping, ")
    names: dict[str, Any] = {"MetricsApiConfig": MetricsApiConfig, "KEY": KEY,
                             "URL": collector.url, "_grouping": _grouping}
    exec(filled, names)  # noqa: S102 - README's code
    app = flask.Flask("newcomer37_denylist")
    app.post("/login")(lambda: {"user": {"token": "t0k3n", "name": "ada"}})
    metrics = ReadMeMetrics(names["config"], app)
    Client(app).post("/login", json={"password": "hunter2", "name": "ada"},
                     headers={"X-Api-Key": "owlbert-key"})
    assert metrics.flush(10)
    (log,) = collector.wait_for_logs(1)
    metrics.close()
    text = str(log)
    assert "hunter2" not in text and "t0k3n" not in text and "ada" in text


def test_the_troubleshooting_logger_block_shows_the_librarys_debug_lines() -> None:
    code = _block("Troubleshooting", "import logging")
    library, root = logging.getLogger("readme_metrics"), logging.getLogger()
    level, handlers = library.level, list(root.handlers)
    root.handlers = []  # basicConfig adds its handler only to a root that has none
    try:
        exec(code, {})  # noqa: S102 - README's code
        assert library.level == logging.DEBUG
        assert library.isEnabledFor(logging.DEBUG)
        assert [type(handler) for handler in root.handlers] == [logging.StreamHandler]
    finally:
        library.setLevel(level)
        root.handlers = handlers
