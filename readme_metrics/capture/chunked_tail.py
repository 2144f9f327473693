"""How many body bytes the end of a chunked answer, as a server wrote it, holds.

For daphne's wire (:mod:`.daphne_wire`): at its stop, what Twisted still buffered of the
view's answer is the end of what it wrote (the answer is the connection's last), the
rest having reached the kernel. Twisted frames each body write as one chunk (``%x``,
CRLF, the data, CRLF: no extensions) and ends the body with the last chunk and no
trailer (``0`` CRLF CRLF). The end is read backwards, chunk by chunk, from the answer's
end: a chunk's start is the nearest CRLF before its data's end whose size line, whole
(after an LF: the CRLF ending the chunk or the head before it) or cut at the end's start,
names the data's length, until the body's whole length is counted (the head is before
it). A body whose own bytes frame such a line at just that place would be misread (its
data has no other mark), and so is an end that starts with a size line's CRLF, or its LF:
taken for data (as likely as data that starts so, at a cut anywhere), two bytes more, or
one.
"""

from __future__ import annotations

from typing import Optional

__all__ = ["LAST_CHUNK", "body_start", "data_held"]

#: The last chunk, without trailer fields, as Twisted writes it at a chunked body's end.
LAST_CHUNK = b"0\r\n\r\n"


def data_held(tail: bytes, ended: bool, written: int) -> int:
    """The body bytes in ``tail``, the end of a chunked answer as written (``ended``: its
    last chunk written after them) whose body had ``written`` bytes in all: the part of
    the body that never went out when ``tail`` is what the server still buffered. Once
    all of them are counted, what comes before is the head. Never raises."""
    held = _counted(tail, ended, written)[0]
    return held if held < written else written


def body_start(tail: bytes, ended: bool, written: int) -> Optional[int]:
    """Where in ``tail`` (as :func:`data_held`'s) the body's first chunk starts, where it
    holds the whole body (the head, or its end, before it); else None (delivery84)."""
    held, end = _counted(tail, ended, written)
    return end if end is not None and held >= written else None


def _counted(tail: bytes, ended: bool, written: int) -> tuple[int, Optional[int]]:
    """(the body bytes counted back from ``tail``'s end, at most just past ``written``;
    where the first chunk counted starts, None where it started before ``tail``)."""
    end: Optional[int] = len(tail)
    if ended:
        if not tail.endswith(LAST_CHUNK):
            return 0, None  # (a part of the last chunk only)
        end = len(tail) - len(LAST_CHUNK)
    held = 0
    while end and held < written:
        if tail[end - 2:end] != b"\r\n":
            return held, None  # (a part of the CRLF after a chunk's data: its LF)
        stop = end - 2
        start = _chunk_start(tail, stop)
        if start is None:  # the chunk's data started before the tail: what it holds is data
            return held + stop, None
        end, size = start
        held += size
    return held, end


def _chunk_start(tail: bytes, stop: int) -> Optional[tuple[int, int]]:
    """(where its size line starts in ``tail``, its size) of the chunk whose data ends at
    ``stop``; None where it starts before ``tail`` (its size line none of it)."""
    crlf = tail.rfind(b"\r\n", 0, stop)
    while crlf >= 0:
        size = stop - crlf - 2
        if size:  # (Twisted writes no empty chunk but the last)
            digits = b"%x" % size
            line = crlf - len(digits)
            if line >= 0:
                if tail[line:crlf] == digits and (line == 0 or tail[line - 1] == 10):
                    return line, size
            elif crlf and digits.endswith(tail[:crlf]):  # its size line cut by the start
                return 0, size
        crlf = tail.rfind(b"\r\n", 0, crlf + 1)
    return None
