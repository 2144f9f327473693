"""Property: for any status, headers, chunking and body, the wrapped ASGI app sends the
very messages the bare app sends (apart from x-documentation-url) and receives the very
messages the bare app receives; the log holds the bodies, bounded, with their real sizes.
"""

from __future__ import annotations

import asyncio
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from readme_metrics import MetricsApiConfig
from readme_metrics.asgi import MetricsMiddleware
from readme_metrics.exchange import PendingExchange
from tests.support.asgi import DOCS, GROUP, body_messages, http_scope, run

LIMIT = 64

names = st.text("abcdefghijklmnopqrstuvwxyz-", min_size=1, max_size=12).map(str.encode)
values = st.binary(max_size=20).map(
    lambda raw: bytes(b for b in raw if 0x20 <= b < 0x7F or b >= 0x80))
headers = st.lists(st.tuples(names, values), max_size=6)
chunks = st.lists(st.binary(max_size=100), max_size=5)


class Recording(MetricsMiddleware):
    """The real middleware; what it would queue is kept here instead of being sent."""

    def __init__(self, app: Any, config: MetricsApiConfig) -> None:
        super().__init__(app, config)
        self.queued: list[PendingExchange] = []

    def submit(self, pending: PendingExchange) -> None:
        self.queued.append(pending)


def scripted(status: int, head: list[tuple[bytes, bytes]], out: list[bytes],
             reads: bool, got: list[dict[str, Any]]) -> Any:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        while reads:
            got.append(await receive())
            if not got[-1].get("more_body"):
                break
        await send({"type": "http.response.start", "status": status, "headers": head})
        for i, chunk in enumerate(out):
            await send({"type": "http.response.body", "body": chunk,
                        "more_body": i < len(out) - 1})
        if not out:
            await send({"type": "http.response.body", "body": b""})

    return app


def without_docs_header(sent: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for message in sent:
        if message["type"] == "http.response.start":
            message = {**message, "headers": [
                (k, v) for k, v in message["headers"] if k != b"x-documentation-url"]}
        out.append(message)
    return out


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(status=st.integers(200, 599), head=headers, out=chunks, body=chunks,
       reads=st.booleans())
def test_wrapped_sends_and_receives_what_bare_does(
    status: int, head: list[tuple[bytes, bytes]], out: list[bytes], body: list[bytes],
    reads: bool,
) -> None:
    config = MetricsApiConfig(api_key="rdme_property", grouping_function=lambda r: GROUP,
                              base_log_url=DOCS, max_body_bytes=LIMIT,
                              metrics_api="http://127.0.0.1:9")
    bare_got: list[dict[str, Any]] = []
    wrapped_got: list[dict[str, Any]] = []
    wrapped = Recording(scripted(status, head, out, reads, wrapped_got), config)
    length = sum(map(len, body))
    scope = http_scope("POST", headers=[(b"content-length", str(length).encode())])
    bare_run = asyncio.run(run(scripted(status, head, out, reads, bare_got), dict(scope),
                               body_messages(*body)))
    wrapped_run = asyncio.run(run(wrapped, dict(scope), body_messages(*body)))

    assert without_docs_header(wrapped_run.sent) == bare_run.sent
    docs = [v for k, v in wrapped_run.start["headers"] if k == b"x-documentation-url"]
    assert len(docs) == 1 and docs[0].startswith(DOCS.encode())
    assert wrapped_got == bare_got

    (pending,) = wrapped.queued
    exchange = pending.to_exchange()
    assert exchange.status == status
    # 204 and 304 carry no body: what the app sends anyway, the server drops.
    sent = b"" if status in (204, 304) else b"".join(out)
    assert exchange.response_body == sent[:LIMIT]
    assert exchange.response_body_size == len(sent)
    # Read by the app, or drained after the response: recorded either way, bounded.
    assert exchange.request_body == b"".join(body)[:LIMIT]
    assert exchange.request_body_size == length
    assert exchange.id == docs[0].decode().rsplit("/", 1)[1]
