"""Bounded body recording (SPEC section 5).

API for every adapter (WSGI, Django, ASGI):

- :class:`BodyRecord` ``(limit, declared, chunked)``: ``feed(chunk)`` for every chunk of the body as
  it passes (bytes; at most ``limit`` bytes are kept, all are counted), ``end()`` when the
  body is known to be over, ``give_up()`` when the rest could not be had without waiting
  (the log then says the body is incomplete, its size what arrived, of ``declared``).
  ``content()``, ``body_size``, ``incomplete`` and ``declared`` are what the log needs;
  ``nbytes`` what the queue counts.
The unread rest of a WSGI body is read by :mod:`readme_metrics.capture.rest`, within
``GRACE`` at most once the response is out.
"""

from __future__ import annotations

from typing import Optional, Union

from readme_metrics.exchange import WITHHELD_CHUNKED

__all__ = ["GRACE", "MAYBE_LONGER", "BodyRecord", "Kept", "WithheldChunks", "body_cut",
           "read_ahead", "readline_ahead"]

# How long, at most, a body still in flight gets to arrive once the response has gone out:
# clients send the body just after the headers, and an app that answers without reading
# it can finish first. A client that declared more than it sends costs the worker this
# much, after its response, instead of the server's whole timeout.
GRACE = 0.05

#: A kept part shorter than this goes into one shared buffer, not an object of its own: a
#: body read a line or a byte at a time would otherwise hold several times its size in
#: small objects and the list of them until the exchange ends.
_SMALL = 1024


def _split_front(data: bytes, size: Optional[int]) -> tuple[bytes, bytes]:
    """(the first ``size`` bytes of ``data``, all of them for None or a negative size; the
    rest)."""
    if size is None or size < 0 or size >= len(data):
        return data, b""
    return data[:size], data[size:]


def _read_on(size: Optional[int], head: bytes) -> int:
    """How much a read of ``size`` that got all of ``head`` so far reads on (-1: to the
    end; 0 once it has ``size``)."""
    return -1 if size is None or size < 0 else size - len(head)


def read_ahead(ahead: bytes, size: Optional[int]) -> tuple[bytes, bytes, int]:
    """``read(size)`` served first from body bytes read ahead of the reader (``ahead``,
    not empty): (what it gets from them, what stays ahead, how many bytes it reads on
    from the stream: 0 none, -1 to the end)."""
    head, ahead = _split_front(ahead, size)
    return head, ahead, 0 if ahead else _read_on(size, head)


def readline_ahead(ahead: bytes, size: Optional[int]) -> tuple[bytes, bytes, int]:
    """``readline(size)`` served first from body bytes read ahead of the reader, as
    :func:`read_ahead`: the line ends in them (at a newline, or at ``size``), or goes on
    from the stream."""
    limit = len(ahead) if size is None or size < 0 else size
    end = ahead.find(b"\n", 0, limit)
    head, ahead = _split_front(ahead, end + 1 if end >= 0 else limit)
    return head, ahead, 0 if ahead or end >= 0 else _read_on(size, head)


class Kept:
    """The kept bytes of one body, in the order they passed.

    Parts are held by reference when they are bytes (immutable), the usual case: a body
    read in one part, as most are, is handed to the log as that very object. Mutable
    parts (bytearray, memoryview) are copied, as they could change later, and small
    parts after another are copied into one buffer.
    """

    __slots__ = ("parts", "size", "_tail")

    def __init__(self) -> None:
        self.parts: list[Union[bytes, bytearray]] = []
        self.size = 0
        self._tail: Optional[bytearray] = None

    def add(self, part: Union[bytes, bytearray, memoryview]) -> None:
        """Keep ``part`` (not empty) after what was kept."""
        n = len(part)
        parts = self.parts
        if n < _SMALL and parts:  # a small part after another: into the buffer
            tail = self._tail
            if tail is None:
                last = parts[-1]
                if len(last) < _SMALL:  # the buffer starts with the small part before
                    tail = parts[-1] = bytearray(last)
                else:
                    tail = bytearray()
                    parts.append(tail)
                self._tail = tail
            tail += part
        else:
            parts.append(part if part.__class__ is bytes else bytes(part))
            self._tail = None
        self.size += n

    def content(self) -> bytes:
        """The kept bytes: the one part itself when there is one and it is bytes."""
        parts = self.parts
        if len(parts) == 1 and parts[0].__class__ is bytes:
            return parts[0]
        joined = b"".join(parts)
        if parts:
            # Joined once: asked again (the log after a replay), it is not copied again.
            self.parts = [joined]
            self._tail = None
        return joined


class BodyRecord:
    """A bounded copy of one body as it passes (see :class:`Kept`), with its real size."""

    __slots__ = ("limit", "declared", "chunked", "_kept", "size", "eof", "incomplete")

    #: The declared length an incomplete body of unknown length is logged with.
    unknown = -1

    def __init__(self, limit: int, declared: Optional[int] = None,
                 chunked: bool = False) -> None:
        self.limit = limit
        self.declared = declared  # None: unknown length (chunked, or not given)
        self.chunked = chunked  # True: Transfer-Encoding says there is a body
        # Made with the first byte kept: most requests (a GET) have none.
        self._kept: Optional[Kept] = None
        self.size = 0
        self.eof = declared == 0
        self.incomplete = False

    def feed(self, data: Union[bytes, bytearray, memoryview]) -> None:
        """Count ``data`` and keep what fits under the limit."""
        n = len(data)
        if not n:
            return
        self.size += n
        kept = self._kept
        if kept is None:
            kept = self._kept = Kept()
        room = self.limit - kept.size
        if room > 0:
            kept.add(data[:room] if n > room else data)
        if self.declared is not None and self.size >= self.declared:
            self.eof = True
            self.incomplete = False  # given up on earlier, it was read whole after all

    def feed_after(self, data: Union[bytes, bytearray, memoryview], skip: int) -> int:
        """:meth:`feed` ``data`` but its first ``skip`` bytes, recorded already (from a copy
        of what had arrived); returns how many of the bytes after ``data`` still are."""
        n = len(data)
        if n > skip:
            self.feed(data[skip:] if skip else data)
        return max(skip - n, 0)

    def feed_past_limit(self, n: int) -> None:
        """Count ``n`` bytes of the body past the kept ones (none of them would be kept:
        :attr:`room` is 0), as :meth:`feed` would count them."""
        if n > 0:
            self.size += n
            if self.declared is not None and self.size >= self.declared:
                self.eof = True
                self.incomplete = False

    def end(self) -> None:
        """The body is over (end of stream, or the last ASGI message). Short of its
        declared length, the client left before it sent the rest (an app's read got the
        end of the stream): the log says the body is incomplete, its size what arrived."""
        declared = self.declared
        self.eof = True
        # (Read to its end, a body given up on earlier is whole after all.)
        self.incomplete = declared is not None and self.size < declared

    def give_up(self) -> None:
        """The rest could not be had without waiting: the log says the body is incomplete."""
        if not self.eof:
            self.incomplete = True

    def restart(self) -> None:
        """The body is read again from its start (a seekable body rewound): copy anew."""
        self._kept = None
        self.size = 0
        self.eof = self.declared == 0
        self.incomplete = False

    def drop(self) -> None:
        """Record no body at all (the input gave ``str``, not bytes: nothing to log)."""
        self._kept = None
        self.size = 0
        self.declared = 0
        self.eof = True
        self.incomplete = False

    @property
    def room(self) -> int:
        """How many more bytes would be kept."""
        kept = self._kept
        return self.limit if kept is None else self.limit - kept.size

    @property
    def remaining(self) -> Optional[int]:
        """Bytes of the declared body not seen yet (None when the length is unknown)."""
        if self.declared is None:
            return None
        return max(0, self.declared - self.size)

    @property
    def body_size(self) -> int:
        """Bytes of the body (SPEC 4: bytes received): read to the end, or as far as the
        client sent it (incomplete: :attr:`declared` says how long it said it was);
        else the declared length (the rest, past what is kept, left unread: the server
        holds it or throws it away, and its length is the client's word), or -1 if
        unknown (a chunked body, none of it seen)."""
        if self.eof or (self.incomplete and (self.size or self.declared is not None)):
            return self.size
        if self.declared is not None:
            return self.declared
        # Unknown: a body that was there (bytes seen, or a chunked one), not none at all,
        # which is what 0 would tell.
        return -1 if self.size or self.chunked else 0

    def content(self) -> bytes:
        """The kept bytes (at most ``limit``)."""
        kept = self._kept
        return b"" if kept is None else kept.content()

    @property
    def kept(self) -> int:
        """How many bytes are kept."""
        kept = self._kept
        return 0 if kept is None else kept.size

    @property
    def nbytes(self) -> int:
        """Memory the kept copy holds."""
        kept = self._kept
        return 0 if kept is None else kept.size


class WithheldChunks(BodyRecord):
    """The record of a chunked body with no Content-Length under uWSGI, which gives none
    of it in ``wsgi.input`` (only to ``uwsgi.chunked_read()``, even under
    ``--http-chunked-input``): none of it read, the log says where it went, not that it
    could not be read without waiting."""

    __slots__ = ()

    unknown = WITHHELD_CHUNKED


#: body_cut's ``whole`` for a chunked body whose copy stopped at max_body_bytes, its end
#: not seen: it may go on past them, or end there.
MAYBE_LONGER = -2


def body_cut(record: Optional[BodyRecord]) -> Optional[tuple[int, int]]:
    """``(kept, whole)`` for a body longer than ``max_body_bytes``, of which a grouping
    function reading it gets the first ``kept`` bytes (``whole``: its size, -1 unknown;
    :data:`MAYBE_LONGER` for a chunked body copied up to the limit, its end not seen:
    the copy never reads a byte more than the app would, so whether one follows is not
    known); None for a body kept whole (or cut short by a client that left)."""
    if record is None:
        return None
    kept = record.kept
    if kept < record.limit:
        return None
    whole = record.body_size
    if record.size > kept or whole > kept:
        return (kept, whole)
    if record.chunked and not record.eof and record.declared is None:
        return (kept, MAYBE_LONGER)
    return None
