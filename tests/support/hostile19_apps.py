"""The app of test_hostile19_findings.py's server cases, wrapped in the WSGI middleware
(configured from the ``README_*`` environment the test sets).

- ``GET /set-cookie/<n>``: answers ``ok`` with the Set-Cookie header ``FOLDED[n]``, several
  cookies folded into one header with "," (chosen by number: a value in the request would
  be logged with it).
- ``POST /form``: reads the body as webob reads a form (a body with no Content-Type is one)
  and answers the field names it found, comma-separated.
- ``GET /url``: answers the url werkzeug's request gives the app.

``app`` is the wrapped app; ``proxied_app`` the same behind werkzeug's
``ProxyFix(x_prefix=1)``, which takes the mount point from X-Forwarded-Prefix.
``asgi_app`` (the ASGI middleware) streams ``EVENTS``, server-sent events whose data
holds a denied key, one event a message.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Iterator

from tests.support.e2e_apps import webob_grouping

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

#: A denied cookie's value (the tests deny "password").
SECRET = "s3cr3t-Qz9X"
FOLDED = [
    f"sid=abc, password={SECRET}",
    f"sid=abc; Path=/, password={SECRET}",
    f"sid=abc; Domain=example.com, Password={SECRET}",
    f"sid=abc; Expires=Wed, 21 Oct 2026 07:28:00 GMT, password={SECRET}; HttpOnly",
]


#: Server-sent events as a streaming API sends them: JSON data, one document over two
#: data lines, a form, a last marker.
EVENTS = [
    f'event: token\ndata: {{"delta": "hi", "password": "{SECRET}"}}\n\n',
    f'data: {{"user": {{"name": "zoe",\ndata:  "Password": "{SECRET}"}}}}\n\n',
    f"data: user=zoe&password={SECRET}\n\n",
    "data: [DONE]\n\n",
]


async def _events(scope: Any, receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"text/event-stream; charset=utf-8")]})
    for event in EVENTS:
        await send({"type": "http.response.body", "body": event.encode(), "more_body": True})
    await send({"type": "http.response.body", "body": b"", "more_body": False})


def _build_asgi() -> Any:
    from readme_metrics import MetricsApiConfig
    from readme_metrics.asgi import MetricsMiddleware

    return MetricsMiddleware(_events, MetricsApiConfig(grouping_function=lambda request: {
        "api_key": request.headers.get("x-api-key") or "hostile19-caller"}))


_ASGI: list[Any] = []


async def asgi_app(scope: Any, receive: Any, send: Any) -> None:
    """The wrapped ASGI app, built at its first call (hypercorn reads the module's own
    attributes, so no module __getattr__ for it)."""
    if not _ASGI:
        _ASGI.append(_build_asgi())
    await _ASGI[0](scope, receive, send)


def _app(environ: WSGIEnvironment, start_response: StartResponse) -> Iterator[bytes]:
    import webob

    path = environ.get("PATH_INFO", "")
    headers = [("Content-Type", "text/plain")]
    body = b"ok"
    if path.startswith("/set-cookie/"):
        headers.append(("Set-Cookie", FOLDED[int(path[len("/set-cookie/"):])]))
    elif path == "/url":
        from werkzeug.wrappers import Request

        body = Request(environ).url.encode()
    elif path == "/form":
        body = ",".join(webob.Request(environ).POST.keys()).encode()
    start_response("200 OK", [*headers, ("Content-Length", str(len(body)))])
    return iter([body])


def _build() -> Any:
    from readme_metrics import MetricsApiConfig, MetricsMiddleware

    return MetricsMiddleware(_app, MetricsApiConfig(grouping_function=webob_grouping))


def _build_proxied() -> Any:
    from werkzeug.middleware.proxy_fix import ProxyFix

    return ProxyFix(_build(), x_prefix=1)


def __getattr__(name: str) -> Any:
    # Built on first access (by the server), not when a test imports FOLDED.
    builders = {"app": _build, "proxied_app": _build_proxied}
    if name not in builders:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = globals()[name] = builders[name]()
    return value
