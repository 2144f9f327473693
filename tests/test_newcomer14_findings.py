"""A newcomer's first hour, fourteenth pass: README followed in a fresh clone (the demo,
the test command, the quick starts for plain WSGI, Flask, Django, FastAPI, Bottle, Falcon
and Starlette under their usual servers, pointed at ``readme-metrics collect``), then the
mistakes a newcomer makes, and what the library says.

Each test is one thing tried there, with the library's real parts; none passed before its
fix.
"""

from __future__ import annotations

import json
import logging
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from werkzeug.test import Client

from readme_metrics import MetricsApiConfig, MetricsMiddleware
from tests.support.command import REPO_ROOT
from tests.support.processes import run_command
from tests.test_newcomer_findings import _project

# -- README_GROUPING_FUNCTION given as a file's full path -----------------------------------


@pytest.mark.parametrize("path", [
    "C:\\proj\\newcomer_app\\metrics.py:grouping",  # copied from Windows' Explorer
    "C:/proj/newcomer_app/metrics.py:grouping",
    "D:\\proj\\newcomer_app\\metrics.grouping",
])
def test_a_windows_path_for_the_grouping_module_says_how_to_name_the_module(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, path: str) -> None:
    # The drive's colon was read as the module/attribute separator: "cannot import
    # 'C:\\proj\\app.py:grouping_function': No module named 'C'".
    _project(tmp_path, monkeypatch)
    monkeypatch.setenv("README_GROUPING_FUNCTION", path)
    with pytest.raises(ValueError) as caught:
        MetricsApiConfig(api_key="any-key")
    message = str(caught.value)
    assert "No module named 'C'" not in message and "'D'" not in message, message
    assert "that is a file's path" in message, message
    meant = "metrics:grouping" if "metrics.py:" in path else "metrics.grouping"
    assert f"e.g. {meant!r}" in message, message
    assert "on sys.path" in message, message


def test_an_absolute_path_for_the_grouping_module_is_named_from_its_sys_path_folder(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # /srv/app/newcomer_app/metrics.py:grouping said "e.g.
    # 'srv.app.newcomer_app.metrics:grouping'", a module that does not exist: the module
    # is named from the sys.path folder holding the file.
    _project(tmp_path, monkeypatch)
    path = f"{tmp_path}/newcomer_app/metrics.py:grouping"
    monkeypatch.setenv("README_GROUPING_FUNCTION", path)
    with pytest.raises(ValueError) as caught:
        MetricsApiConfig(api_key="any-key")
    message = str(caught.value)
    assert "e.g. 'newcomer_app.metrics:grouping'" in message, message
    assert MetricsApiConfig(api_key="any-key", grouping_function="newcomer_app.metrics:grouping")


def test_an_absolute_path_outside_sys_path_names_the_folder_to_add(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _project(tmp_path, monkeypatch)
    elsewhere = Path("/srv/newcomer14/not_on_the_path/metrics.py")  # no sys.path folder
    monkeypatch.setenv("README_GROUPING_FUNCTION", f"{elsewhere}:grouping")
    with pytest.raises(ValueError) as caught:
        MetricsApiConfig(api_key="any-key")
    message = str(caught.value)
    assert "e.g. 'metrics:grouping'" in message, message
    assert f"its folder ({elsewhere.parent}) on sys.path" in message, message


# -- `python app.py` whose configuration names `app:...` from the environment --------------

_APP = '''
from readme_metrics import MetricsApiConfig, MetricsMiddleware


def hello_app(environ, start_response):
    start_response("200 OK", [("Content-Type", "application/json")])
    return [b'{"hello": "world"}']


def grouping_function(request):
    return None


app = MetricsMiddleware(hello_app, MetricsApiConfig())
'''


@pytest.mark.parametrize("given, said", [
    ("app:grouping_functon",
     "cannot import 'app:grouping_functon': module 'app' has no attribute "
     "'grouping_functon' (did you mean 'grouping_function'?) (from the environment)"),
    ("app:hello_app",
     "hello_app(environ, start_response) cannot be called with the request alone"),
])
def test_a_script_naming_itself_in_the_environment_says_its_error_once(
        tmp_path: Path, given: str, said: str) -> None:
    # README's plain WSGI quick start with MetricsApiConfig() and
    # README_GROUPING_FUNCTION=app:grouping_functon, run as `python app.py`: importing
    # 'app' runs app.py again (the script is '__main__'), whose own configuration fails
    # the same way, and the error came out twice over: "cannot import 'app:...': readme_
    # metrics: grouping_function (README_GROUPING_FUNCTION) cannot import 'app:...': ...
    # (from the environment) (from the environment)".
    (tmp_path / "app.py").write_text(_APP)
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO_ROOT),
           "README_API_KEY": "any-key", "README_GROUPING_FUNCTION": given}
    done = run_command([sys.executable, "app.py"], cwd=tmp_path, env=env,
                       capture_output=True, text=True, timeout=60)
    assert done.returncode == 1, done.stderr
    last = done.stderr.strip().splitlines()[-1]
    assert said in last, last
    assert last.count("readme_metrics:") == 1, last
    assert last.count("(from the environment)") == 1, last


@pytest.mark.parametrize("run", [["app.py"], ["-m", "app"]])
def test_a_script_naming_itself_in_the_environment_runs_its_code_once(
        tmp_path: Path, run: list[str]) -> None:
    # README's plain WSGI quick start, README_GROUPING_FUNCTION=app:grouping_function,
    # run as `python app.py`: the name 'app' was imported, which ran app.py a second time
    # as another module (its top-level code twice: a second app, its connections, its
    # prints) and took the function from that copy. The running script is used now.
    (tmp_path / "app.py").write_text(
        "print('top level of', __name__)\n" + _APP
        + "print('grouping function is the script own:',"
          " app.config.grouping_function is grouping_function)\n")
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO_ROOT),
           "README_API_KEY": "any-key", "README_GROUPING_FUNCTION": "app:grouping_function"}
    done = run_command([sys.executable, *run], cwd=tmp_path, env=env,
                       capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "top level of __main__", "grouping function is the script own: True"]


# -- "your outbound proxy is not used": the debug line README says confirms it ---------------

@pytest.mark.parametrize("proxied", [True, False])
def test_the_debug_line_names_the_proxy_the_logs_go_through(
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
        proxied: bool) -> None:
    # README's row "your outbound proxy is not used" says the debug line "logs are posted
    # to ... with requests" confirms the proxy path; that line said "with requests" for a
    # client certificate or a URL with a user too, and named no proxy: which one, if any,
    # the logs went through could not be read from it.
    for name in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "ALL_PROXY",
                 "all_proxy", "no_proxy", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
    if proxied:
        monkeypatch.setenv("HTTPS_PROXY", "http://proxy.internal.example:3128")
    caplog.set_level("DEBUG", logger="readme_metrics")
    middleware = MetricsMiddleware(lambda environ, start_response: [], MetricsApiConfig(
        api_key="any-key", grouping_function=lambda request: None,
        metrics_api="https://metrics.readme.io", base_log_url="https://docs.example.com"))
    try:
        middleware.flush(0.1)
    finally:
        middleware.close()
    lines = [r.getMessage() for r in caplog.records if "logs are posted to" in r.getMessage()]
    assert lines, caplog.text
    if proxied:
        assert "with requests, through the proxy at proxy.internal.example;" in lines[0], lines
    else:
        assert "through the proxy" not in lines[0], lines


# -- README_METRICS_SERVER at a port another program has ------------------------------------

class _NotAMetricsApi(BaseHTTPRequestHandler):
    """A web server of another kind on the port meant for the collector: a POST is a 404
    (a web app), or, with no do_POST, a 501 (``python -m http.server``)."""

    def do_POST(self) -> None:  # noqa: N802 (http.server's name)
        if self.server.answer == 501:  # type: ignore[attr-defined]
            self.send_error(501, "Unsupported method ('POST')")
            return
        self.send_response(404)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.mark.parametrize("answer", [404, 501])
def test_a_post_answered_by_another_program_says_the_port_is_not_the_collector(
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
        answer: int) -> None:
    # `readme-metrics collect` started on another port (or not at all) and something else
    # on 127.0.0.1:8001: "the Metrics API at http://127.0.0.1:8001/v1/request rejected a
    # batch of 1 log (HTTP 404 Not Found); dropping it", or for a 501 (python -m
    # http.server) "3 POSTs in a row ... failed", with no word of what was wrong.
    for name in ("http_proxy", "HTTP_PROXY", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _NotAMetricsApi)
    server.answer = answer  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        middleware = MetricsMiddleware(_hello, MetricsApiConfig(
            api_key="any-key", grouping_function=lambda request: {"api_key": "caller-1"},
            metrics_api=f"http://127.0.0.1:{server.server_port}",
            base_log_url="https://docs.example.com", shutdown_timeout=2))
        response = Client(middleware).get("/")
        response.close()
        middleware.close()
    finally:
        server.shutdown()
        server.server_close()
    said = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert any("what answers there is no Metrics API" in line and "another program (or "
               "this app) has that port" in line for line in said), said


def _hello(environ: Any, start_response: Any) -> list[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"hello"]


# -- two processes writing one HAR file -------------------------------------------------------

def _entry(n: int) -> dict[str, Any]:
    return {"startedDateTime": "2026-12-04T06:00:00.000Z", "time": n, "comment": f"call {n}"}


def test_two_collectors_given_one_har_file_keep_it_json_and_every_entry(
        tmp_path: Path) -> None:
    # `readme-metrics collect` and `readme-metrics collect --port 8005` started in one
    # folder both append to ./readme-metrics.har; `demo --har readme-metrics.har` replaces
    # it under a running collector. Each append copied the file and cut it at its own
    # remembered offset: the file became "Extra data" JSON, or lost the other's entries.
    from readme_metrics.cli.collector.har_file import HarFile

    path = tmp_path / "readme-metrics.har"
    first = HarFile(path, fresh=False)
    second = HarFile(path, fresh=False)
    for n in range(6):
        (first if n % 2 else second).append([_entry(n)])
    entries = json.loads(path.read_bytes())["log"]["entries"]
    assert sorted(e["time"] for e in entries) == list(range(6))

    HarFile(path, fresh=True).append([_entry(100)])  # demo --har readme-metrics.har
    first.append([_entry(101)])
    entries = json.loads(path.read_bytes())["log"]["entries"]
    assert [e["time"] for e in entries] == [100, 101]
    assert first.count == 2

    path.unlink()  # deleted under it: started afresh
    first.append([_entry(102)])
    assert [e["time"] for e in json.loads(path.read_bytes())["log"]["entries"]] == [102]


# -- a count or a size written as 10k, 10.0 or 1e6 --------------------------------------------

@pytest.mark.parametrize("variable, given, meant", [
    ("README_MAX_QUEUE_SIZE", "10k", "10000"),
    ("README_MAX_QUEUE_SIZE", "1e4", "10000"),
    ("README_BUFFER_LENGTH", "10.0", "10"),
    ("README_MAX_BODY_BYTES", "1e6", "1000000"),
    ("README_MAX_QUEUE_BYTES", "1.5e7", "15000000"),
])
def test_a_whole_number_written_otherwise_says_its_digits(
        monkeypatch: pytest.MonkeyPatch, variable: str, given: str, meant: str) -> None:
    # Units got a hint (README_MAX_BODY_BYTES=1MB: "write the number of bytes alone ...:
    # 1048576"), but a count written as other tools take one (10k, 1e4, 10.0) got only
    # "must be an integer >= 1, got '10k'".
    monkeypatch.setenv(variable, given)
    with pytest.raises(ValueError) as caught:
        MetricsApiConfig(api_key="any-key", grouping_function=lambda request: None)
    assert str(caught.value).endswith(
        f"got {given!r} (from the environment): write it as a whole number, in digits "
        f"alone: {meant}"), caught.value
    monkeypatch.setenv(variable, meant)
    MetricsApiConfig(api_key="any-key", grouping_function=lambda request: None)


@pytest.mark.parametrize("variable, given", [
    ("README_BUFFER_LENGTH", "2.5"), ("README_BUFFER_LENGTH", "0.0"),
    ("README_BUFFER_LENGTH", "1e400"), ("README_MAX_QUEUE_SIZE", "1e23"),
    ("README_BUFFER_LENGTH", "abc"),
])
def test_no_digits_are_offered_for_a_number_that_is_not_a_whole_one_taken(
        monkeypatch: pytest.MonkeyPatch, variable: str, given: str) -> None:
    monkeypatch.setenv(variable, given)
    with pytest.raises(ValueError) as caught:
        MetricsApiConfig(api_key="any-key", grouping_function=lambda request: None)
    assert str(caught.value).endswith(f"got {given!r} (from the environment)"), caught.value
