"""Apps for tests/test_review97_findings.py, served by real servers (``module:app``).

``app`` (the WSGI middleware) and ``asgi_app`` (the ASGI one) serve, by path:

- ``/events/<n>``: the server-sent events ``STREAMS[n]`` (CRLF, CR and LF line ends, a
  document over several ``data:`` lines, ``data:`` with no blank, a document in pieces
  over two events), one byte a chunk
  (a WSGI iterable's item, an ASGI ``http.response.body`` message);
- ``/events-gzip``: ``STREAMS[0]`` gzip'd (Content-Encoding), one byte a chunk too;
- ``/forever``: events until ``FOREVER_BYTES`` are sent (a stream the client leaves
  before its end: bounded here so that nothing runs on);
- ``/cookie``: answers the length of the ``password`` cookie as the server's framework
  reads it (werkzeug's parse_cookie, Starlette's cookie_parser) and sets ``SET_COOKIE``, a
  folded Set-Cookie whose denied cookie's value holds a ",".

The middleware reads ``README_*`` (the denylist) from the environment.
"""

from __future__ import annotations

import gzip
import importlib
from typing import TYPE_CHECKING, Any, Callable, Iterator

from tests.support.side_by_side import built_once

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

SECRET = "r97-s3cr3t-Kp4W"
_EVENTS = [
    f'data: {{"user": "zoe",\ndata:  "password": "{SECRET}"}}\n\n',
    f'event: t\ndata:{{"password":"{SECRET}"}}\n\n',
    f'data: {{"a": [\ndata: {{"password": "{SECRET}"}}\ndata: ]}}\n\n',
    # A document streamed in pieces, an event each.
    f'data: {{"user": "zoe",\n\ndata:  "password": "{SECRET}"}}\n\n',
    "data: [DONE]\n\n",
]
#: One stream a line end.
STREAMS = ["".join(_EVENTS).replace("\n", end) for end in ("\r\n", "\r", "\n")]
#: /forever's length, more than a client reading it stays for.
FOREVER_BYTES = 64 * 1024 * 1024
_FOREVER_EVENT = f'data: {{"n": 1, "password": "{SECRET}", "pad": "{"x" * 960}"}}\n\n'.encode()
SET_COOKIE = f"sid=1, password=x,{SECRET}; Path=/"
_TYPE = "text/event-stream; charset=utf-8"


def _grouping(request: Any) -> dict[str, str]:
    return {"api_key": "review97-caller"}


def _answer(path: str, cookie: str) -> tuple[list[tuple[str, str]], Iterator[bytes]]:
    """(headers, body chunks) of ``path``; ``cookie``: the password cookie as read."""
    if path.startswith("/events/"):
        data = STREAMS[int(path.rsplit("/", 1)[1])].encode()
        return [("Content-Type", _TYPE)], (data[at:at + 1] for at in range(len(data)))
    if path == "/events-gzip":
        data = gzip.compress(STREAMS[0].encode())
        return ([("Content-Type", _TYPE), ("Content-Encoding", "gzip")],
                (data[at:at + 1] for at in range(len(data))))
    if path == "/forever":
        return [("Content-Type", _TYPE)], (
            _FOREVER_EVENT for _ in range(FOREVER_BYTES // len(_FOREVER_EVENT)))
    return [("Content-Type", "text/plain"), ("Set-Cookie", SET_COOKIE)], iter(
        [str(len(cookie)).encode()])


def _events(environ: WSGIEnvironment, start_response: StartResponse) -> Iterator[bytes]:
    from werkzeug.http import parse_cookie

    headers, chunks = _answer(environ.get("PATH_INFO", ""),
                              parse_cookie(environ).get("password", ""))
    start_response("200 OK", headers)
    return chunks


async def _asgi_events(scope: Any, receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    from starlette.requests import cookie_parser

    cookie = dict(scope["headers"]).get(b"cookie", b"").decode("latin-1")
    headers, chunks = _answer(scope["path"], cookie_parser(cookie).get("password", ""))
    await send({"type": "http.response.start", "status": 200,
                "headers": [(name.lower().encode(), value.encode())
                            for name, value in headers]})
    for chunk in chunks:
        await send({"type": "http.response.body", "body": chunk, "more_body": True})
    await send({"type": "http.response.body", "body": b"", "more_body": False})


def _wrapped(inner: Any, middleware: str) -> Callable[[], Any]:
    """A getter of ``inner`` wrapped in ``middleware`` (the module of its
    MetricsMiddleware), built at its first call in the server's process (with the
    environment the test gave it)."""
    def build() -> Any:
        from readme_metrics import MetricsApiConfig

        wrap = importlib.import_module(middleware).MetricsMiddleware
        return wrap(inner, MetricsApiConfig(grouping_function=_grouping))

    return built_once(build)


_asgi, _wsgi = _wrapped(_asgi_events, "readme_metrics.asgi"), _wrapped(_events, "readme_metrics")


async def asgi_app(scope: Any, receive: Any, send: Any) -> None:
    """The ASGI app wrapped."""
    await _asgi()(scope, receive, send)


def app(environ: WSGIEnvironment, start_response: StartResponse) -> Any:
    """The WSGI app wrapped."""
    return _wsgi()(environ, start_response)
