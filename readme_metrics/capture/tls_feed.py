"""Handing a TLS server a body's records itself, the server's reading paused (delivery78).

While the capture waits for the rest of a body the app left unread, the server's reading
is paused (``asgi_watch``). Over TLS a client's close_notify right behind the rest loses
the app's answer once the server reads it before the answer went out (asyncio's and
uvloop's TLS layers take it for the client's end: delivery75). Letting the server read
when the rest came, once a look at the socket found nothing behind it, left a race: a
close_notify landing between the look and the server's read was read with the rest (1 in
160 rounds at load 30). So the server is never let read there: the records are read off
the socket here, exactly as many bytes as the body's, and handed to the server's TLS
protocol as its transport would (``get_buffer`` / ``buffer_updated``); what lands behind
them stays in the socket, the server paused, until the wait's hold ends.

Which records are the body's (:func:`body_bytes`): under TLS 1.3 (every record
application data, close_notify's 19 bytes too) those that begin before the body's rest
is covered (a declared length), but a last one of close_notify's size with nothing behind
it that would not end the body (a client that sent less than it declared, then closed:
handed over, it lost the app's answer, review151); of a chunked body, whose end cannot
be seen, every record but a last one of close_notify's size with nothing behind it (2
bytes of a chunk's framing, ``\\r\\n`` written alone, are that size too). Such a record is
held until more comes behind it, or the wait's time is up, the body then logged
incomplete (the server reads it after the answer); under TLS 1.2 every
application data record, up to an alert (close_notify is one). A record is handed over
as far as it has arrived, its rest as it comes (:class:`Owed`): a record left part way
in the socket kept the kernel's receive buffer full (its segments' memory), the
client's window shut, and a 1 MiB body was logged cut on asyncio (review150).
Bytes at the socket's head that are no record's header (the server's TLS layer took a
record's start before the pause): nothing is told, the caller lets the server read.
So it does where no TLS protocol takes a buffer (asyncio's before Python 3.11, whose
SSLProtocol takes ``data_received`` only). The rest is counted from what the capture was
given: bytes the server read before the pause whose message is still on its way
(hypercorn's reader task) make what lands behind them look like the body's, as for
:func:`.tls_records.past_body`.
"""

from __future__ import annotations

import gc
import socket
from typing import Any, Optional

from readme_metrics.capture.tls_records import (
    ALERT,
    APPLICATION_DATA,
    LOOK,
    TLS13_NOTIFY,
    TLS13_OVERHEAD,
    record_header,
    socket_head,
)

__all__ = ["UNTOLD", "Owed", "body_bytes", "feed", "tls_protocol"]

#: What :func:`feed` and :func:`body_bytes` give where the socket's head cannot be told.
UNTOLD = -1


def _feedable(protocol: Any) -> bool:
    return callable(getattr(protocol, "get_buffer", None)) \
        and callable(getattr(protocol, "buffer_updated", None))


def tls_protocol(transport: Any) -> Any:
    """The TLS protocol under the TLS ``transport`` that its socket's bytes go to:
    asyncio's (``_ssl_protocol``), or uvloop's (a C attribute: found among what the
    transport refers to); None where there is none that takes them (a plain wait)."""
    try:
        protocol = getattr(transport, "_ssl_protocol", None)
        if protocol is None and type(transport).__module__.startswith("uvloop"):
            protocol = next((ref for ref in gc.get_referents(transport)
                             if type(ref).__name__ == "SSLProtocol"), None)
        return protocol if protocol is not None and _feedable(protocol) else None
    except Exception:  # noqa: BLE001 - a transport built otherwise: none
        return None


class Owed:
    """What :func:`feed` left of a drain's body: the ciphertext still to come of a record
    it handed over in part (the socket's head is that record's middle till then), and
    the body's plaintext still to come at most (None: not known), less what was handed
    over. Carried across a drain's :func:`.watched_within` calls, between which no turn
    of the loop passes (the server reads nothing between them); ``bytes`` is cleared
    wherever the server is let read (it reads the record's rest itself then)."""

    __slots__ = ("bytes", "left")

    def __init__(self) -> None:
        self.bytes = 0
        self.left: Optional[int] = None

    def bound(self, remaining: Optional[int]) -> Optional[int]:
        """``remaining`` (counted from what the capture was given), or less: what was
        handed over and has not come back as a message yet."""
        if remaining is None or self.left is None:
            return remaining
        return min(remaining, self.left)


def body_bytes(data: bytes, remaining: Optional[int], tls13: bool,
               owed: int = 0) -> tuple[int, int, int]:
    """(how many bytes at the head of ``data``, what the socket holds, are the body's
    records (see the module), a last one's arrived part too, 0 when none is yet or
    :data:`UNTOLD` where the head is no record's header; the plaintext they carry under
    TLS 1.3, a part's whole record's, else 0; the bytes of the last record still to
    come). ``remaining``: the body's plaintext still to come, None when not known
    (chunked); ``owed``: the bytes still to come of a record handed over in part, at
    the head of ``data``."""
    if owed >= len(data):
        return len(data), 0, owed - len(data)
    at, plain = owed, 0
    while (head := record_header(data, at)) is not None:
        kind, length = head
        end = at + 5 + length
        if kind != APPLICATION_DATA:
            return (UNTOLD if at == 0 and kind != ALERT else at), plain, 0  # (an alert)
        if tls13:
            if remaining is not None and plain >= remaining:
                return at, plain, 0  # past the rest: close_notify, or a next request
            if length == TLS13_NOTIFY and end >= len(data) and (
                    remaining is None or remaining - plain != 2):
                # (close_notify's size, nothing behind it, not the sized body's last 2
                # bytes: a client's end before its body's, held; review151)
                return at, plain, 0
            plain += max(length - TLS13_OVERHEAD, 0)
        if end > len(data):
            return len(data), plain, end - len(data)  # (its rest handed over as it comes)
        at = end
    return (UNTOLD if at == 0 and len(data) >= 5 else at), plain, 0


def feed(protocol: Any, transport: Any, copy: socket.socket,
         remaining: Optional[int], owed: Owed, whole: bool = False) -> tuple[int, int]:
    """Read the body's records off ``copy`` (the socket under ``transport``, the server
    paused), as far as they have arrived, and hand them to the server's TLS
    ``protocol`` (:func:`tls_protocol`): (the bytes handed over, 0 when none is the
    body's yet, :data:`UNTOLD` when the socket's head cannot be told or a transport
    closed meanwhile; their plaintext, as :func:`body_bytes`). ``owed.bytes`` is kept
    (see :class:`Owed`). ``whole``: only records that carry all of the rest (a client's
    close_notify behind them: :func:`.tls_records.past_body`), else 0; under TLS 1.2,
    whose plaintext no record's length tells, the whole records before the alert (all
    the client sent: review151, the body logged cut there as before delivery83). Never
    raises."""
    try:
        data, tls13 = socket_head(transport, LOOK)
        if tls13 is None:
            return UNTOLD, 0
        count, plain, still = body_bytes(data, remaining, tls13, owed.bytes)
        if count <= 0 or (whole and (still or tls13 and (
                remaining is None or plain < remaining))):
            return min(count, 0), 0
        buffer = protocol.get_buffer(count)
        if len(buffer) < count:
            return UNTOLD, 0
        got = copy.recv_into(buffer, count, getattr(socket, "MSG_DONTWAIT", 0))
        if got:
            protocol.buffer_updated(got)  # (what was taken goes to the server, always)
        if got != count:  # (short: never, paused)
            return UNTOLD, 0
        owed.bytes = still
        return count, plain
    except Exception:  # noqa: BLE001 - a socket or transport gone meanwhile
        return UNTOLD, 0
