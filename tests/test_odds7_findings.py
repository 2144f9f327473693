"""Findings of review (odds7): the grouping path's circular-import hint given for a typo,
the `flask run` wording for a value docker or compose put in the environment, and a
bad size argument of the app's own read marking the captured input failed."""

from __future__ import annotations

import os
import sys
from typing import Any, Callable

import pytest
import requests

from tests.support.fake_api import Collector
from tests.support.processes import run_command
from tests.support.wsgi_servers import served


def grouping(request: Any) -> None:
    return None


def _config_error_while_importing(tmp_path, monkeypatch: pytest.MonkeyPatch,
                                  module: str, attr: str) -> str:
    """The error of ``MetricsApiConfig()`` made in ``module`` above ``def
    grouping_function``, with README_GROUPING_FUNCTION naming ``module:attr``."""
    (tmp_path / f"{module}.py").write_text(
        "from readme_metrics import MetricsApiConfig\n"
        "config = MetricsApiConfig()\n"
        "def grouping_function(request):\n"
        "    return None\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("README_API_KEY", "any-key")
    monkeypatch.setenv("README_GROUPING_FUNCTION", f"{module}:{attr}")
    monkeypatch.delitem(sys.modules, module, raising=False)
    with pytest.raises(ValueError) as error:
        __import__(module)
    sys.modules.pop(module, None)
    return str(error.value)


@pytest.mark.parametrize(("attr", "said"), [
    pytest.param("no_such_thing", "module '{m}' has no attribute 'no_such_thing' "
                 "(from the environment)", id="a-name-the-module-does-not-define"),
    pytest.param("grouping_functon", "module '{m}' has no attribute 'grouping_functon' "
                 "(did you mean 'grouping_function'? It is defined below the line that "
                 "makes this configuration: move it above that line, or pass the function "
                 "itself as the argument) (from the environment)", id="a-typo-of-one-below"),
    pytest.param("grouping_function", "{m} is still being imported, and 'grouping_function'"
                 " is defined below the line that makes this configuration: move it above "
                 "that line, or pass the function itself as the argument (from the "
                 "environment)", id="defined-below-the-config-line"),
])
def test_the_circular_import_hint_only_for_a_name_the_module_defines(
        tmp_path, monkeypatch: pytest.MonkeyPatch, attr: str, said: str) -> None:
    """The hint said "'no_such_thing' is defined below the line ..." (and Python's "most
    likely due to a circular import") for a name the module has nowhere: a typo."""
    module = f"odds7_app_{attr}"
    message = _config_error_while_importing(tmp_path, monkeypatch, module, attr)
    assert message.endswith(said.format(m=module)), message
    if attr != "grouping_function":
        assert "circular" not in message


_APP = ("import flask\n"  # the app is a Flask app: Flask is imported, but did not run
        "from readme_metrics import MetricsApiConfig\n"
        "MetricsApiConfig(grouping_function=lambda request: None)\n")


@pytest.mark.parametrize(("set_by", "said"), [
    pytest.param({}, "the environment; {env} sets the same value (put there from the file "
                 "by docker's --env-file or compose's env_file, or set in both)",
                 id="docker-env-file"),
    pytest.param({"WERKZEUG_RUN_MAIN": "true"}, "the environment; {env} sets the same "
                 "value, which Flask (`flask run`, `app.run()`) loads there",
                 id="app-run-reloader-child"),
    pytest.param({"FLASK_RUN_FROM_CLI": "true", "FLASK_SKIP_DOTENV": "1"},
                 "the environment; {env} sets the same value (put there from the file by "
                 "docker's --env-file or compose's env_file, or set in both)",
                 id="flask-told-to-skip-dotenv"),
])
def test_a_value_in_the_environment_and_the_dotenv_names_flask_only_when_it_ran(
        tmp_path, set_by: dict[str, str], said: str) -> None:
    """`docker run --env-file .env` (or compose's env_file) puts the file's values in the
    real environment, and the .env is in the image's working directory too: the error said
    "which `flask run` loads there" in a container where no flask command ever ran. Run
    for real: the process starts with the variable set, as docker starts it."""
    dotenv = tmp_path / ".env"
    dotenv.write_text("README_API_KEY=any-key\nREADME_BUFFER_LENGTH=abc\n")
    environ = {name: value for name, value in os.environ.items()
               if not name.startswith(("README_", "FLASK_", "WERKZEUG_"))}
    environ.update(README_API_KEY="any-key", README_BUFFER_LENGTH="abc", **set_by)
    ran = run_command([sys.executable, "-c", _APP], cwd=tmp_path, env=environ,
                      capture_output=True, text=True, timeout=60)
    assert ran.returncode != 0
    assert ("readme_metrics: buffer_length (README_BUFFER_LENGTH) must be an integer >= 1, "
            f"got 'abc' (from {said.format(env=dotenv)})") in ran.stderr, ran.stderr


BODY = b"line one\nline two\n"


def _misusing_app(call: Callable[[Any], Any]) -> Any:
    """An app that calls ``wsgi.input`` with a size that is no integer, catches what that
    raises, says it, and leaves the body unread."""
    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        try:
            call(environ["wsgi.input"])
            said = "no error"
        except TypeError as exc:
            said = f"TypeError: {exc}"
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [said.encode()]
    return app


@pytest.mark.parametrize("server", ["wsgiref", "werkzeug", "waitress"])
@pytest.mark.parametrize("call", [
    pytest.param(lambda stream: stream.read("10"), id="read-str"),
    pytest.param(lambda stream: stream.read(1.5), id="read-float"),
    pytest.param(lambda stream: stream.readline("10"), id="readline-str"),
    pytest.param(lambda stream: stream.readlines("10"), id="readlines-str"),
])
def test_a_size_that_is_no_integer_raises_as_bare_and_the_body_is_logged_whole(
        collector: Collector, inline_wrap: Any, server: str,
        call: Callable[[Any], Any]) -> None:
    """``wsgi.input.read("10")``: the app's own mistake. Where reads are held to
    CONTENT_LENGTH (wsgiref, werkzeug) the tee's comparison raised its own TypeError
    ("'<' not supported ..."), not the server's; where they are not (waitress, gunicorn:
    wsgi.input_terminated) the server's TypeError marked the input failed, and the log's
    body was "incomplete: 0 of 18 bytes" for a body that had arrived whole."""
    assert_misuse_answered_as_bare(collector, inline_wrap, server, call)


def assert_misuse_answered_as_bare(collector: Collector, inline_wrap: Any, server: str,
                                   call: Callable[[Any], Any]) -> None:
    """:func:`_misusing_app` under ``server``, bare then wrapped: the same TypeError
    answer, and the body (left unread) logged whole."""
    answers = []
    for app in (_misusing_app(call), inline_wrap(_misusing_app(call))):
        with served(server, app) as port:
            answers.append(requests.post(f"http://127.0.0.1:{port}/misuse", data=BODY,
                                         headers={"Content-Type": "text/plain"},
                                         timeout=10).text)
    bare, wrapped = answers
    assert bare.startswith("TypeError: ") and wrapped == bare
    [log] = collector.wait_for_logs(1)
    post = log["request"]["log"]["entries"][0]["request"]["postData"]
    assert post == {"mimeType": "text/plain", "text": BODY.decode()}, post
