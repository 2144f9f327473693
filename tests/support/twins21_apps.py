"""One small API in Flask and FastAPI over last session's new body paths, wrapped as
README says.

tests/test_twins21_bodies.py serves ``flask_app`` under gunicorn and ``flask run``
(werkzeug's server) and ``fastapi_app`` under uvicorn and hypercorn, and compares the
logs field by field. Every route answers the same bytes in both frameworks:

- ``GET /coded?coding=br|zstd|gzip``: a JSON body the app compresses itself
  (:data:`CODED`, holding the caller's key and a denied member), with its
  Content-Encoding.
- ``GET /compressed``: a JSON body over 500 bytes that Flask-Compress or
  starlette-compress compresses as the client's Accept-Encoding asks.
- ``GET /events?n=``: server-sent events (:func:`events`) with a denied member, and a
  denied key's name, split across events.
- ``POST /echo``: reads the whole body and answers it back with its Content-Type.
- ``POST /noread``: never reads the body.
- ``FETCH /method``, ``PURGE /method``: custom methods.
- ``GET /query``: the cookies the framework parsed.

The configuration (denylist ``password``, skip_methods ``OPTIONS, fetch, PURGE``) is
:func:`config`'s; the rest comes from the environment the test sets.
"""

# No "from __future__ import annotations": FastAPI reads the views' annotations.

import gzip
import json
import time
from typing import Any, Iterator, Optional

DOCS = "https://docs.example.test"
JSON = "application/json"
SSE = "text/event-stream; charset=utf-8"
#: tests.test_e2e_servers.CALLER
CALLER = "caller-key-9876"
CODED = json.dumps({"user": "zoe", "password": "s3cr3t", "key": CALLER,
                    "pad": "abc " * 20}).encode()
#: Over Flask-Compress's and starlette-compress's 500-byte minimum.
COMPRESSIBLE = json.dumps({"user": "zoe", "password": "s3cr3t", "key": CALLER,
                           "items": [{"n": i, "name": f"item {i}"} for i in range(40)]}).encode()
SKIP_METHODS = ["OPTIONS", "fetch", "PURGE"]


def coded(coding: str) -> bytes:
    if coding == "br":
        import brotli

        return bytes(brotli.compress(CODED))
    if coding == "zstd":
        import zstandard

        return bytes(zstandard.ZstdCompressor().compress(CODED))
    return gzip.compress(CODED, mtime=0)


def events(n: int) -> Iterator[bytes]:
    """Server-sent events: a JSON document a piece an event, its denied member in the
    second, a denied key's name split between two events; ``n`` more ticks after."""
    yield b'event: note\ndata: {"user": "zoe",\n\n'
    yield b'data: "password": "s3cr3t"}\n\n'
    yield b'data: {"pass\n\n'
    yield b'data: word": "hunter2"}\n\n'
    for i in range(n):
        yield f"id: {i}\ndata: tick {i}\n\n".encode()
        if n > 10:  # the abandoned stream: slow enough for the client to leave
            time.sleep(0.01)


def grouping_of(api_key: Optional[str]) -> Optional[dict[str, str]]:
    return {"api_key": api_key, "label": "twin", "email": "twin@example.com"} if api_key \
        else None


def config(grouping: Any) -> Any:
    from readme_metrics import MetricsApiConfig

    return MetricsApiConfig(grouping_function=grouping, base_log_url=DOCS,
                            denylist=["password"], skip_methods=SKIP_METHODS)


def _build_flask() -> Any:
    from flask import Flask, Response, request
    from flask_compress import Compress

    from readme_metrics.flask_readme import ReadMeMetrics

    app = Flask(__name__)
    Compress(app)

    @app.get("/coded")
    def coded_view() -> Any:
        coding = request.args["coding"]
        return Response(coded(coding), headers={"Content-Encoding": coding},
                        content_type=JSON)

    @app.get("/compressed")
    def compressed_view() -> Any:
        return Response(COMPRESSIBLE, content_type=JSON)

    @app.get("/events")
    def events_view() -> Any:
        return Response(events(int(request.args.get("n", "1"))), content_type=SSE)

    @app.post("/echo")
    def echo_view() -> Any:
        return Response(request.get_data(), content_type=request.content_type or JSON)

    @app.post("/noread")
    def noread_view() -> Any:
        return Response(b'{"ok": true}', content_type=JSON)

    @app.route("/method", methods=["FETCH", "PURGE"])
    def method_view() -> Any:
        return Response(json.dumps({"method": request.method}).encode(), content_type=JSON)

    @app.get("/query")
    def query_view() -> Any:
        return Response(json.dumps({"cookies": sorted(request.cookies.items())}).encode(),
                        content_type=JSON)

    ReadMeMetrics(config(lambda req: grouping_of(req.headers.get("X-Api-Key"))), app)
    return app


def _build_fastapi() -> Any:
    from fastapi import FastAPI, Request
    from fastapi.responses import Response, StreamingResponse
    from starlette_compress import CompressMiddleware

    from readme_metrics.fastapi import ReadMeMetricsMiddleware

    app = FastAPI()

    @app.get("/coded")
    async def coded_view(coding: str) -> Any:
        return Response(coded(coding), headers={"Content-Encoding": coding}, media_type=JSON)

    @app.get("/compressed")
    async def compressed_view() -> Any:
        return Response(COMPRESSIBLE, media_type=JSON)

    @app.get("/events")
    def events_view(n: int = 1) -> Any:
        return StreamingResponse(events(n), headers={"Content-Type": SSE})

    @app.post("/echo")
    async def echo_view(request: Request) -> Any:
        body = await request.body()
        return Response(body, headers={
            "Content-Type": request.headers.get("content-type", JSON)})

    @app.post("/noread")
    async def noread_view() -> Any:
        return Response(b'{"ok": true}', media_type=JSON)

    @app.api_route("/method", methods=["FETCH", "PURGE"])
    async def method_view(request: Request) -> Any:
        return Response(json.dumps({"method": request.method}).encode(), media_type=JSON)

    @app.get("/query")
    async def query_view(request: Request) -> Any:
        return Response(json.dumps({"cookies": sorted(request.cookies.items())}).encode(),
                        media_type=JSON)

    # README: the metrics middleware added last, so it sees what the client gets.
    app.add_middleware(CompressMiddleware)
    app.add_middleware(ReadMeMetricsMiddleware, config=config(
        lambda req: grouping_of(req.headers.get("x-api-key"))))
    return app


_FASTAPI: list[Any] = []


async def fastapi_app(scope: Any, receive: Any, send: Any) -> None:
    """The FastAPI app, built on its first call in the server's process (hypercorn
    evaluates the name in the module's namespace)."""
    if not _FASTAPI:
        _FASTAPI.append(_build_fastapi())
    await _FASTAPI[0](scope, receive, send)


def __getattr__(name: str) -> Any:
    """``flask_app``, built when a server first looks it up, in its own process with its
    environment (``flask run --app`` wants the Flask object itself)."""
    if name != "flask_app":
        raise AttributeError(name)
    app = globals()["flask_app"] = _build_flask()
    return app
