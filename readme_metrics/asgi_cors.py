"""Cross-Origin Resource Sharing for ASGI apps: the twin of :mod:`readme_metrics.cors`.

The same options (``CORS_ALLOWED`` and the other ``CORS_*`` variables, read once at
construction by :mod:`readme_metrics.cors_settings`) and the same answers
(:class:`readme_metrics.cors.CORSRules`), for any ASGI 3 app: a preflight from an allowed
origin is answered ``204`` here without calling the app, actual responses for allowed
origins get the ``Access-Control-*`` headers, and every answer gets ``Origin`` in its
``Vary`` (the app's kept and extended). With no origin configured the app is called with
the server's own ``send``, and its responses are passed on unchanged. ``websocket`` and
``lifespan`` scopes pass through untouched.

.. autoclass:: CORSMiddleware
"""

from __future__ import annotations

import typing as t

from readme_metrics.asgi_single import single_callable
from readme_metrics.asgi_types import ASGIApp, Message, Receive, Scope, Send
from readme_metrics.cors import CORSOptions, Headers, with_headers

__all__ = ["CORSMiddleware"]


class CORSMiddleware(CORSOptions[ASGIApp]):
    """Answer CORS preflights and add ``Access-Control-*`` headers, for an ASGI app.

    .. code-block:: python

        from readme_metrics.asgi import CORSMiddleware

        app = CORSMiddleware(app, allowed_origins=["https://app.example.com"])
        # FastAPI / Starlette: add it before ReadMeMetricsMiddleware, so that metrics
        # (added later, outside) logs the CORS headers the browser got:
        fastapi_app.add_middleware(CORSMiddleware)          # CORS_ALLOWED=...

    The options and their variables are those of
    :class:`readme_metrics.cors.CORSMiddleware`; invalid configuration raises
    ``ValueError`` naming the option and the variable.
    """

    _kind, _path, _twin = ("ASGI", "readme_metrics.asgi.CORSMiddleware",
                           "readme_metrics.cors.CORSMiddleware")
    # An ASGI 2 app called as the servers call it.
    _callable = staticmethod(single_callable)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        rules = self.rules
        if scope.get("type") != "http" or not rules.active:
            await self.app(scope, receive, send)
            return
        found = _headers(scope, (b"origin", b"access-control-request-method",
                                 b"access-control-request-headers"))
        origin, method, requested = found
        added: Headers = []  # not allowed: Vary alone, added by with_headers
        if origin is not None and rules.allowed(origin):
            if scope.get("method") == "OPTIONS" and method:
                await _answer(send, *rules.preflight(origin, method, requested or ""))
                return
            added = rules.actual_headers(origin)
        await self.app(scope, receive, _adding(send, added))


def _headers(scope: Scope, names: tuple[bytes, ...]) -> list[t.Optional[str]]:
    """The value of each of ``names`` (lower case) in the scope, None if absent. Repeated
    lines are joined with commas, as a WSGI server joins them: two Origin lines are no
    origin (RFC 6454 7.3: a user agent sends one), as for the WSGI twin."""
    found: list[t.Optional[str]] = [None] * len(names)
    headers = scope.get("headers") or ()
    if headers.__class__ is not list and iter(headers) is headers:
        # An iterator (ASGI's headers are any iterable) read here would reach the app
        # empty: the pairs go back in the scope as a list.
        headers = scope["headers"] = list(headers)
    for name, value in headers:
        lowered = bytes(name).lower()
        if lowered in names:
            index = names.index(lowered)
            text = bytes(value).decode("latin-1")
            found[index] = text if found[index] is None else f"{found[index]},{text}"
    return found


async def _answer(send: Send, status: str, headers: Headers, body: bytes) -> None:
    await send({
        "type": "http.response.start",
        "status": int(status.split(" ", 1)[0]),
        "headers": [(name.lower().encode("latin-1"), value.encode("latin-1"))
                    for name, value in headers],
    })
    await send({"type": "http.response.body", "body": body, "more_body": False})


def _adding(send: Send, added: Headers) -> Send:
    """The server's ``send``, with ``added`` and ``Vary: Origin`` on the response start.

    A closure, not an object: the metrics middleware looks through closures for the
    server's own ``send`` (to tell a client gone before the answer), never into objects.
    """

    async def cors_send(message: Message) -> None:
        if message.get("type") == "http.response.start":
            message = dict(message)
            # latin-1 both ways: every byte of the app's headers comes back unchanged.
            given = [(bytes(name).decode("latin-1"), bytes(value).decode("latin-1"))
                     for name, value in message.get("headers") or ()]
            merged = with_headers(given, added)
            # The app's headers as it gave them; ours after them, named in lower case.
            message["headers"] = [
                ((name if index < len(given) else name.lower()).encode("latin-1"),
                 value.encode("latin-1"))
                for index, (name, value) in enumerate(merged)
            ]
        await send(message)

    return cors_send
