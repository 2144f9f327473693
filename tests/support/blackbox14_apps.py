"""blackbox14's apps, one per framework, wrapped as README's quick starts say, for
benchmarks/blackbox14_frameworks.py and tests/test_blackbox14_findings.py.

Each serves ``GET /hello?name=...`` (a small JSON answer), ``POST /upload`` (reads the
body, answers its size), ``GET /stream?n=...`` (a generator's chunks) and is configured
from the environment only (``README_API_KEY``, ``README_METRICS_SERVER``), with a
grouping function naming one caller from the ``X-Api-Key`` header. Served by name,
``tests.support.blackbox14_apps:pyramid_app`` and so on, with ``BB14_APP=pyramid_app``.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
from typing import Any, AsyncIterator, Callable, Iterator, Optional

from readme_metrics import MetricsApiConfig, MetricsMiddleware
from readme_metrics.asgi import MetricsMiddleware as AsgiMetricsMiddleware

CHUNK = b"chunk-%04d\n"


def grouping(request: Any) -> Optional[dict[str, str]]:
    key = request.headers.get("X-Api-Key")
    return {"api_key": key, "label": "bb14", "email": "bb14@example.com"} if key else None


def _config() -> MetricsApiConfig:
    return MetricsApiConfig(grouping_function=grouping)


# -- plain WSGI ---------------------------------------------------------------------------

def _plain(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
    path = environ.get("PATH_INFO", "")
    if path == "/upload":
        size = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(size)
        out = json.dumps({"size": len(body)}).encode()
        start_response("200 OK", [("Content-Type", "application/json")])
        return [out]
    if path == "/stream":
        n = int((environ.get("QUERY_STRING", "").partition("n=")[2] or "5").split("&")[0])
        start_response("200 OK", [("Content-Type", "text/plain")])
        return (CHUNK % i for i in range(n))
    name = environ.get("QUERY_STRING", "").partition("name=")[2].split("&")[0]
    start_response("200 OK", [("Content-Type", "application/json")])
    return [json.dumps({"hello": name}).encode()]




# -- Pyramid -------------------------------------------------------------------------------

def _pyramid() -> Any:
    from pyramid.config import Configurator
    from pyramid.response import Response

    def hello(request: Any) -> Any:
        return {"hello": request.params.get("name", "")}

    def upload(request: Any) -> Any:
        return {"size": len(request.body)}

    def stream(request: Any) -> Any:
        n = int(request.params.get("n", "5"))
        return Response(app_iter=(CHUNK % i for i in range(n)), content_type="text/plain")

    with Configurator() as config:
        config.add_route("hello", "/hello")
        config.add_route("upload", "/upload")
        config.add_route("stream", "/stream")
        config.add_view(hello, route_name="hello", renderer="json")
        config.add_view(upload, route_name="upload", renderer="json")
        config.add_view(stream, route_name="stream")
        return config.make_wsgi_app()


# -- Falcon --------------------------------------------------------------------------------

class _Hello:
    def on_get(self, req: Any, resp: Any) -> None:
        resp.media = {"hello": req.get_param("name") or ""}


class _Upload:
    def on_post(self, req: Any, resp: Any) -> None:
        resp.media = {"size": len(req.bounded_stream.read())}


class _Stream:
    def on_get(self, req: Any, resp: Any) -> None:
        n = int(req.get_param("n") or 5)
        resp.content_type = "text/plain"
        resp.stream = (CHUNK % i for i in range(n))


class _HelloAsync:
    async def on_get(self, req: Any, resp: Any) -> None:
        resp.media = {"hello": req.get_param("name") or ""}


class _UploadAsync:
    async def on_post(self, req: Any, resp: Any) -> None:
        resp.media = {"size": len(await req.stream.read())}


class _StreamAsync:
    async def on_get(self, req: Any, resp: Any) -> None:
        n = int(req.get_param("n") or 5)

        async def chunks() -> AsyncIterator[bytes]:
            for i in range(n):
                yield CHUNK % i

        resp.content_type = "text/plain"
        resp.stream = chunks()


def _falcon(asgi: bool) -> Any:
    import falcon
    import falcon.asgi

    app: Any = falcon.asgi.App() if asgi else falcon.App()
    app.add_route("/hello", _HelloAsync() if asgi else _Hello())
    app.add_route("/upload", _UploadAsync() if asgi else _Upload())
    app.add_route("/stream", _StreamAsync() if asgi else _Stream())
    return app


# -- Bottle --------------------------------------------------------------------------------

def _bottle() -> Any:
    import bottle

    app = bottle.Bottle()

    @app.get("/hello")  # type: ignore[untyped-decorator,unused-ignore]
    def hello() -> Any:
        return {"hello": bottle.request.query.get("name", "")}

    @app.post("/upload")  # type: ignore[untyped-decorator,unused-ignore]
    def upload() -> Any:
        return {"size": len(bottle.request.body.read())}

    @app.get("/stream")  # type: ignore[untyped-decorator,unused-ignore]
    def stream() -> Iterator[bytes]:
        bottle.response.content_type = "text/plain"
        return (CHUNK % i for i in range(int(bottle.request.query.get("n", "5"))))

    return app


# -- Starlette -----------------------------------------------------------------------------

def _starlette() -> Any:
    from starlette.applications import Starlette
    from starlette.middleware import Middleware
    from starlette.requests import Request
    from starlette.responses import JSONResponse, StreamingResponse
    from starlette.routing import Route

    from readme_metrics.starlette import ReadMeMetricsMiddleware

    async def hello(request: Request) -> JSONResponse:
        return JSONResponse({"hello": request.query_params.get("name", "")})

    async def upload(request: Request) -> JSONResponse:
        return JSONResponse({"size": len(await request.body())})

    async def stream(request: Request) -> StreamingResponse:
        n = int(request.query_params.get("n", "5"))

        async def chunks() -> AsyncIterator[bytes]:
            for i in range(n):
                yield CHUNK % i

        return StreamingResponse(chunks(), media_type="text/plain")

    return Starlette(
        routes=[Route("/hello", hello), Route("/upload", upload, methods=["POST"]),
                Route("/stream", stream)],
        # BB14_BARE=1: without it (a Starlette app has no ``.app`` to unwrap it by)
        middleware=[] if os.environ.get("BB14_BARE") == "1" else [
            Middleware(ReadMeMetricsMiddleware, config=_config())],
    )


_MAKERS: dict[str, Callable[[], Any]] = {
    "plain_app": lambda: MetricsMiddleware(_plain, _config()),
    "pyramid_app": lambda: MetricsMiddleware(_pyramid(), _config()),
    "falcon_app": lambda: MetricsMiddleware(_falcon(False), _config()),
    "falcon_asgi_app": lambda: AsgiMetricsMiddleware(_falcon(True), _config()),
    "bottle_app": lambda: MetricsMiddleware(_bottle(), _config()),
    "starlette_app": _starlette,
}

# The one app the server serves (BB14_APP names it), made at import as a user's module
# makes it: one middleware per process (hypercorn looks the name up in the module's dict).
if os.environ.get("BB14_APP") in _MAKERS:
    globals()[os.environ["BB14_APP"]] = _MAKERS[os.environ["BB14_APP"]]()
    if os.environ.get("BB14_BARE") == "1":  # the framework's app alone, to compare
        globals()[os.environ["BB14_APP"]] = getattr(
            globals()[os.environ["BB14_APP"]], "app", globals()[os.environ["BB14_APP"]])


# SIGTERM as an exit under waitress, as README's Troubleshooting says (the examples do it).
if os.environ.get("BB14_SIGTERM") == "1" and \
        threading.current_thread() is threading.main_thread() and \
        signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
