"""Reading the requests a raw-socket test server gets, by their Content-Length.

The stand-in APIs that break HTTP on purpose (``drip``, ``hangup``, the answers of
test_transport_answers.py) read each request themselves off the socket, then answer
with bytes of their own: these are their readers. And a raw client's
(:func:`answer_to`), for what an HTTP client library would not send or read as is.
"""

from __future__ import annotations

import re
import socket
from typing import Optional

_CONTENT_LENGTH = re.compile(rb"(?i)\r\ncontent-length:\s*(\d+)")


def read_head(conn: socket.socket, data: bytes = b"") -> Optional[bytes]:
    """The request's header block and whatever of the body came with it (``data``: what
    was read of it already); None if the client went away first."""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return None
        data += chunk
    return data


def read_request(conn: socket.socket, data: bytes = b"") -> tuple[Optional[bytes], bytes]:
    """One request's body, read in full (None if the client went away first), and what
    came after it on a kept-alive connection (``data``: what was read of it already)."""
    head = read_head(conn, data)
    if head is None:
        return None, b""
    head, _, rest = head.partition(b"\r\n\r\n")
    match = _CONTENT_LENGTH.search(head)
    length = int(match.group(1)) if match else 0
    while len(rest) < length:
        chunk = conn.recv(65536)
        if not chunk:
            return None, b""
        rest += chunk
    return rest[:length], rest[length:]


def read_body(conn: socket.socket) -> Optional[bytes]:
    """One request's body (None if the client went away first), for a server that answers
    each request before the client sends another."""
    return read_request(conn)[0]


def answer_to(port: int, request: bytes) -> bytes:
    """Send ``request`` as is to 127.0.0.1:``port`` and read the answer until the server
    closes the connection (``Connection: close``, or HTTP/1.0)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        conn.sendall(request)
        answer = b""
        while chunk := conn.recv(65536):
            answer += chunk
        return answer


def half_closed_answer(port: int, request: bytes, timeout: float = 5) -> bytes:
    """Send ``request`` as is to 127.0.0.1:``port`` on one connection, close it for
    writing, and read the answer until the server closes."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as conn:
        conn.sendall(request)
        conn.shutdown(socket.SHUT_WR)
        answer = b""
        while chunk := conn.recv(65536):
            answer += chunk
    return answer


def status_lines(port: int, request: bytes) -> list[bytes]:
    """The status lines 127.0.0.1:``port`` sends for ``request`` (one connection, closed
    for writing once sent: pipelined requests each get theirs), read until it closes."""
    return re.findall(rb"HTTP/1\.1 \d{3} [A-Za-z ]+", half_closed_answer(port, request))


def get_closing(port: int, path: str, host: str = "test") -> bytes:
    """:func:`answer_to` for ``GET path`` on a connection the server closes after it."""
    return answer_to(port, f"GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
                     .encode())


def answers_200(port: int, path: str = "/quick") -> bool:
    """Whether the server on ``port`` answers ``GET path`` with a 200 (False while nothing
    listens there yet): a server's start waited for."""
    try:
        return get_closing(port, path).startswith(b"HTTP/1.1 200")
    except OSError:
        return False
