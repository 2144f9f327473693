"""The same small API in four shapes, served by real WSGI servers in test_e2e_servers.py.

``plain_app`` (PEP 3333 callable), ``bottle_app`` (both wrapped in the WSGI middleware),
``flask_app`` (the Flask extension) and ``django_app`` / ``django_asgi_app`` (the Django
middleware under WSGI and ASGI; this module is also its settings module and URLconf).
Configuration comes from the ``README_*`` environment the test sets, so the servers are
started exactly as in production.

Endpoints, identical in every framework:

- ``GET /hello?name=...``: JSON greeting, sets a cookie.
- ``POST /echo``: answers the request body as received, with its Content-Type.
- ``POST /upload``: multipart form; answers the field and the file's name, size, sha256.
- ``GET /stream?barrier=<path>``: yields ``first``, waits until the file ``barrier``
  exists (the client creates it after receiving ``first``, so a buffered response would
  time out), then ``second`` and ``third``.
- ``GET /nolog``: the grouping function returns None for it.
- ``GET /raise-stream/<mode>`` (Django): a 201 streamed from a generator that raises at
  its first chunk, after an empty chunk, or ``while-iterating`` (after ``partial``).
- ``POST /noread``: answers ``ok`` without touching the request body (``/noread-list``:
  the same as a list, in the plain app only; ``/noread-stream``: as a generator without
  Content-Length, so chunked under HTTP/1.1, in the plain and the Django app).
- ``POST /read-all`` (plain app): answers the body, read with ``wsgi.input.read()``.
- ``POST /read-later?rest=N`` (plain app, uWSGI only): answers ``first;``, then, once the
  connection holds N more bytes of the body, ``<length>:<body>`` as read then.
- ``POST /read-stream`` (plain and Django apps): answers ``<length>:<body>``, reading the
  body only as the answer goes, after the response has started. In Django,
  ``?ran=<path>`` makes the view create that file, so a client knows it has run.

``plain_bare`` is the plain app unwrapped, to compare the wrapped app with. Run as
``python -m tests.support.e2e_apps SERVER ATTRIBUTE PORT`` it serves an app under werkzeug's
development server (``threaded`` as ``flask run``, or ``werkzeug-single``) or wsgiref.

The grouping function takes the caller from the ``X-Api-Key`` header and puts in the
label what kind of request object it received, so the test can check each adapter (with
``X-Read-Body``, ``body:`` and the body it read instead).
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from typing import TYPE_CHECKING, Any, AsyncIterator, Callable, Iterator, Optional

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

BARRIER_WAIT = 10.0


def _wait_for(barrier: str) -> bytes:
    deadline = time.monotonic() + BARRIER_WAIT
    while time.monotonic() < deadline:
        if barrier and os.path.exists(barrier):
            return b"second\n"
        time.sleep(0.01)
    return b"timeout\n"


def stream_chunks(barrier: str) -> Iterator[bytes]:
    yield b"first\n"
    yield _wait_for(barrier)
    yield b"third\n"


async def async_stream_chunks(barrier: str) -> AsyncIterator[bytes]:
    import anyio  # not asyncio: the ASGI apps also run under trio (hypercorn -k trio)

    yield b"first\n"
    deadline = time.monotonic() + BARRIER_WAIT
    while not (barrier and os.path.exists(barrier)) and time.monotonic() < deadline:
        await anyio.sleep(0.01)
    yield b"second\n" if barrier and os.path.exists(barrier) else b"timeout\n"
    yield b"third\n"


def raising_app(mode: str, error: BaseException) -> Callable[..., Iterator[bytes]]:
    """An app that starts a 201 (but for ``before-start``), then raises ``error``:
    before answering, from its call, at its first chunk, after an empty or a non-empty
    chunk, or after write()."""
    def app(environ: WSGIEnvironment, start_response: StartResponse) -> Iterator[bytes]:
        if mode == "before-start":
            raise error
        write = start_response("201 Created", [("Content-Type", "text/plain"),
                                               ("X-App", "yes")])
        if mode == "after-start":
            raise error
        if mode == "after-write":
            write(b"written")
            raise error
        return body()

    def body() -> Iterator[bytes]:
        if mode == "after-an-empty-chunk":
            yield b""
        elif mode == "while-iterating":
            yield b"partial"
        raise error

    return app


def restarting_app(mode: str) -> Callable[..., Iterator[bytes]]:
    """An app that calls start_response again with ``exc_info`` (PEP 3333's error path):
    a 201 with X-First, then a 503 with X-Second from its call (``exc-info``) or from its
    iterable before any chunk (``in-iterable``), or a 500 after a first chunk
    (``after-first-chunk``); or (``lazy``) a 202 started from its iterable only."""
    import sys

    first = [("Content-Type", "text/plain"), ("X-First", "1")]
    second = [("Content-Type", "text/plain"), ("X-Second", "1")]

    def restart(start_response: StartResponse, status: str) -> None:
        try:
            raise RuntimeError("the app failed")
        except RuntimeError:
            start_response(status, second, sys.exc_info())

    def app(environ: WSGIEnvironment, start_response: StartResponse) -> Iterator[bytes]:
        if mode == "lazy":
            return lazy(start_response)
        start_response("201 Created", first)
        if mode == "exc-info":
            restart(start_response, "503 Service Unavailable")
            return iter([b"busy"])
        return body(start_response)

    def lazy(start_response: StartResponse) -> Iterator[bytes]:
        start_response("202 Accepted", first)
        yield b"lazy"

    def body(start_response: StartResponse) -> Iterator[bytes]:
        if mode == "in-iterable":
            restart(start_response, "503 Service Unavailable")
            yield b"busy"
            return
        yield b"first"
        restart(start_response, "500 Internal Server Error")
        yield b"second"

    return app


#: What a client of wsgiref, werkzeug, gunicorn and waitress gets from raising_app: the
#: server sends the status with the first chunk or write() (PEP 3333), so until then it
#: answers its own 500. An empty first chunk: waitress skips it (500), the others send the
#: 201 (kept). uWSGI and granian differ (test_e2e_servers.RAISING_ELSEWHERE).
RAISING_MODES = {
    "before-start": 500, "after-start": 500, "at-the-first-chunk": 500,
    "after-an-empty-chunk": 201, "while-iterating": 201, "after-write": 201,
}


def upload_answer(field: Optional[str], name: Optional[str], data: bytes) -> bytes:
    return json.dumps({
        "field": field, "name": name, "size": len(data),
        "sha256": hashlib.sha256(data).hexdigest(),
    }).encode()


def group(api_key: Optional[str], path: str, kind: str) -> Optional[dict[str, str]]:
    if path.endswith("/nolog") or not api_key:
        return None
    return {"api_key": api_key, "label": kind, "email": f"{api_key}@example.com"}


def webob_grouping(request: Any) -> Optional[dict[str, str]]:
    kind = f"{type(request).__module__}.{type(request).__name__}"
    if request.headers.get("X-Read-Body"):  # the label tells what request.body gave
        kind = "body:" + request.body.decode("latin-1")
    # PATH_INFO as the server gave it: request.path fails for a path that is no UTF-8.
    return group(request.headers.get("X-Api-Key"), request.environ.get("PATH_INFO", ""),
                 kind)


# -- plain PEP 3333 --------------------------------------------------------------------


def _plain(environ: WSGIEnvironment, start_response: StartResponse) -> Iterator[bytes]:
    from urllib.parse import parse_qs

    path = environ.get("PATH_INFO", "")
    query = parse_qs(environ.get("QUERY_STRING", ""))
    if path == "/hello":
        body = json.dumps({"hello": query.get("name", [""])[0]}).encode()
        start_response("200 OK", [("Content-Type", "application/json"),
                                  ("Content-Length", str(len(body))),
                                  ("Set-Cookie", "session=s3cr3t; Path=/")])
        return iter([body])
    if path == "/echo":
        length = int(environ.get("CONTENT_LENGTH") or 0)
        data = environ["wsgi.input"].read(length)
        start_response("200 OK", [("Content-Type", environ.get("CONTENT_TYPE", "")),
                                  ("Content-Length", str(len(data)))])
        return iter([data])
    if path == "/upload":
        import webob

        request = webob.Request(environ)
        upload = request.POST["file"]
        body = upload_answer(request.POST.get("field"), upload.filename, upload.file.read())
        start_response("200 OK", [("Content-Type", "application/json"),
                                  ("Content-Length", str(len(body)))])
        return iter([body])
    if path == "/stream":
        start_response("200 OK", [("Content-Type", "text/plain")])
        return stream_chunks(query.get("barrier", [""])[0])
    if path.startswith("/raise/"):  # this app only: a 201 started, then an exception
        return raising_app(path[7:], RuntimeError("the app failed"))(environ, start_response)
    if path == "/length-lie":  # a Content-Length short of the body (len() of the text)
        write = start_response("200 OK", [("Content-Type", "text/plain; charset=utf-8"),
                                          ("Content-Length", query.get("n", ["3"])[0])])
        if query.get("write"):
            write(b"caf")
            return iter(["\u00e9 ok".encode()])
        return iter([b"caf", "\u00e9 ok".encode()])
    if path.startswith("/status/"):  # any status, as the app gives it, with a body
        start_response(f"{path[8:]} Status", [("Content-Type", "text/plain")])
        return iter([b"body"])
    if path.startswith("/restart/"):  # this app only: start_response called again
        return restarting_app(path[9:])(environ, start_response)
    if path == "/read-all":  # reads wsgi.input to its end (a chunked body the server ends)
        data = environ["wsgi.input"].read()
        start_response("200 OK", [("Content-Type", "text/plain"),
                                  ("Content-Length", str(len(data)))])
        return iter([data])
    if path == "/read-stream":  # reads the body as its answer goes, after start_response
        start_response("200 OK", [("Content-Type", "text/plain")])
        return _read_as_it_goes(environ)
    if path == "/read-later":  # uWSGI: reads the body after a first chunk, once it is in
        start_response("200 OK", [("Content-Type", "text/plain")])
        return _read_once_arrived(environ, int(query.get("rest", ["0"])[0]))
    if path == "/noread-stream":  # no length: the server ends the answer after the iterable
        start_response("200 OK", [("Content-Type", "text/plain")])
        return (part for part in [b"ok"])
    # With a length: a keep-alive server (uWSGI --http11-socket) can end the answer
    # without closing the connection.
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "2")])
    if path == "/noread-list":  # a list: servers send it without iterating an app object
        return [b"ok"]
    return iter([b"ok"])


def _read_as_it_goes(environ: WSGIEnvironment) -> Iterator[bytes]:
    body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
    yield f"{len(body)}:".encode() + body


def _read_once_arrived(environ: WSGIEnvironment, rest: int) -> Iterator[bytes]:
    """``first;``, then (uWSGI only) once the connection holds ``rest`` bytes more of the
    body (BARRIER_WAIT at most), ``<length>:<body>`` read with ``read(CONTENT_LENGTH)``."""
    import fcntl
    import struct
    import termios

    import uwsgi  # type: ignore[import-not-found]

    yield b"first;"
    fd = uwsgi.connection_fd()
    deadline = time.monotonic() + BARRIER_WAIT
    while struct.unpack("i", fcntl.ioctl(fd, termios.FIONREAD, b"\0\0\0\0"))[0] < rest:
        if time.monotonic() > deadline:
            break
        time.sleep(0.005)
    body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
    yield f"{len(body)}:".encode() + body


def _build_plain() -> Any:
    from readme_metrics import MetricsApiConfig, MetricsMiddleware

    _body_grace("plain_app")
    return MetricsMiddleware(_plain, MetricsApiConfig(grouping_function=webob_grouping))


#: The modules whose code reads the wait for a body in flight (``GRACE``, imported from
#: capture/body.py), by adapter: each binds its own copy, and the wait is the one there.
GRACE_READERS = {"plain_app": "readme_metrics.capture.wsgi_response",
                 "django_app": "readme_metrics.django_exchange"}


def _body_grace(app: str) -> None:
    """E2E_BODY_GRACE (tests): a longer wait for a body in flight in the adapter serving
    ``app``. A module without GRACE of its own (its code moved: django.py's went to
    django_exchange.py, and a GRACE set on django.py lengthened nothing, flake26) raises
    rather than leave the wait at 50 ms."""
    if os.environ.get("E2E_BODY_GRACE"):
        import importlib

        module = importlib.import_module(GRACE_READERS[app])
        if not hasattr(module, "GRACE"):
            raise AttributeError(f"E2E_BODY_GRACE: {module.__name__} reads no GRACE")
        module.GRACE = float(os.environ["E2E_BODY_GRACE"])


# -- Bottle ----------------------------------------------------------------------------


def _build_bottle() -> Any:
    import bottle

    from readme_metrics import MetricsApiConfig, MetricsMiddleware

    app = bottle.Bottle()

    @app.get("/hello")
    def hello() -> Any:
        bottle.response.set_cookie("session", "s3cr3t", path="/")
        return {"hello": bottle.request.query.getunicode("name", default="")}

    @app.post("/echo")
    def echo() -> bytes:
        bottle.response.content_type = bottle.request.content_type
        return bottle.request.body.read()

    @app.post("/upload")
    def upload() -> bytes:
        upload = bottle.request.files.get("file")
        bottle.response.content_type = "application/json"
        return upload_answer(bottle.request.forms.getunicode("field"), upload.raw_filename,
                             upload.file.read())

    @app.get("/stream")
    def stream() -> Iterator[bytes]:
        bottle.response.content_type = "text/plain"
        return stream_chunks(bottle.request.query.get("barrier", ""))

    @app.route("/nolog", method=["GET", "OPTIONS"])
    def nolog() -> str:
        return "ok"

    @app.post("/noread")
    def noread() -> str:
        return "ok"

    return MetricsMiddleware(app, MetricsApiConfig(grouping_function=webob_grouping))


# -- Flask -----------------------------------------------------------------------------


def _build_flask() -> Any:
    from flask import Flask, Response, g, jsonify, request, stream_with_context

    from readme_metrics import MetricsApiConfig
    from readme_metrics.flask_readme import ReadMeMetrics

    app = Flask(__name__)

    @app.before_request
    def who() -> None:
        g.caller = request.headers.get("X-Api-Key")  # what a login extension would do

    @app.get("/hello")
    def hello() -> Any:
        response = jsonify(hello=request.args.get("name", ""))
        response.set_cookie("session", "s3cr3t")
        return response

    @app.post("/echo")
    def echo() -> Any:
        return Response(request.get_data(), content_type=request.content_type)

    @app.post("/upload")
    def upload() -> Any:
        upload = request.files["file"]
        return Response(upload_answer(request.form.get("field"), upload.filename,
                                      upload.read()), content_type="application/json")

    @app.get("/stream")
    def stream() -> Any:
        def chunks() -> Iterator[bytes]:
            # request is still usable here: the context stays with the generator.
            yield from stream_chunks(request.args.get("barrier", ""))

        return Response(stream_with_context(chunks()), content_type="text/plain")

    @app.get("/nolog")
    def nolog() -> str:
        return "ok"

    @app.post("/noread")
    def noread() -> str:
        return "ok"

    def flask_grouping(req: Any) -> Optional[dict[str, str]]:
        # flask.g only exists inside Flask's request context: this proves we are in it.
        kind = f"{type(req).__module__}.{type(req).__name__}"
        if req.headers.get("X-Read-Body"):  # the label tells what get_data() gave
            kind = "body:" + req.get_data().decode("latin-1")
        return group(g.caller, req.path, kind)

    ReadMeMetrics(MetricsApiConfig(grouping_function=flask_grouping)).init_app(app)
    return app


# -- Django (this module is also the settings module and the URLconf) ------------------

SECRET_KEY = "e2e-not-secret"
DEBUG = False
ALLOWED_HOSTS = ["*"]
ROOT_URLCONF = __name__
USE_TZ = True
MIDDLEWARE = ["readme_metrics.django.MetricsMiddleware"]
if os.environ.get("E2E_STATICFILES"):  # runserver --insecure serves /static/ then
    INSTALLED_APPS = ["django.contrib.staticfiles"]
    STATIC_URL = "/static/"
WSGI_APPLICATION = f"{__name__}.django_app"  # runserver serves it too (E2E_BODY_GRACE)
# README_METRICS_CONFIG is left out on purpose: the middleware reads README_* variables
# (README_GROUPING_FUNCTION=tests.support.e2e_apps.django_grouping).


def django_grouping(request: Any) -> Optional[dict[str, str]]:
    kind = f"{type(request).__module__}.{type(request).__name__}"
    if request.headers.get("X-Read-Body"):  # the label tells what request.body gave
        kind = "body:" + request.body.decode("latin-1")
    return group(request.headers.get("X-Api-Key"), request.path, kind)


def _django_views() -> list[Any]:
    from django.http import HttpResponse, JsonResponse, StreamingHttpResponse
    from django.urls import path
    from django.views.decorators.csrf import csrf_exempt

    def hello(request: Any) -> Any:
        response = JsonResponse({"hello": request.GET.get("name", "")})
        response.set_cookie("session", "s3cr3t")
        return response

    @csrf_exempt
    def echo(request: Any) -> Any:
        return HttpResponse(request.body, content_type=request.content_type)

    @csrf_exempt
    def upload(request: Any) -> Any:
        upload = request.FILES["file"]
        return HttpResponse(upload_answer(request.POST.get("field"), upload.name,
                                          upload.read()), content_type="application/json")

    def stream(request: Any) -> Any:
        barrier = request.GET.get("barrier", "")
        if hasattr(request, "scope"):  # ASGI: Django streams async iterators only
            return StreamingHttpResponse(async_stream_chunks(barrier),
                                         content_type="text/plain")
        return StreamingHttpResponse(stream_chunks(barrier), content_type="text/plain")

    def nolog(request: Any) -> Any:
        return HttpResponse(b"ok")

    @csrf_exempt
    def noread(request: Any) -> Any:
        ran = request.GET.get("ran")
        if ran:  # tells the client the view has run (and answered)
            with open(ran, "w"):
                pass
        return HttpResponse(b"ok")

    @csrf_exempt
    def noread_stream(request: Any) -> Any:
        return StreamingHttpResponse(iter([b"ok"]), content_type="text/plain")

    @csrf_exempt
    def read_stream(request: Any) -> Any:
        def read_as_it_goes() -> Iterator[bytes]:
            body = request.read()  # once the answer is under way, not in the view
            yield f"{len(body)}:".encode() + body

        return StreamingHttpResponse(read_as_it_goes(), content_type="text/plain")

    def raise_stream(request: Any, mode: str) -> Any:
        def chunks() -> Iterator[bytes]:
            if mode == "after-an-empty-chunk":
                yield b""
            elif mode == "while-iterating":
                yield b"partial"
            raise RuntimeError(f"raise-stream {mode}")

        return StreamingHttpResponse(chunks(), status=201, content_type="text/plain")

    def layers(request: Any) -> Any:  # what the middleware left for the app to see
        import threading

        from readme_metrics.capture.nesting import MARK

        return JsonResponse({"marked": MARK in request.META, "senders": sum(
            thread.name == "readme-metrics-worker" for thread in threading.enumerate())})

    def file(request: Any) -> Any:  # Django's FileResponse of a file of ``size`` bytes
        from django.http import FileResponse

        from tests.support.asgi_cases import big_file

        return FileResponse(open(big_file(int(request.GET["size"])), "rb"))

    def length_lie(request: Any) -> Any:  # a Content-Length short of the body (or past it)
        if request.GET.get("stream") and not hasattr(request, "scope"):  # streamed
            response = StreamingHttpResponse(iter([b"caf\xc3\xa9", b" ok"]),
                                             content_type="text/plain")
            response["Content-Length"] = request.GET.get("n", "3")
            return response
        response = HttpResponse("caf\u00e9 ok".encode(), content_type="text/plain")
        response["Content-Length"] = request.GET.get("n", "3")
        return response

    return [path("hello", hello), path("echo", echo), path("upload", upload),
            path("length-lie", length_lie), path("layers", layers), path("file", file),
            path("stream", stream), path("nolog", nolog), path("noread", noread),
            path("noread-stream", noread_stream), path("read-stream", read_stream),
            path("raise-stream/<str:mode>", raise_stream)]


def _build_django_asgi_stacked() -> Any:
    """Django's ASGI handler, its Django middleware (MIDDLEWARE above) inside, wrapped by
    the ASGI middleware too: one project stacked twice (capture/nesting.py), each call
    logged once, by the outer layer (its grouping function gets a webob Request)."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", __name__)
    from django.core.asgi import get_asgi_application

    from readme_metrics import MetricsApiConfig
    from readme_metrics.asgi import MetricsMiddleware

    return MetricsMiddleware(get_asgi_application(),
                             MetricsApiConfig(grouping_function=webob_grouping))


_BUILDERS: dict[str, Callable[[], Any]] = {
    "plain_app": _build_plain,
    "plain_bare": lambda: _plain,
    "bottle_app": _build_bottle,
    "flask_app": _build_flask,
    "django_asgi_stacked": _build_django_asgi_stacked,
}


def __getattr__(name: str) -> Any:
    # Built on first access, so each server process only imports its own framework;
    # stored as a module global so later lookups do not come back here.
    if name == "urlpatterns":
        value: Any = _django_views()
    elif name == "django_app":
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", __name__)
        from django.core.wsgi import get_wsgi_application

        _body_grace("django_app")
        value = get_wsgi_application()
    elif name == "django_asgi_app":
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", __name__)
        from django.core.asgi import get_asgi_application

        value = get_asgi_application()
    elif name in _BUILDERS:
        value = _BUILDERS[name]()
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value
    return value


def serve_forever(server: str, attribute: str, port: int) -> None:
    """Serve ``attribute`` of this module on 127.0.0.1:``port`` under a stdlib-based server."""
    app = __getattr__(attribute)
    if server == "wsgiref":
        from wsgiref.simple_server import make_server

        make_server("127.0.0.1", port, app).serve_forever()
    else:  # werkzeug's development server, threaded as ``flask run`` is, or not
        from werkzeug.serving import run_simple

        run_simple("127.0.0.1", port, app, threaded=server == "werkzeug")


if __name__ == "__main__":
    import sys

    from tests.support import e2e_apps  # the module under its real name, not as __main__

    e2e_apps.serve_forever(sys.argv[1], sys.argv[2], int(sys.argv[3]))
