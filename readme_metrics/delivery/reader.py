"""The answer to a POST on the direct route, read off its socket as ``http.client`` reads it.

``http.client`` reads an answer through a buffered file over the socket
(``socket.makefile``) and parses its header lines with the ``email`` package: about half
of the CPU of a POST (docs/PERFORMANCE.md). The Metrics API's answers are a status line,
a few header lines and a short body, most often in one TCP segment: :func:`read_answer`
takes them into one buffer with as few ``recv`` calls as the segments need, and applies
``http.client``'s rules to it, limit for limit:

- status line: at most 65,536 bytes, the same split and checks (``BadStatusLine``, and
  ``RemoteDisconnected`` when the server closed without a word); interim answers
  (``1xx`` but ``101``) are passed over, headers and all (RFC 9110 15.2, as
  :class:`.answer.FinalResponse` does on the requests route);
- header lines: each at most 65,536 bytes, at most 100 with the blank line ending them,
  parsed as ``email``'s parser (compat32) parses them into an ``http.client.HTTPMessage``
  (folded lines, odd whitespace, a line that is no header ending the headers), into
  :class:`Fields`, which are looked up as that message is;
- the body: chunked, by ``Content-Length`` or until the server closes, read up to
  ``limit + 1`` bytes (a longer one is cut, its connection not reused); one that ends
  short is ``IncompleteRead``;
- keep-alive as ``http.client`` decides it (HTTP/1.1 unless ``Connection: close``;
  HTTP/1.0 only with ``Keep-Alive``), and never after bytes nobody asked for or a
  ``101 Switching Protocols``.

Errors are ``http.client``'s own exceptions (or the socket's ``OSError``), which
:mod:`.errors` turns into the ``requests`` exceptions the policy knows.

Its parts: the answer's bytes off the socket (:mod:`.answer_stream`), its header fields
(:mod:`.header_fields`); every name importable from here as before.
"""

from __future__ import annotations

import http.client
from typing import Callable, Optional

from readme_metrics.delivery.answer import MAX_HEADERS, MAX_LINE, Answer
from readme_metrics.delivery.answer_stream import Stream, time_left
from readme_metrics.delivery.header_fields import Fields, parse_headers

__all__ = ["MAX_HEADERS", "MAX_LINE", "Fields", "Stream", "parse_headers", "read_answer",
           "time_left"]

_BLANK = (b"\r\n", b"\n", b"")


def read_answer(stream: Stream, limit: int, *, verdict_first: bool = False,
                on_verdict: Optional[Callable[[], object]] = None) -> tuple[Answer, bool]:
    """The final answer on ``stream`` (an :class:`~.answer.Answer`, its ``headers``
    :class:`Fields`, looked up as an ``http.client.HTTPMessage``, its ``content`` at most
    ``limit`` bytes of the body, read up to ``limit + 1``), and whether the connection
    may carry another request: the answer was read in full, with nothing after it.

    Raises ``http.client.HTTPException`` (or ``OSError``) as ``http.client`` would;
    with ``verdict_first``, only until the final answer's header lines are read, or
    found past the limits (a line over ``MAX_LINE``, more than ``MAX_HEADERS``: an
    answer all the same, then without headers), and a body that breaks after them (the
    server closes or resets the connection before its end, a chunk size that is not
    one, the watchdog cuts it) gives the answer with an empty body, never reusable. The
    status is the server's verdict on the POST; a body lost after it, or headers too
    absurd to read, must not have the logs sent again. (A connection reset or cut while
    the header lines come is no answer, as before.) ``on_verdict()`` is called as the
    final answer's header lines were read, before its body, if they ended before the
    connection did (or were past the limits): one closed while they came (its status
    line or a header line cut, no blank line) is read as ``http.client`` reads it, but
    has no verdict, so a POST cut at its bound then is no answer (``DirectPoster.post``).
    """
    while True:
        version, status, reason = _status(stream)
        if not (100 <= status < 200 and status != 101):
            break
        _lines(stream)  # an interim answer's header lines
    if version in ("HTTP/1.0", "HTTP/0.9"):
        old = True
    elif version.startswith("HTTP/1."):
        old = False
    else:
        raise http.client.UnknownProtocol(version)
    try:
        headers = parse_headers(_lines(stream))
    except http.client.HTTPException:  # past the limits (LineTooLong, too many lines)
        if not verdict_first:
            raise
        if on_verdict is not None:
            on_verdict()
        return Answer(status, reason.strip(), Fields([]), b""), False
    if on_verdict is not None and not stream.ended:
        on_verdict()
    # Looked up in the index itself (names in lower case): each method call costs more
    # than the look-up, and a POST makes several.
    index = headers.index
    encoding = index.get("transfer-encoding")
    chunked = encoding is not None and encoding[0].lower() == "chunked"
    closes = _closes(index, old)
    lengths = index.get("content-length") or []
    if len(lengths) > 1 and len(set(lengths)) > 1:  # which is right? requests refuses it
        raise http.client.HTTPException(f"conflicting Content-Length: {lengths}")
    length: Optional[int] = None
    value = lengths[0] if lengths else None
    if value and not chunked:
        try:
            length = int(value)
        except ValueError:
            length = None
        else:
            if length < 0:
                length = None
    if status in (204, 304) or 100 <= status < 200:
        length = 0
    try:
        if chunked:
            content, whole = _chunked(stream, limit)
        elif length is not None:
            wanted = length if length <= limit else limit + 1
            content = stream.read(wanted)
            if len(content) < wanted:  # the server hung up (or was cut) before the end
                raise http.client.IncompleteRead(content, length - len(content))
            whole = length <= limit
        else:  # until the server closes: never kept alive
            content = stream.read(limit + 1)
            whole = closes = True
    except (http.client.HTTPException, OSError):
        if not verdict_first:
            raise
        return Answer(status, reason.strip(), headers, b""), False
    # After 101 Switching Protocols the connection speaks something else: never reused.
    reusable = whole and not closes and not stream.left() and status != 101
    return Answer(status, reason.strip(), headers, content[:limit]), reusable


def _status(stream: Stream) -> tuple[str, int, str]:
    """Version, status and reason of the status line (``HTTPResponse._read_status``)."""
    line = str(stream.line(), "iso-8859-1")
    if len(line) > MAX_LINE:
        raise http.client.LineTooLong("status line")
    if not line:
        raise http.client.RemoteDisconnected(
            "Remote end closed connection without response")
    try:
        version, status, reason = line.split(None, 2)
    except ValueError:
        try:
            version, status = line.split(None, 1)
            reason = ""
        except ValueError:
            version = ""
    if not version.startswith("HTTP/"):
        raise http.client.BadStatusLine(line)
    try:
        code = int(status)
    except ValueError:
        raise http.client.BadStatusLine(line) from None
    if code < 100 or code > 999:
        raise http.client.BadStatusLine(line)
    return version, code, reason


def _lines(stream: Stream) -> bytes:
    """The header lines up to the blank one, that included (``http.client._read_headers``)."""
    block = stream.head()
    if block is not None:
        return block
    lines = []
    while True:
        line = stream.line()
        if len(line) > MAX_LINE:
            raise http.client.LineTooLong("header line")
        lines.append(line)
        if len(lines) > MAX_HEADERS:
            raise http.client.HTTPException(f"got more than {MAX_HEADERS} headers")
        if line in _BLANK:
            return b"".join(lines)


def _closes(index: dict[str, list[str]], old: bool) -> bool:
    """True if the server closes the connection after this answer
    (``HTTPResponse._check_close``); ``index`` is :attr:`Fields.index`."""
    connection = _first(index, "connection")
    if not old:
        return connection is not None and "close" in connection.lower()
    if _first(index, "keep-alive"):
        return False
    if connection and "keep-alive" in connection.lower():
        return False
    proxy = _first(index, "proxy-connection")
    return not (proxy and "keep-alive" in proxy.lower())


def _first(index: dict[str, list[str]], key: str) -> Optional[str]:
    """The first value of the field named ``key`` (lower case) in ``index``, as
    :meth:`Fields.get` gives it."""
    values = index.get(key)
    return values[0] if values else None


def _chunked(stream: Stream, limit: int) -> tuple[bytes, bool]:
    """A chunked body up to ``limit + 1`` bytes; True with it if it was read to its end
    (trailer included), as ``HTTPResponse._read_chunked`` reads one."""
    pieces: list[bytes] = []
    wanted = limit + 1
    while True:
        line = stream.line()
        if len(line) > MAX_LINE:
            raise http.client.LineTooLong("chunk size")
        try:
            size = int(line.partition(b";")[0], 16)
        except ValueError:
            raise http.client.IncompleteRead(b"".join(pieces)) from None
        if size < 0:  # http.client would read to the end of the stream, then fail
            raise http.client.IncompleteRead(b"".join(pieces))
        if not size:
            _trailer(stream)
            return b"".join(pieces), True
        piece = stream.read(min(size, wanted))
        pieces.append(piece)
        if len(piece) < min(size, wanted):
            raise http.client.IncompleteRead(b"".join(pieces))
        wanted -= len(piece)
        if not wanted:
            return b"".join(pieces), False
        if len(stream.read(2)) < 2:  # the chunk's CRLF (http.client does not check it)
            raise http.client.IncompleteRead(b"".join(pieces))


def _trailer(stream: Stream) -> None:
    """Pass over a chunked body's trailer, up to its blank line (or the end)."""
    while True:
        line = stream.line()
        if len(line) > MAX_LINE:
            raise http.client.LineTooLong("trailer line")
        if line in _BLANK:
            return
