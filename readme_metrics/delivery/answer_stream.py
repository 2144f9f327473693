"""An answer's bytes off its socket: one buffer, as few ``recv`` calls as its segments
need, each read within the POST's deadline where one is given.
"""

from __future__ import annotations

import time
from typing import Any, Optional, Union

from readme_metrics.delivery.answer import MAX_HEADERS, MAX_LINE

__all__ = ["Stream", "time_left"]

#: Bytes asked of the socket at a time: a whole answer of the Metrics API, mostly.
_RECV = 65536
#: Up to this many unread bytes, the buffer is copied to add a segment to it; past it,
#: it becomes a bytearray that grows in place (see Stream).
_COPY_MAX = 1024


class Stream:
    """The bytes of one answer read from ``sock`` and not used yet.

    With a ``deadline`` (``time.monotonic()``), each read may wait only until then (the
    socket's timeout is set to what is left, ``TimeoutError`` once it is past): the
    bound on the whole answer where no watchdog can cut the socket.

    The buffer is the bytes of one ``recv`` while the answer comes in one (the common
    case: nothing is copied), copied to add a segment while what is unread is small;
    past that it becomes a ``bytearray`` extended in place, so an answer in many small
    segments (a server dripping it) costs time in proportion to its size, not to its
    size times its segments. What it gives is always ``bytes``.
    """

    __slots__ = ("_sock", "_data", "_pos", "_ended", "_deadline")

    def __init__(self, sock: Any, deadline: Optional[float] = None) -> None:
        self._sock = sock
        self._data: Union[bytes, bytearray] = b""
        self._pos = 0
        self._ended = False
        self._deadline = deadline

    def _more(self) -> bool:
        """Read what the server sent next; False once it closed."""
        if self._ended:
            return False
        if self._deadline is not None:
            time_left(self._sock, self._deadline)
        chunk = self._sock.recv(_RECV)
        if not chunk:
            self._ended = True
            return False
        data, pos = self._data, self._pos
        if pos == len(data):  # nothing left unread (the first recv, mostly): no copy
            self._data = chunk
        elif len(data) - pos < _COPY_MAX:  # a copy costs less than a bytearray
            self._data = data[pos:] + chunk
        elif isinstance(data, bytearray):
            del data[:pos]  # from the front of a bytearray is cheap
            data += chunk
        else:
            data = bytearray(memoryview(data)[pos:])
            data += chunk
            self._data = data
        self._pos = 0
        return True

    def _take(self, start: int, end: int) -> bytes:
        """The buffer's bytes from ``start`` to ``end``, as ``bytes``."""
        piece = self._data[start:end]
        return piece if type(piece) is bytes else bytes(piece)

    def line(self) -> bytes:
        """The next line, its ``\\n`` included, as ``readline(MAX_LINE + 1)`` of a file
        gives it: at most ``MAX_LINE + 1`` bytes, what is left if the server closed."""
        searched = 0
        while True:
            data, pos = self._data, self._pos
            end = data.find(b"\n", pos + searched, pos + MAX_LINE + 1)
            if end >= 0:
                self._pos = end + 1
                return self._take(pos, end + 1)
            # Counted before _more, which may extend ``data`` in place.
            searched = len(data) - pos
            if searched > MAX_LINE or not self._more():
                end = min(len(data), pos + MAX_LINE + 1)
                self._pos = end
                return self._take(pos, end)

    def head(self) -> Optional[bytes]:
        """The header lines up to the blank one, if they are all here, each ended by
        CRLF, within the limits: the usual block, taken at once; None otherwise (read
        them line by line)."""
        data, pos = self._data, self._pos
        end = data.find(b"\r\n\r\n", pos, pos + MAX_LINE)
        if end < 0 or data.startswith((b"\r\n", b"\n"), pos):
            return None
        block = self._take(pos, end + 4)
        # A blank line before (a line ended by a bare LF just before it, "\n\r\n\r\n",
        # is one: the count does not see overlapping ones), or too many lines: line by line.
        if (b"\n\n" in block or block.count(b"\n\r\n") != 1
                or block.endswith(b"\n\r\n\r\n") or block.count(b"\n") > MAX_HEADERS):
            return None
        self._pos = end + 4
        return block

    def read(self, size: int) -> bytes:
        """The next ``size`` bytes, fewer if the server closed first."""
        while len(self._data) - self._pos < size and self._more():
            pass
        pos = self._pos
        end = pos + size
        if end > len(self._data):  # (min() costs more, once per POST)
            end = len(self._data)
        self._pos = end
        return self._take(pos, end)

    def left(self) -> bool:
        """True if bytes beyond the answer came (nobody asked for them)."""
        return len(self._data) > self._pos

    @property
    def ended(self) -> bool:
        """True once a read found the connection closed (by the server, or shut down by
        the watchdog: the two read alike)."""
        return self._ended


def time_left(sock: Any, deadline: float) -> None:
    """Let the next read of ``sock`` wait only until ``deadline`` (``time.monotonic()``):
    its timeout set to what is left; ``TimeoutError`` once nothing is."""
    left = deadline - time.monotonic()
    if left <= 0:
        raise TimeoutError("no complete answer within the timeout")
    sock.settimeout(left)
