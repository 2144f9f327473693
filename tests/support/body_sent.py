"""A request body known to be in the server's hands before an app that leaves it unread
ends (flaky58).

urllib3 writes a request's head and its body in two sends. On a loaded machine the
client can be descheduled between them for longer than the capture's grace (SPEC 5: an
unread body is read only as far as it has arrived, ``GRACE`` at most once the response
is out): the app, called on the head alone, has answered and the capture found nothing
("incomplete: 0 of 93 bytes could be read without waiting", hypercorn, 2 of 600 at load
~18). That is the capture saying what was there, not a server's difference; a test
comparing an unread body's log across servers makes its arrival certain instead:

- the client sends the body as :class:`MarkedBody`, which touches a mark file once
  urllib3 has sent the last of it (its read after the body's end), and names the mark
  in the :data:`HEADER` header (a name, the same under every server);
- the app, before it answers, waits for the mark (:func:`wait_sent`; the body is then in
  the server's kernel, loopback: what gunicorn's and werkzeug's captures read from), and
  under an asyncio server until the server's process took it from its socket
  (:func:`await_sent`, :func:`.tcp_states.read_by_server`) and the loop turned, so
  that the server's receive() has it.

The app's wait is bounded (:data:`PATIENCE`): a mark that never comes fails the
comparison, not the run.
"""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path
from typing import Any, Optional

from tests.support.polling import PATIENCE
from tests.support.tcp_states import read_by_server

__all__ = ["HEADER", "MARKS_ENV", "MarkedBody", "await_sent", "marked", "wait_sent"]

#: The request header naming the mark (a file name in :data:`MARKS_ENV`'s folder).
HEADER = "X-Body-Sent-Mark"
#: The server's environment variable naming the folder of the marks.
MARKS_ENV = "BODY_SENT_MARKS"
_LOOK = 0.005  # seconds between two looks of the app
_TURNS = 3  # event loop turns after the server took the bytes (its reader task, h11)


class MarkedBody:
    """``data`` as a requests body with a Content-Length (not chunked), touching ``mark``
    once all of it went out: urllib3 reads a body with ``read()`` until it gives
    nothing, and sends each block before the next read."""

    def __init__(self, data: bytes, mark: Path) -> None:
        self._data = data
        self._at = 0
        self._mark = mark
        mark.unlink(missing_ok=True)

    def __len__(self) -> int:
        return len(self._data)

    def read(self, size: int = -1) -> bytes:
        if self._at >= len(self._data):
            self._mark.touch()
            return b""
        end = len(self._data) if size is None or size < 0 else self._at + size
        block = self._data[self._at:end]
        self._at += len(block)
        return block


def marked(data: bytes, marks: Path, name: str) -> tuple[MarkedBody, dict[str, str]]:
    """``data`` as a :class:`MarkedBody` whose mark is ``name`` in ``marks`` (the folder
    the server's :data:`MARKS_ENV` names), and the request header that names it."""
    return MarkedBody(data, marks / name), {HEADER: name}


def _mark(name: Optional[str]) -> Optional[Path]:
    folder = os.environ.get(MARKS_ENV)
    return Path(folder, name) if folder and name else None


def _ports(scope: Any) -> Optional[tuple[int, int]]:
    """(the server's port, the client's) of an ASGI ``scope``, if it says them."""
    server, client = (scope or {}).get("server"), (scope or {}).get("client")
    return (server[1], client[1]) if server and client else None


def wait_sent(meta: Any, scope: Any = None) -> None:
    """In a WSGI app (``meta``: its environ) or a sync view under ASGI (Django's
    ``request.META``, and its ``scope``: in a thread of its own, the loop turning): wait
    (:data:`PATIENCE` at most) for the client's mark, if any; under ASGI then until the
    server took the body from its socket. (A WSGI server reads the body as the app, or
    its capture, does: gunicorn's stays in the socket, where its capture reads it.)"""
    mark = _mark(meta.get("HTTP_" + HEADER.upper().replace("-", "_")))
    if mark is None:
        return
    deadline = time.monotonic() + PATIENCE
    while not mark.exists() and time.monotonic() < deadline:
        time.sleep(_LOOK)
    ports = _ports(scope)
    while ports and not read_by_server(*ports) and time.monotonic() < deadline:
        time.sleep(_LOOK)
    if ports:
        time.sleep(_LOOK)  # (the server's loop hands it to receive() meanwhile)


async def await_sent(scope: Any) -> None:
    """In an ASGI app (asyncio): wait (:data:`PATIENCE` at most) for the client's mark,
    if any, then until the server took the body from its socket, then a few turns."""
    mark = _mark(dict(scope.get("headers") or ()).get(HEADER.lower().encode(), b"").decode())
    if mark is None:
        return
    deadline = time.monotonic() + PATIENCE
    while not mark.exists() and time.monotonic() < deadline:
        await asyncio.sleep(_LOOK)
    ports = _ports(scope)
    while ports and not read_by_server(*ports) and time.monotonic() < deadline:
        await asyncio.sleep(_LOOK)
    for _ in range(_TURNS):
        await asyncio.sleep(0)
