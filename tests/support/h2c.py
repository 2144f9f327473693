"""A minimal HTTP/2 client over cleartext (prior knowledge), on the h2 library.

:func:`h2_get` makes one GET and returns what the server answered as plain data: the
informational responses (103 Early Hints), the response headers, the body (DATA frames
joined: how the server splits them is flow control, not content) and the trailers.
:func:`h2_reset_after` cancels its stream part way, the connection kept open.
:func:`h2_sent` opens a connection with a GET sent, for a client of its own.
"""

from __future__ import annotations

import socket
import time
from contextlib import contextmanager
from typing import Any, Callable, Iterator

IGNORED = (b"date", b"server", b"x-documentation-url")


@contextmanager
def h2_sent(port: int, path: str, headers: tuple[tuple[str, str], ...], timeout: float
             ) -> Iterator[tuple[Any, socket.socket, int]]:
    """A connection (prior knowledge) with a GET of ``path`` sent on its first stream:
    ``(h2 connection, socket, stream id)``, the socket closed at the block's end."""
    import h2.config
    import h2.connection

    conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        conn.initiate_connection()
        stream = conn.get_next_available_stream_id()
        conn.send_headers(stream, [(":method", "GET"), (":path", path), (":scheme", "http"),
                                   (":authority", f"127.0.0.1:{port}"), *headers],
                          end_stream=True)
        sock.sendall(conn.data_to_send())
        yield conn, sock, stream


def h2_get(port: int, path: str, headers: tuple[tuple[str, str], ...] = (),
           timeout: float = 20.0) -> list[tuple[str, Any]]:
    """``[("info", headers)..., ("headers", headers), ("body", bytes), ("trailers", ...)]``."""
    import h2.events

    out: list[tuple[str, Any]] = []
    body = b""
    with h2_sent(port, path, headers, timeout) as (conn, sock, stream):
        ended = False
        while not ended:
            data = sock.recv(65536)
            if not data:
                break
            for event in conn.receive_data(data):
                if isinstance(event, h2.events.DataReceived):
                    body += event.data
                    conn.acknowledge_received_data(event.flow_controlled_length, stream)
                    continue
                name = {h2.events.InformationalResponseReceived: "info",
                        h2.events.ResponseReceived: "headers",
                        h2.events.TrailersReceived: "trailers"}.get(type(event))
                if name is not None:
                    out.append((name, [(bytes(k), bytes(v)) for k, v in event.headers
                                       if bytes(k) not in IGNORED]))
                ended = ended or isinstance(event, (h2.events.StreamEnded,
                                                    h2.events.StreamReset))
            sock.sendall(conn.data_to_send())
    out.append(("body", body))
    return out


def h2_reset_after(port: int, path: str, marker: bytes, then: Callable[[], None],
                   until: Callable[[], bool], headers: tuple[tuple[str, str], ...] = (),
                   timeout: float = 20.0) -> bytes:
    """GET ``path`` and read its body up to ``marker`` (``b""``: none, the stream is
    cancelled at once), then cancel the stream (RST_STREAM, as a browser does for a
    fetch it aborts) and call ``then()``, keeping
    the connection open and read (a client's other streams go on over it) until
    ``until()`` is true or ``timeout``. Returns the body got before the reset; anything
    more for the stream afterwards is an error."""
    import h2.errors
    import h2.events

    body = b""
    with h2_sent(port, path, headers, timeout) as (conn, sock, stream):
        while marker not in body:
            data = sock.recv(65536)
            assert data, f"closed before {marker!r}: {body!r}"
            for event in conn.receive_data(data):
                if isinstance(event, h2.events.DataReceived):
                    body += event.data
                    conn.acknowledge_received_data(event.flow_controlled_length, stream)
            sock.sendall(conn.data_to_send())
        conn.reset_stream(stream, h2.errors.ErrorCodes.CANCEL)
        sock.sendall(conn.data_to_send())
        then()
        deadline = time.monotonic() + timeout
        sock.settimeout(0.05)
        while not until() and time.monotonic() < deadline:
            try:
                data = sock.recv(65536)
            except socket.timeout:
                continue
            if not data:
                break
            for event in conn.receive_data(data):
                assert not isinstance(event, h2.events.DataReceived) or (
                    event.stream_id != stream), "data after the reset"
            sock.sendall(conn.data_to_send())
    return body
