"""newcomer22: the first hour's silent failures left from newcomer21.

1. A server given the framework's own object, the middleware made around it unused:
   ``gunicorn mod:api`` (Falcon, Pyramid's router), ``uvicorn mod:api`` (FastAPI,
   Falcon's ASGI app) while ``app`` is the wrapped one: every request unlogged, not a
   word. The first request the framework's object serves now warns, once, naming what to
   serve; served wrapped, nothing is said, and the watch is gone after the first request
   (the framework's object as it was). ``flask run`` beside ``application =
   MetricsMiddleware(app, config)`` warned, but told to assign a call that was assigned.
   A test client's request says nothing (the next one looks).
2. Django under ASGI logged a custom method upper-cased (``fetch`` as ``FETCH``), where
   WSGI keeps it as sent (RFC 9110 9.1: case-sensitive).
3. A Bottle app mounted with a prefix ending in "/" (its routes copied into the parent)
   got no warning.
4. The cut-body note of a grouping function that returned no api_key told to raise
   max_body_bytes, where the key comes from a header the request lacked.
"""

from __future__ import annotations

import asyncio
import http.client
import logging
import sys
from pathlib import Path
from typing import Any, Callable

import pytest
import requests

from readme_metrics import MetricsApiConfig, MetricsMiddleware
from readme_metrics.served_bare import SERVED_BARE
from readme_metrics.unwrapped import BOTTLE_MOUNTED, FLASK_SERVED_BARE
from tests.support.fake_api import Collector, free_port
from tests.support.polling import PATIENCE
from tests.support.wsgi import ThreadedWSGIServer
from tests.test_asgi_servers import SERVERS as ASGI_SERVERS
from tests.test_e2e_servers import serve, server_env
from tests.test_review98_findings import _bottle_app
from tests.test_twins20_frameworks import server_argv

KEY = {"X-Api-Key": "caller-key"}


def _advice(module: str, wrapped: str, bare: str) -> str:
    return (f"give the server tests.support.{module}:{wrapped}, the wrapped app, not "
            f"tests.support.{module}:{bare}")


def _flask_run(port: int, module: str) -> list[str]:
    return [sys.executable, "-m", "flask", "--app", f"tests.support.{module}", "run",
            "--host=127.0.0.1", f"--port={port}"]


def _command(server: str, module: str, name: str) -> Callable[[int], list[str]]:
    """The command serving ``module``'s ``name`` with ``server`` on a port."""
    target = f"tests.support.{module}:{name}"
    if server == "flask run":
        return lambda port: _flask_run(port, module)
    if server == "gunicorn":
        return lambda port: server_argv("gunicorn", target, port)
    return lambda port: ASGI_SERVERS[server](port, target)


def _case(name: str, server: str, module: str, bare: str, wrapped: str,
          framework: str) -> Any:
    """(bare command, wrapped command, the warning of the bare one), as a param."""
    warning = (FLASK_SERVED_BARE % f"tests.support.{module}" if framework == "Flask" else
               SERVED_BARE % (framework, _advice(module, wrapped, bare)))
    return pytest.param(_command(server, module, bare),
                        _command("gunicorn" if server == "flask run" else server, module,
                                 wrapped),
                        warning, id=name)


BARE = [
    _case("falcon-gunicorn", "gunicorn", "newcomer22_falcon", "api", "app", "Falcon"),
    _case("falcon-asgi-uvicorn", "uvicorn", "newcomer22_falcon_asgi", "api", "app",
          "Falcon"),
    _case("pyramid-gunicorn", "gunicorn", "newcomer22_pyramid", "app", "application",
          "Pyramid"),
    _case("fastapi-uvicorn", "uvicorn", "newcomer22_fastapi", "api", "app", "FastAPI"),
    _case("flask-run", "flask run", "newcomer22_flask", "app", "application", "Flask"),
]


@pytest.mark.e2e
@pytest.mark.parametrize("wrapped", [False, True], ids=["bare", "wrapped"])
@pytest.mark.parametrize(("bare", "served", "warning"), BARE)
def test_the_framework_object_served_bare_says_what_to_serve(
        bare: Callable[[int], list[str]], served: Callable[[int], list[str]], warning: str,
        wrapped: bool, collector: Collector, tmp_path: Path) -> None:
    """Two requests: served bare, one warning naming the wrapped app's name, no log;
    served wrapped, no warning and two logs. Fails on 5189f6d: Falcon, Pyramid and
    FastAPI bare said nothing; ``flask run`` said "assign it, app.wsgi_app = ..."."""
    port = free_port()
    argv = served(port) if wrapped else bare(port)
    with serve(argv, server_env(collector), tmp_path, port) as base:
        for _ in range(2):
            assert requests.get(base + "/", headers=KEY, timeout=PATIENCE).json() == {
                "hello": "world"}
        if wrapped:
            assert len(collector.wait_for_logs(2)) == 2
    said = (tmp_path / f"server-{port}.log").read_text(errors="replace")
    assert said.count("readme_metrics: the ") == (0 if wrapped else 1), said
    if not wrapped:
        assert warning in said, said
        assert collector.logs == []


# -- in process: test clients say nothing; the hook is gone after the first request -------


def _config(metrics_api: str) -> MetricsApiConfig:
    return MetricsApiConfig(api_key="rdme_newcomer22_key", metrics_api=metrics_api,
                            grouping_function=lambda request: {"api_key": "caller"})


def _falcon(asgi: bool = False) -> Any:
    import falcon
    import falcon.asgi

    class Hello:
        def on_get(self, req: Any, resp: Any) -> None:
            resp.media = {"hello": "world"}

    class AsyncHello:
        async def on_get(self, req: Any, resp: Any) -> None:
            resp.media = {"hello": "world"}

    app = falcon.asgi.App() if asgi else falcon.App()
    app.add_route("/", AsyncHello() if asgi else Hello())
    return app


def _pyramid() -> Any:
    from pyramid.config import Configurator

    with Configurator() as config:
        config.add_route("hello", "/")
        config.add_view(lambda request: {"hello": "world"}, route_name="hello",
                        renderer="json")
        return config.make_wsgi_app()


def _starlette() -> Any:
    from starlette.applications import Starlette
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    async def hello(request: Any) -> JSONResponse:
        return JSONResponse({"hello": "world"})

    return Starlette(routes=[Route("/", hello)])


def _falcon_client(app: Any) -> Any:
    from falcon.testing import TestClient

    return TestClient(app).simulate_get("/").json


def _webtest_client(app: Any) -> Any:
    import webtest

    return webtest.TestApp(app).get("/").json


def _starlette_client(app: Any) -> Any:
    from starlette.testclient import TestClient

    return TestClient(app).get("/").json()


def _httpx_client(app: Any) -> Any:
    import httpx

    async def get() -> Any:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                     base_url="http://testserver") as client:
            return (await client.get("/")).json()

    return asyncio.run(get())


def _served_wsgi(app: Any) -> Any:
    with ThreadedWSGIServer(app) as server:
        return requests.get(server.url + "/", timeout=PATIENCE).json()


def _served_asgi(app: Any) -> Any:
    """A request as an ASGI server makes it (a scope of its own, in a task of its own)."""
    import json

    sent: list[dict[str, Any]] = []

    async def call() -> None:
        messages = [{"type": "http.request", "body": b"", "more_body": False}]

        async def receive() -> dict[str, Any]:
            return messages.pop(0) if messages else {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        await app({"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
                   "method": "GET", "scheme": "http", "path": "/", "raw_path": b"/",
                   "query_string": b"", "root_path": "", "headers": [(b"host", b"a")],
                   "client": ("127.0.0.1", 5000), "server": ("127.0.0.1", 80)},
                  receive, send)

    asyncio.run(call())
    return json.loads(b"".join(m.get("body", b"") for m in sent
                               if m["type"] == "http.response.body"))


CLIENTS = [  # (id, app, middleware, test client, a server's request, framework)
    ("falcon-testing", _falcon, MetricsMiddleware, _falcon_client, _served_wsgi, "Falcon"),
    ("falcon-webtest", _falcon, MetricsMiddleware, _webtest_client, _served_wsgi, "Falcon"),
    ("pyramid-webtest", _pyramid, MetricsMiddleware, _webtest_client, _served_wsgi,
     "Pyramid"),
    ("falcon-asgi-testing", lambda: _falcon(asgi=True), "asgi", _falcon_client,
     _served_asgi, "Falcon"),
    ("starlette-testclient", _starlette, "asgi", _starlette_client, _served_asgi,
     "Starlette"),
    ("starlette-httpx", _starlette, "asgi", _httpx_client, _served_asgi, "Starlette"),
]


def _wrap(kind: Any, app: Any, collector: Collector) -> Any:
    if kind == "asgi":
        from readme_metrics.asgi import MetricsMiddleware as ASGIMiddleware

        return ASGIMiddleware(app, _config(collector.url))
    return kind(app, _config(collector.url))


def _said(caplog: pytest.LogCaptureFixture, framework: str) -> list[str]:
    return [record.getMessage() for record in caplog.records
            if record.getMessage().startswith(f"readme_metrics: the {framework} app ")]


@pytest.mark.parametrize(("make", "kind", "client", "served", "framework"), [
    pytest.param(*case[1:], id=case[0]) for case in CLIENTS])
def test_a_test_clients_request_says_nothing_and_a_served_one_warns(
        make: Callable[[], Any], kind: Any, client: Callable[[Any], Any],
        served: Callable[[Any], Any], framework: str, collector: Collector,
        caplog: pytest.LogCaptureFixture) -> None:
    """Tests that call the bare app through a test client, its module wrapping it for
    the server: nothing said; a request as a server makes it, once. Fails on 5189f6d:
    no warning for the served request."""
    caplog.set_level(logging.WARNING, logger="readme_metrics")
    app = make()
    middleware = _wrap(kind, app, collector)
    try:
        for _ in range(2):
            assert client(app) == {"hello": "world"}
        assert _said(caplog, framework) == []
        for _ in range(2):
            assert served(app) == {"hello": "world"}
        said = _said(caplog, framework)
        assert len(said) == 1, said
        assert "so no request is logged: give the server" in said[0]
    finally:
        middleware.close()


def _falcon_hook(app: Any) -> Any:
    return app._request_type


def _pyramid_hook(app: Any) -> Any:
    registry = app.registry
    return (registry.has_listeners, len(list(registry.registeredHandlers())))


def _starlette_hook(app: Any) -> Any:
    return app.router.middleware_stack


@pytest.mark.parametrize(("make", "kind", "hook", "served"), [
    pytest.param(_falcon, MetricsMiddleware, _falcon_hook, _served_wsgi, id="falcon"),
    pytest.param(lambda: _falcon(asgi=True), "asgi", _falcon_hook, _served_asgi,
                 id="falcon-asgi"),
    pytest.param(_pyramid, MetricsMiddleware, _pyramid_hook, _served_wsgi, id="pyramid"),
    pytest.param(_starlette, "asgi", _starlette_hook, _served_asgi, id="starlette"),
])
def test_served_wrapped_the_framework_object_is_as_it_was_after_one_request(
        make: Callable[[], Any], kind: Any, hook: Callable[[Any], Any],
        served: Callable[[Any], Any], collector: Collector,
        caplog: pytest.LogCaptureFixture) -> None:
    """The wrapped path pays for one look, at its first request: then the framework's
    object is as it was made (no hook left on any request), and nothing was said."""
    caplog.set_level(logging.WARNING, logger="readme_metrics")
    app = make()
    before = hook(app)
    middleware = _wrap(kind, app, collector)
    try:
        assert hook(app) != before  # watching
        assert served(middleware) == {"hello": "world"}
        assert hook(app) == before
        assert served(middleware) == {"hello": "world"}
        assert [r.getMessage() for r in caplog.records
                if "does not serve" in r.getMessage()] == []
    finally:
        middleware.close()


# -- 3. A Bottle app mounted with a prefix ending in "/" -------------------------------------


@pytest.mark.parametrize("wrapped", [False, True], ids=["bare", "wrapped"])
def test_a_bottle_app_mounted_with_a_slash_prefix_says_so(
        wrapped: bool, collector: Collector, caplog: pytest.LogCaptureFixture) -> None:
    """``root.mount("/api/", api)`` copies api's routes into root, which serves them with
    its own hooks: its first request now warns, once. Mounting the wrapped app (the way
    the warning names) logs the calls, and says nothing. Under a real (wsgiref) server.
    Fails on 5189f6d: not a word."""
    import bottle

    caplog.set_level(logging.WARNING, logger="readme_metrics")
    api = _bottle_app()
    middleware = MetricsMiddleware(api, MetricsApiConfig(
        api_key="rdme_newcomer22_key", metrics_api=collector.url, buffer_length=1,
        grouping_function=lambda request: {"api_key": "caller"}))
    root = bottle.Bottle()
    root.mount("/api/", middleware if wrapped else api)
    try:
        with ThreadedWSGIServer(root) as server:
            for _ in range(2):
                assert requests.get(server.url + "/api/", timeout=PATIENCE).json() == {
                    "hello": "world"}
            if wrapped:
                assert len(collector.wait_for_logs(2)) == 2
        said = [record.getMessage() for record in caplog.records]
        assert said.count(BOTTLE_MOUNTED) == (0 if wrapped else 1), said
    finally:
        middleware.close()


# -- 2. Django under ASGI: a custom method as sent ------------------------------------------


@pytest.mark.e2e
@pytest.mark.parametrize("server, target", [
    ("gunicorn", "tests.support.review98_django:wsgi_app"),
    ("uvicorn", "tests.support.review98_django:asgi_app"),
    ("daphne", "tests.support.review98_django:asgi_app"),
])
def test_django_logs_a_custom_method_as_sent(
        server: str, target: str, collector: Collector, tmp_path: Path) -> None:
    """``fetch``, ``Fetch`` and GET through Django's middleware: each logged as sent,
    under WSGI (gunicorn) and ASGI (uvicorn, daphne) alike. Fails on 5189f6d: under ASGI
    Django's handler upper-cases META's method, and the log said FETCH."""
    port = free_port()
    argv = server_argv(server, target, port) if server == "gunicorn" else (
        ASGI_SERVERS[server](port, target))
    if server == "gunicorn":  # (gunicorn answers a method in lower case 400 otherwise)
        argv.insert(-1, "--permit-unconventional-http-method")
    elif server == "uvicorn":  # (and uvicorn's httptools parser too)
        argv.insert(-1, "--http=h11")
    sent = ["fetch", "Fetch", "GET"]
    with serve(argv, server_env(collector), tmp_path, port) as base:
        for method in sent:
            connection = http.client.HTTPConnection(base[len("http://"):],
                                                    timeout=PATIENCE)
            connection.request(method, "/x")
            answer = connection.getresponse()
            assert answer.status == 200
            answer.read()
            connection.close()
        logs = collector.wait_for_logs(3)
    methods = sorted(log["request"]["log"]["entries"][0]["request"]["method"]
                     for log in logs)
    assert methods == sorted(sent), methods


# -- 4. No api_key, a body cut: the advice fits a key read from a header -------------------


def test_no_key_from_a_header_with_a_cut_body_is_not_told_to_raise_the_limit(
        caplog: pytest.LogCaptureFixture) -> None:
    """A grouping function reading the key from a header, a POST without it whose body
    is over max_body_bytes: the error's note now says the advice is for a key read from
    the body, and that this request had no header. Under a real (wsgiref) server. Fails
    on 5189f6d: "raise max_body_bytes above the bodies it reads" alone."""
    caplog.set_level(logging.ERROR, logger="readme_metrics")

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        size = int(environ.get("CONTENT_LENGTH") or 0)
        environ["wsgi.input"].read(size)  # an upload the app takes whole
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]

    middleware = MetricsMiddleware(app, MetricsApiConfig(
        api_key="rdme_newcomer22_key", metrics_api="http://127.0.0.1:9",
        max_body_bytes=100,
        grouping_function=lambda request: {"api_key": request.headers.get("X-Api-Key")}))
    try:
        with ThreadedWSGIServer(middleware) as server:
            answer = requests.post(server.url + "/", data={"pad": "x" * 500},
                                   timeout=PATIENCE)
            assert answer.text == "ok"
    finally:
        middleware.close()
    errors = [record.getMessage() for record in caplog.records
              if "returned 'api_key' None" in record.getMessage()]
    assert len(errors) == 1, errors
    assert ("cut at max_body_bytes (100 of 504 bytes): if it reads the key from the body, "
            "raise max_body_bytes") in errors[0], errors[0]
    assert errors[0].endswith("if from a header, this request had none"), errors[0]
