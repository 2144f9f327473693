"""The apps of test_hostile21_findings.py's server cases, wrapped in the WSGI (``app``)
and the ASGI (``asgi_app``) middleware, configured from the ``README_*`` environment the
test sets; the caller is ``X-Api-Key`` (hostile20's grouping). Each reads the request's
body as sent (compressed) and answers with it under the same ``Content-Encoding``, as a
compressing middleware answers in the coding the client accepts."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Iterable

from readme_metrics import MetricsApiConfig, MetricsMiddleware
from readme_metrics.asgi import MetricsMiddleware as AsgiMetricsMiddleware
from tests.support.asgi import read_body
from tests.support.hostile20_apps import _grouping

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment


def _headers(coding: str, length: int) -> list[tuple[str, str]]:
    return [("Content-Type", "application/json"), ("Content-Encoding", coding),
            ("Content-Length", str(length))]


def _wsgi(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
    body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
    start_response("200 OK", _headers(environ.get("HTTP_CONTENT_ENCODING", ""), len(body)))
    return [body]


async def _asgi(scope: Any, receive: Any, send: Any) -> None:
    if scope["type"] != "http":  # lifespan: nothing to start
        return
    body = await read_body(receive)
    coding = dict(scope["headers"]).get(b"content-encoding", b"").decode("latin-1")
    await send({"type": "http.response.start", "status": 200, "headers": [
        (name.lower().encode(), value.encode()) for name, value in _headers(coding, len(body))]})
    await send({"type": "http.response.body", "body": body})


# Both made at import (the server's: no test imports this module), each configured from
# the environment; the server serves one.
app = MetricsMiddleware(_wsgi, MetricsApiConfig(grouping_function=_grouping))
asgi_app = AsgiMetricsMiddleware(_asgi, MetricsApiConfig(grouping_function=_grouping))
