"""The end-to-end API of tests/support/e2e_apps.py as ASGI apps, served by real ASGI servers.

``fastapi_app`` (``readme_metrics.fastapi.ReadMeMetricsMiddleware``, an ``async`` grouping
function reading ``request.state`` set by a dependency), ``starlette_app`` (the same
middleware, a plain grouping function) and ``django_asgi_app`` (Django's ASGI handler,
the views of tests/support/e2e_apps.py, wrapped in ``readme_metrics.asgi.MetricsMiddleware``;
this module is also its settings module); ``fastapi_bare`` and ``starlette_bare`` are the
first two without the middleware. Configuration comes from the ``README_*``
environment, so the servers start exactly as in production.

Endpoints: those of tests/support/e2e_apps.py (``/hello``, ``/echo``, ``/upload``, ``/stream``,
``/nolog``), and for FastAPI and Starlette also:

- ``GET /sse?barrier=<path>``: server-sent events; ``first``, then waits until the
  client has created ``barrier`` (it does so on receiving ``first``), then ``second``.
- ``POST /noread``: answers without reading the request body.
- ``GET /boom``: raises before starting a response.
- ``GET /started``: 1 if the lifespan startup ran (lifespan passes through the middleware).

``late_sends_app`` (``readme_metrics.asgi.MetricsMiddleware`` around a plain ASGI app)
sends one event, waits for the client to go away, then sends one more.

``lifespan_returns_app`` and ``lifespan_raises_app`` (the same middleware around a plain
app answering ``hello``): a lifespan that returns once it has sent
``lifespan.startup.complete``, and one that raises on ``lifespan.shutdown``;
``lifespan_returns_unstarted_app``: one that returns once it took ``lifespan.startup``,
having sent nothing.
"""


import os
import time
from typing import Any, AsyncIterator, Callable, Optional

import anyio

from tests.support.e2e_apps import BARRIER_WAIT, async_stream_chunks, group, upload_answer

# -- Django (settings for django_asgi_app; views and URLconf: tests/support/e2e_apps) --

SECRET_KEY = "e2e-not-secret"
DEBUG = False
ALLOWED_HOSTS = ["*"]
ROOT_URLCONF = "tests.support.e2e_apps"
USE_TZ = True
MIDDLEWARE: list[str] = []  # the ASGI middleware wraps the handler instead


def webob_grouping(request: Any) -> Optional[dict[str, str]]:
    return group(request.headers.get("X-Api-Key"), request.path,
                 f"{type(request).__module__}.{type(request).__name__}")


def starlette_grouping(request: Any) -> Optional[dict[str, str]]:
    return group(request.headers.get("x-api-key"), request.url.path,
                 f"{type(request).__module__}.{type(request).__name__}")


async def fastapi_grouping(request: Any) -> Optional[dict[str, str]]:
    # request.state.caller is set by the app's dependency: the grouping function must run
    # after it. The body is readable here too.
    await request.body()
    return group(getattr(request.state, "caller", None), request.url.path,
                 f"{type(request).__module__}.{type(request).__name__}")


class BoomError(Exception):
    """What /boom raises."""


async def wait_for(barrier: str) -> bool:
    deadline = time.monotonic() + BARRIER_WAIT
    while not (barrier and os.path.exists(barrier)):
        if time.monotonic() > deadline:
            return False
        await anyio.sleep(0.01)  # anyio: these apps also run under trio
    return True


async def sse_events(barrier: str) -> AsyncIterator[bytes]:
    yield b"data: first\n\n"
    yield b"data: second\n\n" if await wait_for(barrier) else b"data: timeout\n\n"


def _starlette_routes() -> list[Any]:
    from starlette.requests import Request
    from starlette.responses import JSONResponse, Response, StreamingResponse
    from starlette.routing import Route

    async def hello(request: Request) -> Response:
        response = JSONResponse({"hello": request.query_params.get("name", "")})
        response.set_cookie("session", "s3cr3t")
        return response

    async def echo(request: Request) -> Response:
        return Response(await request.body(),
                        headers={"content-type": request.headers.get("content-type", "")})

    async def upload(request: Request) -> Response:
        form = await request.form()
        upload = form["file"]
        return Response(upload_answer(form.get("field"), upload.filename,  # type: ignore
                                      await upload.read()),  # type: ignore
                        media_type="application/json")

    async def stream(request: Request) -> Response:
        return StreamingResponse(async_stream_chunks(request.query_params.get("barrier", "")),
                                 media_type="text/plain")

    async def sse(request: Request) -> Response:
        return StreamingResponse(sse_events(request.query_params.get("barrier", "")),
                                 media_type="text/event-stream")

    async def noread(request: Request) -> Response:
        return Response(b"not read", media_type="text/plain")

    async def boom(request: Request) -> Response:
        raise BoomError("boom")

    async def started(request: Request) -> Response:
        return Response(str(int(getattr(request.app.state, "started", 0))))

    async def nolog(request: Request) -> Response:
        return Response(b"ok")

    return [Route("/hello", hello), Route("/echo", echo, methods=["POST"]),
            Route("/upload", upload, methods=["POST"]), Route("/stream", stream),
            Route("/sse", sse), Route("/noread", noread, methods=["POST"]),
            Route("/boom", boom), Route("/started", started),
            Route("/nolog", nolog, methods=["GET", "OPTIONS"])]


def _lifespan(app: Any) -> Any:
    from contextlib import asynccontextmanager

    @asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[None]:
        app.state.started = True
        yield

    return lifespan


def _build_starlette(wrapped: bool = True) -> Any:
    from starlette.applications import Starlette
    from starlette.middleware import Middleware

    from readme_metrics import MetricsApiConfig
    from readme_metrics.fastapi import ReadMeMetricsMiddleware

    middleware = [Middleware(ReadMeMetricsMiddleware, config=MetricsApiConfig(
        grouping_function=starlette_grouping))] if wrapped else []
    return Starlette(routes=_starlette_routes(), lifespan=_lifespan(None),
                     middleware=middleware)


def _build_starlette_gzip_outside() -> Any:
    """The Starlette app with Starlette's GZipMiddleware outside the metrics middleware
    (``app.add_middleware`` of the metrics, then of GZip): the server's ``send`` reaches
    the metrics middleware as a bound method of GZip's responder."""
    from starlette.applications import Starlette
    from starlette.middleware import Middleware
    from starlette.middleware.gzip import GZipMiddleware

    from readme_metrics import MetricsApiConfig
    from readme_metrics.fastapi import ReadMeMetricsMiddleware

    return Starlette(routes=_starlette_routes(), lifespan=_lifespan(None), middleware=[
        Middleware(GZipMiddleware),
        Middleware(ReadMeMetricsMiddleware,
                   config=MetricsApiConfig(grouping_function=starlette_grouping))])


def _build_fastapi(wrapped: bool = True) -> Any:
    from fastapi import Depends, FastAPI, Request

    from readme_metrics import MetricsApiConfig
    from readme_metrics.fastapi import ReadMeMetricsMiddleware

    async def caller(request: Request) -> None:
        request.state.caller = request.headers.get("x-api-key")  # as an auth dependency

    def view(endpoint: Any) -> Any:
        async def fastapi_view(request: Request) -> Any:
            return await endpoint(request)

        return fastapi_view

    app = FastAPI(dependencies=[Depends(caller)], lifespan=_lifespan(None))
    for route in _starlette_routes():
        app.api_route(route.path, methods=sorted(route.methods or ()))(view(route.endpoint))
    if wrapped:
        app.add_middleware(ReadMeMetricsMiddleware,
                           config=MetricsApiConfig(grouping_function=fastapi_grouping))
    return app


def _build_django() -> Any:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", __name__)
    from django.core.asgi import get_asgi_application

    from readme_metrics import MetricsApiConfig
    from readme_metrics.asgi import MetricsMiddleware

    return MetricsMiddleware(get_asgi_application(),
                             MetricsApiConfig(grouping_function=webob_grouping))


async def late_sends(scope: Any, receive: Any, send: Any) -> None:
    """A plain ASGI app: one event, then, once the client is gone (``http.disconnect``),
    one more and the end, which no client can get (uvicorn drops them without a word)."""
    if scope["type"] != "http":
        return
    if scope["path"] != "/late":  # the test's readiness probe
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})
        return
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"text/event-stream")]})
    await send({"type": "http.response.body", "body": b"data: first\n\n", "more_body": True})
    while (await receive())["type"] != "http.disconnect":
        pass
    try:
        await send({"type": "http.response.body", "body": b"data: late\n\n",
                    "more_body": True})
        await send({"type": "http.response.body", "body": b""})
    except OSError:  # ASGI 2.4 lets a server raise on a send to a closed connection
        pass


def _build_late_sends() -> Any:
    from readme_metrics import MetricsApiConfig
    from readme_metrics.asgi import MetricsMiddleware

    return MetricsMiddleware(late_sends, MetricsApiConfig(grouping_function=webob_grouping))


def _build_lifespan_ends(raises: bool, starts: bool = True) -> Any:
    from readme_metrics import MetricsApiConfig
    from readme_metrics.asgi import MetricsMiddleware

    async def app(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await receive()
            if not starts:
                return  # took lifespan.startup, said nothing
            await send({"type": "lifespan.startup.complete"})
            if raises:
                await receive()
                raise RuntimeError("lifespan.shutdown went wrong")
            return  # the lifespan ends once started
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"text/plain")]})
        await send({"type": "http.response.body", "body": b"hello"})

    return MetricsMiddleware(app, MetricsApiConfig(grouping_function=webob_grouping))


class Lazy:
    """An ASGI app built on its first call, so each server process imports only its own
    framework (servers look the name up in the module's namespace: no module
    ``__getattr__``)."""

    def __init__(self, build: Callable[[], Any]) -> None:
        self._build = build
        self._app: Any = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if self._app is None:
            self._app = self._build()
        await self._app(scope, receive, send)


fastapi_app = Lazy(_build_fastapi)
starlette_app = Lazy(_build_starlette)
starlette_gzip_outside_app = Lazy(_build_starlette_gzip_outside)
# The same apps without the middleware, to compare the wrapped ones with.
fastapi_bare = Lazy(lambda: _build_fastapi(wrapped=False))
starlette_bare = Lazy(lambda: _build_starlette(wrapped=False))
django_asgi_app = Lazy(_build_django)
late_sends_app = Lazy(_build_late_sends)
lifespan_returns_app = Lazy(lambda: _build_lifespan_ends(raises=False))
lifespan_raises_app = Lazy(lambda: _build_lifespan_ends(raises=True))
lifespan_returns_unstarted_app = Lazy(lambda: _build_lifespan_ends(raises=False,
                                                                   starts=False))
