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
"""

from __future__ import annotations

import http.client
import io
import re
import time
from typing import Any, Callable, Iterator, Optional, Union

from readme_metrics.delivery.answer import MAX_HEADERS, MAX_LINE, Answer

__all__ = ["MAX_HEADERS", "MAX_LINE", "Fields", "Stream", "parse_headers", "read_answer",
           "time_left"]

#: Bytes asked of the socket at a time: a whole answer of the Metrics API, mostly.
_RECV = 65536
#: Up to this many unread bytes, the buffer is copied to add a segment to it; past it,
#: it becomes a bytearray that grows in place (see Stream).
_COPY_MAX = 1024

#: What ``email``'s parser takes for a header line (feedparser.headerRE): a name (any
#: visible character but ``:``, possibly none) and a colon, a continuation, or a
#: Unix "From " envelope line. Any other line ends the headers.
_HEADER_LINE = re.compile(r"^(From |[\041-\071\073-\176]*:|[\t ])").match
_BLANK = (b"\r\n", b"\n", b"")
#: A header block of ``name:value`` lines each ended by CRLF (a name, no line break in a
#: value), then a blank line: what email's parser makes of it is plain, so the fields
#: are taken at once, the value without the blanks before it (as compat32 takes it).
_PLAIN = re.compile(r"(?:[\041-\071\073-\176]+:[^\r\n]*\r\n)*\r\n").fullmatch
_FIELDS = re.compile(r"([\041-\071\073-\176]+):[ \t]*([^\r\n]*)\r\n").findall


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


class Fields:
    """An answer's header fields, looked up as ``http.client.HTTPMessage`` looks them up
    (names in any case; ``get`` and ``[name]`` the first value, None if absent;
    ``get_all`` every value in order; ``items`` every field as it came), without the
    ``email`` package behind it.

    An answer's fields are looked up about eight times (its framing, keep-alive, cookies,
    ``Retry-After``): ``HTTPMessage`` walks every field and runs its policy's code on
    each lookup, and storing each field runs more of it. Here the names are indexed
    once. The values are the same strings: compat32 hands back the text it stored, and
    text decoded from ISO-8859-1 has no surrogates for it to turn into a ``Header``.
    """

    __slots__ = ("_fields", "index")

    def __init__(self, fields: list[tuple[str, str]]) -> None:
        self._fields = fields
        index: dict[str, list[str]] = {}
        for name, value in fields:
            key = name.lower()
            if key in index:
                index[key].append(value)
            else:
                index[key] = [value]
        #: Every value of each field, in order, by its name in lower case (never changed:
        #: for the reader and the direct route, whose look-ups are hot).
        self.index = index

    def get(self, name: str, default: Optional[str] = None) -> Optional[str]:
        values = self.index.get(name.lower())
        return values[0] if values else default

    def __getitem__(self, name: str) -> Optional[str]:
        return self.get(name)

    def get_all(self, name: str, default: Any = None) -> Any:
        values = self.index.get(name.lower())
        return list(values) if values else default

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self.index

    def items(self) -> list[tuple[str, str]]:
        return list(self._fields)

    def keys(self) -> list[str]:
        return [name for name, _ in self._fields]

    def values(self) -> list[str]:
        return [value for _, value in self._fields]

    def __iter__(self) -> Iterator[str]:
        return iter(self.keys())

    def __len__(self) -> int:
        return len(self._fields)

    def __repr__(self) -> str:
        return f"Fields({self._fields!r})"


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


def parse_headers(lines: bytes) -> Fields:
    """Header ``lines`` (up to the blank one) parsed as ``http.client.parse_headers``
    parses them (through ``email``'s feed parser, compat32 policy), without the parser."""
    block = lines.decode("iso-8859-1")
    if _PLAIN(block):  # the usual block: each field its line, nothing to bend
        return Fields(_FIELDS(block))
    # email splits on \r, \n and \r\n alike (a StringIO with newline="" does the same).
    text = io.StringIO(block, newline="").readlines()
    count = 0
    for line in text:
        if not _HEADER_LINE(line):
            break
        count += 1
    fields: list[tuple[str, str]] = []
    name = ""
    source: list[str] = []
    for number in range(count):
        line = text[number]
        if line[0] in " \t":
            if name:  # a first line that continues nothing is passed over
                source.append(line)
            continue
        if name:
            fields.append((name, _value(source)))
            name, source = "", []
        if line.startswith("From "):  # a Unix envelope line, passed over
            if number == count - 1 and number:
                break  # taken for the start of a body
            continue
        colon = line.find(":")
        if colon == 0:  # no name: passed over
            continue
        name, source = line[:colon], [line]
    if name:
        fields.append((name, _value(source)))
    return Fields(fields)


def _value(source: list[str]) -> str:
    """A header's value from its lines (compat32's ``header_source_parse``)."""
    value = source[0].split(":", 1)[1].lstrip(" \t") + "".join(source[1:])
    return value.rstrip("\r\n")


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
