"""ASGI apps bare and wrapped side by side, for tests/test_asgi_conformance.py.

``plain_root`` (a plain ASGI app), ``starlette_root``, ``fastapi_root`` and
``django_root`` (Django's ASGI handler, the views of tests/support/e2e_apps.py) serve the same
app twice in one server process: under ``/bare/...`` as it is and under ``/wrap/...``
inside the middleware (configured from the ``README_*`` environment; every call but
``/nolog`` logged). Starlette and FastAPI are mounted with ``Mount`` (so ``root_path``
is the mount's), the plain app gets the prefix as ``root_path``. Each wrapped HTTP call
appends its ``X-Trace`` header to the file named by ``ASGI_TRACES``: the calls that
reached the app, each of which must show up as exactly one log.

Endpoints (after the prefix):

- ``/hello`` (also HEAD), ``/nolog``: small answers.
- ``/echo``: the request body, read whole, answered with its length.
- ``/noread``: answers without reading the body.
- ``/stream?n=N&size=S``: N chunks (``chunk <i>\n``, padded with dots to S bytes if
  given). ``/sse``: server-sent events that never end (until the client goes away).
- ``/file``: a 1 MiB file (Starlette's ``FileResponse``: ``http.response.pathsend``
  where the server offers it; the plain app sends it in 64 KiB chunks).
- ``/pathsend?sized=0|1`` (the plain app): a file of :data:`ODD_FILE_SIZE` bytes as
  ``http.response.pathsend`` whether the server offers it or not, with a Content-Length
  or without.
- ``/background?out=<path>``: answers, then (after the response) waits until the client
  has created ``<path>.go``, works a little and writes ``done`` to ``<path>``.
- ``/raise-before``, ``/raise-after-start``, ``/raise-mid``: raise before the start, after
  it, after a first chunk.
- ``/status?code=N``: answers N (with a body the server must drop for 204/304).
- ``/trailers``, ``/early-hint``: use the extensions when the scope offers them;
  ``/trailers?then=raise`` raises after the body, before the trailers;
  ``/trailers?then=only`` sends trailers alone (no start, no body).
- ``/state``: the ``state`` the lifespan put in the scope.
- ``/ws``: a websocket echoing one text message.
- ``/odd-file`` (Starlette, FastAPI): a file of :data:`ODD_FILE_SIZE` bytes, no multiple
  of Starlette's 64 KiB chunks (its last body message carries bytes).

The plain app only:

- ``/left?barrier=<path>``: ``chunk 0`` to ``chunk 3``, then (once the client, gone,
  has created ``<path>``) :data:`LATE` more chunks, never calling ``receive``.
- ``/start-only?then=return|raise``: the response start, no body message.
- ``/read-after?out=<path>``: answers without reading the body, then receives once and
  writes the message's type to ``<path>``.
"""

from __future__ import annotations

import json
import os
import time
from typing import Any, AsyncIterator, Callable

import anyio

from tests.support.asgi import read_body
from tests.support.asgi_apps import Lazy
from tests.support.e2e_apps import BARRIER_WAIT
from tests.support.side_by_side import bare_or_wrapped, built_once

FILE_SIZE = 1 << 20
LATE = 200  # /left's chunks sent after the client left
ODD_FILE_SIZE = 100_000


def grouping(request: Any) -> Any:
    """Every call but /nolog is logged, as one caller."""
    path = request.path if isinstance(getattr(request, "path", None), str) \
        else request.url.path  # webob's Request, or Starlette's
    if path.endswith("/nolog"):
        return None
    return {"api_key": "conformance-caller-key", "label": "conformance"}


def _trace(headers: Any) -> None:
    path = os.environ.get("ASGI_TRACES")
    trace = dict((bytes(k).lower(), bytes(v)) for k, v in headers).get(b"x-trace")
    if path and trace:
        with open(path, "a", encoding="latin-1") as traces:
            traces.write(trace.decode("latin-1") + "\n")


def big_file(size: int = FILE_SIZE) -> str:
    """A file of ``size`` known bytes in the working directory (made once there): a
    test's own folder, which pytest removes in time (the servers run in the test's
    tmp_path, the tests in one of conftest's). In the system's temporary folder, one per
    server process, 2,163 files (2 GB) had piled up. Written aside, then renamed: the
    servers of a test (the bare and the wrapped one, a server's workers) share it."""
    path = os.path.abspath(f"asgi-cases-{size}.bin")
    if not os.path.exists(path):
        part = f"{path}.{os.getpid()}.part"
        with open(part, "wb") as out:
            out.write((bytes(range(256)) * (size // 256 + 1))[:size])
        os.replace(part, path)
    return path


async def background_work(out: str) -> None:
    deadline = time.monotonic() + BARRIER_WAIT
    while not os.path.exists(out + ".go") and time.monotonic() < deadline:
        await anyio.sleep(0.01)
    await anyio.sleep(0.1)  # the task's own work, after the client let it go
    # Written aside, then renamed: the test reads the file as soon as it exists, and
    # open(out, "w") makes it exist empty before the write (it read "" once).
    with open(out + ".part", "w") as result:
        result.write("done" if os.path.exists(out + ".go") else "timeout")
    os.replace(out + ".part", out)


def stream_chunk(index: int, size: int) -> bytes:
    """``/stream``'s chunk ``index``, padded with dots to ``size`` bytes."""
    return (b"chunk %d\n" % index).ljust(size, b".")


async def sse_events() -> AsyncIterator[bytes]:
    n = 0
    while True:
        yield f"data: {n}\n\n".encode()
        n += 1
        await anyio.sleep(0.005)


def _query(scope: Any) -> dict[str, str]:
    from urllib.parse import parse_qsl

    return dict(parse_qsl(scope["query_string"].decode("latin-1")))


# -- plain ASGI ------------------------------------------------------------------------


async def _answer(send: Any, status: int, body: bytes, *extra: tuple[bytes, bytes]) -> None:
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"text/plain"),
                            (b"content-length", str(len(body)).encode()), *extra]})
    await send({"type": "http.response.body", "body": body})


async def _plain_sse(receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"text/event-stream")]})
    async with anyio.create_task_group() as group:
        async def watch() -> None:
            while (await receive())["type"] != "http.disconnect":
                pass
            group.cancel_scope.cancel()

        group.start_soon(watch)
        try:
            async for event in sse_events():
                await send({"type": "http.response.body", "body": event, "more_body": True})
        except OSError:  # the client went away (servers of ASGI spec 2.4)
            group.cancel_scope.cancel()


async def _plain_file(scope: Any, send: Any) -> None:
    path = big_file()
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"application/octet-stream"),
                            (b"content-length", str(FILE_SIZE).encode())]})
    if "http.response.pathsend" in scope.get("extensions", {}):
        await send({"type": "http.response.pathsend", "path": path})
        return
    with open(path, "rb") as data:
        while True:
            chunk = data.read(65536)
            await send({"type": "http.response.body", "body": chunk, "more_body": bool(chunk)})
            if not chunk:
                return


async def _plain_pathsend(query: dict[str, str], send: Any) -> None:
    """``/pathsend?sized=0|1``: a file of :data:`ODD_FILE_SIZE` bytes as one
    ``http.response.pathsend``, offered by the server or not (a server without the
    extension refuses it: its ``send`` raises), with a Content-Length or without."""
    path = big_file(ODD_FILE_SIZE)
    headers = [(b"content-type", b"application/octet-stream")]
    if query.get("sized") == "1":
        headers.append((b"content-length", str(ODD_FILE_SIZE).encode()))
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.pathsend", "path": path})


async def _plain_extensions(scope: Any, path: str, send: Any) -> None:
    extensions = scope.get("extensions") or {}
    if path == "/early-hint" and "http.response.early_hint" in extensions:
        await send({"type": "http.response.early_hint", "links": [b"</s.css>; rel=preload"]})
    trailers = path == "/trailers" and "http.response.trailers" in extensions
    if trailers and _query(scope).get("then") == "only":
        # No start, no body: hypercorn's HTTP/2 answers a trailers-only response (gRPC's
        # errors), a 200 whose headers are these, to a client that sent "te: trailers".
        await send({"type": "http.response.trailers", "more_trailers": False,
                    "headers": [(b"grpc-status", b"5"), (b"x-checksum", b"abc")]})
        return
    await send({"type": "http.response.start", "status": 200, "trailers": trailers,
                "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": b"with extras"})
    if trailers and _query(scope).get("then") == "raise":
        raise RuntimeError("after the body, before the trailers")
    if trailers:
        await send({"type": "http.response.trailers", "more_trailers": False,
                    "headers": [(b"x-checksum", b"abc")]})


async def _wait_for_file(path: str) -> None:
    deadline = time.monotonic() + BARRIER_WAIT
    while not os.path.exists(path) and time.monotonic() < deadline:
        await anyio.sleep(0.01)


async def stream_left(query: dict[str, str], send: Any) -> None:
    """``/left`` (here and in tests/support/asgi_left.py): streams on after the client
    left, without asking ``receive``: each late chunk after a turn of the loop, in which
    the server may see that the client is gone. With ``length=1``: a Content-Length of the
    whole stream."""
    headers = [(b"content-type", b"text/plain")]
    if query.get("length") == "1":
        whole = sum(len(b"chunk %d\n" % i) for i in range(4)) + sum(
            len(b"late %d\n" % i) for i in range(LATE))
        headers.append((b"content-length", b"%d" % whole))
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    for i in range(4):
        await send({"type": "http.response.body", "body": b"chunk %d\n" % i,
                    "more_body": True})
    await _wait_for_file(query["barrier"])
    for i in range(LATE):
        await anyio.sleep(0.001)
        await send({"type": "http.response.body", "body": b"late %d\n" % i,
                    "more_body": True})
    await send({"type": "http.response.body", "body": b""})


async def _plain_read_after(query: dict[str, str], receive: Any, send: Any) -> None:
    await _answer(send, 200, b"answered")
    message = await receive()
    with open(query["out"] + ".part", "w") as out:
        out.write(str(message.get("type")))
    os.replace(query["out"] + ".part", query["out"])


async def plain(scope: Any, receive: Any, send: Any) -> None:  # noqa: C901 - a router
    if scope["type"] == "websocket":
        await receive()  # websocket.connect
        await send({"type": "websocket.accept"})
        message = await receive()
        await send({"type": "websocket.send", "text": "echo: " + str(message.get("text"))})
        await send({"type": "websocket.close", "code": 1000})
        return
    path = scope["path"][len(scope.get("root_path", "")):]
    query = _query(scope)
    if path == "/echo":
        await _answer(send, 200, await read_body(receive))
    elif path == "/stream":
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"text/plain")]})
        for i in range(int(query.get("n", "50"))):
            await send({"type": "http.response.body", "more_body": True,
                        "body": stream_chunk(i, int(query.get("size", "0")))})
        await send({"type": "http.response.body", "body": b""})
    elif path == "/sse":
        await _plain_sse(receive, send)
    elif path == "/file":
        await _plain_file(scope, send)
    elif path == "/pathsend":
        await _plain_pathsend(query, send)
    elif path == "/background":
        await _answer(send, 200, b"started")
        await background_work(query["out"])
    elif path == "/raise-before":
        raise RuntimeError("before the start")
    elif path in ("/raise-after-start", "/raise-mid"):
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"text/plain")]})
        if path == "/raise-mid":
            await send({"type": "http.response.body", "body": b"a", "more_body": True})
        raise RuntimeError("after the start")
    elif path == "/status":
        await _answer(send, int(query["code"]), b"body", (b"etag", b'"x"'))
    elif path in ("/trailers", "/early-hint"):
        await _plain_extensions(scope, path, send)
    elif path == "/state":
        await _answer(send, 200, json.dumps(dict(scope.get("state") or {})).encode())
    elif path == "/left":
        await stream_left(query, send)
    elif path == "/start-only":
        await send({"type": "http.response.start", "status": 201,
                    "headers": [(b"content-type", b"text/plain")]})
        if query.get("then") == "raise":
            raise RuntimeError("after the start, before any body")
    elif path == "/read-after":
        await _plain_read_after(query, receive, send)
    else:  # /hello, /nolog, /noread
        await _answer(send, 200, b"hello")


def _plain_wrapped() -> Any:
    from readme_metrics import MetricsApiConfig
    from readme_metrics.asgi import MetricsMiddleware

    return MetricsMiddleware(plain, MetricsApiConfig(grouping_function=grouping))


_plain = built_once(_plain_wrapped)


async def plain_root(scope: Any, receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                if "state" in scope:
                    scope["state"]["greeting"] = "hi"
                await send({"type": "lifespan.startup.complete"})
            else:
                await send({"type": "lifespan.shutdown.complete"})
                return
    await bare_or_wrapped(scope, receive, send, plain, _plain, _trace_http)


def _trace_http(scope: Any) -> None:
    if scope["type"] == "http":
        _trace(scope["headers"])


# -- Starlette and FastAPI ---------------------------------------------------------------


def _routes() -> list[Any]:
    from starlette.background import BackgroundTask
    from starlette.requests import Request
    from starlette.responses import FileResponse, JSONResponse, Response, StreamingResponse
    from starlette.routing import Route, WebSocketRoute
    from starlette.websockets import WebSocket

    async def hello(request: Request) -> Response:
        return Response(b"hello", media_type="text/plain")

    async def echo(request: Request) -> Response:
        return Response(await request.body(), media_type="text/plain")

    async def stream(request: Request) -> Response:
        async def chunks() -> AsyncIterator[bytes]:
            for i in range(int(request.query_params.get("n", "50"))):
                yield stream_chunk(i, int(request.query_params.get("size", "0")))
        return StreamingResponse(chunks(), media_type="text/plain")

    async def sse(request: Request) -> Response:
        return StreamingResponse(sse_events(), media_type="text/event-stream")

    async def file(request: Request) -> Response:
        return FileResponse(big_file(), media_type="application/octet-stream")

    async def odd_file(request: Request) -> Response:
        return FileResponse(big_file(ODD_FILE_SIZE), media_type="application/octet-stream")

    async def background(request: Request) -> Response:
        return Response(b"started", media_type="text/plain",
                        background=BackgroundTask(background_work,
                                                  request.query_params["out"]))

    async def raise_before(request: Request) -> Response:
        raise RuntimeError("before the start")

    async def status(request: Request) -> Response:
        return Response(b"body", status_code=int(request.query_params["code"]),
                        media_type="text/plain", headers={"etag": '"x"'})

    async def state(request: Request) -> Response:
        return JSONResponse(dict(request.scope.get("state") or {}))

    async def ws(websocket: WebSocket) -> None:
        await websocket.accept()
        await websocket.send_text("echo: " + await websocket.receive_text())
        await websocket.close()

    return [Route("/hello", hello), Route("/nolog", hello), Route("/noread", hello,
                                                                    methods=["POST"]),
            Route("/echo", echo, methods=["POST"]), Route("/stream", stream),
            Route("/sse", sse), Route("/file", file), Route("/odd-file", odd_file),
            Route("/background", background),
            Route("/raise-before", raise_before), Route("/status", status),
            Route("/state", state), WebSocketRoute("/ws", ws)]


def _mounted(inner: Callable[[], Any]) -> Any:
    from contextlib import asynccontextmanager

    from starlette.applications import Starlette
    from starlette.routing import Mount

    from readme_metrics import MetricsApiConfig
    from readme_metrics.fastapi import ReadMeMetricsMiddleware

    wrapped = ReadMeMetricsMiddleware(inner(), MetricsApiConfig(grouping_function=grouping))

    async def traced(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            _trace(scope["headers"])
        await wrapped(scope, receive, send)

    @asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[dict[str, str]]:
        yield {"greeting": "hi"}

    return Starlette(lifespan=lifespan, routes=[Mount("/bare", inner()),
                                                Mount("/wrap", traced)])


def _starlette() -> Any:
    from starlette.applications import Starlette

    return Starlette(routes=_routes())


def _fastapi() -> Any:
    from fastapi import FastAPI

    app = FastAPI()
    app.router.routes.extend(_routes())
    return app


starlette_root = Lazy(lambda: _mounted(_starlette))
fastapi_root = Lazy(lambda: _mounted(_fastapi))


# -- Django's ASGI handler (settings: tests.support.asgi_apps; views: tests.support.e2e_apps)


def _django_wrapped() -> Any:
    from readme_metrics import MetricsApiConfig
    from readme_metrics.asgi import MetricsMiddleware

    return MetricsMiddleware(_django_bare(), MetricsApiConfig(grouping_function=grouping))


def _django_handler() -> Any:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.support.asgi_apps")
    from django.core.asgi import get_asgi_application

    return get_asgi_application()


_django_bare = built_once(_django_handler)
_django = built_once(_django_wrapped)


async def django_root(scope: Any, receive: Any, send: Any) -> None:
    """Django bare and wrapped; the lifespan goes to the wrapped handler (Django has no
    lifespan support: the middleware answers it)."""
    if scope["type"] == "lifespan":
        await _django()(scope, receive, send)
        return
    await bare_or_wrapped(scope, receive, send, _django_bare(), _django,
                          lambda wrapped_scope: _trace(wrapped_scope["headers"]))
