"""Helpers for the in-process ASGI tests: a server's side of the protocol, scripted.

:func:`run` drives an ASGI app the way a server does: it hands it a scope, a ``receive``
that gives the scripted request messages (then waits, as a live connection with nothing
more to say does, or reports a disconnect) and a ``send`` that records every message.
:func:`read_body` is the app's side of a request body, for the test apps.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

DOCS = "https://docs.example.test"
GROUP = {"api_key": "owlbert-api-key", "label": "Owlbert", "email": "owlbert@example.com"}


def http_scope(method: str = "GET", path: str = "/", query: bytes = b"",
               headers: Optional[list[tuple[bytes, bytes]]] = None,
               http_version: str = "1.1") -> dict[str, Any]:
    """An ``http`` scope as uvicorn builds it, Host api.example.com."""
    return {
        "type": "http", "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": http_version, "method": method, "scheme": "http",
        "path": path, "raw_path": path.encode(), "query_string": query, "root_path": "",
        "headers": [(b"host", b"api.example.com"), *(headers or [])],
        "client": ("203.0.113.9", 50123), "server": ("api.example.com", 80),
    }


def body_messages(*chunks: bytes) -> list[dict[str, Any]]:
    """``http.request`` messages carrying ``chunks``, the last one ending the body."""
    if not chunks:
        return [{"type": "http.request", "body": b"", "more_body": False}]
    return [{"type": "http.request", "body": chunk, "more_body": i < len(chunks) - 1}
            for i, chunk in enumerate(chunks)]


async def read_body(receive: Callable[[], Any]) -> bytes:
    """The app's side: every ``http.request`` message's body, until the last one."""
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body", False):
            return body


@dataclass
class LifespanShutdown:
    """A lifespan shutdown, scripted for both sides: :meth:`app` is an app that completes
    it, :meth:`receive` the server's shutdown message, and :meth:`send` records ``probe()``
    in ``at_completion`` when the completion reaches the server."""

    probe: Callable[[], int]
    at_completion: list[int] = field(default_factory=list)
    scope: dict[str, Any] = field(
        default_factory=lambda: {"type": "lifespan", "asgi": {"version": "3.0"}})

    @staticmethod
    async def app(scope: Any, receive: Any, send: Any) -> None:
        assert (await receive())["type"] == "lifespan.shutdown"
        await send({"type": "lifespan.shutdown.complete"})

    async def receive(self) -> dict[str, Any]:
        return {"type": "lifespan.shutdown"}

    async def send(self, message: Any) -> None:
        self.at_completion.append(self.probe())


@dataclass
class Run:
    """What one run of an app did: the messages it sent and those it received."""

    sent: list[dict[str, Any]] = field(default_factory=list)
    received: list[dict[str, Any]] = field(default_factory=list)
    error: Optional[BaseException] = None
    # receive() calls made while another was still waiting (a second reader would take
    # messages the first one is owed; servers do not support it)
    overlapping_receives: int = 0

    @property
    def start(self) -> dict[str, Any]:
        return next(m for m in self.sent if m["type"] == "http.response.start")

    @property
    def headers(self) -> dict[bytes, bytes]:
        return {bytes(k).lower(): bytes(v) for k, v in self.start["headers"]}

    @property
    def body(self) -> bytes:
        return b"".join(m.get("body", b"") for m in self.sent
                        if m["type"] == "http.response.body")


async def run(app: Any, scope: dict[str, Any], messages: Optional[list[dict[str, Any]]] = None,
              then: str = "wait", on_send: Optional[Callable[[dict[str, Any]], None]] = None
              ) -> Run:
    """Call ``app`` as a server would; after ``messages``, ``then`` = "wait" (the
    connection stays open with nothing more) or "disconnect". ``on_send`` sees each
    message the app sends, as it is sent."""
    queue = list(messages if messages is not None else body_messages())
    result = Run()
    # Made when first waited on, in the loop: on Python 3.9 asyncio.Event() binds the
    # current event loop when made, and there is none under trio (then="disconnect" never
    # waits) once an earlier asyncio.run has ended.
    forever: Optional[asyncio.Event] = None

    waiting = 0

    async def receive() -> dict[str, Any]:
        nonlocal waiting, forever
        if queue:
            message = queue.pop(0)
        elif then == "disconnect":
            message = {"type": "http.disconnect"}
        else:
            result.overlapping_receives += waiting > 0
            waiting += 1
            forever = forever or asyncio.Event()
            try:
                await forever.wait()
            finally:
                waiting -= 1
            raise AssertionError("unreachable")
        result.received.append(message)
        return message

    async def send(message: dict[str, Any]) -> None:
        result.sent.append(message)
        if on_send is not None:
            on_send(message)

    try:
        await app(scope, receive, send)
    except Exception as exc:  # the test looks at it
        result.error = exc
    return result
