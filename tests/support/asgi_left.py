"""Apps for tests/test_asgi_left.py: what the client got when it left, or when the app
broke HTTP's framing, bare and wrapped side by side in one server process.

The same endpoints, served under ``/bare/...`` as they are and under ``/wrap/...``
inside the middleware (configured from the ``README_*`` environment, every call logged),
by:

- ``plain_root``: a plain ASGI app, wrapped by ``readme_metrics.asgi.MetricsMiddleware``;
- ``starlette_root``, ``fastapi_root``: Starlette and FastAPI apps with
  ``app.add_middleware(ReadMeMetricsMiddleware, ...)``, which puts the middleware inside
  the framework's own (``ServerErrorMiddleware`` outside it, ``ExceptionMiddleware``
  inside): the ``send`` it gets is a closure of ``ServerErrorMiddleware``'s around the
  server's;
- ``starlette_whole_root``: the Starlette app wrapped whole,
  ``MetricsMiddleware(app, config)`` (the server's ``send`` as it is);
- ``starlette_cors_root``: ``starlette_root`` with Starlette's ``CORSMiddleware`` added
  after the metrics middleware, so outside it: for a request with an Origin it hands
  on a ``partial`` of its own method, the server's ``send`` a keyword argument of it;
- ``starlette_gzip_root``: ``starlette_root`` with Starlette's ``GZipMiddleware`` added
  after the metrics middleware: it hands on a bound method of a responder object of its
  own, the server's ``send`` an attribute of that object.

Each wrapped call appends its ``X-Trace`` header to the file named by ``ASGI_TRACES``.

Endpoints (after the prefix):

- ``/late?barrier=<path>``: waits until ``<path>`` exists (the test creates it once the
  client is gone), then answers 200 ``late answer`` (its start, a pause, its body), never
  calling ``receive``.
- ``/length-short?split=0|1``: declares Content-Length 10 and sends ``abc``, in the last
  body message (``split=0``) or in one before an empty last one (``split=1``).
- ``/status-text?status=<s>``: answers with ``status`` as the string given ("200").
- ``/left?barrier=<path>``: tests/support/asgi_cases.py's stream that goes on once the
  client left (a raw ASGI endpoint under the frameworks: Starlette's
  ``StreamingResponse`` listens for ``http.disconnect`` itself, and stops).
- ``/start-only?then=return|raise``: the response start (201), no body message, then
  returns or raises (raw ASGI under the frameworks too).
- ``/stream-raise?length=<n>&then=raise|return``: the response start (200, with a
  Content-Length ``n`` when given), ``abc`` with ``more_body``, then raises (or returns)
  without the last body message (under the frameworks: a ``StreamingResponse`` whose
  generator raises after ``abc``).
- ``/noread`` (POST under the frameworks): answers ``ok`` without reading the request
  body (the plain app answers so to any other path).
"""

from __future__ import annotations

import os
import time
from typing import Any
from urllib.parse import parse_qsl

import anyio

from tests.support.asgi_apps import Lazy
from tests.support.asgi_cases import stream_left
from tests.support.e2e_apps import BARRIER_WAIT
from tests.support.side_by_side import bare_or_wrapped, built_once, lifespan

LATE_ANSWER = b"late answer"


def grouping(request: Any) -> Any:
    """Every call is logged, as one caller."""
    return {"api_key": "left-caller-key", "label": "left"}


def _trace(scope: Any) -> None:
    path = os.environ.get("ASGI_TRACES")
    trace = dict((bytes(k).lower(), bytes(v)) for k, v in scope["headers"]).get(b"x-trace")
    if scope["type"] == "http" and path and trace:
        with open(path, "a", encoding="latin-1") as traces:
            traces.write(trace.decode("latin-1") + "\n")


async def _wait_for_file(path: str) -> None:
    deadline = time.monotonic() + BARRIER_WAIT
    while not os.path.exists(path) and time.monotonic() < deadline:
        await anyio.sleep(0.01)


async def plain(scope: Any, receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    path = scope["path"][len(scope.get("root_path", "")):]
    query = dict(parse_qsl(scope["query_string"].decode("latin-1")))
    text = (b"content-type", b"text/plain")
    if path == "/late":
        await _wait_for_file(query["barrier"])
        await anyio.sleep(0.05)  # a few turns of the loop: the server sees the close
        await send({"type": "http.response.start", "status": 200,
                    "headers": [text, (b"content-length", b"%d" % len(LATE_ANSWER))]})
        # The client's reset to the head is back, and seen, before the body (at once on
        # loopback, unless the machine is busy: then the body's send came first).
        await anyio.sleep(0.05)
        await send({"type": "http.response.body", "body": LATE_ANSWER})
    elif path == "/length-short":
        await send({"type": "http.response.start", "status": 200,
                    "headers": [text, (b"content-length", b"10")]})
        if query.get("split") == "1":
            await send({"type": "http.response.body", "body": b"abc", "more_body": True})
            await send({"type": "http.response.body", "body": b""})
        else:
            await send({"type": "http.response.body", "body": b"abc"})
    elif path == "/status-text":
        await send({"type": "http.response.start", "status": query["status"],
                    "headers": [text, (b"content-length", b"4")]})
        await send({"type": "http.response.body", "body": b"body"})
    elif path == "/left":
        await stream_left(query, send)
    elif path == "/start-only":
        await send({"type": "http.response.start", "status": 201,
                    "headers": [text]})
        if query.get("then") == "raise":
            raise RuntimeError("after the start, before any body")
    elif path == "/stream-raise":
        headers = [text]
        if "length" in query:
            headers.append((b"content-length", query["length"].encode()))
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": b"abc", "more_body": True})
        if query.get("then") != "return":
            raise RuntimeError("the stream broke off")
    else:
        await send({"type": "http.response.start", "status": 200,
                    "headers": [text, (b"content-length", b"2")]})
        await send({"type": "http.response.body", "body": b"ok"})


def _plain_wrapped() -> Any:
    from readme_metrics import MetricsApiConfig
    from readme_metrics.asgi import MetricsMiddleware

    return MetricsMiddleware(plain, MetricsApiConfig(grouping_function=grouping))


_plain = built_once(_plain_wrapped)


async def plain_root(scope: Any, receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        await lifespan(receive, send)
        return
    await bare_or_wrapped(scope, receive, send, plain, _plain, _trace)


# -- Starlette and FastAPI ----------------------------------------------------------------


class _Raw:
    """A raw ASGI endpoint for a Starlette ``Route`` (which calls any non-function as is)."""

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await plain(scope, receive, send)


def _routes() -> list[Any]:
    from starlette.requests import Request
    from starlette.responses import Response, StreamingResponse
    from starlette.routing import Route

    async def late(request: Request) -> Response:
        await _wait_for_file(request.query_params["barrier"])
        await anyio.sleep(0.05)
        return Response(LATE_ANSWER, media_type="text/plain")

    async def length_short(request: Request) -> Response:
        headers = {"content-length": "10"}
        if request.query_params.get("split") == "1":
            async def chunks() -> Any:
                yield b"abc"
            return StreamingResponse(chunks(), media_type="text/plain", headers=headers)
        return Response(b"abc", media_type="text/plain", headers=headers)

    async def status_text(request: Request) -> Response:
        return Response(b"body", media_type="text/plain",
                        status_code=request.query_params["status"])  # type: ignore[arg-type]

    async def noread(request: Request) -> Response:
        return Response(b"ok", media_type="text/plain")

    async def stream_raise(request: Request) -> Response:
        length = request.query_params.get("length")
        headers = {} if length is None else {"content-length": length}

        async def chunks() -> Any:
            yield b"abc"
            raise RuntimeError("the stream broke off")
        return StreamingResponse(chunks(), media_type="text/plain", headers=headers)

    async def stream_on(request: Request) -> Response:
        async def chunks() -> Any:
            for i in range(200):
                yield b"chunk %d\n" % i
                await anyio.sleep(0.05)
        return StreamingResponse(chunks(), media_type="text/plain")

    return [Route("/late", late), Route("/length-short", length_short),
            Route("/stream-on", stream_on),
            Route("/status-text", status_text), Route("/left", _Raw()),
            Route("/start-only", _Raw()), Route("/noread", noread, methods=["POST"]),
            Route("/stream-raise", stream_raise)]


def _starlette(inside: bool, cors_outside: bool = False, gzip_outside: bool = False) -> Any:
    from starlette.applications import Starlette
    from starlette.middleware.cors import CORSMiddleware
    from starlette.middleware.gzip import GZipMiddleware

    app = Starlette(routes=_routes())
    if inside:
        _add_middleware(app)
    if cors_outside:  # added after: outside the metrics middleware
        app.add_middleware(CORSMiddleware, allow_origins=["*"])
    if gzip_outside:  # outside too: its send is a method of a responder of its own
        app.add_middleware(GZipMiddleware)
    return app


def _fastapi(inside: bool) -> Any:
    from fastapi import FastAPI

    app = FastAPI()
    app.router.routes.extend(_routes())
    if inside:
        _add_middleware(app)
    return app


def _add_middleware(app: Any) -> None:
    from readme_metrics import MetricsApiConfig
    from readme_metrics.fastapi import ReadMeMetricsMiddleware

    app.add_middleware(ReadMeMetricsMiddleware,
                       config=MetricsApiConfig(grouping_function=grouping))


def _whole(app: Any) -> Any:
    from readme_metrics import MetricsApiConfig
    from readme_metrics.asgi import MetricsMiddleware

    return MetricsMiddleware(app, MetricsApiConfig(grouping_function=grouping))


def _side_by_side(bare: Any, wrapped: Any) -> Any:
    async def root(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":  # neither app needs one
            await lifespan(receive, send)
            return
        await bare_or_wrapped(scope, receive, send, bare, lambda: wrapped, _trace)
    return root


starlette_root = Lazy(lambda: _side_by_side(_starlette(False), _starlette(True)))
fastapi_root = Lazy(lambda: _side_by_side(_fastapi(False), _fastapi(True)))
starlette_cors_root = Lazy(lambda: _side_by_side(_starlette(False, True),
                                                 _starlette(True, True)))
starlette_gzip_root = Lazy(lambda: _side_by_side(_starlette(False, gzip_outside=True),
                                                 _starlette(True, gzip_outside=True)))
starlette_whole_root = Lazy(lambda: _side_by_side(_starlette(False),
                                                  _whole(_starlette(False))))
