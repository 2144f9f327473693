"""A collector request's body, read as HTTP/1.1 frames it, or refused.

The body comes with a Content-Length or chunked (RFC 9112 7.1: HTTP/1.1 clients may send
any body so, a stream or a proxy that re-frames it), bounded by :data:`MAX_POST_BYTES`.
Whatever leaves its length in doubt is refused with a 4xx rather than read one way: a
proxy in front may read it another, and the rest would pass for the next request. A head
whose headers do so (:func:`misframed`), a chunk's size line or a trailer line not as RFC
9112 writes it, a line or a list of trailers past its bound.
"""

from __future__ import annotations

import io
import re
from email.message import Message
from typing import NamedTuple, Optional, Union

__all__ = ["MAX_POST_BYTES", "Refused", "closes_after_chunked", "misframed", "read_body"]

# Bigger POST bodies are refused: with max_body_bytes of 256 KiB per body and batches of
# tens of logs, a legitimate batch stays far below this.
MAX_POST_BYTES = 64 * 1024 * 1024
# A chunk's size line and a trailer line as RFC 9112 7.1 writes them (a bare LF may end
# a line, 2.2); anything else (a blank before the size, a bare CR, a trailer without a
# colon or folded) is refused: a proxy in front may read it otherwise.
_SIZE_LINE = re.compile(rb"([0-9A-Fa-f]{1,16})[ \t]*(?:;[^\r\n]*)?\r?\n")
_TRAILER_LINE = re.compile(rb"[!#$%&'*+.^_`|~0-9A-Za-z-]+:[^\r\n]*\r?\n")
# Bounds for the lines of a chunked body (a chunk's size line with its extensions, a
# trailer line) and for the number of trailer lines: a client cannot make one unbounded.
_MAX_LINE = 8192
_MAX_TRAILERS = 100
_MALFORMED = "malformed chunked body"
_DIGITS = re.compile(r"[0-9]+")


class Refused(NamedTuple):
    """A body not read (the rest of it is left unread): the status and error to answer,
    after which the connection is closed."""

    status: int
    error: str


def misframed(headers: Message) -> Optional[str]:
    """Why a request's parsed ``headers`` (``http.client.parse_headers``) leave its body's
    length in doubt, if they do (RFC 9112 5.1, 5.2, 6.3: a 400 then). http.client ends
    the headers at a line it cannot read (a blank before the colon, none at all), so a
    Content-Length after it was never seen; it keeps a folded line in the previous
    field's value; and a proxy in front may read either otherwise, or take another of
    two lengths: the body would pass for the next request."""
    if headers.defects or headers.get_payload():
        return "a header line is not 'name: value' (no blank before the colon)"
    if any("\n" in value or "\r" in value for value in headers.values()):
        return "a header line is folded onto the next (obs-fold)"
    lengths = {part.strip() for line in headers.get_all("Content-Length", [])
               for part in line.split(",")}
    if len(lengths) > 1 or not all(_DIGITS.fullmatch(length) for length in lengths):
        return "Content-Length must be one number"
    return None


def closes_after_chunked(headers: Message, request_version: str) -> bool:
    """True when a chunked body's connection is closed after it, read or not: it came
    with a Content-Length too, or in HTTP/1.0, which has no chunked coding (RFC 9112 6.1,
    6.3)."""
    return "Content-Length" in headers or request_version == "HTTP/1.0"


def read_body(rfile: io.BufferedIOBase, headers: Message) -> Union[bytes, Refused]:
    """The request body (Content-Length or chunked), or why it is refused."""
    if "Transfer-Encoding" in headers:
        return _read_chunked(rfile, headers)
    length_header = headers.get("Content-Length")
    # One number, maybe listed again ("5, 5"): checked with the head (misframed).
    length = -1 if length_header is None else int(length_header.split(",")[0])
    if length < 0:
        return Refused(411, "Content-Length required")
    if length > MAX_POST_BYTES:
        return Refused(413, f"body over {MAX_POST_BYTES} bytes")
    return rfile.read(length)


def _read_chunked(rfile: io.BufferedIOBase, headers: Message) -> Union[bytes, Refused]:
    """A ``Transfer-Encoding: chunked`` body (RFC 9112 7.1), bounded by MAX_POST_BYTES."""
    codings = [coding.strip().lower()
               for line in headers.get_all("Transfer-Encoding", [])
               for coding in line.split(",")]  # two lines are one list (RFC 9110 5.3)
    if codings != ["chunked"]:
        return Refused(501, "Transfer-Encoding other than chunked is not supported")
    body = bytearray()
    while True:
        sized = _SIZE_LINE.fullmatch(rfile.readline(_MAX_LINE + 1))
        if sized is None:
            return Refused(400, _MALFORMED)
        size = int(sized[1], 16)
        if size == 0:
            break
        if len(body) + size > MAX_POST_BYTES:
            return Refused(413, f"body over {MAX_POST_BYTES} bytes")
        data = rfile.read(size)
        if len(data) < size or rfile.readline(3) not in (b"\r\n", b"\n"):
            return Refused(400, _MALFORMED)
        body += data
    for _ in range(_MAX_TRAILERS + 1):  # trailer fields, ignored, then the blank line
        line = rfile.readline(_MAX_LINE + 1)
        if line in (b"\r\n", b"\n"):
            return bytes(body)
        if not _TRAILER_LINE.fullmatch(line):
            break
    return Refused(400, _MALFORMED)
