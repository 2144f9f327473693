"""One id per request for ASGI apps: the twin of :mod:`readme_metrics.request_id`.

The same contract as the WSGI middleware (SPEC section 8), for FastAPI, Starlette,
Django's ASGI handler, Quart, Litestar or any ASGI 3 app: the id from the request header
(``X-Request-Id`` or ``REQUEST_ID_HEADER``) when it is sane, else a uuid4, made visible

- in ``scope["readme_metrics.request_id"]``, and in the request header itself (rewritten
  in a copy of the scope), so a metrics middleware inside logs it among the request
  headers;
- through :func:`readme_metrics.request_id.current_request_id` and on log records by
  :class:`readme_metrics.request_id.RequestIdFilter`: the context variables are set in
  the request's task for as long as the app runs, so every coroutine it awaits, every
  task it starts, Starlette's background tasks and the threads that run its plain
  (``def``) endpoints see this request's id, and no other request's;
- on the response: exactly one header of that name, with this id.

What it trusts: the same as the WSGI middleware (an incoming id only when it is a sane
token). ``websocket`` scopes get the id too (scope, context, never echoed: a handshake
answer is the app's own); ``lifespan`` passes through untouched.

.. autoclass:: RequestIdMiddleware
"""

from __future__ import annotations

import typing as t

from readme_metrics.app_shape import other_kind
from readme_metrics.asgi_single import single_callable
from readme_metrics.asgi_types import ASGIApp, Message, Receive, Scope, Send
from readme_metrics.request_id import (
    ENVIRON_KEY,
    HeaderNamed,
    request_context,
    request_id_for,
)

__all__ = ["RequestIdMiddleware"]


class RequestIdMiddleware(HeaderNamed):
    """Give every ASGI request an id, exposed to the app, the logs and the client.

    .. code-block:: python

        from readme_metrics.asgi import RequestIdMiddleware

        app = RequestIdMiddleware(app)                      # any ASGI 3 app
        fastapi_app.add_middleware(RequestIdMiddleware)     # added last: outermost

    :param header: request and response header carrying the id; default from the
        ``REQUEST_ID_HEADER`` environment variable, else ``X-Request-Id``.
    """

    def __init__(self, app: ASGIApp, header: t.Optional[str] = None) -> None:
        other_kind("readme_metrics.asgi.RequestIdMiddleware", app, "ASGI",
                   "readme_metrics.request_id.RequestIdMiddleware")
        self.app = single_callable(app)  # an ASGI 2 app called as the servers call it
        self.header = header  # None: REQUEST_ID_HEADER

    def _keyed(self, name: str) -> None:
        self._key = name.lower().encode("latin-1")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope.get("type")
        if kind not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = list(scope.get("headers") or ())
        incoming = authorization = None
        for name, value in headers:
            lowered = bytes(name).lower()
            if lowered == self._key:
                # Lines given twice joined, as a WSGI server does: no sane id then.
                text = bytes(value).decode("latin-1")
                incoming = text if incoming is None else f"{incoming},{text}"
            elif lowered == b"authorization" and authorization is None:
                authorization = bytes(value).decode("latin-1")
        request_id = request_id_for(incoming)
        raw_id = request_id.encode("ascii")
        # A copy: the server's scope stays as it built it. One header, this id.
        scope = dict(scope)
        scope["headers"] = [
            (name, value) for name, value in headers if bytes(name).lower() != self._key
        ] + [(self._key, raw_id)]
        scope[ENVIRON_KEY] = request_id
        if kind == "http":
            send = _echoing(send, self._key, raw_id)
        with request_context(request_id, authorization):
            await self.app(scope, receive, send)


def _echoing(send: Send, key: bytes, value: bytes) -> Send:
    """The server's ``send``, with the id put on the response start (any value the app
    gave that header replaced: two ids for one request would defeat the point).

    A closure, not an object: the metrics middleware looks through closures for the
    server's own ``send`` (to tell a client gone before the answer), never into objects.
    """

    async def echoing_send(message: Message) -> None:
        if message.get("type") == "http.response.start":
            message = dict(message)
            message["headers"] = [
                (name, raw) for name, raw in message.get("headers") or ()
                if bytes(name).lower() != key
            ] + [(key, value)]
        await send(message)

    return echoing_send
