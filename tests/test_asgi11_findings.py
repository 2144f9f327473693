"""asgi11: the ASGI capture under real servers, the leftovers of asgi10's session.

(a) While the capture waits for a body's rest (``asgi_watch.watched_within``), it asks
the server's transport for its socket before anything else. A transport closed meanwhile
answered that in ways the wait did not expect: asyncio's TLS transport closed twice has
dropped its protocol, and every call on it raises AttributeError (``get_extra_info``
too: Python 3.11 to 3.13's sslproto); uvloop's closed transport (TLS or not) gives None
for its socket. The wait raised before its ``try``, its read ahead left in flight, and
the body's read stopped. Now either is a plain wait.
"""

from __future__ import annotations

import asyncio
import ssl
from pathlib import Path
from typing import Any, Callable

import pytest

from readme_metrics.capture.asgi_watch import watched_within
from tests.support.tls import make_certificates, server_context
from tests.test_asgi_servers import NO_UVLOOP


def _uvloop() -> asyncio.AbstractEventLoop:
    import uvloop

    return uvloop.new_event_loop()  # type: ignore[no-any-return]


LOOPS = [pytest.param(asyncio.new_event_loop, id="asyncio"),
         pytest.param(_uvloop, id="uvloop", marks=NO_UVLOOP)]


@pytest.mark.parametrize("new_loop", LOOPS)
@pytest.mark.parametrize("tls", [True, False], ids=["tls", "tcp"])
def test_a_transport_closed_meanwhile_makes_the_wait_a_plain_one(
        tmp_path: Path, new_loop: Callable[[], asyncio.AbstractEventLoop],
        tls: bool) -> None:
    """A real server on 127.0.0.1 (the loop's own, TLS or not), its transport closed
    twice (uvicorn closes it at the end of a response with no keep-alive, and again in
    ``connection_lost``); a read ahead whose message comes 20 ms later. The wait gives
    the message. Before: asyncio TLS raised AttributeError ('NoneType' object has no
    attribute '_get_extra_info'), uvloop TLS and TCP AttributeError (no attribute
    'fileno'), the read ahead left in flight."""
    certificates = make_certificates(tmp_path)
    client_context = ssl.create_default_context(cafile=str(certificates.ca))

    async def main() -> tuple[Any, bool]:
        transports: list[Any] = []

        class Server(asyncio.Protocol):
            def connection_made(self, transport: Any) -> None:
                transports.append(transport)

        loop = asyncio.get_running_loop()
        server = await loop.create_server(
            Server, "127.0.0.1", 0, ssl=server_context(certificates) if tls else None)
        port = server.sockets[0].getsockname()[1]
        _, writer = await asyncio.open_connection(
            "127.0.0.1", port, ssl=client_context if tls else None,
            server_hostname="localhost" if tls else None)
        try:
            for _ in range(500):
                if transports:
                    break
                await asyncio.sleep(0.01)
            transport = transports[0]
            transport.close()
            transport.close()
            await asyncio.sleep(0.05)
            message: asyncio.Future[Any] = loop.create_future()
            loop.call_later(0.02, message.set_result, {"type": "http.request"})
            tasks: list[asyncio.Future[Any]] = []

            def read_ahead() -> asyncio.Future[Any]:
                async def wait() -> Any:
                    return await message
                tasks.append(asyncio.ensure_future(wait()))
                return tasks[0]

            try:
                got: Any = await watched_within(read_ahead, 5.0, transport,
                                                lambda: False)
            except Exception as exc:  # noqa: BLE001 - what it was before
                got = repr(exc)
            return got, tasks[0].done()
        finally:
            writer.close()
            server.close()

    loop = new_loop()
    try:
        got, done = loop.run_until_complete(main())
    finally:
        loop.close()
    assert got == ({"type": "http.request"}, False)
    assert done
