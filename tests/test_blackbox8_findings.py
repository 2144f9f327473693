"""blackbox8: the capture under servers and workers not checked before, as a user sees it.

1. gunicorn's gevent worker (``-k gevent``): an app's ``sys.exit()`` (a SystemExit) after
   it started its 201, before the server had a chunk, from the app's call or its
   iterable's first ``next()``. The worker's ``handle_request`` swallows a SystemExit
   (``except SystemExit: pass``) and closes the connection with nothing sent; the log
   said the server answered its own 500, which no client got. Now logged as no answer,
   as under the gthread worker. A KeyboardInterrupt there passes on to the worker's
   ``handle_error``, which answers its 500: logged so, before and after.
2. daphne sends every body message after the first of an answer HTTP allows no body
   (HEAD, 204, 304), unframed: logged as no body (see the tests).
3. A HEAD answer whose Content-Length says the length of the GET's body, as
   RFC 9110 asks, with no body: Flask's (werkzeug's Response gives an empty iterable
   for HEAD, its Content-Length kept), under the servers that send what the app gives
   for HEAD (waitress, werkzeug's, wsgiref, uWSGI), was logged "incomplete: the app's
   answer was shorter than its Content-Length: 0 of N bytes; the client's answer was
   cut short there": no client reads a body for HEAD.
4. A KeyboardInterrupt landing in the WSGI middleware's ``Response.__init__``: Python
   printed "Exception ignored in: <function Response.__del__>".
5. uWSGI (``--http-socket``), taken to answer as for any error: it sends nothing and
   closes the connection for an app that raises before it started a status (no 500 of
   its own), and for a SystemExit (an app's ``sys.exit()``: its worker dies and is
   respawned) before the first chunk; the log said 500, or the app's 201. Now "no
   answer reached the client".
6. Django under a WSGI server that sends a HEAD answer's body (waitress, uWSGI): Django
   leaves dropping it to the server, and the client got it all (a FileResponse's file
   by sendfile, a StreamingHttpResponse's chunks); the Django middleware logged no body,
   where the WSGI middleware logs what those servers send.
7. gunicorn's ``-k gevent_pywsgi`` (gevent's pywsgi) sends a HEAD answer's body too:
   logged as none.
"""

from __future__ import annotations

import importlib.util
import itertools
import socket
import subprocess
from collections.abc import Iterator
from typing import Any, Callable, Optional

import pytest

from tests.support.capture_wrap import only_log, wrap_fixture  # noqa: F401 - ``wrap``
from tests.support.fake_api import Collector
from tests.support.wsgi_servers import served
from tests.test_e2e_servers import GUNICORN
from tests.test_exit18_findings import served_once
from tests.test_greenlet_servers import _worker_missing

_GEVENT_APP = """\
import os
import sys

from readme_metrics import MetricsApiConfig, MetricsMiddleware

ERROR = SystemExit if os.environ["STOP_WITH"] == "SystemExit" else KeyboardInterrupt


def chunks():
    raise ERROR()
    yield b"never"


def inner(environ, start_response):
    start_response("201 Created", [("Content-Type", "text/plain")])
    if environ["PATH_INFO"] == "/call":
        raise ERROR()
    return chunks()


# (buffer_length=1: the worker outlives the request, its log is posted at once)
app = MetricsMiddleware(inner, MetricsApiConfig(
    buffer_length=1, grouping_function=lambda request: {"api_key": "caller-1"}))
"""

NO_GEVENT = pytest.mark.skipif(bool(_worker_missing("gevent")),
                               reason=_worker_missing("gevent") or "-")


@NO_GEVENT
@pytest.mark.e2e
@pytest.mark.parametrize("error", ["SystemExit", "KeyboardInterrupt"])
@pytest.mark.parametrize("where", ["call", "iterable"])
def test_gevent_worker_and_a_stop_before_the_first_chunk(
        collector: Collector, where: str, error: str, tmp_path: Any,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STOP_WITH", error)
    got, response = served_once(tmp_path, collector, _GEVENT_APP, where, lambda port: [
        *GUNICORN[1:], "--worker-class=gevent", f"--bind=127.0.0.1:{port}",
        "exit18_app:app"])
    assert (response["status"], response["headers"]) == (500, []), response
    if error == "KeyboardInterrupt":
        assert got.startswith(b"HTTP/1.1 500 Internal Server Error\r\n"), got
        assert response["comment"].startswith("the server answered 500"), response
    else:
        assert got == b""
        assert response["comment"] == (
            "no answer reached the client: the server stopped serving the request at a "
            "SystemExit and closed the connection; the app answered 201"), response


# -- 2. daphne sends a body-less answer's later body messages ------------------------

_LATER_BODIES_APP = """\
from readme_metrics import MetricsApiConfig
from readme_metrics.asgi import MetricsMiddleware


async def inner(scope, receive, send):
    status = int(scope["path"].strip("/"))
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": b"one-", "more_body": True})
    await send({"type": "http.response.body", "body": b"two-", "more_body": True})
    await send({"type": "http.response.body", "body": b"three"})


# (buffer_length=1: the log is posted as the answer ends)
app = MetricsMiddleware(inner, MetricsApiConfig(
    buffer_length=1, grouping_function=lambda request: {"api_key": "caller-1"}))
"""

_ASGI_SERVERS = {
    "daphne": lambda port: ["daphne", "-b", "127.0.0.1", "-p", str(port), "bb8_app:app"],
    "uvicorn": lambda port: ["uvicorn", "--host=127.0.0.1", f"--port={port}",
                             "--lifespan=off", "--no-access-log", "bb8_app:app"],
}


def _raw_exchange(port: int, process: Optional[subprocess.Popen[str]], request_line: str,
                  collector: Collector) -> tuple[bytes, dict[str, Any]]:
    """``request_line`` (its target tagged ``?case=<n>``, a tag of its own) on a connection
    of its own (``Connection: close``) to a server a module fixture keeps (``process``,
    where given, waited for as it starts to listen): the bytes the client got, and the
    log with its tag."""
    from tests.test_exit14_findings import _connect

    method, target = request_line.split(" ", 1)
    tag = f"case={next(_CASES)}"
    connected = (_connect(port, process) if process is not None
                 else socket.create_connection(("127.0.0.1", port), timeout=30))
    with connected as sock:
        sock.sendall(f"{method} {target}?{tag} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                     "Connection: close\r\n\r\n".encode())
        got = b"".join(iter(lambda: sock.recv(65536), b""))
    log = collector.wait_for_log(
        lambda log: log["request"]["log"]["entries"][0]["request"]["url"].endswith(tag))
    return got, log


_CASES = itertools.count()


def _kept(process: subprocess.Popen[str], port: int) -> Iterator[tuple[subprocess.Popen[str], int]]:
    """A module fixture's server (:func:`tests.test_exit14_findings._serve`'s), stopped
    as the tests stopped their own: SIGTERM, its end waited for, what it left ended."""
    from tests.support.processes import end_stragglers

    try:
        yield process, port
    finally:
        process.terminate()
        process.communicate(timeout=30)
        end_stragglers(process)


@pytest.fixture(scope="module")
def later_bodies_served(server: str, module_collector: Collector,
                        tmp_path_factory: pytest.TempPathFactory
                        ) -> Iterator[tuple[subprocess.Popen[str], int]]:
    """``_LATER_BODIES_APP`` under ``server``, for every case of that server."""
    from tests.test_exit14_findings import _serve

    tmp = tmp_path_factory.mktemp(f"bb8-{server}")
    yield from _kept(*_serve(tmp, module_collector, "bb8_app", _LATER_BODIES_APP,
                             _ASGI_SERVERS[server], background=False))


@pytest.mark.e2e
@pytest.mark.parametrize("request_line", ["HEAD /200", "GET /204", "GET /304"])
@pytest.mark.parametrize("server", [
    pytest.param("daphne", marks=pytest.mark.skipif(
        importlib.util.find_spec("daphne") is None, reason="daphne is not installed")),
    "uvicorn"], scope="module")
def test_a_body_less_answer_is_logged_with_the_body_the_client_got(
        kept_collector: Collector,
        later_bodies_served: tuple[subprocess.Popen[str], int], server: str,
        request_line: str) -> None:
    """An ASGI app answering HEAD, 204 or 304 with three body messages (Starlette's
    StreamingResponse on HEAD, Django's FileResponse or StreamingHttpResponse under its
    ASGI handler). uvicorn drops them all: logged with no body, before and after. daphne
    drops only the first: Twisted's Request.write swaps itself for a no-op once it wrote
    the head of such an answer, but daphne calls the class's ``write`` for each message,
    so the client gets the later ones, unframed (on a kept-alive connection, read as
    the next answer's start). They were logged as no body (size 0); now as what the
    client got (the 3 daphne cases failed before). One server for the cases of each."""
    process, port = later_bodies_served
    got, log = _raw_exchange(port, process, request_line, kept_collector)
    head, _, body = got.partition(b"\r\n\r\n")
    assert head.startswith(f"HTTP/1.1 {request_line[-3:]} ".encode()), got
    assert body == (b"two-three" if server == "daphne" else b""), got
    response = log["request"]["log"]["entries"][0]["response"]
    assert response["status"] == int(request_line[-3:]), response
    assert (response["bodySize"], response["content"]["size"],
            response["content"].get("text", "")) == (len(body), len(body), body.decode()), \
        response


_DJANGO_APP = """\
from django.conf import settings

from readme_metrics import MetricsApiConfig

settings.configure(
    ALLOWED_HOSTS=["*"], ROOT_URLCONF=__name__, SECRET_KEY="bb8",
    MIDDLEWARE=["readme_metrics.django.MetricsMiddleware"],
    README_METRICS_CONFIG=MetricsApiConfig(
        buffer_length=1, grouping_function=lambda request: {"api_key": "caller-1"}))

from django.core.asgi import get_asgi_application
from django.core.wsgi import get_wsgi_application
from django.http import FileResponse, HttpResponse, StreamingHttpResponse
from django.urls import path

BODY = bytes(range(256)) * 400  # 102,400 bytes: two of the ASGI handler's messages


def whole(request):
    return HttpResponse(BODY, content_type="application/octet-stream")


def stream(request):
    return StreamingHttpResponse(iter([b"one-", b"two-", b"three"]), content_type="text/plain")


def file(request):
    return FileResponse(open(__file__, "rb"))


urlpatterns = [path("whole", whole), path("stream", stream), path("file", file)]
app = get_asgi_application()
wsgi = get_wsgi_application()
"""


@pytest.fixture(scope="module")
def django_daphne_served(module_collector: Collector,
                         tmp_path_factory: pytest.TempPathFactory
                         ) -> Iterator[tuple[subprocess.Popen[str], int]]:
    """``_DJANGO_APP`` under daphne, for every view's case."""
    from tests.test_exit14_findings import _serve

    tmp = tmp_path_factory.mktemp("bb8-django-daphne")
    yield from _kept(*_serve(tmp, module_collector, "bb8_app", _DJANGO_APP, lambda port: [
        "daphne", "-b", "127.0.0.1", "-p", str(port), "bb8_app:app"], background=False))


@pytest.mark.e2e
@pytest.mark.skipif(importlib.util.find_spec("daphne") is None, reason="daphne is not installed")
@pytest.mark.parametrize("view", ["whole", "stream", "file"])
def test_django_under_daphne_logs_the_head_answer_the_client_got(
        kept_collector: Collector,
        django_daphne_served: tuple[subprocess.Popen[str], int], view: str) -> None:
    """The same through the Django middleware, which sees the response, not the
    messages: Django's ASGI handler sends a body in messages of 64 KiB (a stream's each
    chunk, cut there), and daphne drops the first. A HEAD of an HttpResponse over 64 KiB,
    a StreamingHttpResponse or a FileResponse (this module's source, read in 64 KiB
    blocks, one here): the client got the rest, logged as no body before (the
    StreamingHttpResponse and the HttpResponse cases failed; the FileResponse's first
    and only block is all dropped). One daphne for the three."""
    process, port = django_daphne_served
    got, log = _raw_exchange(port, process, f"HEAD /{view}", kept_collector)
    head, _, body = got.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 "), got
    expected = {"whole": bytes(range(256)) * 400, "stream": b"one-two-three", "file": b""}[view]
    assert body == {"whole": expected[65536:], "stream": b"two-three", "file": b""}[view]
    response = log["request"]["log"]["entries"][0]["response"]
    assert (response["bodySize"], response["content"]["size"]) == (len(body), len(body)), \
        response
    if view == "stream":
        assert response["content"]["text"] == "two-three", response


# -- 3. a HEAD or 304 answer's Content-Length, no body: not "cut short" ----------------


def _flask_app() -> Any:
    from flask import Flask, send_file

    app = Flask(__name__)

    @app.route("/text")
    def text() -> str:
        return "hello, world"

    @app.route("/file")
    def file() -> Any:
        return send_file(__file__)

    @app.route("/not-modified")
    def not_modified() -> Any:
        return "", 304, {"Content-Length": "12"}

    return app


@pytest.mark.e2e
@pytest.mark.parametrize("request_line", ["HEAD /text", "HEAD /file", "GET /not-modified"])
@pytest.mark.parametrize("server", ["waitress", "werkzeug", "wsgiref"])
def test_a_head_answer_with_its_content_length_is_no_cut_answer(
        wrap: Callable[..., Any], collector: Collector, server: str,
        request_line: str) -> None:
    """Flask behind the WSGI middleware, a raw client's HEAD (or GET of a 304 that
    keeps its Content-Length): the client got the head, Content-Length and all, and no
    body, as HTTP says; the log says so, with no "incomplete" comment (8 of the 9 cases
    failed before: werkzeug's server drops Flask's 304 header itself)."""
    with served(server, wrap(_flask_app())) as port, \
            socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(f"{request_line} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                     "Connection: close\r\n\r\n".encode())
        got = b"".join(iter(lambda: sock.recv(65536), b""))
    head, _, body = got.partition(b"\r\n\r\n")
    assert body == b"", got
    response = only_log(collector)["request"]["log"]["entries"][0]["response"]
    assert (response["bodySize"], response["content"]["size"]) == (0, 0), response
    assert "comment" not in response["content"], response


# -- 4. a signal inside Response.__init__: nothing printed ---------------------------


def test_a_signal_landing_in_the_responses_init_prints_nothing(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A KeyboardInterrupt (Ctrl-C under a server that runs the app in the main thread)
    landing in the WSGI middleware's ``Response.__init__`` before it set ``_closed``:
    the half-made object's finalizer read ``_closed`` outside its guard, and Python
    printed "Exception ignored in: <function Response.__del__> ... AttributeError:
    _closed" to stderr (the library never prints). Now its finalizer does nothing then.
    Failed before (one unraisable AttributeError)."""
    import gc
    import sys

    from readme_metrics.capture.wsgi_response import Response

    unraisable: list[Any] = []
    monkeypatch.setattr(sys, "unraisablehook", unraisable.append)
    code = Response.__init__.__code__

    def in_init(frame: Any, event: str, arg: Any) -> Any:
        response = frame.f_locals.get("self")
        if (event == "line" and hasattr(response, "_capture")
                and not hasattr(response, "_closed")):
            sys.settrace(None)
            raise KeyboardInterrupt  # as a signal's handler raises it there
        return in_init

    def trace(frame: Any, event: str, arg: Any) -> Any:
        return in_init if frame.f_code is code else None

    sys.settrace(trace)
    try:
        with pytest.raises(KeyboardInterrupt):
            Response(None, [b"never"])  # type: ignore[arg-type]
    finally:
        sys.settrace(None)
    gc.collect()
    assert [hook.exc_type for hook in unraisable] == []


# -- 5. uWSGI: what it sends for an app that raised before its first chunk -----------

_UWSGI_APP = """\
from readme_metrics import MetricsApiConfig, MetricsMiddleware


def inner(environ, start_response):
    if environ["PATH_INFO"] == "/nolog":  # the test's probe (OPTIONS: not logged)
        start_response("204 No Content", [])
        return []
    kind, where = environ["PATH_INFO"].strip("/").split("-")
    error = SystemExit if kind == "exit" else RuntimeError
    if where == "before":
        raise error("stop")
    start_response("201 Created", [("Content-Type", "text/plain")])
    if where == "call":
        raise error("stop")

    def chunks():
        raise error("stop")
        yield b"never"
    return chunks()


app = MetricsMiddleware(inner, MetricsApiConfig(
    grouping_function=lambda request: {"api_key": "caller-1"}))
"""

# path -> what the client got (the head's start; b"": nothing), the log's status and the
# exception named in its comment (None: no comment)
_UWSGI_CASES = {
    "/error-before": (b"", 500, "RuntimeError"),
    "/exit-before": (b"", 500, "SystemExit"),
    "/exit-call": (b"", 500, "SystemExit"),
    "/exit-iterable": (b"", 500, "SystemExit"),
    "/error-call": (b"HTTP/1.1 201 Created\r\n", 201, None),  # the started status
    "/error-iterable": (b"HTTP/1.1 201 Created\r\n", 201, None),
}


@pytest.mark.e2e
def test_uwsgi_and_an_app_that_raised_before_its_first_chunk(
        collector: Collector, tmp_path: Any) -> None:
    """uWSGI sends the status the app started whatever it raised (its head alone, the
    connection closed), but nothing at all when no status was started (a RuntimeError
    raised first: no 500 of its own) or at a SystemExit (its worker dies: "DAMN ! worker
    1 died"), from the app's call or its iterable's first ``next()``. Those four were
    logged 500 with no comment, or 201 (the app's): now "no answer reached the client"
    (4 of 6 cases failed before; the bare app sends the same bytes, checked by hand)."""
    from tests.test_e2e_servers import NO_UWSGI, UWSGI, serve, server_env, uwsgi_argv

    if UWSGI is None:
        pytest.skip(NO_UWSGI.kwargs["reason"])
    from tests.support.ports import free_port

    (tmp_path / "bb8_uwsgi.py").write_text(_UWSGI_APP)
    env = server_env(collector)
    env["PYTHONPATH"] = f"{tmp_path}:{env['PYTHONPATH']}"
    port = free_port()
    got = {}
    with serve(uwsgi_argv(port, "bb8_uwsgi:app"), env, tmp_path, port):
        for path in _UWSGI_CASES:
            with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
                sock.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
                got[path] = b"".join(iter(lambda: sock.recv(65536), b""))
        logs = collector.wait_for_logs(len(_UWSGI_CASES))
    responses = {log["request"]["log"]["entries"][0]["request"]["url"].rsplit("/", 1)[1]:
                 log["request"]["log"]["entries"][0]["response"] for log in logs}
    for path, (start, status, error) in _UWSGI_CASES.items():
        assert got[path].startswith(start) and (start or got[path] == b""), (path, got)
        response = responses[path[1:]]
        assert response["status"] == status, (path, response)
        if error is None:
            assert "comment" not in response, (path, response)
        else:
            started = "" if path.endswith("before") else "; the app answered 201"
            assert response["comment"] == (
                "no answer reached the client: the server stopped serving the request at "
                f"a {error} and closed the connection{started}"), (path, response)


# -- 6. Django's HEAD answer under waitress and uWSGI: the body they send -----------


def _dechunked(body: bytes) -> bytes:
    out = b""
    while True:
        size, _, body = body.partition(b"\r\n")
        if not int(size, 16):
            return out
        out, body = out + body[:int(size, 16)], body[int(size, 16) + 2:]


@pytest.fixture(scope="module")
def django_wsgi_served(server: str, module_collector: Collector,
                       tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """``_DJANGO_APP``'s WSGI application under ``server`` (waitress or uWSGI), for every
    view's case: its port."""
    from tests.support.ports import free_port
    from tests.test_e2e_servers import NO_UWSGI, SERVERS, UWSGI, serve, server_env, uwsgi_argv

    if server == "uwsgi" and UWSGI is None:
        pytest.skip(NO_UWSGI.kwargs["reason"])
    tmp = tmp_path_factory.mktemp(f"bb8-django-{server}")
    (tmp / "bb8_django.py").write_text(_DJANGO_APP)
    env = server_env(module_collector)
    env["PYTHONPATH"] = f"{tmp}:{env['PYTHONPATH']}"
    port = free_port()
    argv = (uwsgi_argv(port, "bb8_django:wsgi") if server == "uwsgi"
            else SERVERS["waitress"](port, "bb8_django:wsgi"))
    with serve(argv, env, tmp, port):
        yield port


@pytest.mark.e2e
@pytest.mark.parametrize("view", ["whole", "stream", "file"])
@pytest.mark.parametrize("server", ["waitress", "uwsgi"], scope="module")
def test_django_head_answer_under_a_server_that_sends_its_body(
        kept_collector: Collector, django_wsgi_served: int, server: str, view: str) -> None:
    """A raw client's HEAD to Django (WSGI handler) under waitress and uWSGI, which send
    what the app gives for HEAD, and Django does not drop it (its runserver does, and
    gunicorn): the client got the whole body, logged as no body (size 0) before (the 6
    cases failed); now with the body (a FileResponse's size, sent by the server's
    sendfile), as the WSGI middleware logs it there. One server for the views of each."""
    got, log = _raw_exchange(django_wsgi_served, None, f"HEAD /{view}", kept_collector)
    head, _, body = got.partition(b"\r\n\r\n")
    if b"transfer-encoding: chunked" in head.lower():
        body = _dechunked(body)
    expected = {"whole": bytes(range(256)) * 400, "stream": b"one-two-three",
                "file": _DJANGO_APP.encode()}[view]
    assert body == expected, got[:300]
    response = log["request"]["log"]["entries"][0]["response"]
    assert (response["bodySize"], response["content"]["size"]) == (
        len(expected), len(expected)), response
    if view == "stream":
        assert response["content"]["text"] == "one-two-three", response


# -- 7. gevent's pywsgi sends a HEAD answer's body ------------------------------------

_PYWSGI_APP = """\
from readme_metrics import MetricsApiConfig, MetricsMiddleware


def inner(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    if environ["PATH_INFO"] == "/list":
        return [b"hello, list"]
    return (chunk for chunk in (b"one-", b"two-", b"three"))


app = MetricsMiddleware(inner, MetricsApiConfig(
    buffer_length=1, grouping_function=lambda request: {"api_key": "caller-1"}))
"""


@pytest.fixture(scope="module")
def pywsgi_served(module_collector: Collector, tmp_path_factory: pytest.TempPathFactory
                  ) -> Iterator[tuple[subprocess.Popen[str], int]]:
    """``_PYWSGI_APP`` under gunicorn's ``-k gevent_pywsgi``, for both paths' cases."""
    from tests.test_exit14_findings import _serve

    tmp = tmp_path_factory.mktemp("bb8-pywsgi")
    yield from _kept(*_serve(tmp, module_collector, "bb8_pywsgi", _PYWSGI_APP, lambda port: [
        *GUNICORN[1:], "--worker-class=gevent_pywsgi", f"--bind=127.0.0.1:{port}",
        "bb8_pywsgi:app"], background=False))


@NO_GEVENT
@pytest.mark.e2e
@pytest.mark.parametrize("path", ["/list", "/stream"])
def test_gevent_pywsgi_sends_a_head_answers_body_and_it_is_logged(
        kept_collector: Collector, pywsgi_served: tuple[subprocess.Popen[str], int],
        path: str) -> None:
    """gunicorn's ``-k gevent_pywsgi`` worker (gevent's own pywsgi server, its
    SERVER_SOFTWARE "gevent/26.9.0 gunicorn/27.0.1", no ``gunicorn.socket`` in the
    environ) sends what the app gives for HEAD, as waitress does: the client got the
    body, logged as none before (both cases failed); now as sent. One server for both."""
    process, port = pywsgi_served
    got, log = _raw_exchange(port, process, f"HEAD {path}", kept_collector)
    head, _, body = got.partition(b"\r\n\r\n")
    if b"transfer-encoding: chunked" in head.lower():
        body = _dechunked(body)
    expected = b"hello, list" if path == "/list" else b"one-two-three"
    assert body == expected, got
    response = log["request"]["log"]["entries"][0]["response"]
    assert (response["bodySize"], response["content"].get("text")) == (
        len(expected), expected.decode()), response
