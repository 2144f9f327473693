"""One small API served twice: as a plain PEP 3333 app and as a plain ASGI 3 app.

Both answer every request from :func:`answer` (the same status, headers and body chunks),
so an exchange must give the same log under either (tests/test_twins19_wsgi_asgi.py).
Each side wraps the app in three middlewares, picked per request by ``X-Twin-Config``:
none (``plain``), a ``deny`` list or an ``allow`` list. Configuration beyond them comes
from the README_* environment the test sets.

Routes (by the first path segment): ``/echo`` answers the body it read with its
Content-Type; ``/noread`` answers ``ok`` without reading the body; ``/json`` reads the body
and answers JSON with two Set-Cookie headers; ``/nocontent`` 204; ``/notmodified`` 304;
``/redirect`` 302 with Location; ``/stream`` three chunks, no Content-Length; ``/big``
10,000 binary bytes; ``/binary`` a few non-UTF-8 bytes; ``/secret`` JSON and a header
the lists name.

With ``TWINS19_PROXY_FIX`` set, the WSGI app is behind werkzeug's ProxyFix taking the
mount point from ``X-Forwarded-Prefix``. Run as ``python -m tests.support.twins19_apps
PORT`` it serves the WSGI app under werkzeug's development server (threaded, as
``flask run``).
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any, Callable, Iterator, Optional

from tests.support.body_sent import await_sent, wait_sent
from tests.support.side_by_side import lifespan

DOCS = "https://docs.example.test"
DENY = ["password", "token", "x-secret", "session", "b"]
ALLOW = ["name", "content-type", "a"]
BIG = bytes(range(256)) * 39 + b"\x00" * 16  # 10,000 bytes
REASONS = {200: "OK", 204: "No Content", 302: "Found", 304: "Not Modified"}

Answer = tuple[int, list[tuple[str, str]], list[bytes]]


def reads(path: str) -> bool:
    """Whether the app reads the request body on ``path``."""
    return not path.startswith("/noread")


def answer(path: str, body: bytes, content_type: Optional[str]) -> Answer:
    """Status, headers and body chunks for ``path``, given the body the app read."""
    route = "/" + path.lstrip("/").partition("/")[0]
    if route == "/echo":
        headers = [("Content-Type", content_type)] if content_type else []
        return 200, headers + [("Content-Length", str(len(body)))], [body]
    if route == "/nocontent":
        return 204, [("X-App", "yes")], []
    if route == "/notmodified":
        return 304, [("ETag", '"v1"'), ("Cache-Control", "max-age=60")], []
    if route == "/redirect":
        return 302, [("Location", "/json?from=redirect"), ("Content-Type", "text/plain"),
                     ("Content-Length", "5")], [b"moved"]
    if route == "/stream":
        return 200, [("Content-Type", "text/plain; charset=utf-8")], [b"one\n", b"two\n",
                                                                      "tr\u00e9s\n".encode()]
    if route == "/big":
        return 200, [("Content-Type", "application/octet-stream"),
                     ("Content-Length", str(len(BIG)))], [BIG]
    if route == "/binary":
        data = b"\x89PNG\r\n\x1a\n\x00\xff\xfe"
        return 200, [("Content-Type", "image/png"), ("Content-Length", str(len(data)))], [data]
    if route == "/secret":
        data = json.dumps({"password": "hunter2", "name": "n\u00e9", "a": 1,
                           "nested": {"token": "t0k", "name": "x"}}).encode()
        return 200, [("Content-Type", "application/json"), ("X-Secret", "shh"),
                     ("Content-Length", str(len(data)))], [data]
    data = json.dumps({"hello": "w\u00f6rld", "read": len(body)}).encode()
    return 200, [("Content-Type", "application/json"), ("Content-Length", str(len(data))),
                 ("Set-Cookie", "session=s3cr3t; Path=/; HttpOnly"),
                 ("Set-Cookie", "theme=dark; Max-Age=60")], data and [data[:7], data[7:]]


def grouping(request: Any) -> Optional[dict[str, str]]:
    api_key = request.headers.get("X-Api-Key")
    return {"api_key": api_key, "label": "twin", "email": "twin@example.com"} if api_key \
        else None


def _configs() -> dict[str, Any]:
    from readme_metrics import MetricsApiConfig

    return {
        "plain": MetricsApiConfig(grouping_function=grouping, base_log_url=DOCS),
        "deny": MetricsApiConfig(grouping_function=grouping, base_log_url=DOCS,
                                 denylist=DENY),
        "allow": MetricsApiConfig(grouping_function=grouping, base_log_url=DOCS,
                                  allowlist=ALLOW),
    }


# -- WSGI ------------------------------------------------------------------------------


def wsgi_body(environ: Any) -> bytes:
    """The whole request body, read as a PEP 3333 app may: CONTENT_LENGTH bytes, or to
    the end of ``wsgi.input_terminated`` input (also tests/support/blackbox20_apps.py)."""
    stream = environ["wsgi.input"]
    length = environ.get("CONTENT_LENGTH")
    if length:
        return bytes(stream.read(int(length)))
    return bytes(stream.read()) if environ.get("wsgi.input_terminated") else b""


def _wsgi_bare(environ: Any, start_response: Any) -> Iterator[bytes]:
    path = environ.get("PATH_INFO", "")
    body = wsgi_body(environ) if reads(path) else b""
    if not reads(path):
        wait_sent(environ)  # the unread body at the server first (flaky58)
    status, headers, chunks = answer(path, body, environ.get("CONTENT_TYPE") or None)
    start_response(f"{status} {REASONS[status]}", headers)
    yield from chunks


def _wsgi_twins() -> Callable[..., Any]:
    from readme_metrics import MetricsMiddleware

    wrapped = {name: MetricsMiddleware(_wsgi_bare, config) for name, config in _configs().items()}

    def app(environ: Any, start_response: Any) -> Any:
        return wrapped[environ.get("HTTP_X_TWIN_CONFIG", "plain")](environ, start_response)

    if os.environ.get("TWINS19_PROXY_FIX"):  # the prefix from X-Forwarded-Prefix
        from werkzeug.middleware.proxy_fix import ProxyFix

        return ProxyFix(app, x_for=0, x_proto=0, x_prefix=1)
    return app


# -- ASGI ------------------------------------------------------------------------------


async def _asgi_bare(scope: Any, receive: Any, send: Any) -> None:
    path, root = scope["path"], scope.get("root_path", "")
    if root and path.startswith(root + "/"):  # uvicorn's --root-path is in the path too
        path = path[len(root):]
    body = b""
    if reads(path):
        more = True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
    else:
        await await_sent(scope)  # the unread body in the server's hands first (flaky58)
    content_type = dict(scope["headers"]).get(b"content-type")
    status, headers, chunks = answer(path, body, content_type and content_type.decode("latin-1"))
    await send({"type": "http.response.start", "status": status,
                "headers": [(k.encode(), v.encode()) for k, v in headers]})
    for chunk in chunks:
        await send({"type": "http.response.body", "body": chunk, "more_body": True})
    await send({"type": "http.response.body", "body": b""})


def _asgi_twins() -> Callable[..., Any]:
    from readme_metrics.asgi import MetricsMiddleware

    wrapped = {name: MetricsMiddleware(_asgi_bare, config) for name, config in _configs().items()}

    async def app(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await lifespan(receive, send)
            return
        name = dict(scope["headers"]).get(b"x-twin-config", b"plain").decode()
        await wrapped[name](scope, receive, send)

    return app


_BUILT: dict[str, Any] = {}


def _built(name: str, build: Callable[[], Any]) -> Any:
    """``build()`` on first use, in the server process (after the test set its
    environment); the same app after."""
    if name not in _BUILT:
        _BUILT[name] = build()
    return _BUILT[name]


def wsgi_app(environ: Any, start_response: Any) -> Any:
    return _built("wsgi", _wsgi_twins)(environ, start_response)


async def asgi_app(scope: Any, receive: Any, send: Any) -> None:
    await _built("asgi", _asgi_twins)(scope, receive, send)


if __name__ == "__main__":  # pragma: no cover - run in a subprocess by the test
    from werkzeug.serving import run_simple

    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    run_simple("127.0.0.1", int(sys.argv[1]), wsgi_app, threaded=True)
