"""daphne and a client that half-closes: the wrapped app answers within the app's own step.

daphne (Twisted) takes a client's end (``shutdown(SHUT_WR)``) for the connection's loss:
its HTTP channel is no half-closeable protocol, and the reactor turn that reads the
FIN drops what Twisted holds unwritten (it writes an answer to the socket only in a
later turn) and every message the app sends after. hostile14's half-close rows under
daphne are a race of the answer against the client's FIN, which the bare app loses too
(hostile17: the FIN sent at once, 3 and 0 answers in 100 for the bare app, 5 and 0 for
the wrapped one, in two runs; a bare app that sleeps 1 ms before answering loses more
often than the wrapped one).

The middleware's share, checked here without a clock: daphne hands the app its whole
body before calling it (an ``asyncio.Queue`` filled, ``more_body`` False at the end),
and its ``send`` is a coroutine that never waits. An app that does not wait then gets
every message of its answer to the server within its first step, before any turn of
the loop in which a reactor could read the FIN; wrapped, the same, whatever part of
the body the app read. A turn the capture took before forwarding a message (a read
ahead as a task, a wait for the body) fails this.

What makes the wrapped answer later all the same, timed inside daphne (hostile17,
300 requests each, 3,000-byte POST, /read-some; medians): its own work in the app's
step, 270-320 us from the call to the last message against 100-135 us bare; and a
batch sent at that request, whose HAR and POST on the delivery's thread hold the GIL
before Twisted's next turn writes the answer: from the last message to the socket
write 1,357 us (p90 5,337) wrapped against 212 bare with a POST per log inline, 808
(p90 3,317) in background mode, 194 against 151 with no batch sent (buffer 1,000).
Not changed: handing the log over a turn later would leave it to a loop turn that
may never come (inline mode's reason, capture/asgi_inline.py).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any, Callable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from readme_metrics.asgi import MetricsMiddleware
from tests.support.asgi import http_scope
from tests.support.capture_wrap import wrapping
from tests.support.fake_api import Collector
from tests.test_hostile14_servers import lost_to_the_fin

DAPHNE_BUFFER = 8192  # daphne's request_buffer_size: the body's messages are this long


@pytest.fixture
def wrap(collector: Collector) -> Iterator[Callable[..., MetricsMiddleware]]:
    with wrapping(collector, MetricsMiddleware) as make:
        yield make


def _app(reads: int) -> Any:
    """An app that receives ``reads`` messages (-1: all of the body), then answers the
    first five bytes it got, as hostile_apps' ``/read-some`` (``reads`` 1) does."""
    async def app(scope: Any, receive: Any, send: Any) -> None:
        got = b""
        n = 0
        while reads < 0 or n < reads:
            message = await receive()
            n += 1
            got += message.get("body", b"")
            if not message.get("more_body", False):
                break
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"text/plain")]})
        await send({"type": "http.response.body", "body": got[:5], "more_body": True})
        await send({"type": "http.response.body", "body": b""})
    return app


def _daphne(app: Any, body: bytes) -> list[tuple[str, int]]:
    """Each message the app sent, with the turns of the loop taken before it reached
    the server (a scripted daphne: the whole body queued before the app's call, a
    ``send`` that never waits)."""
    sent: list[tuple[str, int]] = []

    async def case() -> None:
        loop = asyncio.get_running_loop()
        turns = 0
        ticking = True

        def tick() -> None:
            nonlocal turns
            if ticking:
                turns += 1
                loop.call_soon(tick)

        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        offset = 0
        while True:  # daphne's http_protocol.process
            chunk = body[offset:offset + DAPHNE_BUFFER]
            offset += DAPHNE_BUFFER
            more = len(chunk) == DAPHNE_BUFFER
            queue.put_nowait({"type": "http.request", "body": chunk, "more_body": more})
            if not more:
                break

        async def send(message: dict[str, Any]) -> None:  # daphne's handle_reply
            sent.append((message["type"], turns))

        scope = http_scope("POST", "/read-some", headers=[
            (b"content-type", b"text/plain"), (b"content-length", b"%d" % len(body))])
        loop.call_soon(tick)
        try:
            await app(scope, queue.get, send)
        finally:
            ticking = False

    asyncio.run(case())
    return sent


ANSWER = [("http.response.start", 0), ("http.response.body", 0), ("http.response.body", 0)]


def test_the_bare_app_answers_within_its_first_step() -> None:
    assert _daphne(_app(1), b"s" * 3000) == ANSWER


def test_the_wrapped_read_some_app_answers_within_its_first_step(
        wrap: Any, collector: Collector) -> None:
    """hostile14's half-close-read-some under daphne: the app reads the first message
    of a 3,000-byte body (all of it) and answers; no turn before any message."""
    assert _daphne(wrap(_app(1)), b"s" * 3000) == ANSWER
    request = collector.wait_for_logs(1)[0]["request"]["log"]["entries"][0]["request"]
    assert request["postData"]["text"] == "s" * 3000


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(size=st.integers(min_value=0, max_value=3 * DAPHNE_BUFFER + 10),
       reads=st.sampled_from([0, 1, 2, -1]))
def test_the_wrapped_app_answers_within_its_first_step_whatever_it_reads(
        wrap: Any, size: int, reads: int) -> None:
    """A body of any length (in daphne's 8 KiB messages), read not at all, in part or
    whole: every message reaches the server before the loop's first turn, wrapped as
    bare (the unread rest is read ahead from daphne's queue, which has it, without a
    turn)."""
    body = bytes(range(256)) * (size // 256) + b"x" * (size % 256)
    assert _daphne(wrap(_app(reads)), body) == _daphne(_app(reads), body) == ANSWER


WHOLE = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nsssss"


@pytest.mark.parametrize(("server", "name", "bare", "wrapped", "raced"), [
    ("daphne", "half-close-read-some", WHOLE, b"", True),
    ("daphne", "half-close-echo", WHOLE, b"", True),
    ("daphne", "half-close-read-some", WHOLE, WHOLE[:20], False),  # a part: the capture's
    ("daphne", "half-close-read-some", WHOLE[:-1], b"", False),
    ("daphne", "half-close-read-some", b"", WHOLE, True),  # the bare app lost (CI)
    ("daphne", "half-close-read-some", b"", WHOLE[:20], False),
    ("daphne", "half-close-read-some", b"", b"", False),
    ("daphne", "pipe-unread", WHOLE, b"", False),
    ("uvicorn", "half-close-read-some", WHOLE, b"", False),
])
def test_hostile14_takes_only_daphnes_lost_answer_for_the_fins_race(
        server: str, name: str, bare: bytes, wrapped: bytes, raced: bool) -> None:
    assert lost_to_the_fin(server, name, bare, wrapped) is raced
