"""One API as a plain PEP 3333 app and as a plain ASGI 3 app, for blackbox20's parity test.

Both answer from :func:`answer` (the same status, headers and body chunks), wrapped the
same way on each side: ``RequestIdMiddleware(CORSMiddleware(MetricsMiddleware(app)))``
(the companions of SPEC 8 outside, so the log carries the request id and the CORS
headers are the app's own to the metrics middleware). Configuration comes from the
README_* / CORS_ALLOWED environment the test sets, plus a denylist and base_log_url.

Routes: ``/echo`` answers the body it read with its Content-Type; ``/query`` JSON of
nothing; ``/multi`` repeated response headers and two Set-Cookie; ``/huge`` 1 MiB in
sixteen 64 KiB chunks, no Content-Length; ``/nocontent`` 204; ``/boom`` raises before
answering; ``/late-boom`` raises after its first chunk.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any, Callable, Iterator, Optional

from tests.support.side_by_side import lifespan
from tests.support.twins19_apps import wsgi_body

DOCS = "https://docs.example.test"
DENY = ["password", "secret"]
CHUNK = bytes(range(256)) * 256  # 64 KiB
def reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Custom Reason"

Answer = tuple[int, list[tuple[str, str]], list[bytes]]


class Boom(Exception):
    pass


def answer(path: str, body: bytes, content_type: Optional[str]) -> Answer:
    if path == "/echo":
        headers = [("Content-Type", content_type)] if content_type else []
        return 200, headers + [("Content-Length", str(len(body)))], [body]
    if path == "/multi":
        return 200, [("Content-Type", "text/plain"), ("X-Multi", "one"), ("X-Multi", "two"),
                     ("Set-Cookie", "a=1; Path=/"), ("Set-Cookie", "secret=s; HttpOnly"),
                     ("Content-Length", "2")], [b"ok"]
    if path == "/huge":
        return 200, [("Content-Type", "application/octet-stream")], [CHUNK] * 16
    if path == "/nocontent":
        return 204, [("X-App", "yes")], []
    if path.startswith("/status/"):
        return int(path[8:]), [("Content-Type", "text/plain"), ("Content-Length", "2")], [b"st"]
    if path == "/latin1":
        data = "caf\u00e9 cr\u00e8me".encode("latin-1")
        return 200, [("Content-Type", "text/plain; charset=iso-8859-1"), ("X-Caf", "caf\u00e9"),
                     ("Set-Cookie", "id=1; Expires=Wed, 21 Oct 2026 07:28:00 GMT; Path=/"),
                     ("Content-Length", str(len(data)))], [data]
    if path == "/boom":
        raise Boom("boom before the answer")
    if path == "/late-boom":
        return 200, [("Content-Type", "text/plain")], [b"first", b"BOOM"]
    return 200, [("Content-Type", "application/json"), ("Content-Length", "2")], [b"{}"]


def grouping(request: Any) -> Optional[dict[str, str]]:
    api_key = request.headers.get("X-Api-Key")
    return {"api_key": api_key, "label": "twin", "email": "twin@example.com"} if api_key \
        else None


def _config() -> Any:
    from readme_metrics import MetricsApiConfig

    return MetricsApiConfig(grouping_function=grouping, base_log_url=DOCS, denylist=DENY)


def _wsgi_bare(environ: Any, start_response: Any) -> Iterator[bytes]:
    path = environ.get("PATH_INFO", "")
    status, headers, chunks = answer(path, wsgi_body(environ), environ.get("CONTENT_TYPE") or None)
    start_response(f"{status} {reason(status)}", headers)
    for chunk in chunks:
        if chunk == b"BOOM":
            raise Boom("boom while streaming")
        yield chunk


async def _asgi_bare(scope: Any, receive: Any, send: Any) -> None:
    body, more = b"", True
    while more:
        message = await receive()
        body += message.get("body", b"")
        more = message.get("more_body", False)
    content_type = dict(scope["headers"]).get(b"content-type")
    status, headers, chunks = answer(scope["path"], body,
                                     content_type and content_type.decode("latin-1"))
    await send({"type": "http.response.start", "status": status,
                "headers": [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers]})
    for chunk in chunks:
        if chunk == b"BOOM":
            raise Boom("boom while streaming")
        await send({"type": "http.response.body", "body": chunk, "more_body": True})
    await send({"type": "http.response.body", "body": b""})


def _wsgi() -> Callable[..., Any]:
    from readme_metrics import MetricsMiddleware
    from readme_metrics.cors import CORSMiddleware
    from readme_metrics.request_id import RequestIdMiddleware

    return RequestIdMiddleware(CORSMiddleware(MetricsMiddleware(_wsgi_bare, _config())))


def _asgi() -> Callable[..., Any]:
    from readme_metrics.asgi import MetricsMiddleware
    from readme_metrics.asgi_cors import CORSMiddleware
    from readme_metrics.asgi_request_id import RequestIdMiddleware

    inner = RequestIdMiddleware(CORSMiddleware(MetricsMiddleware(_asgi_bare, _config())))

    async def app(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await lifespan(receive, send)
            return
        await inner(scope, receive, send)

    return app


_BUILT: dict[str, Any] = {}


def wsgi_app(environ: Any, start_response: Any) -> Any:
    if "wsgi" not in _BUILT:
        _BUILT["wsgi"] = _wsgi()
    return _BUILT["wsgi"](environ, start_response)


async def asgi_app(scope: Any, receive: Any, send: Any) -> None:
    if "asgi" not in _BUILT:
        _BUILT["asgi"] = _asgi()
    await _BUILT["asgi"](scope, receive, send)
