"""review62: an adversarial pass over the session's capture landings (servers8's bodies
the server sends to HEAD/1xx/204/304, asgi6's ASGI 2 adapter, newcomer10's first-hour
messages). Each test failed before its fix.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Callable

import pytest

from readme_metrics.asgi import MetricsMiddleware as AsgiMiddleware
from tests.support.asgi import DOCS, body_messages, http_scope, run
from tests.support.capture_wrap import wrapping
from tests.support.fake_api import Collector, free_port
from tests.support.har_check import assert_valid_log
from tests.support.raw_requests import answer_to
from tests.test_asgi import asgi2_function


@pytest.fixture
def wrap(collector: Collector) -> Iterator[Callable[..., AsgiMiddleware]]:
    with wrapping(collector, AsgiMiddleware, base_log_url=DOCS) as make:
        yield make


class _Adapter:
    """An ASGI 3 layer (a plain ``__call__`` returning the awaitable) over an ASGI 2 app,
    made a wrapper of it by ``functools.update_wrapper``, as class-based decorators are:
    it keeps the inner app as ``__wrapped__``."""

    def __init__(self, app: Any) -> None:
        functools.update_wrapper(self, app)
        self.inner = app

    def __call__(self, scope: Any, receive: Any, send: Any) -> Any:
        return self.inner(scope)(receive, send)


def _decorated(app: Any) -> Any:
    """The same as a function: ``@functools.wraps`` of the ASGI 2 app it adapts."""

    @functools.wraps(app)
    def asgi3(scope: Any, receive: Any, send: Any) -> Any:
        return app(scope)(receive, send)

    return asgi3


@pytest.mark.parametrize("make", [_Adapter, _decorated], ids=["class", "function"])
def test_an_asgi3_layer_wrapping_an_asgi2_app_is_called_as_asgi3(
        wrap: Any, collector: Collector, make: Any) -> None:
    """asgi6's check read the signature through ``__wrapped__`` (inspect's default): an
    ASGI 3 app taking ``(scope, receive, send)`` that keeps the ASGI 2 app it adapts as
    ``__wrapped__`` was taken for that ASGI 2 app and called with the scope alone:
    every request failed with "missing 2 required positional arguments", where a
    server calling it as ASGI 3 (granian calls any app so) serves it."""
    app = make(asgi2_function)
    bare = asyncio.run(run(app, http_scope("POST"), body_messages(b"hi")))  # as ASGI 3
    assert (bare.error, bare.start["status"], bare.body) == (None, 201, b"asgi2:hi")

    done = asyncio.run(run(wrap(app), http_scope("POST"), body_messages(b"hi")))
    assert done.error is None, done.error
    assert (done.start["status"], done.body) == (201, b"asgi2:hi")
    log = collector.logs[0]
    assert_valid_log(log)
    assert log["request"]["log"]["entries"][0]["response"]["content"]["text"] == "asgi2:hi"


def test_a_key_list_with_commas_and_a_blank_in_a_key_is_not_warned_about(
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    """newcomer10's separator warning took any blank for a separator: a list written
    with commas whose key holds a blank (a JSON key "first name") was told its keys are
    separated by commas, and offered 'first,name,password', which would redact other
    fields and leave "first name" as sent. Keys given with commas are the user's own;
    a ';' or '|' there is still said, and so is a list without a comma."""
    from readme_metrics import MetricsApiConfig

    caplog.set_level(logging.WARNING, logger="readme_metrics")

    def make(text: str) -> list[str]:
        caplog.clear()
        monkeypatch.setenv("README_DENYLIST", text)
        MetricsApiConfig(api_key="any-key", enabled=False)
        return [r.getMessage() for r in caplog.records if "separated" in r.getMessage()]

    assert make("first name62,password") == []
    assert make("last name62, password") == []
    assert make("secret62 token62") != []  # (no comma: the shell's list)
    assert make("first name,secret62;token62") != []


_RUNSERVER_PROJECT = textwrap.dedent("""\
    from readme_metrics import MetricsApiConfig, MetricsMiddleware

    SECRET_KEY = "review62"
    DEBUG = True
    ALLOWED_HOSTS = ["*"]
    ROOT_URLCONF = "review62_project"
    urlpatterns = []
    INSTALLED_APPS = []
    WSGI_APPLICATION = "review62_project.application"


    def app(environ, start_response):
        write = start_response("200 OK", [("Content-Type", "text/plain"),
                                          ("Content-Length", "5")])
        if environ["PATH_INFO"] == "/write":
            write(b"hello")  # the write() callable: wsgiref sends it at once
            return []
        return [b"hello"]


    application = MetricsMiddleware(app, MetricsApiConfig(
        grouping_function=lambda request: {"api_key": "owlbert"}))
    """)


@pytest.mark.e2e
def test_runserver_sends_a_head_body_given_to_write_and_the_log_says_so(
        collector: Collector, tmp_path: Path) -> None:
    """servers8 read runserver's source: it drops a HEAD answer's body (its handler
    consumes the iterable unsent), so the log leaves it out. That is the iterable's
    only: a body given to the ``write()`` callable goes out through wsgiref's write at
    once. Run for real, the client got ``hello`` after the headers and the log said an
    empty body of size 0. The iterable's body is still left out, as the client got it."""
    from tests.test_e2e_servers import serve, server_env

    (tmp_path / "review62_project.py").write_text(_RUNSERVER_PROJECT)
    port = free_port()
    env = server_env(collector, DJANGO_SETTINGS_MODULE="review62_project")
    env["PYTHONPATH"] = f"{tmp_path}:{env['PYTHONPATH']}"
    argv = [sys.executable, "-m", "django", "runserver", f"127.0.0.1:{port}",
            "--noreload", "--skip-checks"]
    with serve(argv, env, tmp_path, port):
        got = {path: answer_to(port, b"HEAD %s HTTP/1.1\r\nHost: x\r\nConnection: close"
                                b"\r\n\r\n" % path.encode())
               for path in ("/write", "/iterable")}
        logs = collector.wait_for_logs(2)
    assert got["/write"].endswith(b"\r\n\r\nhello"), got["/write"]
    assert got["/iterable"].endswith(b"\r\n\r\n"), got["/iterable"]
    for log in logs:
        assert_valid_log(log)
    content = {entry["request"]["url"].rsplit("/", 1)[1]: entry["response"]["content"]
               for log in logs for entry in log["request"]["log"]["entries"]}
    assert (content["write"]["size"], content["write"].get("text")) == (5, "hello")
    assert content["iterable"]["size"] == 0


def test_flask_watchers_do_not_pile_up_in_flasks_signal(collector: Collector) -> None:
    """newcomer10's ``watch_flask`` connected a receiver to Flask's process-wide
    ``request_started`` for each MetricsMiddleware made around a Flask app, strongly
    (``weak=False``), and disconnected it for that app only: blinker keeps such a
    receiver (with the config's logger and API key) until it is disconnected for every
    sender, so each one stayed for good, the app gone or served: 50 apps made and
    dropped left 50 receivers, one app wrapped in 50 tests 50 more. One receiver per
    live app now, gone with the app or at its first request; the unassigned middleware
    is still warned about."""
    import gc

    from flask import Flask
    from flask.signals import request_started

    from readme_metrics import MetricsApiConfig, MetricsMiddleware

    config = MetricsApiConfig(api_key="any-key", metrics_api=collector.url,
                              readme_api_url=collector.url, base_log_url=DOCS,
                              grouping_function=lambda request: None)
    gc.collect()  # (earlier tests' apps, once collected, leave the signal: counted after)
    gc.collect()
    before = len(request_started.receivers)
    for i in range(50):
        made = Flask(f"review62_{i}")
        made.wsgi_app = MetricsMiddleware(made.wsgi_app, config)  # type: ignore[method-assign]
    del made
    gc.collect()
    gc.collect()
    assert len(request_started.receivers) == before

    app = Flask("review62_same")
    app.get("/")(lambda: "ok")
    for _ in range(50):
        MetricsMiddleware(app.wsgi_app, config)  # made in each test, never assigned
    assert len(request_started.receivers) == before + 1

    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append  # type: ignore[method-assign]
    config.logger.addHandler(handler)
    try:
        assert app.test_client().get("/").data == b"ok"
    finally:
        config.logger.removeHandler(handler)
    assert len(request_started.receivers) == before
    assert [r.getMessage() for r in records if "does not serve it" in r.getMessage()] == [
        ("readme_metrics: the Flask app 'review62_same' served a request, and the "
         "MetricsMiddleware made around it in this process does not serve it, so no request "
         "is logged: assign it, app.wsgi_app = MetricsMiddleware(app.wsgi_app, config) (the "
         "call alone wraps nothing)")]


def test_flasks_test_client_around_readmes_plain_way_is_not_told_to_assign(
        collector: Collector) -> None:
    """README's plain way for any WSGI app, ``application = MetricsMiddleware(app,
    config)`` given to the server, and a test suite calling ``app.test_client()``: the
    test client calls the Flask app itself, so newcomer10's check told every test run
    "the MetricsMiddleware made around it in this process does not serve it ... assign
    it, app.wsgi_app = ...", advice that does not apply (Django's check leaves its test
    client's requests alone for the same reason). A middleware made around the app
    itself now lets a test client's request pass, the next request looking: a real
    server serving the app without it is still told."""
    import threading

    from flask import Flask
    from werkzeug.serving import make_server

    from readme_metrics import MetricsApiConfig, MetricsMiddleware

    app = Flask("review62_plain_way")
    app.get("/")(lambda: "ok")
    config = MetricsApiConfig(api_key="any-key", metrics_api=collector.url,
                              readme_api_url=collector.url, base_log_url=DOCS,
                              grouping_function=lambda request: None)
    application = MetricsMiddleware(app, config)
    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append  # type: ignore[method-assign]
    config.logger.addHandler(handler)
    try:
        for _ in range(2):
            assert app.test_client().get("/").data == b"ok"
        assert [r for r in records if "does not serve it" in r.getMessage()] == []

        server = make_server("127.0.0.1", 0, app)  # the app served without `application`
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            for _ in range(2):
                answer = answer_to(server.port, b"GET / HTTP/1.1\r\nHost: x\r\n"
                                                b"Connection: close\r\n\r\n")
                assert answer.endswith(b"ok"), answer
        finally:
            server.shutdown()
            thread.join()
    finally:
        config.logger.removeHandler(handler)
    assert len([r for r in records if "does not serve it" in r.getMessage()]) == 1
    assert application.app is app


_UWSGI_APP = textwrap.dedent("""\
    from readme_metrics import MetricsApiConfig, MetricsMiddleware


    def app(environ, start_response):
        status = environ["PATH_INFO"].rsplit("/", 1)[1]
        status = status if status.isdigit() else "200"  # (serve()'s probe: /nolog)
        write = start_response(f"{status} X", [("Content-Type", "text/plain")])
        if environ["QUERY_STRING"] == "write":
            write(b"hello")
            return []
        return [b"hello"]


    wrapped = MetricsMiddleware(app, MetricsApiConfig(
        grouping_function=lambda request: {"api_key": "owlbert"}))


    def root(environ, start_response):
        if environ["PATH_INFO"].startswith("/wrap/"):
            return wrapped(environ, start_response)
        return app(environ, start_response)
    """)


@pytest.mark.e2e
def test_uwsgi_sends_a_body_http_allows_none_and_the_log_says_so(
        collector: Collector, tmp_path: Path) -> None:
    """servers8 kept the old rule for uWSGI ("as far as is known, sends none"): run for
    real, uWSGI sends the app's body to HEAD, 103, 204 and 304 alike, bare and wrapped,
    from the iterable and from ``write()``; the log said an empty body of size 0 for
    each. It has what the client got now."""
    from tests.test_e2e_servers import NO_UWSGI, serve, server_env, uwsgi_argv

    if NO_UWSGI.args[0]:
        pytest.skip(NO_UWSGI.kwargs["reason"])
    (tmp_path / "review62_uwsgi.py").write_text(_UWSGI_APP)
    port = free_port()
    env = server_env(collector)
    env["PYTHONPATH"] = f"{tmp_path}:{env['PYTHONPATH']}"
    cases = [("HEAD", "200", ""), ("HEAD", "200", "write"), ("GET", "204", ""),
             ("GET", "304", ""), ("GET", "103", ""), ("GET", "204", "write")]
    with serve(uwsgi_argv(port, "review62_uwsgi:root"), env, tmp_path, port):
        for method, status, query in cases:
            for side in ("bare", "wrap"):
                answer = answer_to(port, b"%s /%s/%s?%s HTTP/1.1\r\nHost: x\r\n"
                                         b"Connection: close\r\n\r\n" % (
                                             method.encode(), side.encode(),
                                             status.encode(), query.encode()))
                assert answer.endswith(b"\r\n\r\nhello"), (method, status, query, answer)
        logs = collector.wait_for_logs(len(cases))
    for log in logs:
        assert_valid_log(log)
    got = sorted((entry["request"]["method"], entry["response"]["status"],
                  entry["response"]["content"]["size"],
                  entry["response"]["content"].get("text"))
                 for log in logs for entry in log["request"]["log"]["entries"])
    assert got == sorted((method, int(status), 5, "hello")
                         for method, status, _ in cases)
