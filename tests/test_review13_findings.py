"""review13's findings (a black-box read of SPEC sections 2 and 4 to 9): each test failed
on main at ba9ea7a and passes with its fix."""

from __future__ import annotations

import asyncio
import json
from typing import Any, Callable

import pytest

from readme_metrics import MetricsApiConfig
from tests.support.asgi_stack import close_stack
from tests.support.contract import (
    API_KEY,
    DOCS,
    caller,
    documentation_url,
    hit,
    inline_options,
    json_app,
    run_python,
)
from tests.support.fake_api import Collector, basic_auth


async def _asgi_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})


def _wsgi_middleware(app: Any, config: Any) -> Any:
    from readme_metrics import MetricsMiddleware

    return MetricsMiddleware(app, config)


def _asgi_middleware(app: Any, config: Any) -> Any:
    from readme_metrics.asgi import MetricsMiddleware

    return MetricsMiddleware(app, config)


def _fastapi_middleware(app: Any, config: Any) -> Any:
    from readme_metrics.fastapi import ReadMeMetricsMiddleware

    return ReadMeMetricsMiddleware(app, config=config)


# -- a config that is no MetricsApiConfig ------------------------------------------------

WRAPPERS = [
    pytest.param(_wsgi_middleware, json_app, id="wsgi"),
    pytest.param(_asgi_middleware, _asgi_app, id="asgi"),
    pytest.param(_fastapi_middleware, _asgi_app, id="fastapi"),
]


@pytest.mark.parametrize(("wrap", "app"), WRAPPERS)
@pytest.mark.parametrize(("given", "says"), [
    pytest.param({"api_key": API_KEY}, "config must be a MetricsApiConfig, got dict",
                 id="dict"),
    pytest.param("rdme_key", "config must be a MetricsApiConfig, got str", id="str"),
])
def test_a_config_that_is_no_metrics_api_config_is_a_clear_type_error(
        wrap: Callable[[Any, Any], Any], app: Any, given: Any, says: str) -> None:
    """A dict of options (or a key) given as the config failed with an AttributeError
    from deep inside ("'dict' object has no attribute 'skip_methods'", "... 'logger'"),
    naming neither the argument nor what it must be."""
    with pytest.raises(TypeError) as raised:
        wrap(app, given)
    assert says in str(raised.value)
    if isinstance(given, dict):
        assert "MetricsApiConfig(**" in str(raised.value)


@pytest.mark.parametrize(("wrap", "app"), WRAPPERS[:2])
def test_swapped_arguments_are_named_as_such(wrap: Callable[[Any, Any], Any],
                                             app: Any) -> None:
    """``MetricsMiddleware(config, app)`` failed with "'function' object has no attribute
    'skip_methods'"."""
    config = MetricsApiConfig(api_key=API_KEY, grouping_function=caller)
    with pytest.raises(TypeError, match="swapped"):
        wrap(config, app)


@pytest.mark.parametrize(("wrap", "app"), WRAPPERS[:2])
@pytest.mark.parametrize("enabled", [True, False], ids=["enabled", "disabled"])
def test_an_app_that_is_not_callable_is_refused_at_construction(
        wrap: Callable[[Any, Any], Any], app: Any, enabled: bool) -> None:
    """``MetricsMiddleware(None, config)`` was accepted; every request then raised
    TypeError ("'NoneType' object is not callable") into the server."""
    config = MetricsApiConfig(api_key=API_KEY, grouping_function=caller, enabled=enabled)
    with pytest.raises(TypeError, match="app must be"):
        wrap(None, config)


def test_a_real_config_and_app_are_still_taken_as_before(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The checks refuse nothing the middlewares took before: a MetricsApiConfig
    subclass, a callable object as the app, FastAPI's config=None (the environment)."""
    class Config(MetricsApiConfig):
        pass

    class App:
        def __call__(self, environ: Any, start_response: Any) -> list[bytes]:
            return json_app(environ, start_response)

    middleware = _wsgi_middleware(App(), Config(api_key=API_KEY, grouping_function=caller,
                                                enabled=False))
    assert middleware.flush() is True
    pytest.importorskip("fastapi")
    monkeypatch.setenv("README_METRICS_ENABLED", "false")
    assert _fastapi_middleware(_asgi_app, None).flush() is True


# -- the same project's middleware stacked twice ----------------------------------------

def _config(collector: Collector, **options: Any) -> MetricsApiConfig:
    options.setdefault("api_key", API_KEY)
    return MetricsApiConfig(metrics_api=collector.url, **inline_options(options))


def test_a_wsgi_app_wrapped_twice_for_one_project_gives_one_log(collector: Collector
                                                                ) -> None:
    """``app.wsgi_app = MetricsMiddleware(...)`` run twice (or Flask's extension and a
    hand-written wrap) logged every call twice: ReadMe counted each call two times. SPEC 5:
    one exchange gives exactly one log."""
    from readme_metrics import MetricsMiddleware

    inner = MetricsMiddleware(json_app, _config(collector))
    outer = MetricsMiddleware(inner, _config(collector))
    try:
        result = hit(outer, "/twice")
        assert result.status == "200 OK" and len(result.header("x-documentation-url")) == 1
        outer.flush(5.0)
        inner.flush(5.0)
        logs = collector.wait_for_only(1, 0.3)  # a second log would be on its way
        assert documentation_url(result) == f"{DOCS}/logs/{logs[0]['_id']}"
        assert outer.stats["captured"] == 1 and inner.stats["captured"] == 0
    finally:
        inner.close()
        outer.close()


def test_flask_extension_and_a_hand_written_wrap_give_one_log(collector: Collector) -> None:
    flask = pytest.importorskip("flask")
    from readme_metrics import MetricsMiddleware
    from readme_metrics.flask_readme import ReadMeMetrics

    app = flask.Flask(__name__)
    app.add_url_rule("/hello", "hello", lambda: "hello")
    metrics = ReadMeMetrics(_config(collector), app)
    outer = MetricsMiddleware(app.wsgi_app, _config(collector))
    app.wsgi_app = outer  # type: ignore[method-assign]
    try:
        with app.test_client() as client:
            assert client.get("/hello").data == b"hello"
        outer.flush(5.0)
        metrics.flush(5.0)
        collector.wait_for_only(1, 0.3)
    finally:
        metrics.close()
        outer.close()


def test_two_projects_stacked_each_get_the_log(collector: Collector) -> None:
    """Layers for different API keys each log the call: that is sending to two projects."""
    from readme_metrics import MetricsMiddleware

    inner = MetricsMiddleware(json_app, _config(collector, api_key="rdme_project_one_1111"))
    outer = MetricsMiddleware(inner, _config(collector, api_key="rdme_project_two_2222"))
    try:
        hit(outer, "/both")
        outer.flush(5.0)
        inner.flush(5.0)
        collector.wait_for_logs(2)
        keys = sorted(r.headers["Authorization"] for r in collector.received
                      if r.path == "/v1/request")
        assert keys == sorted([basic_auth("rdme_project_one_1111"),
                               basic_auth("rdme_project_two_2222")])
    finally:
        inner.close()
        outer.close()


def test_an_asgi_app_wrapped_twice_for_one_project_gives_one_log(collector: Collector
                                                                 ) -> None:
    """FastAPI's ``add_middleware`` run twice (an app factory called again on the same
    app), or ``readme_metrics.asgi.MetricsMiddleware`` around it as well."""
    fastapi = pytest.importorskip("fastapi")
    httpx = pytest.importorskip("httpx")
    from readme_metrics.asgi import MetricsMiddleware
    from readme_metrics.fastapi import ReadMeMetricsMiddleware

    app = fastapi.FastAPI()
    app.add_api_route("/hello", lambda: {"hello": 1})
    config = _config(collector, background_worker_mode=True)
    app.add_middleware(ReadMeMetricsMiddleware, config=config)
    app.add_middleware(ReadMeMetricsMiddleware, config=config)
    outer = MetricsMiddleware(app, _config(collector, background_worker_mode=True))

    async def call() -> Any:
        transport = httpx.ASGITransport(app=outer)
        async with httpx.AsyncClient(transport=transport, base_url="http://api.test") as c:
            return await c.get("/hello")

    try:
        response = asyncio.run(call())
        assert response.json() == {"hello": 1}
        assert len(response.headers.get_list("x-documentation-url")) == 1
        outer.flush(5.0)
        collector.wait_for_only(1, 0.5)
    finally:
        outer.close()
        close_stack(app)


DJANGO_TWICE = r"""
import sys, django, json
from django.conf import settings
from readme_metrics import MetricsApiConfig, MetricsMiddleware
config = MetricsApiConfig(api_key="rdme_django_twice_0001", metrics_api=sys.argv[1],
                          grouping_function=lambda request: {"api_key": "caller-0001"},
                          buffer_length=1, background_worker_mode=False, timeout=30)
settings.configure(DEBUG=False, SECRET_KEY="x", ALLOWED_HOSTS=["*"], ROOT_URLCONF=__name__,
                   MIDDLEWARE=["readme_metrics.django.MetricsMiddleware"],
                   README_METRICS_CONFIG=config)
django.setup()
from django.http import HttpResponse
from django.urls import path
from django.core.handlers.wsgi import WSGIHandler
from wsgiref.util import setup_testing_defaults
urlpatterns = [path("hello", lambda request: HttpResponse(b"hello"))]
wrapped = MetricsMiddleware(WSGIHandler(), config)
environ = {"PATH_INFO": "/hello"}
setup_testing_defaults(environ)
result = wrapped(environ, lambda status, headers, exc_info=None: None)
body = b"".join(result)
getattr(result, "close", lambda: None)()
wrapped.flush(5.0)

import asyncio
from django.core.handlers.asgi import ASGIHandler
from readme_metrics.asgi import MetricsMiddleware as AsgiMetricsMiddleware
asgi = AsgiMetricsMiddleware(ASGIHandler(), config)
sent = []
messages = [{"type": "http.request", "body": b""}]
async def receive():
    if messages:
        return messages.pop()
    await asyncio.Event().wait()  # the client stays until the answer is out
async def send(message):
    sent.append(message)
scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET",
         "scheme": "http", "path": "/hello", "raw_path": b"/hello", "query_string": b"",
         "root_path": "", "headers": [(b"host", b"127.0.0.1")], "server": ("127.0.0.1", 80),
         "client": ("127.0.0.1", 5000)}
asyncio.run(asgi(scope, receive, send))
asgi.flush(5.0)
print(json.dumps({"body": body.decode(), "captured": wrapped.stats["captured"],
                  "asgi_body": b"".join(m.get("body", b"") for m in sent).decode(),
                  "asgi_captured": asgi.stats["captured"]}))
"""


def test_django_middleware_inside_a_wrapped_wsgi_application_gives_one_log(
        collector: Collector) -> None:
    """``settings.MIDDLEWARE`` with the Django middleware and ``wsgi.py`` wrapping
    ``get_wsgi_application()`` in MetricsMiddleware as well, for the same project (and
    ``asgi.py`` wrapping ``get_asgi_application()`` in the ASGI one): one log a call."""
    pytest.importorskip("django")
    done = run_python(DJANGO_TWICE, collector.url)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"body": "hello", "captured": 1,
                                       "asgi_body": "hello", "asgi_captured": 1}
    collector.wait_for_only(2, 0.5)


def test_an_app_wrapped_once_sees_no_mark(collector: Collector) -> None:
    """The mark is written only while a project has two middlewares: an app wrapped once
    gets the environ as before (no key of the library's own added)."""
    from readme_metrics import MetricsMiddleware

    seen: list[set[str]] = []

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        seen.append(set(environ))
        return json_app(environ, start_response)

    once = MetricsMiddleware(app, _config(collector, api_key="rdme_wrapped_once_3333"))
    try:
        hit(once, "/once")
        assert once.flush(5.0) and len(collector.wait_for_logs(1)) == 1
        assert not any(key.startswith("readme_metrics.") for key in seen[0]), seen[0]
    finally:
        once.close()


def test_an_app_wrapped_once_sees_no_mark_once_the_others_are_dropped(
        collector: Collector) -> None:
    """The count of a project's middlewares goes down when one is freed: a process that
    made others for the same key (an app factory per test, Django's test client loading
    its middleware again) and dropped them gives an app wrapped once its environ as bare
    again. (The count only went up: every later request got the mark.)"""
    import gc

    from readme_metrics import MetricsMiddleware

    seen: list[set[str]] = []

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        seen.append(set(environ))
        return json_app(environ, start_response)

    key = "rdme_dropped_others_4444"
    kept = MetricsMiddleware(app, _config(collector, api_key=key))
    dropped = MetricsMiddleware(json_app, _config(collector, api_key=key))
    try:
        hit(kept, "/while-two")
        assert any(key.startswith("readme_metrics.") for key in seen[0]), seen[0]
        dropped.close()
        del dropped
        gc.collect()
        hit(kept, "/once-again")
        assert not any(key.startswith("readme_metrics.") for key in seen[1]), seen[1]
        assert kept.flush(5.0) and len(collector.wait_for_logs(2)) == 2
    finally:
        kept.close()
