"""The apps of test_hostile20_findings.py's server cases, wrapped in the WSGI (``app``)
and the ASGI (``asgi_app``) middleware, configured from the ``README_*`` environment the
test sets. The grouping function takes the caller from ``X-Api-Key`` (as a header gives
it: latin-1). Every request is answered with JSON echoing its path, query, Cookie header
and body, and with the key echoed back in ``X-Echo``, a ``Location`` and a ``Set-Cookie``.

:func:`REQUESTS` gives the raw requests of the hunt for a key: the key in the path, the
query (as is, percent-encoded, form-encoded, percent-encoded in lower case), cookies
(quoted, encoded), a Token and a Bearer header, Basic under other names (as user and as
password), a form, JSON (escaped and not), text, multipart names and file names.
"""

from __future__ import annotations

import base64
import json
from typing import TYPE_CHECKING, Any, Iterable, Optional
from urllib.parse import quote, quote_plus

from tests.support.asgi import read_body

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment


def REQUESTS(key: str) -> list[bytes]:  # noqa: N802 (a constant's look: the test's data)
    """The hunt's raw requests carrying ``key`` (UTF-8), each closing its connection."""
    data = key.encode("utf-8")
    escaped, plus = quote(key, safe="").encode(), quote_plus(key).encode()
    lower = "".join(f"%{byte:02x}" for byte in data).encode()
    common = b"Host: localhost\r\nX-Api-Key: " + data + b"\r\nConnection: close\r\n"
    requests = [
        b"GET /keys/" + escaped + b"/usage?k=" + escaped + b"&p=" + plus + b"&l=" + lower
        + b" HTTP/1.1\r\n" + common + b'Cookie: s="' + data + b'"; t=' + escaped
        + b"\r\nX-Thing: Token token=" + data + b"\r\nX-Bearer: Bearer " + data
        + b"\r\nX-Up: Basic " + base64.b64encode(b"user:" + data)
        + b"\r\nX-Up2: Basic " + base64.b64encode(data + b":pw") + b"\r\n\r\n",
        b"GET /k/" + lower + b"/x HTTP/1.1\r\n" + common + b"\r\n",
    ]
    bodies = [
        (b"application/x-www-form-urlencoded",
         b"k=" + plus + b"&n=" + escaped + b"&" + plus + b"=1"),
        (b"application/json",
         json.dumps({"a": "key=" + key, key: 1, "t": "Bearer " + key}).encode()),
        (b"application/json", json.dumps({"a": "key=" + key, key: 1}, ensure_ascii=False).encode()),
        (b"text/plain", b"my key is " + data),
        (b"multipart/form-data; boundary=BB",
         b'--BB\r\nContent-Disposition: form-data; name="' + data + b'"; filename="' + data
         + b'.txt"\r\n\r\n' + data + b"\r\n--BB\r\nContent-Disposition: form-data; "
         b"name=\"f2\"; filename*=UTF-8''" + escaped + b"\r\n\r\nx\r\n--BB--\r\n"),
    ]
    for content_type, body in bodies:
        requests.append(b"POST /p HTTP/1.1\r\n" + common + b"Content-Type: " + content_type
                        + b"\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
    return requests


def _answer(path: str, query: str, cookie: str, body: bytes, key: str
            ) -> tuple[bytes, list[tuple[str, str]]]:
    """The echo and its headers (strings of latin-1, as both interfaces carry bytes)."""
    out = json.dumps({"path": path, "query": query, "cookie": cookie,
                      "body": body.decode("latin-1")}).encode()
    return out, [("Content-Type", "application/json"), ("Content-Length", str(len(out))),
                 ("X-Echo", key), ("Location", "/next?k=" + quote(key)),
                 ("Set-Cookie", "echo=" + quote(key) + "; Path=/")]


def _wsgi(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body = environ["wsgi.input"].read(length) if length else b""
    out, headers = _answer(environ.get("PATH_INFO", ""), environ.get("QUERY_STRING", ""),
                           environ.get("HTTP_COOKIE", ""), body,
                           environ.get("HTTP_X_API_KEY", ""))
    start_response("200 OK", headers)
    return [out]


def _grouping(request: Any) -> Optional[dict[str, str]]:
    key = request.headers.get("X-Api-Key")
    return {"api_key": key} if key else None


async def _asgi(scope: Any, receive: Any, send: Any) -> None:
    if scope["type"] != "http":  # lifespan: nothing to start
        return
    body = await read_body(receive)
    fields = {name.lower(): value.decode("latin-1") for name, value in scope["headers"]}
    out, headers = _answer(scope["path"], scope["query_string"].decode("latin-1"),
                           fields.get(b"cookie", ""), body, fields.get(b"x-api-key", ""))
    await send({"type": "http.response.start", "status": 200, "headers": [
        (name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in headers]})
    await send({"type": "http.response.body", "body": out})


_ASGI: list[Any] = []


async def asgi_app(scope: Any, receive: Any, send: Any) -> None:
    """The wrapped ASGI app, built at its first call (hypercorn reads the module's own
    attributes, so no module __getattr__ for it)."""
    if not _ASGI:
        from readme_metrics import MetricsApiConfig
        from readme_metrics.asgi import MetricsMiddleware

        _ASGI.append(MetricsMiddleware(_asgi, MetricsApiConfig(grouping_function=_grouping)))
    await _ASGI[0](scope, receive, send)


def __getattr__(name: str) -> Any:
    # Built on first access (by the server), not when a test imports REQUESTS.
    if name != "app":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from readme_metrics import MetricsApiConfig, MetricsMiddleware

    value = globals()[name] = MetricsMiddleware(_wsgi, MetricsApiConfig(
        grouping_function=_grouping))
    return value
