"""review98's findings (an adversarial review of hostile20's, newcomer21's and review97's
landings).

1. skip_methods under Django's middleware: newcomer21 keeps a custom method as written
   (``README_SKIP_METHODS=fetch``: "fetch", no longer "FETCH"), and the WSGI and ASGI
   middlewares compare it with the method as sent. Django's middleware compared it with
   ``request.method``, which Django upper-cases: a custom method listed in lower case
   never matched there, and its requests were logged (on 564f251, before newcomer21,
   "fetch" was "FETCH" and they were skipped). It now asks with the method as sent
   (``REQUEST_METHOD``, the scope's ``method``), as the other middlewares do.
2. The Bottle app's first-request check (newcomer21) warned on a test client's request:
   a module laid out as README's Bottle row (``app = bottle.Bottle()``, ``application =
   MetricsMiddleware(app, config)`` for the server) whose tests call ``app`` with
   WebTest's ``TestApp`` (Bottle's and Pyramid's usual test client) or werkzeug's
   ``Client`` was told in every test run that its server does not serve the middleware.
   Flask's check already passed werkzeug's test client by; WebTest's warned there too.
   A test client's request now says nothing (the next request looks), for both.
3. ``README_SKIP_METHODS=options,purge`` (the environment's usual lower case) skipped
   Varnish's ``PURGE`` until newcomer21, which keeps a custom method as written: "purge"
   now skips only ``purge``, and the warning said the same as for "PURGE". It now names
   the upper-case spelling as another method to list.
"""

from __future__ import annotations

import http.client
import logging
from pathlib import Path
from typing import Any, Callable

import pytest
import requests

from readme_metrics import MetricsApiConfig, MetricsMiddleware
from readme_metrics.unwrapped import BOTTLE_UNSERVED, FLASK_SERVED_BARE
from tests.support.fake_api import Collector, free_port
from tests.support.polling import PATIENCE, wait_until
from tests.support.wsgi import ThreadedWSGIServer
from tests.test_e2e_servers import serve, server_env
from tests.test_twins20_frameworks import server_argv

# -- 1. skip_methods under Django ------------------------------------------------------------


def _sent(base: str, method: str, path: str = "/x") -> bytes:
    connection = http.client.HTTPConnection(base[len("http://"):], timeout=PATIENCE)
    try:
        connection.request(method, path)
        answer = connection.getresponse()
        assert answer.status == 200
        return answer.read()
    finally:
        connection.close()


@pytest.mark.e2e
@pytest.mark.parametrize("server, target", [
    ("gunicorn", "tests.support.review98_django:wsgi_app"),
    ("uvicorn", "tests.support.review98_django:asgi_app"),
])
def test_django_skips_a_custom_method_listed_as_sent(
        server: str, target: str, collector: Collector, tmp_path: Path) -> None:
    """README_SKIP_METHODS=fetch,options under Django's middleware, served by gunicorn
    (WSGI) and uvicorn (ASGI): a ``fetch`` request is skipped, as under the WSGI
    middleware (tests/test_newcomer21_findings.py); ``FETCH`` (another method) and GET
    are logged. Fails on 2401f1b: Django's upper-cased ``request.method`` ("FETCH") was
    compared with "fetch", so the ``fetch`` request was logged (and ``FETCH`` too)."""
    port = free_port()
    env = server_env(collector, README_SKIP_METHODS="fetch,options")
    argv = server_argv(server, target, port)
    if server == "gunicorn":  # (gunicorn answers a method in lower case 400 otherwise)
        argv.insert(-1, "--permit-unconventional-http-method")
    else:  # (and uvicorn's httptools parser too)
        argv.insert(-1, "--http=h11")
    with serve(argv, env, tmp_path, port) as base:
        for method in ("fetch", "FETCH", "GET", "OPTIONS"):
            assert _sent(base, method).lower() == method.lower().encode()  # (ASGI: upper)
        # One at a time, each log posted in its request's thread: once the last request's
        # log is in, any log of the ones before it is too.
        assert _sent(base, "GET", "/x?last") == b"GET"
        wait_until(lambda: any(log["request"]["log"]["entries"][0]["request"]["url"]
                               .endswith("?last") for log in collector.wait_for_logs(1)))
    methods = [log["request"]["log"]["entries"][0]["request"]["method"]
               for log in collector.logs]
    assert sorted(methods) == ["FETCH", "GET", "GET"], methods


# -- 2. A test client's request to the Bottle (or Flask) app ------------------------------


def _bottle_app() -> Any:
    import bottle

    app = bottle.Bottle()

    @app.route("/")
    def index() -> dict[str, str]:
        return {"hello": "world"}

    return app


def _flask_app() -> Any:
    import flask

    app = flask.Flask("review98")

    @app.route("/")
    def index() -> dict[str, str]:
        return {"hello": "world"}

    return app


def _werkzeug_client(app: Any) -> Any:
    from werkzeug.test import Client

    return Client(app).get("/").get_json()


def _webtest_client(app: Any) -> Any:
    webtest = pytest.importorskip("webtest")
    return webtest.TestApp(app).get("/").json


@pytest.mark.parametrize("framework, client", [
    ("bottle", _werkzeug_client), ("bottle", _webtest_client), ("flask", _webtest_client),
])
def test_a_test_clients_request_says_nothing_and_the_next_served_one_looks(
        framework: str, client: Callable[[Any], Any], caplog: pytest.LogCaptureFixture
        ) -> None:
    """README's layout: the server is given ``application``, the tests call ``app``
    through a test client; then the bare app under a real wsgiref server (what
    ``bottle.run(port=...)`` does) still warns, once. Fails on 2401f1b: the test client's
    request warned (Bottle with either client, Flask with WebTest's)."""
    caplog.set_level(logging.WARNING, logger="readme_metrics")
    app = _bottle_app() if framework == "bottle" else _flask_app()
    # (Flask's: the app wrapped whole and served bare says so since newcomer22; it said
    # FLASK_UNASSIGNED, "assign it", before.)
    warning = BOTTLE_UNSERVED if framework == "bottle" else FLASK_SERVED_BARE % "review98"
    application = MetricsMiddleware(app, MetricsApiConfig(
        api_key="rdme_review98_key", metrics_api="http://127.0.0.1:9",
        grouping_function=lambda request: {"api_key": "caller"}))
    try:
        for _ in range(2):
            assert client(app) == {"hello": "world"}
        said = [record.getMessage() for record in caplog.records]
        assert warning not in said, said
        with ThreadedWSGIServer(app) as server:
            for _ in range(2):
                assert requests.get(server.url + "/", timeout=PATIENCE).json() == {
                    "hello": "world"}
        said = [record.getMessage() for record in caplog.records]
        assert said.count(warning) == 1, said
    finally:
        application.close()


# -- 3. A custom method in lower case: the warning names its upper case ---------------------


@pytest.mark.parametrize("variable, named", [
    ("options,purge", "'PURGE'"), ("Purge", "'PURGE'"), ("fetch,Fetch", "'FETCH'"),
    ("PURGE", None), ("purge,PURGE", None), ("options,head", None),
])
def test_a_lower_case_custom_method_is_warned_with_its_upper_case(
        variable: str, named: Any, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    """Fails on 2401f1b: "purge" was warned about as "PURGE" is, not a word of the
    PURGE requests (Varnish's) it no longer skips."""
    caplog.set_level(logging.WARNING, logger="readme_metrics")
    monkeypatch.setenv("README_SKIP_METHODS", variable)
    MetricsApiConfig(api_key="rdme_review98_key", grouping_function=lambda request: None)
    said = " ".join(record.getMessage() for record in caplog.records)
    other = "in upper case as clients usually send a method, is another method"
    if named is None:
        assert other not in said, said
    else:
        assert f"({named}, {other}: list it too)" in said, said
