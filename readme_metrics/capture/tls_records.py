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
less 17 bytes (a 16-byte tag, the inner content type), close_notify's too; under TLS 1.2
close_notify is an alert record (type 21), which no body is. Anything else (no TLS
version, no socket, a peek that fails) reads as "not past it".
"""

from __future__ import annotations

from typing import Any, Optional

__all__ = ["past_body"]

_APPLICATION_DATA = 23
#: Bytes of a TLS 1.3 record that are no plaintext: the AEAD tag (16) and the inner type.
_TLS13_OVERHEAD = 17
#: At most this much of the socket is looked at (a longer rest: "not past it").
_LOOK = 256 * 1024


def past_body(transport: Any, remaining: Optional[int]) -> bool:
    """Whether the socket under TLS ``transport`` holds records beyond ``remaining``
    plaintext bytes (the body's rest; None: not known, then only an alert counts):
    under TLS 1.3 more plaintext than that, under TLS 1.2 an alert. False for a plain
    transport, when nothing waits, or where it cannot be told. Never raises."""
    try:
        ssl_object = transport.get_extra_info("ssl_object")
        if ssl_object is None:
            return False
        version = ssl_object.version()
        if version not in ("TLSv1.2", "TLSv1.3"):
            return False
        from readme_metrics.capture.sockets import peek_copy  # a rare path: lazily

        sock = transport.get_extra_info("socket")
        want = _LOOK if remaining is None else min(_LOOK, remaining + 4096)
        return _beyond(peek_copy(sock, want), remaining, version == "TLSv1.3")
    except Exception:  # noqa: BLE001 - a transport or socket built otherwise
        return False


def _beyond(data: bytes, remaining: Optional[int], tls13: bool) -> bool:
    plain, at = 0, 0
    while at + 5 <= len(data):
        kind, length = data[at], int.from_bytes(data[at + 3:at + 5], "big")
        if kind != _APPLICATION_DATA:
            return True  # an alert (TLS 1.2's close_notify): no body's
        if tls13 and remaining is not None:
            plain += max(length - _TLS13_OVERHEAD, 0)
            if plain > remaining:
                return True
        at += 5 + length
    return False
