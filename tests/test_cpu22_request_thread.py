"""cpu22's items (issue 11): the request thread's questions to the server, under gunicorn.

``WSGICapture.wrap`` answered a list answer's questions under a server it did not tell
apart (the in-process loop, cheroot, a test client) with no Python call (cpu12), and
under gunicorn, the benchmark's server, with four: ``ignores_late_start``,
``cuts_at_length``, ``sends_list_as_is`` and its ``holds_empty_chunks``. gunicorn's
answers are written out now.

1. No Python call for them on a list answer under gunicorn (failed before: 4 calls).
2. The same answers as the four functions give, for each mix of the servers' environ
   keys and SERVER_SOFTWARE: the list back as it is or wrapped, and the logged body cut
   at the Content-Length or not.
3. Under a real gunicorn sync worker: a list answer longer than its Content-Length is
   logged as gunicorn sent it, cut at the length, and a small GET's log is whole.
"""

from __future__ import annotations

import itertools
import sys
from pathlib import Path
from typing import Any, Callable

import pytest
import requests

from readme_metrics.capture.wsgi_servers import (
    cuts_at_length,
    plain_server,
    sends_list_as_is,
)
from tests.support.capture_wrap import only_log, wrap_fixture  # noqa: F401 - ``wrap``
from tests.support.fake_api import PATIENCE, Collector, free_port
from tests.support.wsgi import given_back, wsgi_environ
from tests.test_e2e_servers import GUNICORN, serve, server_env

_BODY = [b"abcdef"]
#: The questions a list answer asked under gunicorn before.
_ASKED = ("ignores_late_start", "cuts_at_length", "sends_list_as_is", "holds_empty_chunks",
          "plain_server")


def _list_app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
    # A Content-Length shorter than the body: gunicorn and waitress send 3 bytes.
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "3")])
    return _BODY


def _environ(keys: tuple[str, ...], software: Any) -> dict[str, Any]:
    environ = wsgi_environ()
    environ.pop("SERVER_SOFTWARE", None)
    if software is not None:
        environ["SERVER_SOFTWARE"] = software
    for key in keys:
        environ[key] = object()
    return environ


def test_no_server_question_on_a_list_answer_under_gunicorn(
        wrap: Callable[..., Any], collector: Collector) -> None:
    middleware = wrap(_list_app)
    environ = _environ(("gunicorn.socket",), "gunicorn/23.0.0")
    given_back(middleware, dict(environ))  # (the first request's one-time work aside)
    called: list[str] = []

    def profile(frame: Any, event: str, arg: Any) -> None:
        if event == "call" and frame.f_code.co_name in _ASKED:
            called.append(frame.f_code.co_name)

    sys.setprofile(profile)
    try:
        result, body = given_back(middleware, environ)
    finally:
        sys.setprofile(None)
    assert result is _BODY and body == b"abcdef"
    assert called == []
    logs = collector.wait_for_logs(2)
    assert [log["request"]["log"]["entries"][0]["response"]["content"]["text"]
            for log in logs] == ["abc", "abc"]


#: Each mix of the keys that tell the servers apart (uWSGI's aside: its own path).
_KEYS = [combo for size in range(3) for combo in itertools.combinations(
    ("gunicorn.socket", "waitress.client_disconnected"), size)]
_SOFTWARE = [None, "gunicorn/23.0.0", "Granian", "waitress", b"gunicorn", ""]


@pytest.mark.parametrize("software", _SOFTWARE)
@pytest.mark.parametrize("keys", _KEYS)
@pytest.mark.parametrize("first", [b"abcdef", "abcdef"], ids=["bytes", "str"])
def test_the_answers_are_the_server_functions(
        wrap: Callable[..., Any], collector: Collector, keys: tuple[str, ...],
        software: Any, first: Any) -> None:
    body = [first]

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "3")])
        return body

    middleware = wrap(app)
    environ = _environ(keys, software)
    plain = plain_server(environ)
    as_is = (first.__class__ is bytes if plain
             else sends_list_as_is(body, environ, [("Content-Type", "text/plain")]))
    cut = not plain and cuts_at_length(environ, body)
    result = middleware(environ, lambda status, headers, exc_info=None: None)
    try:
        assert (result is body) == as_is, type(result)
        chunks = list(result)
    finally:
        close = getattr(result, "close", None)
        if close is not None:
            close()
    assert chunks == [first]
    content = only_log(collector)["request"]["log"]["entries"][0]["response"]["content"]
    if first.__class__ is bytes:
        assert content["text"] == ("abc" if cut else "abcdef")
        assert content["size"] == (3 if cut else 6)


@pytest.mark.e2e
def test_under_a_real_gunicorn_the_list_answer_is_logged_as_sent(
        collector: Collector, tmp_path: Path) -> None:
    (tmp_path / "cpu22_app.py").write_text(_GUNICORN_APP)
    port = free_port()
    argv = [sys.executable, *GUNICORN, "--worker-class=sync", f"--bind=127.0.0.1:{port}",
            "cpu22_app:wrapped"]
    # Background senders (the benchmark's): the logs go at flush_interval or the exit.
    env = server_env(collector, README_BACKGROUND_WORKER_MODE="true",
                     README_BUFFER_LENGTH="10", README_FLUSH_INTERVAL="0.2")
    with serve(argv, env, tmp_path, port) as url:
        got = {path: requests.get(url + path, timeout=PATIENCE).content
               for path in ("/short", "/json")}
        assert got == {"/short": b"abc", "/json": b'{"a": 1}'}
        logs = collector.wait_for_logs(2)
    entries = {entry["request"]["url"].rsplit("/", 1)[1]: entry["response"]["content"]
               for log in logs for entry in log["request"]["log"]["entries"]}
    assert entries["short"]["text"] == "abc" and entries["short"]["size"] == 3
    assert entries["json"]["text"] == '{"a": 1}' and entries["json"]["size"] == 8


_GUNICORN_APP = """
from readme_metrics import MetricsApiConfig, MetricsMiddleware

def app(environ, start_response):
    if environ["PATH_INFO"] == "/short":
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "3")])
        return [b"abcdef"]
    start_response("200 OK", [("Content-Type", "application/json"),
                              ("Content-Length", "8")])
    return [b'{"a": 1}']

wrapped = MetricsMiddleware(app, MetricsApiConfig(
    grouping_function=lambda request: {"api_key": "caller"}))
"""
