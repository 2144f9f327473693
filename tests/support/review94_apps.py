"""Apps for tests/test_review94_findings.py, served by real servers (``module:app``).

``app`` (the WSGI middleware) and ``asgi_app`` (the ASGI one) stream ``EVENTS``,
server-sent events whose data is a JSON string holding a document or a form (JSON
encoded twice), with CRLF line ends; the middleware reads ``README_*`` (the
denylist) from the environment.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Iterator

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

SECRET = "r94-s3cr3t-Wq7"
EVENTS = [
    f'event: a\r\ndata: "{{\\"password\\": \\"{SECRET}\\"}}"\r\n\r\n',
    f'data:"user=zoe&password={SECRET}"\r\n\r\n',
    "data: [DONE]\r\n\r\n",
]
_TYPE = "text/event-stream; charset=utf-8"


def _grouping(request: Any) -> dict[str, str]:
    return {"api_key": "review94-caller"}


def _events(environ: WSGIEnvironment, start_response: StartResponse) -> Iterator[bytes]:
    start_response("200 OK", [("Content-Type", _TYPE)])
    return iter([event.encode() for event in EVENTS])


async def _asgi_events(scope: Any, receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", _TYPE.encode())]})
    for event in EVENTS:
        await send({"type": "http.response.body", "body": event.encode(), "more_body": True})
    await send({"type": "http.response.body", "body": b"", "more_body": False})


_BUILT: dict[str, Any] = {}


async def asgi_app(scope: Any, receive: Any, send: Any) -> None:
    """The wrapped ASGI app, built at its first call (hypercorn reads the module's own
    attributes, so no module __getattr__ for it)."""
    if "asgi" not in _BUILT:
        from readme_metrics import MetricsApiConfig
        from readme_metrics.asgi import MetricsMiddleware

        _BUILT["asgi"] = MetricsMiddleware(_asgi_events,
                                           MetricsApiConfig(grouping_function=_grouping))
    await _BUILT["asgi"](scope, receive, send)


def __getattr__(name: str) -> Any:
    # Built on first access (by the server), not when a test imports EVENTS.
    if name != "app":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from readme_metrics import MetricsApiConfig, MetricsMiddleware

    value = globals()[name] = MetricsMiddleware(_events,
                                                MetricsApiConfig(grouping_function=_grouping))
    return value
