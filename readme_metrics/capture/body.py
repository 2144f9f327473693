"""Bounded body recording (SPEC section 5).

API for every adapter (WSGI, Django, ASGI):

- :class:`BodyRecord` ``(limit, declared, chunked)``: ``feed(chunk)`` for every chunk of the body as
  it passes (bytes; at most ``limit`` bytes are kept, all are counted), ``end()`` when the
  body is known to be over, ``give_up()`` when the rest could not be had without waiting
  (the log then says the body is incomplete). ``content()``, ``body_size`` and
  ``incomplete`` are what the log needs; ``nbytes`` what the queue counts.
The unread rest of a WSGI body is read by :mod:`readme_metrics.capture.rest`, within
``GRACE`` at most once the response is out.
"""

from __future__ import annotations

from typing import Optional, Union

__all__ = ["GRACE", "BodyRecord"]

# How long, at most, a body still in flight gets to arrive once the response has gone out:
# clients send the body just after the headers, and an app that answers without reading
# it can finish first. A client that declared more than it sends costs the worker this
# much, after its response, instead of the server's whole timeout.
GRACE = 0.05


class BodyRecord:
    """A bounded copy of one body as it passes, with its real size.

    The kept chunks are held by reference when they are bytes (immutable), the usual
    case: a body read in one chunk, as most are, is handed to the log as that very object,
    where a buffer copied it in and out again. Mutable chunks (bytearray, memoryview)
    are copied, as they could change later.
    """

    __slots__ = ("limit", "declared", "chunked", "chunks", "kept", "size", "eof",
                 "incomplete")

    def __init__(self, limit: int, declared: Optional[int] = None,
                 chunked: bool = False) -> None:
        self.limit = limit
        self.declared = declared  # None: unknown length (chunked, or not given)
        self.chunked = chunked  # True: Transfer-Encoding says there is a body
        self.chunks: list[bytes] = []
        self.kept = 0  # bytes in chunks
        self.size = 0
        self.eof = declared == 0
        self.incomplete = False

    def feed(self, data: Union[bytes, bytearray]) -> None:
        """Count ``data`` and keep what fits under the limit."""
        n = len(data)
        if not n:
            return
        self.size += n
        room = self.limit - self.kept
        if room > 0:
            part = data[:room] if n > room else data
            if part.__class__ is not bytes:
                part = bytes(part)
            self.chunks.append(part)
            self.kept += len(part)
        if self.declared is not None and self.size >= self.declared:
            self.eof = True

    def end(self) -> None:
        """The body is over (end of stream, or the last ASGI message)."""
        self.eof = True

    def give_up(self) -> None:
        """The rest could not be had without waiting: the log says the body is incomplete."""
        if not self.eof:
            self.incomplete = True

    def restart(self) -> None:
        """The body is read again from its start (a seekable body rewound): copy anew."""
        self.chunks = []
        self.kept = 0
        self.size = 0
        self.eof = self.declared == 0
        self.incomplete = False

    def drop(self) -> None:
        """Record no body at all (the input gave ``str``, not bytes: nothing to log)."""
        self.chunks = []
        self.kept = 0
        self.size = 0
        self.declared = 0
        self.eof = True
        self.incomplete = False

    @property
    def room(self) -> int:
        """How many more bytes would be kept."""
        return self.limit - self.kept

    @property
    def remaining(self) -> Optional[int]:
        """Bytes of the declared body not seen yet (None when the length is unknown)."""
        if self.declared is None:
            return None
        return max(0, self.declared - self.size)

    @property
    def body_size(self) -> int:
        """Bytes of the body: read to the end, declared, or -1 if unknown."""
        if self.eof:
            return self.size
        if self.declared is not None:
            return self.declared
        # Unknown: a body that was there (bytes seen, or a chunked one), not none at all,
        # which is what 0 would tell.
        return -1 if self.size or self.chunked else 0

    def content(self) -> bytes:
        """The kept bytes (at most ``limit``): the one chunk itself when there is one."""
        chunks = self.chunks
        if len(chunks) == 1:
            return chunks[0]
        joined = b"".join(chunks)
        if chunks:
            # Joined once: asked again (the log after a replay), it is not copied again.
            self.chunks = [joined]
        return joined

    @property
    def nbytes(self) -> int:
        """Memory the kept copy holds."""
        return self.kept
