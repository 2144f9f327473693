"""A read ahead of a body that has arrived takes no turn of the event loop (hostile14).

Under uvicorn, a client that sends its request in full and then half-closes
(``shutdown(SHUT_WR)``) got the bare app's answer but none from the wrapped one: the
capture read the unread body ahead in a task, which runs only at the loop's next turn;
in that turn uvicorn read the client's EOF, took it for a disconnect and dropped what
the app sent after. Here the server's side is scripted as uvicorn's: its ``receive()``
has the body already, and the EOF is handled at the next turn of the loop
(``call_soon``), after which ``send`` drops every message. The real server is in
tests/test_hostile14_servers.py (uvicorn, half-close-unread).

The same client with a body shorter than its Content-Length: the capture waited up to
its grace for the rest, a turn of the loop, and the answer was lost the same way. No
more can come from a client that shut its side: under uvicorn, such a client's body is
read as far as uvicorn has it, without a wait (half-close-short there).
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator
from typing import Any, Callable

import pytest

from readme_metrics.asgi import MetricsMiddleware
from readme_metrics.capture.asgi_eager import eager_future, if_no_wait
from readme_metrics.capture.asgi_servers import uvicorn_half_closed
from tests.support.asgi import DOCS, http_scope
from tests.support.capture_wrap import wrapping
from tests.support.fake_api import Collector


@pytest.fixture
def wrap(collector: Collector) -> Iterator[Callable[..., MetricsMiddleware]]:
    with wrapping(collector, MetricsMiddleware, base_log_url=DOCS) as make:
        yield make


async def _noread(scope: Any, receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": b"ok"})


def _half_closed(app: Any, body: bytes) -> tuple[list[dict[str, Any]], bool]:
    """The messages the scripted server wrote for ``app``, and whether it had taken the
    client's EOF for a disconnect by the end."""
    written: list[dict[str, Any]] = []
    gone = False

    async def case() -> None:
        nonlocal gone
        delivered = False

        def eof_received() -> None:  # uvicorn: connection_lost, cycle.disconnected
            nonlocal gone
            gone = True

        asyncio.get_running_loop().call_soon(eof_received)

        async def receive() -> dict[str, Any]:
            nonlocal delivered
            if gone or delivered:
                return {"type": "http.disconnect"}
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            if not gone:  # uvicorn: `if self.disconnected: return`
                written.append(message)

        scope = http_scope("POST", "/noread", headers=[
            (b"content-type", b"text/plain"), (b"content-length", b"%d" % len(body))])
        await app(scope, receive, send)

    asyncio.run(case())
    return written, gone


def test_the_bare_app_answers_before_the_eof_is_handled() -> None:
    written, gone = _half_closed(_noread, b"h" * 5000)
    assert [m["type"] for m in written] == ["http.response.start", "http.response.body"]
    assert gone


def test_a_body_that_has_arrived_is_read_ahead_without_a_turn_of_the_loop(
        wrap: Any, collector: Collector) -> None:
    """Failed before: the read ahead (a task) let the loop turn; the EOF was handled
    then, and both messages were dropped (the client got nothing)."""
    written, _ = _half_closed(wrap(_noread), b"h" * 5000)
    assert [m["type"] for m in written] == ["http.response.start", "http.response.body"]
    assert written[1]["body"] == b"ok"
    log = collector.wait_for_logs(1)[0]
    request = log["request"]["log"]["entries"][0]["request"]
    assert request["postData"] == {"mimeType": "text/plain", "text": "h" * 5000}


def test_eager_future_done_at_once_without_a_wait() -> None:
    async def case() -> None:
        async def value() -> int:
            return 7

        async def fails() -> int:
            raise ValueError("no")

        done = eager_future(value())
        assert done.done() and done.result() == 7
        failed = eager_future(fails())
        assert failed.done() and isinstance(failed.exception(), ValueError)

    asyncio.run(case())


def test_eager_future_goes_on_in_a_task_after_a_wait_and_can_be_cancelled() -> None:
    async def case() -> None:
        steps: list[str] = []
        gate = asyncio.Event()

        async def waits() -> str:
            steps.append("started")
            await asyncio.sleep(0)
            steps.append("after a turn")
            await gate.wait()
            return "through"

        future = eager_future(waits())
        assert steps == ["started"] and not future.done()
        await asyncio.sleep(0.01)
        assert steps == ["started", "after a turn"]
        gate.set()
        assert await future == "through"

        cancelled: list[bool] = []

        async def forever() -> None:
            try:
                await asyncio.Event().wait()
            except asyncio.CancelledError:
                cancelled.append(True)
                raise

        endless = eager_future(forever())
        await asyncio.sleep(0)
        endless.cancel()
        await asyncio.wait([endless])
        assert endless.cancelled() and cancelled == [True]

    asyncio.run(case())


def test_if_no_wait_runs_what_needs_none_and_cancels_the_rest_at_once() -> None:
    async def case() -> None:
        unwound: list[str] = []

        async def ready() -> int:
            return 3

        async def waits() -> int:
            try:
                await asyncio.Event().wait()
            finally:
                unwound.append("finally")
            return 4

        assert if_no_wait(ready()) == (True, 3)
        assert if_no_wait(waits()) == (False, None)
        assert unwound == ["finally"]  # in this turn of the loop, nothing left in flight

    asyncio.run(case())


class _Transport:
    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.closing = False

    def is_closing(self) -> bool:
        return self.closing

    def get_extra_info(self, name: str) -> Any:
        return self.sock if name == "socket" else None


def test_uvicorn_half_closed_tells_a_client_that_shut_its_side() -> None:
    """What uvicorn's request cycle offers (its module, its ``transport``), over a real
    connection: True once the client shut its side, False before, once uvicorn closes
    the connection itself, and for any other server."""
    cycle_class = type("RequestResponseCycle", (), {
        "__module__": "uvicorn.protocols.http.httptools_impl",
        "receive": lambda self: None})
    other_class = type("Stream", (), {"__module__": "hypercorn.protocol.http_stream",
                                      "receive": lambda self: None})
    server, client = socket.socketpair()
    with server, client:
        cycle, other = cycle_class(), other_class()
        cycle.transport = other.transport = _Transport(server)
        assert not uvicorn_half_closed(cycle.receive)
        client.sendall(b"body")
        assert not uvicorn_half_closed(cycle.receive)  # bytes are no end
        client.shutdown(socket.SHUT_WR)
        assert uvicorn_half_closed(cycle.receive)
        assert not uvicorn_half_closed(other.receive)
        cycle.transport.closing = True  # uvicorn answered itself (a malformed body's 400)
        assert not uvicorn_half_closed(cycle.receive)
        cycle.transport.closing = False
    assert not uvicorn_half_closed(cycle.receive)  # closed: nothing known, no raise
