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
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any, Callable, Optional

import pytest

from readme_metrics.capture.asgi_watch import watched_within
from tests.support.tls import make_certificates
from tests.test_asgi11_findings import LOOPS, connected

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
