"""An ASGI app that answers without reading the body, after holding the event loop a
moment, bare at ``/bare/...`` and wrapped at ``/wrap/...`` (for
tests/test_half_close_late.py).

The hold (a blocking ``time.sleep``, no ``await``) lets a client's half-close reach the
server's socket before the app answers, while the server, its loop held, has not read it
yet: the order the race of hostile14's ``half-close-short`` needs, every time.

A request with an ``X-Hold-Token`` header (when ``HALF_CLOSE_SYNC`` names a folder) is
held until its client says so instead (:func:`_hold`): the order every time, however
late a loaded machine runs the client (flake21: the body slept HOLD / 3 after the head
came after the hold, and was rightly logged as not there).

``HALF_CLOSE_HOLD`` (seconds) sets the hold in the server process (0: none), and
``HALF_CLOSE_GRACE`` the capture's grace for a body's rest (``asgi_receive.GRACE``): a
grace of seconds lets a client's end come while the capture waits, every time (the race
that is left when the end comes within the 5 ms grace).
"""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path
from typing import Any

from tests.support.polling import PATIENCE
from tests.support.side_by_side import bare_or_wrapped, built_once, lifespan

HOLD = 0.3  # seconds the loop is held: the client's FIN is in the kernel by then
_HELD = float(os.environ.get("HALF_CLOSE_HOLD", HOLD))
# What ``.../partsleep`` awaits between its start and its body (seconds).
_SLEEP = float(os.environ.get("HALF_CLOSE_SLEEP", "0.003"))
#: The folder where a held request's app and client tell each other (see _hold).
_SYNC = os.environ.get("HALF_CLOSE_SYNC", "")
TOKEN_HEADER = "X-Hold-Token"


def held_file(folder: Path, token: str) -> Path:
    """Written by the app once it holds the loop for the request named ``token``."""
    return folder / f"{token}.held"


def sent_file(folder: Path, token: str) -> Path:
    """Written by the client once it sent what it sends in the hold: the app's hold ends."""
    return folder / f"{token}.sent"


def _hold(scope: Any) -> None:
    """Hold the event loop (the server reads nothing meanwhile): ``_HELD`` seconds, or,
    for a request with a :data:`TOKEN_HEADER`, until its client wrote its
    :func:`sent_file` (PATIENCE at most), having said in a :func:`held_file` that the
    hold began (the server has read the head, and reads no more)."""
    token = dict(scope["headers"]).get(TOKEN_HEADER.lower().encode(), b"").decode()
    if not (_SYNC and token.isalnum()):
        time.sleep(_HELD)  # noqa: ASYNC251 - on purpose: the server must not read
        return
    folder = Path(_SYNC)
    held_file(folder, token).touch()
    deadline = time.monotonic() + PATIENCE
    while not sent_file(folder, token).exists() and time.monotonic() < deadline:
        time.sleep(0.005)  # noqa: ASYNC251 - on purpose, as above


def grouping(request: Any) -> dict[str, str]:
    return {"api_key": "half-close-key", "label": "half-close"}


async def late_noread(scope: Any, receive: Any, send: Any) -> None:
    """Answers "ok" without reading the body; at ``.../readafter``, reads it once the
    response head is sent (what it got, or the end it saw, is not in the answer: the
    bare app's and the wrapped one's may read differently). Its ``x-loop`` header names
    the event loop's module (``asyncio``, ``uvloop``): the loop a row says it runs."""
    _hold(scope)  # on purpose: the server must not read meanwhile
    try:
        loop = type(asyncio.get_running_loop()).__module__.partition(".")[0]
    except RuntimeError:  # no asyncio loop: hypercorn's trio worker
        loop = "trio"
    start = {"type": "http.response.start", "status": 200,
             "headers": [(b"content-type", b"text/plain"), (b"content-length", b"2"),
                         (b"x-loop", loop.encode())]}
    if scope["path"].endswith("/partsleep"):
        # asgi11 (b): reads a part of the body, awaits between its start and its body
        await receive()
        await send(start)
        await asyncio.sleep(_SLEEP)
        await send({"type": "http.response.body", "body": b"ok"})
        return
    await send(start)
    if scope["path"].endswith("/readafter"):
        while True:
            message = await receive()
            if message["type"] != "http.request" or not message.get("more_body"):
                break
    await send({"type": "http.response.body", "body": b"ok"})


def _build_wrapped() -> Any:
    from readme_metrics import MetricsApiConfig
    from readme_metrics.asgi import MetricsMiddleware
    from readme_metrics.capture import asgi_receive

    if os.environ.get("HALF_CLOSE_GRACE"):
        asgi_receive.GRACE = float(os.environ["HALF_CLOSE_GRACE"])

    return MetricsMiddleware(late_noread, MetricsApiConfig(grouping_function=grouping))


_wrapped = built_once(_build_wrapped)


async def app(scope: Any, receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        if scope["type"] == "lifespan":
            await lifespan(receive, send)
        return
    await bare_or_wrapped(scope, receive, send, late_noread, _wrapped, lambda scope: None)
