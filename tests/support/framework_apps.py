"""The end-to-end API of tests/support/e2e_apps.py in the frameworks SPEC section 1 names
besides those: Pyramid and Falcon (WSGI, in ``readme_metrics.MetricsMiddleware``), Quart
and Litestar (ASGI, in ``readme_metrics.asgi.MetricsMiddleware``).

Served by real servers in tests/test_frameworks.py, configured only through the
``README_*`` environment, as in production. Endpoints, as in tests/support/e2e_apps.py:
``GET /hello``, ``POST /echo``, ``POST /upload``, ``GET /stream?barrier=...``,
``GET /nolog`` (not identified) and ``POST /noread`` (the body is never read; answers
``ok``, or ``not read`` in the ASGI apps). The grouping function takes the caller from
``X-Api-Key`` and puts in the label the type of request object it received. ``*_bare``
are the same apps without the middleware.
"""

# No "from __future__ import annotations": Litestar reads the handlers' annotations, which
# name classes imported inside the builder.

import json
from typing import Any, AsyncIterator

from tests.support.e2e_apps import (
    async_stream_chunks,
    stream_chunks,
    upload_answer,
    webob_grouping,
)

HELLO_COOKIE = ("session", "s3cr3t")
#: What the ASGI apps' /noread answers (tests/test_asgi_servers.py reads up to it).
NOT_READ = b"not read"


def _hello(name: str) -> bytes:
    return json.dumps({"hello": name}).encode()


def _metrics_wsgi(app: Any) -> Any:
    from readme_metrics import MetricsApiConfig, MetricsMiddleware

    return MetricsMiddleware(app, MetricsApiConfig(grouping_function=webob_grouping))


def _metrics_asgi(app: Any) -> Any:
    from readme_metrics import MetricsApiConfig
    from readme_metrics.asgi import MetricsMiddleware

    return MetricsMiddleware(app, MetricsApiConfig(grouping_function=webob_grouping))


# -- Pyramid ---------------------------------------------------------------------------


def _build_pyramid() -> Any:
    from pyramid.config import Configurator
    from pyramid.response import Response

    def hello(request: Any) -> Any:
        response = Response(_hello(request.params.get("name", "")),
                            content_type="application/json", charset=None)
        response.set_cookie(*HELLO_COOKIE, path="/")
        return response

    def echo(request: Any) -> Any:
        return Response(request.body, content_type=request.headers.get("Content-Type"),
                        charset=None)

    def upload(request: Any) -> Any:
        upload = request.POST["file"]
        return Response(upload_answer(request.POST.get("field"), upload.filename,
                                      upload.file.read()),
                        content_type="application/json", charset=None)

    def stream(request: Any) -> Any:
        return Response(app_iter=stream_chunks(request.params.get("barrier", "")),
                        content_type="text/plain")

    def ok(request: Any) -> Any:
        return Response(b"ok", content_type="text/plain")

    with Configurator() as config:
        for name, path, view, method in [("hello", "/hello", hello, "GET"),
                                         ("echo", "/echo", echo, "POST"),
                                         ("upload", "/upload", upload, "POST"),
                                         ("stream", "/stream", stream, "GET"),
                                         ("nolog", "/nolog", ok, None),
                                         ("noread", "/noread", ok, "POST")]:
            config.add_route(name, path)
            config.add_view(view, route_name=name, request_method=method)
        return config.make_wsgi_app()


# -- Falcon ----------------------------------------------------------------------------


def _build_falcon() -> Any:
    import falcon

    class Hello:
        def on_get(self, req: Any, resp: Any) -> None:
            resp.content_type = "application/json"
            resp.data = _hello(req.get_param("name", default=""))
            resp.set_cookie(*HELLO_COOKIE, path="/", secure=False, http_only=False)

    class Echo:
        def on_post(self, req: Any, resp: Any) -> None:
            resp.content_type = req.content_type
            resp.data = req.bounded_stream.read()

    class Upload:
        def on_post(self, req: Any, resp: Any) -> None:
            field, name, data = None, None, b""
            for part in req.get_media():
                if part.name == "field":
                    field = part.text
                elif part.name == "file":
                    name, data = part.filename, part.data
            resp.content_type = "application/json"
            resp.data = upload_answer(field, name, data)

    class Stream:
        def on_get(self, req: Any, resp: Any) -> None:
            resp.content_type = "text/plain"
            resp.stream = stream_chunks(req.get_param("barrier", default=""))

    class Ok:
        def on_get(self, req: Any, resp: Any) -> None:
            resp.content_type = "text/plain"
            resp.data = b"ok"

        on_options = on_post = on_get

    app = falcon.App()
    app.add_route("/hello", Hello())
    app.add_route("/echo", Echo())
    app.add_route("/upload", Upload())
    app.add_route("/stream", Stream())
    app.add_route("/nolog", Ok())
    app.add_route("/noread", Ok())
    return app


# -- Quart -----------------------------------------------------------------------------


def _build_quart() -> Any:
    from quart import Quart, Response, request

    app = Quart(__name__)

    @app.get("/hello")
    async def hello() -> Any:
        response = Response(_hello(request.args.get("name", "")),
                            content_type="application/json")
        response.set_cookie(*HELLO_COOKIE, path="/")
        return response

    @app.post("/echo")
    async def echo() -> Any:
        return Response(await request.get_data(), content_type=request.content_type)

    @app.post("/upload")
    async def upload() -> Any:
        form, files = await request.form, await request.files
        upload = files["file"]
        return Response(upload_answer(form.get("field"), upload.filename, upload.read()),
                        content_type="application/json")

    @app.get("/stream")
    async def stream() -> Any:
        chunks = async_stream_chunks(request.args.get("barrier", ""))
        return Response(chunks, content_type="text/plain")

    @app.route("/nolog", methods=["GET", "OPTIONS"])
    async def nolog() -> Any:
        return Response(b"ok", content_type="text/plain")

    @app.post("/noread")
    async def noread() -> Any:
        return Response(NOT_READ, content_type="text/plain")

    return app


# -- Litestar --------------------------------------------------------------------------


def _build_litestar() -> Any:
    from litestar import Litestar, Request, Response, get, post, route
    from litestar.datastructures import Cookie
    from litestar.response import Stream

    @get("/hello")
    async def hello(request: Request) -> Response[bytes]:
        return Response(_hello(request.query_params.get("name", "")),
                        media_type="application/json",
                        cookies=[Cookie(key=HELLO_COOKIE[0], value=HELLO_COOKIE[1], path="/")])

    @post("/echo", status_code=200)
    async def echo(request: Request) -> Response[bytes]:
        return Response(await request.body(),
                        media_type=request.headers.get("content-type", "text/plain"))

    @post("/upload", status_code=200)
    async def upload(request: Request) -> Response[bytes]:
        form = await request.form()
        upload = form["file"]
        return Response(upload_answer(form.get("field"), upload.filename,
                                      await upload.read()), media_type="application/json")

    @get("/stream")
    async def stream(request: Request) -> Stream:
        chunks: AsyncIterator[bytes] = async_stream_chunks(
            request.query_params.get("barrier", ""))
        return Stream(chunks, media_type="text/plain")

    @route("/nolog", http_method=["GET", "OPTIONS"])
    async def nolog() -> Response[bytes]:
        return Response(b"ok", media_type="text/plain")

    @post("/noread", status_code=200)
    async def noread() -> Response[bytes]:
        return Response(NOT_READ, media_type="text/plain")

    return Litestar(route_handlers=[hello, echo, upload, stream, nolog, noread])


# Built at import, as module attributes: hypercorn finds an app by evaluating its name
# in the module's namespace, which a module __getattr__ would not serve.
pyramid_bare = _build_pyramid()
pyramid_app = _metrics_wsgi(_build_pyramid())
falcon_bare = _build_falcon()
falcon_app = _metrics_wsgi(_build_falcon())
quart_bare = _build_quart()
quart_app = _metrics_asgi(_build_quart())
litestar_bare = _build_litestar()
litestar_app = _metrics_asgi(_build_litestar())
