"""Whether a TLS connection's socket holds more than the rest of a request body (delivery75).

Over TLS a client's close_notify is a record like any other: no end of the socket
(``POLLRDHUP``) tells it. A client that half-closes its TLS session right behind its
body's last bytes (close_notify, its FIN later or never) has both in the socket at once;
the server that reads them (asyncio's and uvloop's TLS layers) decrypts the body and
takes close_notify for the client's end: its TLS transport shuts down and what the app
writes after is dropped. The bare app, which answered before the body's rest came, got
its answer out. So where the records unread in the socket carry more than the body's
rest, the capture stops waiting for it, as at a client's end (:func:`past_body`).

The records are read from their headers, left in the socket (``MSG_PEEK``): under TLS
1.3 every record after the handshake is application data whose plaintext is its length
less 17 bytes (a 16-byte tag, the inner content type), close_notify's too: past the body
is a record of its size that begins past the rest and ends what the socket holds (more
plaintext alone is a keep-alive client's next request, pipelined, which the server reads
as without the capture: review147; so is one of that size with records behind it, its
first 2 bytes: no client sends a record after its close_notify, RFC 8446 6.1; review148).
Under TLS 1.2 close_notify is an alert record (type 21), which no body is.
Anything else (no TLS version, no socket, a peek that fails, bytes at the socket's head
that are no record's header: the server's TLS layer took a record's start) reads as "not
past it".
:func:`notify_next`: the socket's head is one whole record of close_notify's size.
"""

from __future__ import annotations

from typing import Any, Optional

__all__ = ["ALERT", "APPLICATION_DATA", "LOOK", "TLS13_NOTIFY", "TLS13_OVERHEAD",
           "notify_next", "past_body", "record_header", "socket_head"]

ALERT, APPLICATION_DATA = 21, 23
#: Bytes of a TLS 1.3 record that are no plaintext: the AEAD tag (16) and the inner type.
TLS13_OVERHEAD = 17
#: close_notify's record under TLS 1.3: 2 bytes of alert and the overhead.
TLS13_NOTIFY = 2 + TLS13_OVERHEAD
#: At most this much of the socket is looked at (a longer rest: "not past it").
LOOK = 256 * 1024


def socket_head(transport: Any, want: int) -> tuple[bytes, Optional[bool]]:
    """(what the socket under TLS ``transport`` holds, ``want`` bytes at most, left in
    place; whether the session is TLS 1.3), or (b"", None) where it cannot be told."""
    ssl_object = transport.get_extra_info("ssl_object")
    version = None if ssl_object is None else ssl_object.version()
    if version not in ("TLSv1.2", "TLSv1.3"):
        return b"", None
    from readme_metrics.capture.sockets import peek_copy  # a rare path: lazily

    return peek_copy(transport.get_extra_info("socket"), want), version == "TLSv1.3"


def record_header(data: bytes, at: int) -> Optional[tuple[int, int]]:
    """(type, length) of the record header at ``at``; None where none is whole there or
    the bytes are no header (a record's middle)."""
    if at + 5 > len(data):
        return None
    kind, major, minor = data[at], data[at + 1], data[at + 2]
    length = int.from_bytes(data[at + 3:at + 5], "big")
    if kind not in (20, 21, 22, 23) or major != 3 or not 1 <= minor <= 4 \
            or length > 16384 + 2048:
        return None
    return kind, length


def notify_next(transport: Any) -> bool:
    """Whether the socket under TLS ``transport`` holds one whole record of close_notify's
    size and nothing else (TLS 1.3: 19 bytes of ciphertext; TLS 1.2: an alert): what
    came behind a body's last bytes the server took. Never raises."""
    try:
        data, tls13 = socket_head(transport, 64)
        head = record_header(data, 0)
        if tls13 is None or head is None or len(data) != 5 + head[1]:
            return False
        return head[0] == ALERT or (tls13 and head == (APPLICATION_DATA, TLS13_NOTIFY))
    except Exception:  # noqa: BLE001 - a transport or socket built otherwise
        return False


def past_body(transport: Any, remaining: Optional[int]) -> bool:
    """Whether the socket under TLS ``transport`` holds records beyond ``remaining``
    plaintext bytes (the body's rest; None: not known, then only an alert counts):
    under TLS 1.3 a record of close_notify's size past it, under TLS 1.2 an alert. False
    for a plain transport, when nothing waits, or where it cannot be told. Never raises."""
    try:
        want = LOOK if remaining is None else min(LOOK, remaining + 4096)
        data, tls13 = socket_head(transport, want)
        return tls13 is not None and _beyond(data, remaining, tls13)
    except Exception:  # noqa: BLE001 - a transport or socket built otherwise
        return False


def _beyond(data: bytes, remaining: Optional[int], tls13: bool) -> bool:
    plain, at = 0, 0
    while (head := record_header(data, at)) is not None:
        kind, length = head
        if kind == ALERT:
            return True  # (TLS 1.2's close_notify): no body's
        if kind != APPLICATION_DATA:
            return False  # (a handshake's: not known)
        if tls13 and remaining is not None:
            if plain >= remaining and length == TLS13_NOTIFY and at + 5 + length >= len(data):
                return True  # (a record of close_notify's size past the rest, the last)
            plain += max(length - TLS13_OVERHEAD, 0)
        at += 5 + length
    return False
