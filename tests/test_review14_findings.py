"""review14's findings (an adversarial read of what landed between ba9ea7a and b4a6d12:
nesting, the grouping function's signature check, the log lines' scrubbing): each test of
a defect failed on main at b4a6d12 and passes with its fix; the others are probes that
held, kept so that they keep holding."""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import json
import operator
import time
from typing import Any
from unittest import mock

import pytest

from readme_metrics import MetricsApiConfig
from tests.support.asgi_stack import close_stack, httpx_get, layer_config
from tests.support.contract import hit, inline_options, json_app
from tests.support.fake_api import Collector


def _grouping(request: Any) -> Any:
    return None


def _with_default(request: Any, strict: bool = False) -> Any:
    return None


async def _async_grouping(request: Any) -> Any:
    return None


class _Callable:
    def __call__(self, request: Any) -> Any:
        return None

    def method(self, request: Any) -> Any:
        return None


class _GroupOf(dict):  # type: ignore[type-arg]
    """A class called with the request (a Group mapping made of it)."""

    def __init__(self, request: Any) -> None:
        super().__init__(api_key=request)


class _Forwarding:
    """A callable whose other attributes are looked up in a dict (a settings-like object):
    ``__getattr__`` raises KeyError, not AttributeError, for ``__signature__``."""

    def __init__(self) -> None:
        self.__dict__["_values"] = {}

    def __getattr__(self, name: str) -> Any:
        return self._values[name]

    def __call__(self, request: Any) -> Any:
        return None


class _SignatureRaises:
    """A proxy whose ``__signature__`` cannot be read (werkzeug's LocalProxy unbound)."""

    @property
    def __signature__(self) -> Any:
        raise RuntimeError("working outside of the application context")

    def __call__(self, request: Any) -> Any:
        return None


def _star_args(function: Any) -> Any:
    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        return function(*args, **kwargs)
    return wrapper


@pytest.mark.parametrize("function", [
    pytest.param(functools.partial(_with_default, strict=True), id="partial"),
    pytest.param(functools.partial(lambda user, request: None, "ana"), id="partial-positional"),
    pytest.param(_Callable().method, id="bound-method"),
    pytest.param(_Callable(), id="callable-object"),
    pytest.param(_GroupOf, id="class"),
    pytest.param(len, id="builtin"),
    pytest.param(operator.itemgetter("api_key"), id="itemgetter"),
    pytest.param(functools.lru_cache(maxsize=None)(_grouping), id="lru_cache"),
    pytest.param(functools.singledispatch(_grouping), id="singledispatch"),
    pytest.param(_star_args(lambda: None), id="decorated-star-args"),
    pytest.param(_async_grouping, id="async-def"),
    pytest.param(lambda request, strict=False: None, id="lambda-with-default"),
    pytest.param(mock.Mock(return_value=None), id="mock"),
    pytest.param(_Forwarding(), id="getattr-raises-keyerror"),
    pytest.param(_SignatureRaises(), id="signature-unreadable"),
])
def test_a_grouping_function_that_takes_the_request_is_accepted(function: Any) -> None:
    # A callable taking the request is taken as before the start-up check (4117e0d); one
    # whose signature cannot be read is not checked: reading it raised KeyError /
    # RuntimeError out of MetricsApiConfig() (and out of the first call's import).
    config = MetricsApiConfig(api_key="any-key", grouping_function=function)
    assert config.grouping_function is function


def test_an_imported_grouping_function_whose_signature_cannot_be_read_is_used(
        tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from readme_metrics._dotted import ImportedOnFirstCall

    (tmp_path / "review14_forwarding.py").write_text(
        "class Grouping:\n"
        "    def __init__(self):\n"
        "        self.__dict__['_values'] = {}\n"
        "    def __getattr__(self, name):\n"
        "        return self._values[name]\n"
        "    def __call__(self, request):\n"
        "        return {'api_key': request}\n"
        "grouping = Grouping()\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    function = ImportedOnFirstCall("review14_forwarding.grouping")
    assert function("caller-key") == {"api_key": "caller-key"}
    assert asyncio.iscoroutinefunction(_async_grouping)  # (the async case above is a def)


# -- nesting (capture/nesting.py): one log per exchange, and nothing else changed --------

async def _scope_keys_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    body = json.dumps(sorted(scope)).encode()
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": body})


def test_an_asgi_app_wrapped_once_sees_the_scope_as_bare(collector: Collector) -> None:
    """The ASGI middleware marked every scope it recorded (0a204e9: "ASGI always marks"),
    so an app wrapped once found a key of the library's own in its scope; the WSGI one
    marks only while a project has two middlewares. A scope is the app's, as an environ
    is (SPEC 1: the wrapped app behaves exactly as before)."""
    from readme_metrics.asgi import MetricsMiddleware

    bare = httpx_get(_scope_keys_app, "/scope").json()
    once = MetricsMiddleware(_scope_keys_app,
                             layer_config(collector, "rdme_review14_asgi_once_4444"))
    try:
        assert httpx_get(once, "/scope").json() == bare
        assert once.flush(5.0) and len(collector.wait_for_logs(1)) == 1
    finally:
        once.close()


def test_a_wrap_around_fastapi_add_middleware_gives_one_log_on_the_first_request(
        collector: Collector) -> None:
    """Starlette makes add_middleware's layers at its first request, inside the call of a
    layer wrapped around the app: that layer could not know of them, and the first
    request must still be logged once (a key of this test's own: no other middleware of
    its project exists before)."""
    fastapi = pytest.importorskip("fastapi")
    from readme_metrics.asgi import MetricsMiddleware
    from readme_metrics.fastapi import ReadMeMetricsMiddleware

    key = "rdme_review14_lazy_stack_5555"
    app = fastapi.FastAPI()
    app.add_api_route("/hello", lambda: {"hello": 1})
    app.add_middleware(ReadMeMetricsMiddleware, config=layer_config(collector, key))
    outer = MetricsMiddleware(app, layer_config(collector, key))
    try:
        for _ in range(2):
            response = httpx_get(outer, "/hello")
            assert response.json() == {"hello": 1}
            assert len(response.headers.get_list("x-documentation-url")) <= 1
        outer.flush(5.0)
        collector.wait_for_only(2, 0.5)
        assert outer.stats["captured"] == 2
    finally:
        outer.close()
        close_stack(app)


def test_a_request_the_asgi_app_makes_to_itself_is_logged_too(collector: Collector) -> None:
    """A sub-request the app makes to itself (httpx over ASGITransport, in the same task)
    is an exchange of its own, with a scope of its own: logged, even while the project
    has two middlewares (stacked)."""
    httpx = pytest.importorskip("httpx")
    from readme_metrics.asgi import MetricsMiddleware

    key = "rdme_review14_self_call_6666"

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["path"] == "/outer":
            transport = httpx.ASGITransport(app=wrapped)
            async with httpx.AsyncClient(transport=transport, base_url="http://a.test") as c:
                body = (await c.get("/inner")).content
        else:
            body = b"inner"
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": body})

    wrapped = MetricsMiddleware(app, layer_config(collector, key))
    other = MetricsMiddleware(_asgi_app, layer_config(collector, key))  # a second layer
    try:
        assert httpx_get(wrapped, "/outer").content == b"inner"
        wrapped.flush(5.0)
        collector.wait_for_logs(2)
        time.sleep(0.3)
        urls = sorted(log["request"]["log"]["entries"][0]["request"]["url"]
                      for log in collector.logs)
        assert urls == ["http://a.test/inner", "http://api.test/outer"], urls
    finally:
        wrapped.close()
        other.close()


def test_two_wsgi_apps_of_one_project_in_one_process_each_log(collector: Collector) -> None:
    """Two apps wrapped for the same key behind werkzeug's DispatcherMiddleware are not
    nested: each call is logged by the app it reaches (the project has two middlewares,
    so both mark the environ: none may take the other's mark for its own)."""
    pytest.importorskip("werkzeug")
    from werkzeug.middleware.dispatcher import DispatcherMiddleware

    from readme_metrics import MetricsMiddleware

    key = "rdme_review14_two_apps_7777"
    one = MetricsMiddleware(json_app, _wsgi_config(collector, key))
    two = MetricsMiddleware(json_app, _wsgi_config(collector, key))
    dispatcher = DispatcherMiddleware(one, {"/two": two})
    try:
        with concurrent.futures.ThreadPoolExecutor(4) as pool:
            results = list(pool.map(lambda path: hit(dispatcher, path),
                                    ["/a", "/two/b"] * 10))
        assert all(result.status == "200 OK" for result in results)
        one.flush(5.0)
        two.flush(5.0)
        collector.wait_for_only(20, 0.3)
        assert one.stats["captured"] == 10 and two.stats["captured"] == 10
    finally:
        one.close()
        two.close()


def _wsgi_config(collector: Collector, api_key: str) -> MetricsApiConfig:
    return MetricsApiConfig(metrics_api=collector.url, api_key=api_key,
                            **inline_options({}))


async def _asgi_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})
