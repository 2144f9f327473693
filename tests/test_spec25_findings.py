"""spec25's audit of SPEC 2's options table, through every adapter.

Each per-log option, given only by its environment variable (SPEC 2: "every option can be
given as an argument or read from the environment"), must act on the log posted to a real
collector the same way through every entry point SPEC 2 documents: the WSGI middleware
(webob), the Flask extension, the Django middleware, the ASGI middleware and FastAPI's
``add_middleware``. The options were each checked from the environment on the config
object (tests/test_config.py::test_environment_is_read) and through the WSGI middleware,
but most never through the Flask, Django or ASGI front ends, where the Django adapter
builds its exchange from Django's request (readme_metrics/django_exchange.py) and the
ASGI one from the scope. Expected values come from SPEC words, not the library's helpers.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import Any, Callable

import pytest

from readme_metrics import MetricsApiConfig
from tests.support.asgi import run
from tests.support.contract import API_KEY, caller, pairs
from tests.support.fake_api import INLINE_TIMEOUT, Collector
from tests.support.wsgi import run_wsgi, wsgi_environ

BODY = b"0123456789abcdefghij"


@dataclass
class Call:
    """One request as a client sends it: Host api.example.com unless ``headers`` say."""

    method: str = "GET"
    path: str = "/items"
    query: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""

    def all_headers(self) -> dict[str, str]:
        return {"Host": "api.example.com", **self.headers}


# -- the entry points: each makes the wrapped app and answers a Call with its headers -----

Send = Callable[[Call], dict[str, str]]


def _wsgi_app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"ok"]


def _environ(call: Call) -> dict[str, Any]:
    headers = call.all_headers()
    environ = wsgi_environ(call.method, call.path, headers=headers, body=call.body,
                           query=call.query)
    environ["SERVER_NAME"], environ["SERVER_PORT"] = "api.example.com", "80"
    environ["REMOTE_ADDR"] = "192.0.2.10"
    return environ


def _lower(headers: Any, status: Any) -> dict[str, str]:
    """The answer's headers by lower-case name, and its status code under ``:status``."""
    answer = {str(name).lower(): str(value) for name, value in headers}
    answer[":status"] = str(status).split(" ", 1)[0]
    return answer


def _wsgi(config: MetricsApiConfig) -> tuple[Any, Send]:
    from readme_metrics import MetricsMiddleware

    middleware = MetricsMiddleware(_wsgi_app, config)
    def send(call: Call) -> dict[str, str]:
        result = run_wsgi(middleware, _environ(call))
        return _lower(result.headers, result.status)

    return middleware, send


def _flask(config: MetricsApiConfig) -> tuple[Any, Send]:
    from flask import Flask, request

    from readme_metrics.flask_readme import ReadMeMetrics

    app = Flask(__name__)

    @app.route("/items", methods=["GET", "POST", "PUT", "OPTIONS", "HEAD"])
    def items() -> Any:
        request.get_data()
        return "ok", {"Content-Type": "text/plain"}

    extension = ReadMeMetrics(config, app)

    def send(call: Call) -> dict[str, str]:
        result = run_wsgi(app, _environ(call))
        return _lower(result.headers, result.status)

    return extension, send


def _django(config: MetricsApiConfig) -> tuple[Any, Send]:
    from django.conf import settings

    if not settings.configured:  # alone; in a whole run tests/test_django.py did it
        settings.configure(DEBUG=False, SECRET_KEY="tests-not-secret", ALLOWED_HOSTS=["*"],
                           USE_TZ=True, INSTALLED_APPS=[])
        import django

        django.setup()
    from django.core.handlers.wsgi import WSGIRequest
    from django.http import HttpResponse

    import readme_metrics.django as adapter

    def view(request: Any) -> HttpResponse:
        request.body  # noqa: B018 - the view reads the body, as most do
        return HttpResponse(b"ok", content_type="text/plain")

    middleware = adapter.MetricsMiddleware(view, config)

    def send(call: Call) -> dict[str, str]:
        response = middleware(WSGIRequest(_environ(call)))
        response.close()  # as Django's WSGI handler does once the answer is out
        return _lower(response.items(), response.status_code)

    # The Django middleware has no flush() or close() of its own (README: Django gives no
    # stats); its pipeline, shared by the chains of one configuration, has them.
    return middleware.pipeline, send


async def _asgi_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    while (await receive()).get("more_body", False):
        pass
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": b"ok"})


def _scope(call: Call) -> dict[str, Any]:
    return {
        "type": "http", "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1", "method": call.method, "scheme": "http",
        "path": call.path, "raw_path": call.path.encode(),
        "query_string": call.query.encode(), "root_path": "",
        "headers": [(name.lower().encode(), value.encode())
                    for name, value in call.all_headers().items()]
        + ([(b"content-length", str(len(call.body)).encode())] if call.body else []),
        "client": ("192.0.2.10", 50123), "server": ("api.example.com", 80),
    }


def _asgi_send(app: Any) -> Send:
    def send(call: Call) -> dict[str, str]:
        messages = [{"type": "http.request", "body": call.body, "more_body": False}]
        done = asyncio.run(run(app, _scope(call), messages, then="disconnect"))
        return _lower(((name.decode("latin-1"), value.decode("latin-1"))
                       for name, value in done.headers.items()), done.start["status"])
    return send


def _asgi(config: MetricsApiConfig) -> tuple[Any, Send]:
    from readme_metrics.asgi import MetricsMiddleware

    middleware = MetricsMiddleware(_asgi_app, config)
    return middleware, _asgi_send(middleware)


def _fastapi(config: MetricsApiConfig) -> tuple[Any, Send]:
    from fastapi import FastAPI
    from fastapi.responses import PlainTextResponse

    from readme_metrics.fastapi import ReadMeMetricsMiddleware

    app = FastAPI()

    # A Starlette endpoint (it gets the request positionally): an annotated FastAPI one,
    # ``request: Request``, is a string under this module's ``from __future__ import
    # annotations`` that FastAPI cannot resolve from a local import, so it took
    # ``request`` for a required query parameter and answered 422 without running it.
    async def items(request: Any) -> PlainTextResponse:
        await request.body()
        return PlainTextResponse("ok")

    app.add_route("/items", items, methods=["GET", "POST", "PUT", "OPTIONS", "HEAD"])

    app.add_middleware(ReadMeMetricsMiddleware, config=config)

    class Stack:  # the middleware FastAPI built, for flush() and close()
        def _middleware(self) -> Any:
            layer = app.middleware_stack
            while layer is not None and not hasattr(layer, "flush"):
                layer = getattr(layer, "app", None)
            return layer

        def flush(self, timeout: Any = None) -> bool:
            return bool(self._middleware().flush(timeout))

        def close(self) -> None:
            if app.middleware_stack is not None:
                self._middleware().close()

    return Stack(), _asgi_send(app)


ENTRY_POINTS = [
    pytest.param(_wsgi, id="wsgi"),
    pytest.param(_flask, id="flask"),
    pytest.param(_django, id="django"),
    pytest.param(_asgi, id="asgi"),
    pytest.param(_fastapi, id="fastapi"),
]


# -- the options, each from its variable alone ---------------------------------------------

def _entry(log: dict[str, Any]) -> dict[str, Any]:
    return log["request"]["log"]["entries"][0]


def _development(logs: list[dict[str, Any]], answers: list[dict[str, str]]) -> None:
    assert [log["development"] for log in logs] == [True]


def _skip_methods(logs: list[dict[str, Any]], answers: list[dict[str, str]]) -> None:
    # A given list replaces the default: OPTIONS is logged, HEAD is not.
    assert [_entry(log)["request"]["method"] for log in logs] == ["OPTIONS"]


def _allowed_hosts(logs: list[dict[str, Any]], answers: list[dict[str, str]]) -> None:
    assert [_entry(log)["request"]["url"] for log in logs] == [
        "http://api.example.com/items"]


def _trusted_proxies(logs: list[dict[str, Any]], answers: list[dict[str, str]]) -> None:
    # One proxy trusted: its hop of X-Forwarded-For, -Proto and -Host (as ProxyFix).
    assert [(log["clientIPAddress"], _entry(log)["request"]["url"]) for log in logs] == [
        ("203.0.113.7", "https://public.example.com/items")]


def _max_body_bytes(logs: list[dict[str, Any]], answers: list[dict[str, str]]) -> None:
    [log] = logs
    request = _entry(log)["request"]
    assert request["bodySize"] == len(BODY)
    assert request["postData"]["text"] == BODY[:8].decode()
    assert "truncated" in request["postData"]["comment"]


def _denylist(logs: list[dict[str, Any]], answers: list[dict[str, str]]) -> None:
    [log] = logs
    text = _entry(log)["request"]["postData"]["text"]
    assert json.loads(text) == {"user": "bob", "password": "[REDACTED 7]"}


def _allowlist(logs: list[dict[str, Any]], answers: list[dict[str, str]]) -> None:
    [log] = logs
    assert pairs(_entry(log)["request"]["queryString"]) == {"id": "1",
                                                           "name": "[REDACTED 3]"}


def _base_log_url(logs: list[dict[str, Any]], answers: list[dict[str, str]]) -> None:
    [log] = logs
    assert answers[0]["x-documentation-url"] == f"https://docs.example.com/logs/{log['_id']}"


def _other_host(call: Call) -> Call:
    call.headers["Host"] = "other.example.com"
    return call


FORWARDED = {"X-Forwarded-For": "198.51.100.1, 203.0.113.7", "X-Forwarded-Proto": "https",
             "X-Forwarded-Host": "public.example.com"}
JSON = {"Content-Type": "application/json"}

OPTIONS = [
    pytest.param("README_DEVELOPMENT_MODE", "true", [Call()], _development,
                 id="development_mode"),
    pytest.param("README_SKIP_METHODS", "HEAD", [Call("HEAD"), Call("OPTIONS")],
                 _skip_methods, id="skip_methods"),
    pytest.param("README_ALLOWED_HTTP_HOSTS", "api.example.com",
                 [_other_host(Call()), Call()], _allowed_hosts, id="allowed_http_hosts"),
    pytest.param("README_TRUSTED_PROXIES", "1", [Call(headers=dict(FORWARDED))],
                 _trusted_proxies, id="trusted_proxies"),
    pytest.param("README_MAX_BODY_BYTES", "8",
                 [Call("POST", headers={"Content-Type": "text/plain"}, body=BODY)],
                 _max_body_bytes, id="max_body_bytes"),
    pytest.param("README_DENYLIST", "password",
                 [Call("POST", headers=dict(JSON),
                       body=b'{"user": "bob", "password": "hunter2"}')],
                 _denylist, id="denylist"),
    pytest.param("README_ALLOWLIST", "id", [Call(query="id=1&name=bob")], _allowlist,
                 id="allowlist"),
    pytest.param("README_BASE_LOG_URL", "https://docs.example.com", [Call()], _base_log_url,
                 id="base_log_url"),
]


@pytest.mark.parametrize("variable, value, calls, check", OPTIONS)
@pytest.mark.parametrize("make", ENTRY_POINTS)
def test_each_option_from_its_variable_acts_through_every_entry_point(
        monkeypatch: pytest.MonkeyPatch, collector: Collector, make: Any, variable: str,
        value: str, calls: list[Call], check: Any) -> None:
    monkeypatch.setenv(variable, value)
    config = MetricsApiConfig(api_key=API_KEY, grouping_function=caller,
                              metrics_api=collector.url, buffer_length=1,
                              background_worker_mode=False, timeout=INLINE_TIMEOUT)
    wrapped, send = make(config)
    try:
        answers = [send(Call(call.method, call.path, call.query, dict(call.headers),
                             call.body)) for call in calls]
        assert wrapped.flush(10) is True
    finally:
        wrapped.close()
    # The app itself answered every call (a harness whose view never runs, answering 404,
    # 405 or 422 instead, would leave its reading of the body untried).
    assert [answer[":status"] for answer in answers] == ["200"] * len(calls)
    check(collector.logs, answers)


# -- SPEC 6: credential headers "and the like" -------------------------------------------

#: The headers an identity-aware proxy or platform in front of the app fills with the
#: signed-in user's tokens (the app behind it receives them on every request), and the
#: Authorization under another name: bearer credentials all, "the like" of X-Auth-Token.
PROXY_TOKEN_HEADERS = [
    "X-Authorization",  # the caller's Authorization where a gateway uses that header
    "X-Serverless-Authorization",  # Cloud Run and Cloud Functions
    "Cf-Access-Jwt-Assertion",  # Cloudflare Access
    "X-Goog-Iap-Jwt-Assertion",  # Google's Identity-Aware Proxy
    "X-Amzn-Oidc-Accesstoken", "X-Amzn-Oidc-Data",  # AWS Application Load Balancer
    "X-Ms-Token-Aad-Access-Token", "X-Ms-Token-Aad-Id-Token",  # Azure App Service
    "X-Ms-Token-Aad-Refresh-Token",
    "X-Forwarded-Access-Token", "X-Auth-Request-Access-Token",  # oauth2-proxy
]


def test_identity_proxy_token_headers_are_masked_by_default(collector: Collector) -> None:
    import requests

    from readme_metrics import MetricsMiddleware
    from tests.support.contract import spec_mask
    from tests.support.wsgi import ThreadedWSGIServer

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        start_response("200 OK", [("Content-Type", "text/plain"),
                                  ("X-Amzn-Oidc-Accesstoken", "eyJ.response.token9")])
        return [b"ok"]

    tokens = {name: f"eyJ.{name.lower()}.sig{index:04d}"
              for index, name in enumerate(PROXY_TOKEN_HEADERS)}
    middleware = MetricsMiddleware(app, MetricsApiConfig(
        api_key=API_KEY, grouping_function=caller, metrics_api=collector.url))
    try:
        with ThreadedWSGIServer(middleware) as server:
            assert requests.get(server.url + "/me", headers=tokens, timeout=30).text == "ok"
        assert middleware.flush(10) is True
    finally:
        middleware.close()
    [post] = collector.received
    for token in [*tokens.values(), "eyJ.response.token9"]:
        assert token.encode() not in post.body
    entry = _entry(post.json()[0])
    sent = {header["name"].lower(): header["value"] for header in entry["request"]["headers"]}
    assert {name: sent[name.lower()] for name in tokens} == {
        name: spec_mask(token) for name, token in tokens.items()}
    assert pairs(entry["response"]["headers"])["X-Amzn-Oidc-Accesstoken"] == spec_mask(
        "eyJ.response.token9")
