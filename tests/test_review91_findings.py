"""review91: an adversarial look at newcomer19's refusals of what is no app (app_shape) and
its warning for Django under uvicorn without ``with_lifespan``, and at speed8's batch
encoded as an iterator. Each test named "taken" or "not warned" failed on main at 37cc6ea
and passes with its fix; the speed8 tests pass on both (what held), with orjson and
without it (the encoder is chosen at import: run them under a Python without orjson too)."""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any
from unittest import mock

import pytest

from readme_metrics import MetricsApiConfig, MetricsMiddleware
from tests.support.delivery import (
    adds_up,
    build_id,
    ids,
    item,
    make_delivery_fixture,  # noqa: F401 - ``make_delivery``
)
from tests.support.fake_api import Collector, Reply


def _config() -> MetricsApiConfig:
    return MetricsApiConfig(api_key="any-key", grouping_function=lambda request: None,
                            enabled=False)


def _hello(environ: Any, start_response: Any) -> Any:
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"hello"]


# -- apps refused at construction that a server serves ---------------------------------------
#
# A ``Mock(spec=app)`` (a user's test suite stands one in for the app): inspect.signature
# raises TypeError on it ("'Mock' object is not subscriptable": the spec makes it look like
# a function), and that TypeError was read as "cannot take (environ, start_response)".
# A class whose call is not only the making of an instance (its own ``__new__``, or its
# metaclass's ``__call__``) was refused as "the class, not an app" when its instances are
# callable too, though the class answers the request itself.


class _NewAnswers:
    """PEP 3333 allows any callable: this class's ``__new__`` is the app."""

    def __new__(cls, environ: Any, start_response: Any) -> Any:  # type: ignore[misc]
        return _hello(environ, start_response)

    def __call__(self, environ: Any, start_response: Any) -> Any:
        return _hello(environ, start_response)


class _Answering(type):
    def __call__(cls, environ: Any, start_response: Any) -> Any:  # type: ignore[override]
        return _hello(environ, start_response)


class _MetaAnswers(metaclass=_Answering):
    def __call__(self, environ: Any, start_response: Any) -> Any:
        return _hello(environ, start_response)


def _with_config(config: Any, environ: Any, start_response: Any) -> Any:
    assert config == {"db": "ready"}
    return _hello(environ, start_response)


class _Injecting:
    """wrapt's ``FunctionWrapper`` shape: it stands for the function it wraps (its
    ``__class__``, ``__code__``: inspect reads that function's signature) and passes it
    one argument more. Read as taking (config, environ, start_response), it was refused."""

    def __init__(self, wrapped: Any) -> None:
        self.__wrapped__ = wrapped

    @property  # type: ignore[misc]
    def __class__(self) -> Any:
        return type(self.__wrapped__)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.__wrapped__, name)

    def __call__(self, *args: Any) -> Any:
        return self.__wrapped__({"db": "ready"}, *args)


def _wrapt_injecting() -> Any:
    wrapt = pytest.importorskip("wrapt")

    @wrapt.decorator
    def with_config(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
        return wrapped({"db": "ready"}, *args, **kwargs)

    return with_config(_with_config)


@pytest.mark.parametrize("make", [
    pytest.param(lambda: mock.Mock(spec=_hello, side_effect=_hello), id="Mock-spec"),
    pytest.param(lambda: _Injecting(_with_config), id="proxy-injecting-an-argument"),
    pytest.param(_wrapt_injecting, id="wrapt-decorator-injecting-an-argument"),
    pytest.param(lambda: mock.Mock(spec_set=_hello, side_effect=_hello), id="Mock-spec_set"),
    pytest.param(lambda: _NewAnswers, id="class-own-new"),
    pytest.param(lambda: _MetaAnswers, id="class-metaclass-call"),
])
def test_an_app_a_server_can_call_is_taken_and_served(make: Any) -> None:
    from werkzeug.test import Client

    app = make()
    wrapped = MetricsMiddleware(app, _config())  # TypeError on main
    assert wrapped.app is app
    answer = Client(wrapped).get("/")
    assert (answer.status_code, answer.data) == (200, b"hello")


async def _hello_asgi(scope: Any, receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"hello"})


class _SlotCall:
    """Sentry's ``SentryAsgiMiddleware`` shape: ``__call__`` in ``__slots__``, the
    instance's set in ``__init__`` (ASGI 3 or 2 as the app it wraps is). Its class's
    ``__call__`` is a member descriptor: inspect.signature raises TypeError ("is not a
    callable object"), which was read as "cannot take (scope, receive, send)"."""

    __slots__ = ("app", "__call__")

    def __init__(self, app: Any) -> None:
        self.app = app
        self.__call__ = self._run  # type: ignore[method-assign]

    async def _run(self, scope: Any, receive: Any, send: Any) -> None:
        await self.app(scope, receive, send)


def _traced(method: Any) -> Any:
    """A decorator as tracing and metrics libraries write them."""
    @functools.wraps(method)
    async def traced(*args: Any, **kwargs: Any) -> Any:
        return await method(*args, **kwargs)
    return traced


class _Asgi2Traced:
    """ASGI 2's class (made with the scope), its ``__call__`` decorated: its own signature
    ``(*args, **kwargs)`` was read as taking (scope, receive, send), and the class was
    refused as "the class, not an app"."""

    def __init__(self, scope: Any) -> None:
        self.scope = scope

    @_traced
    async def __call__(self, receive: Any, send: Any) -> None:
        await _hello_asgi(self.scope, receive, send)


def _sentry_asgi() -> Any:
    sentry = pytest.importorskip("sentry_sdk.integrations.asgi")
    return sentry.SentryAsgiMiddleware(_hello_asgi)


@pytest.mark.parametrize("make", [
    pytest.param(lambda: _SlotCall(_hello_asgi), id="call-in-slots"),
    pytest.param(_sentry_asgi, id="SentryAsgiMiddleware"),
    pytest.param(lambda: _Asgi2Traced, id="asgi2-class-decorated-call"),
    pytest.param(lambda: mock.AsyncMock(spec=_hello_asgi, side_effect=_hello_asgi),
                 id="AsyncMock-spec"),
])
def test_an_asgi_app_a_server_can_call_is_taken_and_served(make: Any) -> None:
    import asyncio

    import httpx

    from readme_metrics.asgi import MetricsMiddleware as AsgiMetricsMiddleware

    wrapped = AsgiMetricsMiddleware(make(), _config())  # TypeError on main (all but the AsyncMock)

    async def get() -> httpx.Response:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=wrapped),
                                     base_url="http://api.test") as client:
            return await client.get("/")

    answer = asyncio.run(get())
    assert (answer.status_code, answer.content) == (200, b"hello")


def test_what_is_no_app_is_still_refused() -> None:
    """The fixes leave the refusals newcomer19 made: the class of an app, a function
    that makes one."""
    bottle = pytest.importorskip("bottle")
    falcon = pytest.importorskip("falcon")

    def make_app() -> Any:
        return _hello

    for app in (bottle.default_app, bottle.Bottle, falcon.App, make_app):
        with pytest.raises(TypeError, match="readme_metrics: MetricsMiddleware"):
            MetricsMiddleware(app, _config())


# -- the Django lifespan warning under a server that is not uvicorn ------------------------
#
# check_lifespan warned when "uvicorn" was in sys.modules and the scope had a "state":
# hypercorn's scope has one too, so a project whose asgi.py imports uvicorn (for an
# `if __name__ == "__main__": uvicorn.run(...)` block) and is served by hypercorn was told
# its logs would be lost at a stop; hypercorn ends through Python's exit, and they are sent.
# What tells that uvicorn serves is its lifespan module, imported when its Config is loaded.

_RUN_BY_UVICORN = '''
import uvicorn

if __name__ == "__main__":
    uvicorn.run("mysite.asgi:application")
'''


@pytest.mark.e2e
def test_django_served_by_hypercorn_with_uvicorn_imported_is_not_warned_about(
        tmp_path: Path, collector: Any) -> None:
    import sys

    from tests.support.command import app_environment
    from tests.support.ports import free_port
    from tests.test_readme import _django, _get_then_sigterm

    pytest.importorskip("hypercorn")
    pytest.importorskip("uvicorn")
    _django(tmp_path, 0)
    asgi = tmp_path / "mysite" / "asgi.py"
    asgi.write_text(asgi.read_text() + _RUN_BY_UVICORN)
    port = free_port()
    log = tmp_path / "app-output.txt"
    answer = _get_then_sigterm(
        [sys.executable, "-m", "hypercorn", "--bind", f"127.0.0.1:{port}",
         "mysite.asgi:application"], tmp_path, app_environment(collector.url, tmp_path),
        port, log)
    assert answer.status_code == 200, log.read_text()
    assert len(collector.wait_for_logs(1, timeout=10)) == 1, log.read_text()
    assert "readme_metrics: Django's ASGI application" not in log.read_text()


# -- speed8: the batch's logs encoded one at a time, read by array_body as an iterator -------
#
# Logs that fail mid-batch (build raising as a redaction might, a set neither encoder takes)
# are dropped alone and counted; what orjson refuses (an integer past 64 bits, a lone
# surrogate) and NaN go through the standard library; logs of their own piece (40 KiB)
# between small ones. Three 503s: each retry posts the same bytes. Held on main.

BIG = 40 * 1024  # a log of its own piece (encode._ALONE is 16 KiB)


def _build(pending: Any) -> dict:
    name = pending.to_exchange().id
    log = build_id(pending)
    kind = name.split("-")[0]
    if kind == "raises":
        raise ValueError("redaction raised")
    if kind == "set":
        log["value"] = {1, 2}  # neither encoder takes it
    if kind == "huge":
        log["value"] = 2 ** 70  # orjson refuses, the standard library writes it
    if kind == "surrogate":
        log["value"] = "\ud800"
    if kind == "nan":
        log["value"] = float("nan")
    if kind == "big":
        log["value"] = "b" * BIG
    if kind == "small":
        log["value"] = "s" * 3000
    return log


KINDS = ["small", "raises", "big", "set", "huge", "small", "surrogate", "nan", "big", "big",
         "raises", "small"]


def test_failed_logs_mid_batch_leave_the_rest_posted_counted_and_retried_alike(
        collector: Collector, make_delivery: Any) -> None:
    # 120 logs (30 big ones): 1.2 MB of JSON, one POST under the 2 MiB cap, which counts
    # the JSON since delivery48 (240 of them, 2.4 MB of it, go in two POSTs now).
    names = [f"{KINDS[n % len(KINDS)]}-{n}" for n in range(120)]
    bad = [name for name in names if name.split("-")[0] in ("raises", "set")]
    collector.replies.extend([Reply(status=503)] * 3)
    delivery = make_delivery(collector.url, _build, buffer_length=len(names),
                             max_attempts=10)
    for name in names:
        delivery.submit(item(name))
    assert delivery.flush(20.0) is False  # the bad ones dropped
    failed = [r.body for r in collector.failed] + [collector.received[0].body]
    assert len(failed) == 4 and len(collector.received) == 1
    assert all(body == failed[0] for body in failed), "a retry sent other bytes"
    good = [name for name in names if name not in bad]
    assert sorted(ids(collector.logs)) == sorted(good)
    posted = json.loads(failed[0])
    assert ids(posted) == good
    values = {log["_id"].split("-")[0]: log.get("value") for log in posted}
    assert (values["huge"], values["surrogate"], values["nan"]) == (2 ** 70, "\ud800", None)
    assert values["big"] == "b" * BIG
    stats = delivery.stats
    assert stats["dropped_build_error"] == len(bad), stats
    assert stats["sent"] == len(good) and stats["queued"] == 0, stats
    assert adds_up(stats), stats


@pytest.mark.parametrize("sizes", [[3 * 1024 * 1024, 10], [1536 * 1024, 1536 * 1024, 10]])
def test_the_byte_cap_still_splits(collector: Collector, make_delivery: Any,
                                   sizes: list[int]) -> None:
    delivery = make_delivery(collector.url, buffer_length=len(sizes))
    for n, size in enumerate(sizes):
        delivery.submit(item(f"log-{n}", b"x" * size))
    assert delivery.flush(20.0) is True
    batches = [[log["_id"] for log in batch] for batch in collector.batches]
    assert sorted(sum(batches, [])) == [f"log-{n}" for n in range(len(sizes))]
    # A log above MAX_POST_BYTES (2 MiB of captured bytes) alone; two under it that would
    # pass it together, apart.
    assert sorted(batches) == ([["log-0"], ["log-1"]] if len(sizes) == 2 else
                               [["log-0"], ["log-1", "log-2"]])
