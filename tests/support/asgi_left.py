"""Apps for tests/test_asgi_left.py: what the client got when it left, or when the app
broke HTTP's framing, bare and wrapped side by side in one server process.

``plain_root`` (a plain ASGI app) and ``starlette_root`` (the same endpoints as Starlette
routes, behind Starlette's own middlewares, which wrap ``send``) serve the app under
``/bare/...`` as it is and under ``/wrap/...`` inside the middleware (configured from the
``README_*`` environment, every call logged). Each wrapped call appends its ``X-Trace``
header to the file named by ``ASGI_TRACES``.

Endpoints (after the prefix):

- ``/late?barrier=<path>``: waits until ``<path>`` exists (the test creates it once the
  client is gone), then answers 200 ``late answer`` (its start, a pause, its body), never
  calling ``receive``.
- ``/length-short?split=0|1``: declares Content-Length 10 and sends ``abc``, in the last
  body message (``split=0``) or in one before an empty last one (``split=1``).
- ``/status-text?status=<s>``: answers with ``status`` as the string given ("200").
"""

from __future__ import annotations

import os
import time
from typing import Any
from urllib.parse import parse_qsl

import anyio

from tests.support.e2e_apps import BARRIER_WAIT
from tests.support.side_by_side import bare_or_wrapped, built_once

LATE_ANSWER = b"late answer"


def grouping(request: Any) -> Any:
    """Every call is logged, as one caller."""
    return {"api_key": "left-caller-key", "label": "left"}


def _trace(scope: Any) -> None:
    path = os.environ.get("ASGI_TRACES")
    trace = dict((bytes(k).lower(), bytes(v)) for k, v in scope["headers"]).get(b"x-trace")
    if scope["type"] == "http" and path and trace:
        with open(path, "a", encoding="latin-1") as traces:
            traces.write(trace.decode("latin-1") + "\n")


async def _wait_for_file(path: str) -> None:
    deadline = time.monotonic() + BARRIER_WAIT
    while not os.path.exists(path) and time.monotonic() < deadline:
        await anyio.sleep(0.01)


async def plain(scope: Any, receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    path = scope["path"][len(scope.get("root_path", "")):]
    query = dict(parse_qsl(scope["query_string"].decode("latin-1")))
    text = (b"content-type", b"text/plain")
    if path == "/late":
        await _wait_for_file(query["barrier"])
        await anyio.sleep(0.05)  # a few turns of the loop: the server sees the close
        await send({"type": "http.response.start", "status": 200,
                    "headers": [text, (b"content-length", b"%d" % len(LATE_ANSWER))]})
        # The client's reset to the head is back, and seen, before the body (at once on
        # loopback, unless the machine is busy: then the body's send came first).
        await anyio.sleep(0.05)
        await send({"type": "http.response.body", "body": LATE_ANSWER})
    elif path == "/length-short":
        await send({"type": "http.response.start", "status": 200,
                    "headers": [text, (b"content-length", b"10")]})
        if query.get("split") == "1":
            await send({"type": "http.response.body", "body": b"abc", "more_body": True})
            await send({"type": "http.response.body", "body": b""})
        else:
            await send({"type": "http.response.body", "body": b"abc"})
    elif path == "/status-text":
        await send({"type": "http.response.start", "status": query["status"],
                    "headers": [text, (b"content-length", b"4")]})
        await send({"type": "http.response.body", "body": b"body"})
    else:
        await send({"type": "http.response.start", "status": 200,
                    "headers": [text, (b"content-length", b"2")]})
        await send({"type": "http.response.body", "body": b"ok"})


def _plain_wrapped() -> Any:
    from readme_metrics import MetricsApiConfig
    from readme_metrics.asgi import MetricsMiddleware

    return MetricsMiddleware(plain, MetricsApiConfig(grouping_function=grouping))


_plain = built_once(_plain_wrapped)


async def plain_root(scope: Any, receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        while (await receive())["type"] != "lifespan.shutdown":
            await send({"type": "lifespan.startup.complete"})
        await send({"type": "lifespan.shutdown.complete"})
        return
    await bare_or_wrapped(scope, receive, send, plain, _plain, _trace)
