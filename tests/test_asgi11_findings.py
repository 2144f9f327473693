"""asgi11: the ASGI capture under real servers, the leftovers of asgi10's session.

(a) While the capture waits for a body's rest (``asgi_watch.watched_within``), it asks
the server's transport for its socket before anything else. A transport closed meanwhile
answered that in ways the wait did not expect: asyncio's TLS transport closed twice has
dropped its protocol, and every call on it raises AttributeError (``get_extra_info``
too: Python 3.11 to 3.13's sslproto); uvloop's closed transport (TLS or not) gives None
for its socket. The wait raised before its ``try``, its read ahead left in flight, and
the body's read stopped. Now either is a plain wait.

(b) The capture's wait for a body's rest (5 ms at most) makes all the app does after it
that much later than the bare app; an app that awaits between its start and its body
lost the body to a client's end the bare app's answer came before (the server read it
while the app awaited). The server's reading now stays paused that much longer
(``asgi_watch.hold_reading``).

(c) hypercorn's trio worker and a bad chunk size: its trio.BusyResourceError is its
own (the bare app's too); the same answer when the app reads the body; not when it
leaves it unread (an xfail, below).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
import time
from pathlib import Path
from typing import Any, AsyncIterator, Callable, Optional

import pytest

from readme_metrics.capture.asgi_watch import watched_within
from tests.support.fake_api import Collector, free_port
from tests.support.tls import Certificates, make_certificates, server_context
from tests.test_asgi_servers import NO_UVLOOP
from tests.test_asgi_servers import SERVERS as ASGI_SERVERS
from tests.test_e2e_servers import serve, server_env
from tests.test_half_close_late import SERVER_PARAMS as HALF_CLOSE_PARAMS
from tests.test_half_close_late import SERVERS as HALF_CLOSE_SERVERS
from tests.test_half_close_late import (
    TLS_AGAIN,
    _settled,
    _status_and_body,
    _whole,
    tls_in_parts,
    tls_options,
)
from tests.test_hostile14_servers import ASGI as HOSTILE_ASGI
from tests.test_hostile14_servers import CASES as HOSTILE_CASES
from tests.test_hostile14_servers import normalized, play


def _uvloop() -> asyncio.AbstractEventLoop:
    import uvloop

    return uvloop.new_event_loop()  # type: ignore[no-any-return]


LOOPS = [pytest.param(asyncio.new_event_loop, id="asyncio"),
         pytest.param(_uvloop, id="uvloop", marks=NO_UVLOOP)]


@contextlib.asynccontextmanager
async def connected(certificates: Certificates, tls: bool,
                    received: Optional[bytearray] = None,
                    client_reader: Optional[list[Any]] = None
                    ) -> AsyncIterator[tuple[Any, Any]]:
    """(the server's transport, the client's writer) of one connection to a server of
    the running loop on 127.0.0.1 (TLS or not), which adds what it reads to
    ``received``; the client's reader added to ``client_reader``."""
    transports: list[Any] = []

    class Server(asyncio.Protocol):
        def connection_made(self, transport: Any) -> None:
            transports.append(transport)

        def data_received(self, data: bytes) -> None:
            if received is not None:
                received.extend(data)

    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        Server, "127.0.0.1", 0, ssl=server_context(certificates) if tls else None)
    port = server.sockets[0].getsockname()[1]
    client_context = ssl.create_default_context(cafile=str(certificates.ca))
    reader, writer = await asyncio.open_connection(
        "127.0.0.1", port, ssl=client_context if tls else None,
        server_hostname="localhost" if tls else None)
    if client_reader is not None:
        client_reader.append(reader)
    try:
        for _ in range(500):
            if transports:
                break
            await asyncio.sleep(0.01)
        yield transports[0], writer
    finally:
        writer.close()
        server.close()


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

    async def main() -> tuple[Any, bool]:
        loop = asyncio.get_running_loop()
        async with connected(certificates, tls) as (transport, _):
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

    loop = new_loop()
    try:
        got, done = loop.run_until_complete(main())
    finally:
        loop.close()
    assert got == ({"type": "http.request"}, False)
    assert done


# (b) ---------------------------------------------------------------------------------

TARGET = "tests.support.half_close_app:app"


def _short_then_end(port: int, prefix: str, end: float | str) -> bytes:
    """Everything the server sent to a client that declared 100 bytes, sent 5 with the
    head and shut its side, read until the server closed. It shuts ``end`` seconds
    after sending, or once it read the answer's head (``"head"``: the app then awaits
    between its start and its body) or the whole answer (``"answer"``), or the server
    closed first: an order, however late a loaded machine runs the client (flaky48: the
    end 0.25 s after the request met a bare app not yet done with its 0.1 s await)."""
    head = (f"POST /{prefix}/partsleep HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            "Content-Type: text/plain\r\nContent-Length: 100\r\n\r\n").encode()
    got = bytearray()
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(head + b"short")
        if isinstance(end, str):
            while not _read_to(end, got) and (chunk := sock.recv(65536)):
                got += chunk
        else:
            time.sleep(end)
        try:
            sock.shutdown(socket.SHUT_WR)
        except OSError:  # the server closed already
            pass
        try:
            while chunk := sock.recv(65536):
                got += chunk
        except ConnectionResetError:
            pass
    return bytes(got)


def _read_to(end: str, got: bytearray) -> bool:
    """Whether ``got`` holds the answer's head (``end`` ``"head"``) or all of the
    answer (``"answer"``: its 2-byte body too, the app's Content-Length)."""
    if b"\r\n\r\n" not in got:
        return False
    return end == "head" or len(got.partition(b"\r\n\r\n")[2]) >= 2


# (the capture's grace, what the app awaits between its start and its body; seconds:
# when each client shuts its side is WRAPPED_END's, and the bare one's its whole answer).
# The grace is 5 ms in use, where asgi11 met each of these
# with the end 5 and 7 ms after the body's part: the wrapped app's body 0 of 40 times,
# the bare app's 40 of 40 (uvicorn asyncio and uvloop, hypercorn).
WHEN = {
    # the end while the capture waits for the rest (it stops there, before the server
    # reads the end; the server read it as soon as the app awaited)
    "end-within-the-grace": ("2", "0.1"),
    # the end after the grace, while the app awaits, the bare app's answer out before it
    "end-after-the-grace": ("0.2", "0.1"),
}
# When the wrapped app's client shuts its side over TCP: 0.3 s after the request, well
# within the 2 s grace (before the head), or once the head came (the app awaits). The
# bare app's client shuts once it read the whole answer: out before the end every time
# (flaky48: a fixed 0.25 s, and a loaded uvicorn read the end while the bare app still
# awaited its 0.1 s, its answer the head alone).
WRAPPED_END: dict[str, float | str] = {"end-within-the-grace": 0.3,
                                         "end-after-the-grace": "head"}


@pytest.mark.e2e
@pytest.mark.parametrize("when", list(WHEN))
@pytest.mark.parametrize("server", HALF_CLOSE_PARAMS)
def test_an_end_the_bare_app_answered_before_leaves_the_wrapped_app_its_answer(
        collector: Collector, tmp_path: Path, server: str, when: str) -> None:
    """(b) The client sends 5 of 100 bytes, and shuts its side a while later (the bare
    app's once it read the answer, the wrapped app's :data:`WRAPPED_END`); the app reads
    the part, starts its answer, awaits, sends its body. The bare app's answer is out
    before the end. The wrapped app's start waited for the body's rest (the grace,
    made longer here so that the timing holds every time), and the app did all that
    follows that much later: the server read the end while the app awaited, uvicorn
    took it for a disconnect and dropped the body, hypercorn closed the connection
    (before: the head only, b''). Now the server's reading stays paused (the socket
    watched: data is read at once) for as long as the app was held back, and the end is
    read that much later, as the app answers: the bare app's answer."""
    grace, sleep = WHEN[when]
    port = free_port()
    env = server_env(collector, HALF_CLOSE_HOLD="0", HALF_CLOSE_GRACE=grace,
                     HALF_CLOSE_SLEEP=sleep)
    with serve(HALF_CLOSE_SERVERS[server](port), env, tmp_path, port):
        _short_then_end(port, "wrap", 0.0)  # the wrapped app is built at its first call
        collector.wait_for_logs(1)  # built before the bare request (asgi12)
        bare = _short_then_end(port, "bare", "answer")
        wrapped = _short_then_end(port, "wrap", WRAPPED_END[when])
        logs = collector.wait_for_logs(2)[1:]
    assert _status_and_body(bare)[1] == b"ok", bare
    assert _status_and_body(wrapped) == _status_and_body(bare), (bare, wrapped)
    assert len(logs) == 1, logs
    post = logs[0]["request"]["log"]["entries"][0]["request"]["postData"]
    assert post["text"] == "short", post


# (c) ---------------------------------------------------------------------------------


@pytest.mark.e2e
@pytest.mark.parametrize("case", [
    "chunked-bad-size",
    pytest.param("chunked-bad-size-unread", marks=pytest.mark.xfail(
        reason="hypercorn's trio worker: the capture's read ahead before the start is a "
               "checkpoint, in which hypercorn reads the bad chunk and answers its own "
               "400; the bare app's start races hypercorn's reader (trio."
               "BusyResourceError), its client gets nothing (see the module)",
        strict=False)),
])
def test_under_trio_a_bad_chunk_size_gets_the_bare_apps_answer(
        collector: Collector, tmp_path: Path, case: str) -> None:
    """(c) hostile14's bad chunk sizes (``zz``) under hypercorn's trio worker, which
    hostile14 does not run. hypercorn's reader task finds the bad size and sends its
    400 while the app's task sends its start: two tasks writing one trio SocketStream,
    and the app's ``send`` raises trio.BusyResourceError (hypercorn's
    trio/tcp_server.py ``protocol_send``), the bare app's as the wrapped one's: the
    server's, not the capture's. When the app reads the body first (``/echo``), both
    clients get hypercorn's 400. When it never reads it, the bare app's client gets
    nothing (hypercorn closes the connection its start broke), the wrapped one's the
    400: the capture's read ahead for the grouping function is a trio checkpoint, in
    which hypercorn's reader sends its 400 before the app's start (not fixed; asgi11's
    report). hostile17, the capture made to read nothing before the start (a
    prototype, not kept): the pair still differed in 3 runs of 3, twice the wrapped
    app's client with the 400 and the bare one's with nothing, once the other way
    round; trio's scheduler decides which of the two tasks writes first, and in a loop
    of such pairs hypercorn's trio worker went down (BusyResourceError, connection
    refused after). Not the capture's alone: the xfail stays."""
    pytest.importorskip("trio")
    steps = HOSTILE_CASES[case][0]
    port = free_port()
    env = server_env(collector, HOSTILE_TRACES=str(tmp_path / "traces"))
    with serve(ASGI_SERVERS["hypercorn-trio"](port, HOSTILE_ASGI), env, tmp_path, port):
        play(port, "wrap", "warm-up", HOSTILE_CASES["chunked-ext-trailers"][0])
        for n in range(3):
            bare, _ = play(port, "bare", f"b-{case}-{n}", steps)
            wrapped, _ = play(port, "wrap", f"w-{case}-{n}", steps)
            assert normalized(wrapped) == normalized(bare), (bare, wrapped)


def _tls_short_then_end(port: int, ca: Path, prefix: str, end: float | str) -> bytes:
    """:func:`_short_then_end` over TLS, the client's end a FIN with no close_notify
    (shut through a duplicate of the descriptor: the TLS session still reads), ``end``
    as there: seconds after sending, or once the answer's head or whole answer came
    (flaky49: the TLS rows still ended a fixed 0.25 s after the request)."""
    if not isinstance(end, str):
        return tls_in_parts(port, ca, prefix, (b"short", b""), 100, 1, end, "partsleep")
    head = (f"POST /{prefix}/partsleep HTTP/1.1\r\nHost: localhost:{port}\r\n"
            "Content-Type: text/plain\r\nContent-Length: 100\r\n\r\n").encode()
    context = ssl.create_default_context(cafile=str(ca))
    got = bytearray()
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw, \
            context.wrap_socket(raw, server_hostname="localhost") as sock:
        try:
            sock.sendall(head + b"short")
            while not _read_to(end, got) and (chunk := sock.recv(65536)):
                got += chunk
            with socket.fromfd(sock.fileno(), sock.family, sock.type) as copy:
                copy.shutdown(socket.SHUT_WR)
            while chunk := sock.recv(65536):
                got += chunk
        except OSError:  # the server closed first; a TLS close without close_notify
            pass
    return bytes(got)


# Why the TLS rows wait for the warm-up's log before the bare app's request (asgi12).
# Over TLS a client's end read with the request closes the connection (asyncio's and
# uvloop's TLS), and the warm-up's client ends at once: it has its answer (none) before
# the wrapped app, built at its first call (the middleware's imports, 150-470 ms on a
# loaded machine), is done, the server's loop held all that while. The bare app's
# client, ending 0.1-0.3 s after its request, then had its end read with the request
# and got nothing (CI, hypercorn --worker-class uvloop; asgi12, fresh servers: this
# test's case 6 of 80, review75's 17 of 110, a bare warm-up holding the loop 0.15-0.25 s,
# no middleware built, 7 of 120).
# Waiting for the warm-up's log: 0 of 40 in each case.


@pytest.mark.e2e
@pytest.mark.parametrize("when", list(WHEN))
@pytest.mark.parametrize("server", [
    "uvicorn", "hypercorn",
    pytest.param("uvicorn-uvloop", marks=NO_UVLOOP),
    pytest.param("hypercorn-uvloop", marks=NO_UVLOOP)])
def test_over_tls_an_end_the_bare_app_answered_before_leaves_the_wrapped_app_its_answer(
        collector: Collector, tmp_path: Path, server: str, when: str) -> None:
    """(b) over TLS: the pause held is the socket's (the transport under asyncio's TLS
    one, uvloop's TLS read buffer limits), put back when the hold ends."""
    grace, sleep = WHEN[when]
    certificates = make_certificates(tmp_path)
    port = free_port()
    env = server_env(collector, HALF_CLOSE_HOLD="0", HALF_CLOSE_GRACE=grace,
                     HALF_CLOSE_SLEEP=sleep)
    tls = tls_options(server, certificates)
    with serve([*HALF_CLOSE_SERVERS[server](port), *tls], env, tmp_path, port,
               host="localhost", ca=certificates.ca):
        _tls_short_then_end(port, certificates.ca, "wrap", 0.0)
        collector.wait_for_logs(1)  # the wrapped app built (see above the test)
        for play in range(TLS_AGAIN + 1):
            # A loaded server reads the client's end before the bare app's answer is out
            # (hypercorn: no half-close over TLS): the bare app loses it (its head alone,
            # or nothing: the fresh CI of f1c44d0 at load 15), and the play says nothing
            # of the wrapped one's. Such a bare play is played again (the bare app logs
            # nothing), once the server is past the app's hold (_settled).
            if play:
                _settled(port, certificates.ca)
            bare = _tls_short_then_end(port, certificates.ca, "bare", "answer")
            if _whole(bare) or not server.startswith("hypercorn"):
                break
        wrapped = _tls_short_then_end(port, certificates.ca, "wrap", WRAPPED_END[when])
        logs = collector.wait_for_logs(2)[1:]
    assert _status_and_body(bare)[1] == b"ok", bare
    assert _status_and_body(wrapped) == _status_and_body(bare), (bare, wrapped)
    assert len(logs) == 1, logs
