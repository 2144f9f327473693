"""Misbehaving apps, bare and wrapped side by side, for tests/test_hostile_servers.py.

``wsgi_root`` and ``asgi_root`` serve the same app twice in one server process: under
``/bare/...`` as it is, under ``/wrap/...`` inside the middleware (configured from the
``README_*`` environment, every call logged), the prefix moved to SCRIPT_NAME /
``root_path`` so the app sees the same path either way. Each wrapped call appends its
``X-Trace`` header to the file named by ``HOSTILE_TRACES``, so the test knows which calls
reached the app and must each show up as one log.

What the app does is chosen by its path:

- ``/status/<percent-encoded status>``: answers that status line as it stands.
- ``/echo``: reads the whole body and answers it with the request's Content-Type.
- ``/noread``: answers ``ok`` without reading the body (with ``?gate=PATH``, once the file
  ``PATH`` exists: the test's word that the body it sent late is in, whatever the load).
- ``/read-some``: reads the first 5 bytes of the body (WSGI: one ``read(5)``; ASGI: of
  the first message, with ``?fill`` of as many messages as 5 bytes take) and answers
  them, leaving the rest unread.
- ``/read-past``: WSGI: asks for 10 bytes more than the Content-Length in one ``read()``
  (all of a terminated input) and answers what it got; ASGI: as ``/echo``.
- ``/raise-mid?length=N``: sends ``a``, then raises (declaring Content-Length N when
  given).
- ``/write-raise?length=N``: WSGI: writes ``a`` with ``write()``, then raises in its call.
- ``/raise-after?n=N&length=L``: WSGI: yields ``c`` N times, then raises (declaring
  Content-Length L when given).
- ``/close-raise?n=N&length=L``: WSGI: yields ``c`` N times from an iterable whose
  ``close()`` raises (declaring Content-Length L when given).
- ``/write-on``: WSGI: writes ``chunk <i>\n`` 400 times, 20 ms apart, with ``write()``
  (it raises once the server's write fails: the client left).
- ``/chunk/<kind>``: yields (sends) ``a``, then a str, int, None, bytearray or memoryview.
- ``/return-bytes``, ``/return-str``: returns ``b"a"`` / ``"a"`` itself, not a list (WSGI).
- ``/start-twice``: starts its response twice (no exc_info).
- ``/body-after-end``: ASGI: sends a body message after the last one (WSGI: ``a``).
- ``/write``: answers through the ``write()`` callable of start_response (WSGI).
- ``/length-short`` / ``/length-long``: declares Content-Length 10 / 1, sends 3 / 5 bytes.
- ``/body-always?status=N``: answers N with a body, whatever the method (HEAD, 204, 304).
- ``/many-headers?n=N&size=M``: answers N headers with M-byte values.
- ``/stream?n=N&size=M``: answers N chunks of M bytes each.
- ``/headers/<shape>``: headers as a tuple, a generator, a 3-tuple, an int value, bytes,
  a string (WSGI).
"""

from __future__ import annotations

import os
import time
from typing import TYPE_CHECKING, Any, Iterator, Optional
from urllib.parse import parse_qs, unquote_to_bytes

from tests.support.asgi import read_body
from tests.support.capture13_apps import wait_for
from tests.support.side_by_side import bare_or_wrapped, built_once, lifespan, wsgi_bare_or_wrapped

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

_Behaviour = tuple[str, list[tuple[str, str]], list[Any], Optional[str]]


def grouping(request: Any) -> dict[str, str]:
    """Every call is logged, as the caller its X-Api-Key names (a client's choice)."""
    return {"api_key": request.headers.get("X-Api-Key") or "hostile-caller-key",
            "label": "hostile"}


def _trace(trace: Optional[str]) -> None:
    path = os.environ.get("HOSTILE_TRACES")
    if path and trace:
        with open(path, "a", encoding="latin-1") as traces:
            traces.write(trace + "\n")


def _behaviour(path: str, query: str, method: str, body: bytes, content_type: str
               ) -> _Behaviour:
    """(status, headers, chunks, misbehaviour) of the app for one request."""
    args = parse_qs(query)
    text = [("Content-Type", "text/plain")]
    if path.startswith("/status/"):
        status = unquote_to_bytes(path[len("/status/"):]).decode("latin-1")
        return status, text, [b"body"], None
    if path == "/echo":
        return "200 OK", [("Content-Type", content_type or "application/octet-stream"),
                          ("Content-Length", str(len(body)))], [body], None
    if path == "/body-always":
        return f"{args.get('status', ['200'])[0]} Any", text, [b"body"], None
    if path == "/stream":
        count, size = int(args.get("n", ["100"])[0]), int(args.get("size", ["65536"])[0])
        return "200 OK", text, [b"s" * size] * count, None
    if path == "/many-headers":
        count, size = int(args.get("n", ["100"])[0]), int(args.get("size", ["10"])[0])
        headers = [(f"X-H{i}", "v" * size) for i in range(count)]
        return "200 OK", [*text, *headers], [b"body"], None
    if path == "/length-short":
        return "200 OK", [*text, ("Content-Length", "10")], [b"abc"], None
    if path == "/length-long":
        return "200 OK", [*text, ("Content-Length", "1")], [b"abcde"], None
    if path in ("/raise-mid", "/write-raise") and "length" in args:
        return "200 OK", [*text, ("Content-Length", args["length"][0])], [b"a"], path[1:]
    if path in ("/raise-mid", "/write-raise", "/start-twice", "/write", "/return-bytes",
                "/return-str", "/body-after-end"):
        return "200 OK", text, [b"a"], path[1:]
    if path.startswith("/chunk/"):  # a chunk that is not bytes: str, int, None, ...
        chunk = {"str": "text", "int": 7, "none": None, "bytearray": bytearray(b"ba"),
                 "memoryview": memoryview(b"mv")}[path[len("/chunk/"):]]
        return "200 OK", text, [b"a", chunk], None
    return "200 OK", [*text, ("Content-Length", "2")], [b"ok"], None


# -- WSGI ------------------------------------------------------------------------------


def _read_all(environ: WSGIEnvironment) -> bytes:
    """The body as werkzeug reads it: to the end of a terminated input, else by length."""
    length = environ.get("CONTENT_LENGTH")
    stream = environ["wsgi.input"]
    if environ.get("wsgi.input_terminated"):
        return bytes(stream.read())
    if length:
        return bytes(stream.read(int(length)))
    return b""


def wsgi_hostile(environ: WSGIEnvironment, start_response: StartResponse) -> Any:
    path = environ.get("PATH_INFO", "")
    gate = parse_qs(environ.get("QUERY_STRING", "")).get("gate") if path == "/noread" else None
    if gate:
        wait_for(gate[0])
    body = _read_all(environ) if path == "/echo" else b""
    if path == "/read-some":
        path, body = "/echo", bytes(environ["wsgi.input"].read(5))
    if path == "/read-past":
        length = int(environ.get("CONTENT_LENGTH") or 0)
        past = -1 if environ.get("wsgi.input_terminated") else length + 10
        path, body = "/echo", bytes(environ["wsgi.input"].read(past))
    status, headers, chunks, odd = _behaviour(
        path, environ.get("QUERY_STRING", ""), environ["REQUEST_METHOD"], body,
        environ.get("CONTENT_TYPE", ""))
    if path in ("/raise-after", "/close-raise"):
        return _raising(environ, start_response, path, parse_qs(environ.get("QUERY_STRING", "")))
    if path.startswith("/headers/"):  # headers in shapes PEP 3333 does not allow
        headers = {"tuple": lambda: tuple(headers),
                   "generator": lambda: (pair for pair in headers),
                   "three": lambda: [("Content-Type", "text/plain", "x")],
                   "int-value": lambda: [("Content-Type", "text/plain"), ("X-N", 5)],
                   "bytes-pair": lambda: [(b"Content-Type", b"text/plain")],
                   "string": lambda: ["Content-Type: text/plain"],
                   }[path[len("/headers/"):]]()
    if path == "/write-on":  # writes on until the server's write() fails (client gone)
        write = start_response("200 OK", [("Content-Type", "text/plain")])
        for i in range(400):
            write(b"chunk %d\n" % i)
            time.sleep(0.02)
        return []
    write = start_response(status, headers)
    if odd == "start-twice":
        start_response(status, headers)
    if odd == "write":
        write(b"written-")
    if odd == "write-raise":
        write(chunks[0])
        raise RuntimeError("raised after write()")

    if odd == "return-bytes":
        return b"a"
    if odd == "return-str":
        return "a"

    def answer() -> Iterator[Any]:
        yield from chunks
        if odd == "raise-mid":
            raise RuntimeError("raised mid-stream")

    return answer()


class _CloseRaises:
    """An iterable of ``count`` chunks whose ``close()`` raises."""

    def __init__(self, count: int) -> None:
        self.chunks = [b"c"] * count

    def __iter__(self) -> Iterator[bytes]:
        return iter(self.chunks)

    def close(self) -> None:
        raise RuntimeError("close() failed")


def _raising(environ: WSGIEnvironment, start_response: StartResponse, path: str,
             args: dict[str, list[str]]) -> Any:
    count = int(args.get("n", ["1"])[0])
    headers = [("Content-Type", "text/plain")]
    if "length" in args:
        headers.append(("Content-Length", args["length"][0]))
    start_response("200 OK", headers)
    if path == "/close-raise":
        return _CloseRaises(count)

    def answer() -> Iterator[bytes]:
        for _ in range(count):
            yield b"c"
        raise RuntimeError(f"raised after {count} chunks")

    return answer()


def _build_wsgi_wrapped() -> Any:
    from readme_metrics import MetricsApiConfig, MetricsMiddleware

    return MetricsMiddleware(wsgi_hostile, MetricsApiConfig(grouping_function=grouping))


_wsgi_wrapped = built_once(_build_wsgi_wrapped)


def wsgi_root(environ: WSGIEnvironment, start_response: StartResponse) -> Any:
    return wsgi_bare_or_wrapped(environ, start_response, wsgi_hostile, _wsgi_wrapped,
                                lambda environ: _trace(environ.get("HTTP_X_TRACE")))


# -- ASGI ------------------------------------------------------------------------------


async def asgi_hostile(scope: Any, receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    path = scope["path"][len(scope.get("root_path", "")):]
    body = await read_body(receive) if path in ("/echo", "/read-past") else b""
    path = "/echo" if path == "/read-past" else path
    if path == "/read-some":
        message = await receive()
        body = message.get("body", b"")
        # ?fill: messages until 5 bytes are in (or the body ends), as WSGI's read(5)
        # waits for them. Of a body dripped a byte at a time, the first message holds
        # what had come when the app asked: a matter of scheduling, which under load
        # differs between two calls of one app (CI61, uvicorn-asyncio: bare "01", wrapped
        # "0"), where 5 bytes are 5 bytes.
        fill = "fill" in parse_qs(scope["query_string"].decode("latin-1"),
                                  keep_blank_values=True)
        while fill and len(body) < 5 and message.get("more_body", False):
            message = await receive()
            body += message.get("body", b"")
        path, body = "/echo", body[:5]
    headers = {bytes(k).lower(): bytes(v) for k, v in scope["headers"]}
    status, pairs, chunks, odd = _behaviour(
        path, scope["query_string"].decode("latin-1"), scope["method"], body,
        headers.get(b"content-type", b"").decode("latin-1"))
    code_text = status.split(" ", 1)[0]
    code: Any = int(code_text) if code_text.isascii() and code_text.isdigit() else status
    start = {"type": "http.response.start", "status": code,
             "headers": [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in pairs]}
    await send(start)
    if odd == "start-twice":
        await send(start)
    for chunk in chunks:
        await send({"type": "http.response.body", "body": chunk, "more_body": True})
    if odd == "raise-mid":
        raise RuntimeError("raised mid-stream")
    await send({"type": "http.response.body", "body": b""})
    if odd == "body-after-end":
        await send({"type": "http.response.body", "body": b"late"})


def _build_asgi_wrapped() -> Any:
    from readme_metrics import MetricsApiConfig
    from readme_metrics.asgi import MetricsMiddleware

    return MetricsMiddleware(asgi_hostile, MetricsApiConfig(grouping_function=grouping))


_asgi_wrapped = built_once(_build_asgi_wrapped)


def _trace_scope(scope: Any) -> None:
    headers = {bytes(k).lower(): bytes(v) for k, v in scope["headers"]}
    _trace(headers.get(b"x-trace", b"").decode("latin-1") or None)


async def asgi_root(scope: Any, receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        if scope["type"] == "lifespan":
            await lifespan(receive, send)
        return
    await bare_or_wrapped(scope, receive, send, asgi_hostile, _asgi_wrapped, _trace_scope)


if __name__ == "__main__":
    import sys

    from werkzeug.serving import run_simple

    from tests.support import hostile_apps  # under its real name, not as __main__

    if sys.argv[2:] == ["wsgiref"]:
        from wsgiref.simple_server import make_server

        make_server("127.0.0.1", int(sys.argv[1]), hostile_apps.wsgi_root).serve_forever()
    else:  # werkzeug's development server, threaded as ``flask run`` starts it.
        # (``python -m tests.support.hostile_apps PORT wsgiref``: wsgiref's, above.)
        run_simple("127.0.0.1", int(sys.argv[1]), hostile_apps.wsgi_root, threaded=True)
