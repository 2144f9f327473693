"""spec20's items (SPEC 2-9 read line by line, black-box): each test failed on main at
ed38dd6 and passes with its fix, under real parts (the collector on 127.0.0.1, the
public middleware)."""

from __future__ import annotations

import asyncio
import base64
import contextvars
import threading
import time
from typing import Any, Callable, Optional

import pytest

from readme_metrics import MetricsApiConfig, MetricsMiddleware
from readme_metrics.asgi import MetricsMiddleware as AsgiMetricsMiddleware
from readme_metrics.request_id import RequestIdMiddleware, current_request_id
from tests.support.contract import API_KEY, exchange, inline_options, reading_app
from tests.support.fake_api import Collector
from tests.support.wsgi import run_wsgi, wsgi_environ

# -- 1. a binary body that happens to be valid UTF-8 --------------------------------------

# Bodies a test of "binary: base64" may well send: every byte below 0x80, so each decodes
# as UTF-8, yet none is text (NULs, C0 controls).
CONTROL_BODIES = [
    pytest.param(b"\x00\x01\x02\x03", id="nul-and-controls"),
    pytest.param(b"\x00" * 16, id="nuls"),
    pytest.param(bytes(range(32)), id="all-c0"),
    pytest.param(b"GIF89a\x01\x00\x01\x00\x00\x00\x00;", id="ascii-magic-then-nuls"),
    pytest.param(b"\x01\x02\x03\x04\x7f", id="controls-without-nul"),
]


@pytest.mark.parametrize("body", CONTROL_BODIES)
@pytest.mark.parametrize("content_type", ["application/octet-stream", "image/gif",
                                          "application/x-protobuf"])
def test_a_body_of_control_bytes_is_binary_base64(
        collector: Collector, inline_wrap: Callable[..., MetricsMiddleware],
        body: bytes, content_type: str) -> None:
    """SPEC 4: binary is ``{mimeType, text: <base64>, comment: "base64"}`` (request) and
    ``encoding: "base64"`` (response). A body of a type that is not text (octet-stream,
    an image, protobuf) holding NULs or C0 controls is binary even when every byte is
    below 0x80: it was recorded as text, NULs and all."""
    app = reading_app(headers=[("Content-Type", content_type)], body=[body])
    middleware = inline_wrap(app)
    _, _, entry = exchange(middleware, collector, method="POST", body=body,
                           headers={"Content-Type": content_type})
    post = entry["request"]["postData"]
    assert post["mimeType"] == content_type
    assert post.get("comment") == "base64", post
    assert base64.b64decode(post["text"]) == body
    content = entry["response"]["content"]
    assert content.get("encoding") == "base64", content
    assert base64.b64decode(content["text"]) == body
    assert content["size"] == len(body)


def test_a_truncated_binary_body_stays_base64(
        collector: Collector, inline_wrap: Callable[..., MetricsMiddleware]) -> None:
    """bytes(range(256)) cut at 10 bytes keeps only bytes below 0x80: still binary, and
    the comment says both things."""
    body = bytes(range(256))
    app = reading_app(headers=[("Content-Type", "application/octet-stream")], body=[body])
    middleware = inline_wrap(app, max_body_bytes=10)
    _, _, entry = exchange(middleware, collector, method="POST", body=body,
                           headers={"Content-Type": "application/octet-stream"})
    post = entry["request"]["postData"]
    assert base64.b64decode(post["text"]) == body[:10]
    assert post["comment"] == "base64; truncated to 10 of 256 bytes"
    content = entry["response"]["content"]
    assert content["encoding"] == "base64"
    assert base64.b64decode(content["text"]) == body[:10]
    assert content["size"] == 256 and "truncated to 10 of 256 bytes" in content["comment"]


@pytest.mark.parametrize("content_type, body", [
    pytest.param("application/octet-stream", b"plain ascii\r\n\tline two\x0c\x1b[0m",
                 id="octet-stream-text"),
    pytest.param("text/plain", b"a\x00b", id="text-with-nul"),
    pytest.param("application/json", b'{"a": "b"}\x00', id="json-with-nul"),
    pytest.param(None, "UTF-16 with its mark".encode("utf-16"), id="no-type-utf-16"),
])
def test_text_stays_text(
        collector: Collector, inline_wrap: Callable[..., MetricsMiddleware],
        content_type: str | None, body: bytes) -> None:
    """SPEC 4: anything else that decodes as text is ``{mimeType, text}`` exactly as
    received: an octet-stream of text (tabs, line ends, form feed, ESC are text), and a
    body its type says is text (text/*, JSON, no Content-Type), NULs and all."""
    headers = {"Content-Type": content_type} if content_type else {}
    middleware = inline_wrap(reading_app())
    _, _, entry = exchange(middleware, collector, method="POST", body=body, headers=headers)
    post = entry["request"]["postData"]
    assert "comment" not in post, post
    assert post["text"] == (body.decode("utf-8") if content_type else "UTF-16 with its mark")
    assert post["mimeType"] == (content_type or "text/plain")


@pytest.mark.parametrize("body", CONTROL_BODIES)
def test_a_body_of_control_bytes_without_a_type_is_binary_too(
        collector: Collector, inline_wrap: Callable[..., MetricsMiddleware],
        body: bytes) -> None:
    """Without a Content-Type the body's bytes decide, as they did for one that is no
    UTF-8 (base64): ``requests.post(url, data=b"\\x00\\x01\\x02\\x03")`` sends none."""
    app = reading_app(headers=[], body=[body])
    middleware = inline_wrap(app)
    _, _, entry = exchange(middleware, collector, method="POST", body=body)
    post = entry["request"]["postData"]
    assert post.get("comment") == "base64", post
    assert base64.b64decode(post["text"]) == body
    content = entry["response"]["content"]
    assert content.get("encoding") == "base64", content
    assert base64.b64decode(content["text"]) == body


# -- 2. flush() after an ASGI app raised, in inline mode ---------------------------------


def _raising_asgi_app() -> Any:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        raise RuntimeError("the app failed before its response")

    return app


@pytest.mark.parametrize("timeout", [5.0, None, float("inf")])
def test_flush_after_an_asgi_app_raised_sends_its_500_log(
        collector: Collector, timeout: Optional[float]) -> None:
    """SPEC 5: an app that raises still gives a log with status 500; SPEC 2: flush() sends
    everything queued and says True only when all was delivered. In inline mode the
    ASGI middleware hands a raising exchange's log to its inline sender without waiting
    (the server owes the client its 500), and flush() did not count what waited there:
    it said True with the log not sent (after each raising request but the first). Any
    timeout: "as long as it takes" (inf) waits for the send under way too."""
    httpx = pytest.importorskip("httpx")
    middleware = AsgiMetricsMiddleware(_raising_asgi_app(), MetricsApiConfig(
        api_key=API_KEY, metrics_api=collector.url, **inline_options({})))
    flushed: list[tuple[bool, int]] = []

    async def calls() -> None:
        transport = httpx.ASGITransport(app=middleware, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://api.test") as c:
            for _ in range(5):
                assert (await c.get("/fails")).status_code == 500
                flushed.append((middleware.flush(timeout), len(collector.logs)))

    try:
        asyncio.run(calls())
    finally:
        middleware.close()
    assert flushed == [(True, count) for count in range(1, 6)]
    statuses = [log["request"]["log"]["entries"][0]["response"]["status"]
                for log in collector.logs]
    assert statuses == [500] * 5


# -- 3. SPEC 8's "a contextvar, also right for threads": the reading pinned ----------------


def test_current_request_id_is_per_thread_and_copied_contexts_carry_it() -> None:
    """SPEC 8 says current_request_id() is "a contextvar, also right for threads". Read
    as docs/COMPANIONS.md does: every server thread sees its own request's id (never
    another's: test_request_id's eight threads on a real server), a thread the app
    starts itself does not inherit it (Python threads start with an empty context) and
    sees None, not a stale or foreign id, and one run with contextvars.copy_context()
    sees the request's."""
    seen: dict[str, Any] = {}

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        seen["call"] = current_request_id()
        plain = threading.Thread(target=lambda: seen.setdefault("plain", current_request_id()))
        context = contextvars.copy_context()
        copied = threading.Thread(target=context.run, args=(
            lambda: seen.setdefault("copied", current_request_id()),))
        for thread in (plain, copied):
            thread.start()
            thread.join()
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]

    result = run_wsgi(RequestIdMiddleware(app),
                      wsgi_environ(headers={"X-Request-Id": "req-spec20"}))
    assert result.header("X-Request-Id") == ["req-spec20"]
    assert seen == {"call": "req-spec20", "plain": None, "copied": "req-spec20"}
    assert current_request_id() is None


def test_a_flush_as_long_as_it_takes_waits_for_the_inline_send_under_way() -> None:
    """flush(float("inf")) under the ASGI inline sends: the wait for the send a drain has
    in hand was Future.result(inf), whose OverflowError (caught) made it not wait at all,
    so the flush answered without that log. Capped at threading.TIMEOUT_MAX, as
    Delivery.flush caps its own wait."""
    from readme_metrics.capture.asgi_inline import InlineSends

    started, release = threading.Event(), threading.Event()
    submitted: list[Any] = []

    def submit(item: Any, send: bool = True) -> None:
        started.set()
        release.wait(10)
        submitted.append(item)

    sends = InlineSends(submit, 10)
    sends.send("log", None)  # no loop: our own thread drains it
    assert started.wait(10)
    threading.Timer(0.3, release.set).start()
    began = time.monotonic()
    sends.hand_over(float("inf"))
    assert submitted == ["log"], "hand_over returned before the send under way was done"
    assert time.monotonic() - began >= 0.2
