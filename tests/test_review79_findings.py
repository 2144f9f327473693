"""review79: an adversarial read of the last session's capture and delivery landings
(6ba413d..e9e3702).

(a) asgi_watch.watched_within: over uvloop's TLS the server's reading is paused through
the transport's read buffer limits (``_LimitsPause``). A transport whose connection was
lost during the wait (the client gone, the server's abort) raises AttributeError from
those limits' setter (uvloop's SSL protocol has dropped the transport under it). The
wait's ``finally`` resumed without :func:`_resume`'s guard: a cancellation of the app's
task during the wait (Starlette's streaming answer cancels its sender when the client
disconnects) came out as that AttributeError, which the drain takes for a broken
``receive`` and returns from (the task went on, the cancellation lost), and the copy of
the descriptor was left to the garbage collector (the connection kept open with it); a
wait that merely timed out raised the AttributeError too, and so did the next pause in
the loop after data had woken it.

(b) werkzeug's server (``flask run``), a chunked body longer than ``max_body_bytes`` the
app read part of, sent whole: hostile15's copy before werkzeug's discard filled what is
kept; after the discard, the rest was read again from the stream's position to find the
copied bytes, which werkzeug had thrown away, and the log said "incomplete: 16 of a body
of unknown length could be read without waiting" for a body the client sent whole. Now,
as when the app read none of it: truncated to max_body_bytes, no "incomplete".

(c) asgi_watch's ``_Hold`` keeps the server's reading paused for as long as the app was
held back, through a copy of the socket's descriptor. The server closing the connection
meanwhile (a ``Connection: close`` answer) closed its own descriptor, and the copy kept
the connection open: the client saw the close only when the hold ended (a loop stalled
a second by another request's blocking call made a hold of a second). The hold now ends
once the server's transport is closing.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any, Callable, Optional

import pytest

from readme_metrics import MetricsApiConfig, MetricsMiddleware
from readme_metrics.capture.asgi_watch import watched_within
from tests.support.capture_wrap import only_log
from tests.support.fake_api import Collector
from tests.support.tls import make_certificates
from tests.support.wsgi_servers import served
from tests.test_asgi11_findings import LOOPS, connected
from tests.test_hostile15_findings import _reads_five, _send

# (a) ---------------------------------------------------------------------------------

@pytest.mark.parametrize("new_loop", LOOPS)
@pytest.mark.parametrize("tls", [True, False], ids=["tls", "tcp"])
@pytest.mark.parametrize("end", ["cancelled", "timed-out", "client-gone"])
@pytest.mark.parametrize("hold", [True, False], ids=["hold", "no-hold"])
def test_a_connection_lost_during_the_wait_raises_nothing_of_its_own(
        tmp_path: Path, new_loop: Callable[[], asyncio.AbstractEventLoop], tls: bool,
        end: str, hold: bool) -> None:
    """A real server on 127.0.0.1 (the loop's own, TLS or not); during a wait with no
    message its transport is aborted (the connection lost), then the waiting task is
    cancelled, or the wait's time runs out; or the client closes its side (data: the
    watch wakes, resumes and pauses again). The wait raises the cancellation as it was,
    or returns (None, False). Before: uvloop over TLS raised AttributeError ('NoneType'
    object has no attribute 'resume_reading' / 'pause_reading') in every case."""
    certificates = make_certificates(tmp_path)

    async def main() -> Any:
        loop = asyncio.get_running_loop()
        async with connected(certificates, tls) as (transport, writer):

            def read_ahead() -> asyncio.Future[Any]:
                return loop.create_future()  # no message comes

            began: Optional[float] = time.perf_counter() if hold else None
            waiting = asyncio.ensure_future(watched_within(
                read_ahead, 5.0 if end == "cancelled" else 0.3, transport,
                lambda: False, began))
            await asyncio.sleep(0.05)
            if end == "client-gone":
                writer.transport.abort()
            else:
                transport.abort()
            await asyncio.sleep(0.05)
            if end == "cancelled":
                waiting.cancel()
            try:
                return await waiting
            except asyncio.CancelledError:
                return "cancelled"
            except Exception as exc:  # noqa: BLE001 - what it was before
                return repr(exc)

    loop = new_loop()
    try:
        got = loop.run_until_complete(main())
    finally:
        loop.close()
    assert got == ("cancelled" if end == "cancelled" else (None, False))


# (b) ---------------------------------------------------------------------------------

LONG = b"q" * 100_000  # a chunk larger than werkzeug's reader buffers


def werkzeug_reads_five(collector: Collector, chunks: bytes, shut: bool,
                        max_body_bytes: int) -> dict[str, Any]:
    """The logged request of a chunked POST of ``chunks`` (the client's side shut once
    sent when ``shut``) to an app that reads 5 bytes of it, under werkzeug's server."""
    read: list[bytes] = []
    middleware = MetricsMiddleware(_reads_five(read), MetricsApiConfig(
        api_key="rdme_review79_project_key", metrics_api=collector.url, buffer_length=1,
        grouping_function=lambda request: {"api_key": "review79-caller"},
        max_body_bytes=max_body_bytes))
    with served("werkzeug", middleware) as port:
        answer = _send(port, chunks, shut)
    assert middleware.flush(5.0) is True
    request: dict[str, Any] = only_log(collector)["request"]["log"]["entries"][0]["request"]
    middleware.close()
    assert answer.split(b"\r\n")[0] == b"HTTP/1.1 200 OK"
    assert read[0] == b"abcde"
    return request


@pytest.mark.parametrize("shut", [True, False], ids=["shut", "open"])
def test_a_chunked_body_read_in_part_past_max_body_bytes_is_truncated_not_incomplete(
        collector: Collector, shut: bool) -> None:
    """werkzeug's server; the app reads 5 bytes of a chunked body of 100,006 bytes sent
    whole (the client's side shut, or left open); max_body_bytes 16. The log keeps 16
    bytes, of a body of unknown length, truncated. Before: "incomplete: 16 of a body of
    unknown length could be read without waiting" (bodySize 16)."""
    chunks = b"6\r\nabcdef\r\n%x\r\n" % len(LONG) + LONG + b"\r\n0\r\n\r\n"
    request = werkzeug_reads_five(collector, chunks, shut, 16)
    post = request["postData"]
    assert post["text"] == "abcdef" + "q" * 10
    assert "incomplete" not in post.get("comment", ""), post
    assert "truncated to 16 bytes" in post["comment"], post
    assert request["bodySize"] == -1


# (c) ---------------------------------------------------------------------------------

@pytest.mark.parametrize("new_loop", LOOPS)
@pytest.mark.parametrize("tls", [True, False], ids=["tls", "tcp"])
def test_the_servers_close_during_a_hold_reaches_the_client(
        tmp_path: Path, new_loop: Callable[[], asyncio.AbstractEventLoop],
        tls: bool) -> None:
    """A real server on 127.0.0.1 (the loop's own, TLS or not); a wait with no message
    whose app was held back 20 s (a 20 s hold follows), then the server closes the
    transport. The client reads the end of the connection (within 5 s: at once).
    Before: over TCP, not before the hold's 20 s were over (asyncio and uvloop)."""
    certificates = make_certificates(tmp_path)

    async def main() -> Any:
        loop = asyncio.get_running_loop()
        readers: list[Any] = []
        async with connected(certificates, tls, client_reader=readers) as (
                transport, _):

            def read_ahead() -> asyncio.Future[Any]:
                return loop.create_future()  # no message comes

            assert await watched_within(read_ahead, 0.01, transport, lambda: False,
                                        time.perf_counter() - 20.0) == (None, False)
            transport.close()
            try:
                return await asyncio.wait_for(readers[0].read(100), 5.0)
            except asyncio.TimeoutError:
                return "no end within 5 s"

    loop = new_loop()
    try:
        assert loop.run_until_complete(main()) == b""
    finally:
        loop.close()
