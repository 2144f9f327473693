"""One small API written in Flask, FastAPI and Django, wrapped as README says.

tests/test_twins20_frameworks.py serves ``flask_app`` under gunicorn and ``fastapi_app``
under uvicorn, and Django's views (tests/support/twins20_django.py, its settings module)
as WSGI under gunicorn and as ASGI under uvicorn, and compares their logs field by field.
Every view answers from :func:`answer`, so the status, headers and body bytes each
framework sends are the same wherever the framework lets the app choose them.

Routes: ``POST /json`` and ``POST /big`` (echo the JSON they parsed; the grouping
functions read the body on ``/json`` only), ``POST /form`` and ``POST /upload``
(the fields and files the framework parsed), ``GET /query`` (the query pairs the framework
parsed), ``GET /boom`` (raises), ``GET /redirect`` (302), ``GET /stream?n=`` (``n``
chunks, streamed by the framework's own streaming response), ``POST /noread`` (never
reads the body), ``GET /cookie`` (two Set-Cookie). FastAPI only: ``POST /background``
(a BackgroundTasks task that waits for the file named by ``?barrier=`` and then writes
``?done=``) and the websocket ``/ws`` (echoes one message). The grouping functions read
the framework's own request (Flask's ``request``, Starlette's ``Request``, Django's
``HttpRequest``) and put its class name in the label.
"""

# No "from __future__ import annotations": FastAPI reads the views' annotations, which
# name classes imported inside the builder.

import json
import os
import time
from pathlib import Path
from typing import Any, Callable, Iterator, Optional

from tests.support.body_sent import await_sent, wait_sent

DOCS = "https://docs.example.test"
COOKIES = ["session=s3cr3t; Path=/; HttpOnly", "theme=dark; Path=/"]
JSON = "application/json"
#: Starlette adds the charset to a text/* media type: the others are given it.
TEXT = "text/plain; charset=utf-8"

Answer = tuple[int, list[tuple[str, str]], bytes]


def answer(route: str, parsed: Any) -> Answer:
    """Status, headers and body of ``route``, given what the framework parsed."""
    if route == "redirect":
        return 302, [("Location", "/query?from=redirect")], b""
    if route == "noread":
        return 200, [("Content-Type", "text/plain")], b"ok"
    headers = [("Content-Type", JSON)]
    if route == "query":  # werkzeug's MultiDict gives repeated keys together, Starlette not
        parsed = sorted(parsed)
    if route == "cookie":
        headers += [("Set-Cookie", cookie) for cookie in COOKIES]
    return 200, headers, json.dumps({"got": parsed}).encode()


def chunk(i: int) -> bytes:
    """The stream's ``i``-th chunk."""
    return f"chunk {i}\n".encode()


def chunks(n: int) -> Iterator[bytes]:
    for i in range(n):
        yield chunk(i)
        if n > 10:  # the abandoned stream: slow enough for the client to leave
            time.sleep(0.01)


def wait_for(barrier: str, patience: float = 30.0) -> bool:
    deadline = time.monotonic() + patience
    while not os.path.exists(barrier):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def group(api_key: Optional[str], request: Any, body: Any = None) -> Optional[dict[str, str]]:
    """The caller's group: the label names the class of request the grouping function
    got and, on ``/json``, the ``name`` in the body it read."""
    kind = type(request)
    label = f"{kind.__module__}.{kind.__qualname__}"
    if isinstance(body, dict):
        label += f" {body.get('name')}"
    return {"api_key": api_key, "label": label, "email": "twin@example.com"} if api_key \
        else None


def _config(grouping: Callable[..., Any]) -> Any:
    from readme_metrics import MetricsApiConfig

    return MetricsApiConfig(grouping_function=grouping, base_log_url=DOCS)


# -- Flask -----------------------------------------------------------------------------


def _build_flask() -> Any:
    from flask import Flask, Response, request, stream_with_context

    from readme_metrics.flask_readme import ReadMeMetrics

    app = Flask(__name__)

    def respond(route: str, parsed: Any) -> Any:
        status, headers, body = answer(route, parsed)
        response = Response(body, status=status)
        response.headers.clear()
        for name, value in headers:
            response.headers.add(name, value)
        return response

    @app.post("/json")
    @app.post("/big")
    def json_view() -> Any:
        return respond("json", request.get_json())

    @app.post("/form")
    def form_view() -> Any:
        return respond("form", list(request.form.items(multi=True)))

    @app.post("/upload")
    def upload_view() -> Any:
        files = [[name, f.filename, len(f.read())] for name, f in request.files.items(multi=True)]
        return respond("upload", [list(request.form.items(multi=True)), files])

    @app.get("/query")
    def query_view() -> Any:
        return respond("query", list(request.args.items(multi=True)))

    @app.get("/cookie")
    def cookie_view() -> Any:
        return respond("cookie", None)

    @app.get("/redirect")
    def redirect_view() -> Any:
        return respond("redirect", None)

    @app.post("/noread")
    def noread_view() -> Any:
        wait_sent(request.environ)  # the unread body at the server first (flaky58)
        return respond("noread", None)

    @app.get("/boom")
    def boom_view() -> Any:
        raise RuntimeError("boom")

    @app.get("/stream")
    def stream_view() -> Any:
        n = int(request.args.get("n", "3"))
        return Response(stream_with_context(chunks(n)), content_type=TEXT)

    def grouping(req: Any) -> Optional[dict[str, str]]:
        body = req.get_json() if req.path == "/json" else None
        return group(req.headers.get("X-Api-Key"), req, body)

    ReadMeMetrics(_config(grouping), app)
    return app


# -- FastAPI ---------------------------------------------------------------------------


def _build_fastapi() -> Any:
    from fastapi import BackgroundTasks, FastAPI, Request, WebSocket
    from fastapi.responses import Response, StreamingResponse

    from readme_metrics.fastapi import ReadMeMetricsMiddleware

    app = FastAPI()

    def respond(route: str, parsed: Any) -> Any:
        status, headers, body = answer(route, parsed)
        response = Response(body, status_code=status)
        del response.headers["content-length"]
        response.raw_headers[:0] = [(k.lower().encode(), v.encode()) for k, v in headers]
        response.headers["content-length"] = str(len(body))
        return response

    @app.post("/json")
    @app.post("/big")
    async def json_view(request: Request) -> Any:
        return respond("json", await request.json())

    @app.post("/form")
    async def form_view(request: Request) -> Any:
        return respond("form", [list(item) for item in (await request.form()).multi_items()])

    @app.post("/upload")
    async def upload_view(request: Request) -> Any:
        form = await request.form()
        fields = [[k, v] for k, v in form.multi_items() if isinstance(v, str)]
        files = [[k, v.filename, len(await v.read())] for k, v in form.multi_items()
                 if not isinstance(v, str)]
        return respond("upload", [fields, files])

    @app.api_route("/query", methods=["GET", "HEAD"])
    async def query_view(request: Request) -> Any:
        return respond("query", [list(item) for item in request.query_params.multi_items()])

    @app.get("/cookie")
    async def cookie_view() -> Any:
        return respond("cookie", None)

    @app.get("/redirect")
    async def redirect_view() -> Any:
        return respond("redirect", None)

    @app.post("/noread")
    async def noread_view(request: Request) -> Any:
        await await_sent(request.scope)  # the unread body at the server first (flaky58)
        return respond("noread", None)

    @app.get("/boom")
    async def boom_view() -> Any:
        raise RuntimeError("boom")

    @app.get("/stream")
    def stream_view(n: int = 3) -> Any:
        return StreamingResponse(chunks(n), media_type=TEXT)

    @app.post("/background")
    async def background_view(tasks: BackgroundTasks, barrier: str, done: str) -> Any:
        def later() -> None:
            if wait_for(barrier):
                Path(done).write_text("done")

        tasks.add_task(later)
        return respond("noread", None)

    @app.websocket("/ws")
    async def websocket_view(websocket: WebSocket) -> None:
        await websocket.accept()
        await websocket.send_text("echo " + await websocket.receive_text())
        await websocket.close()

    async def grouping(request: Request) -> Optional[dict[str, str]]:
        body = await request.json() if request.url.path == "/json" else None
        return group(request.headers.get("x-api-key"), request, body)

    app.add_middleware(ReadMeMetricsMiddleware, config=_config(grouping))
    return app


# -- Django (views; settings and URLconf in tests/support/twins20_django.py) -----------


def django_views() -> dict[str, Callable[..., Any]]:
    from django.http import HttpResponse, StreamingHttpResponse

    def respond(route: str, parsed: Any) -> Any:
        status, headers, body = answer(route, parsed)
        response = HttpResponse(body, status=status)
        del response["Content-Type"]
        for name, value in headers:
            if name == "Set-Cookie":
                cookie, _, _ = value.partition(";")
                key, _, morsel = cookie.partition("=")
                response.set_cookie(key, morsel, path="/", httponly="HttpOnly" in value)
            else:
                response[name] = value
        return response

    def json_view(request: Any) -> Any:
        return respond("json", json.loads(request.body))

    def form_view(request: Any) -> Any:
        return respond("form", [[k, v] for k, vs in request.POST.lists() for v in vs])

    def upload_view(request: Any) -> Any:
        fields = [[k, v] for k, vs in request.POST.lists() for v in vs]
        files = [[k, f.name, len(f.read())] for k, fs in request.FILES.lists() for f in fs]
        return respond("upload", [fields, files])

    def query_view(request: Any) -> Any:
        return respond("query", [[k, v] for k, vs in request.GET.lists() for v in vs])

    def stream_view(request: Any) -> Any:
        return StreamingHttpResponse(chunks(int(request.GET.get("n", "3"))), content_type=TEXT)

    def boom_view(request: Any) -> Any:
        raise RuntimeError("boom")

    def noread_view(request: Any) -> Any:
        # The unread body at the server first (flaky58); under ASGI in the view's thread.
        wait_sent(request.META, getattr(request, "scope", None))
        return respond("noread", None)

    return {"json": json_view, "big": json_view, "form": form_view, "upload": upload_view,
            "query": query_view, "stream": stream_view, "boom": boom_view,
            "cookie": lambda request: respond("cookie", None),
            "redirect": lambda request: respond("redirect", None),
            "noread": noread_view}


def django_grouping(request: Any) -> Optional[dict[str, str]]:
    body = json.loads(request.body) if request.path == "/json" else None
    return group(request.headers.get("X-Api-Key"), request, body)


class _Lazy:
    """An app built on its first call, in the server process (servers look the name up in
    the module's namespace)."""

    def __init__(self, build: Callable[[], Any]) -> None:
        self._build = build
        self._app: Any = None

    def get(self) -> Any:
        if self._app is None:
            self._app = self._build()
        return self._app


_FLASK = _Lazy(_build_flask)
_FASTAPI = _Lazy(_build_fastapi)


def flask_app(environ: Any, start_response: Any) -> Any:
    return _FLASK.get()(environ, start_response)


async def fastapi_app(scope: Any, receive: Any, send: Any) -> None:
    await _FASTAPI.get()(scope, receive, send)
