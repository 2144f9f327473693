"""``wsgi.input`` as the app sees it under the capture: the same bytes, a bounded copy kept.

:class:`InputTee` replaces ``wsgi.input``: reads are clamped to CONTENT_LENGTH, so nothing
ever reads past the body, unless the server ends the input itself
(``wsgi.input_terminated``: gunicorn, waitress, granian); there, and without a length,
every call is passed through as the app makes it (granian answers ``read()`` and
``read(CONTENT_LENGTH)`` of a body cut short differently). A body the app leaves unread
is recorded by :meth:`InputTee.record_rest`, only as far as it is there already (see
``rest.py``).
Whatever else the server's input offers (``readinto``, ``read1``, ``peek``, ``seek``,
``tell``, ``fileno``, ...: waitress's file, the socket reader of werkzeug's server and
wsgiref) the tee offers too, exactly when the server's has it; its reads are held to the
body and recorded as ``read`` is, and a seek back does not record bytes twice.
:func:`replay_input` gives the grouping function a readable copy of the body; on a live
connection a part the app has not read yet is given as far as it has arrived (``GRACE``
at most for bytes in flight), never by a read that waits for the client.
"""

from __future__ import annotations

import io
from types import MethodType
from typing import Any, Callable, Iterator, Mapping, Optional

from readme_metrics.capture import discard_tap
from readme_metrics.capture.body import GRACE, BodyRecord, read_ahead, readline_ahead
from readme_metrics.capture.rest import arrives_later, record_rest, waits_for_close

__all__ = ["InputTee", "replay_input"]


class InputTee:
    """``wsgi.input`` stand-in: the app reads exactly what it would, ``record`` keeps a copy.

    ``pull`` lets the grouping function read ahead of the app: bytes it consumes from the
    server's stream wait in ``_pending`` and the app receives them next, in order; bytes
    only copied (gunicorn, a chunked body) stay in the server's stream, and ``_ahead``
    counts those already recorded, so the app's read of them is not recorded twice. A
    ``wsgi.input`` that returns ``str`` (a broken server or test) is passed through
    untouched and nothing is recorded.
    """

    __slots__ = ("_input", "record", "_left", "_clamp", "_pending", "_ahead", "_looked",
                 "_stray", "_tapped", "terminated", "settled", "failed")

    def __init__(self, wsgi_input: Any, record: BodyRecord, terminated: bool = False,
                 clamp: bool = True) -> None:
        self._input = wsgi_input
        self.record = record
        self._left = record.declared  # bytes of the body still unread (None: no length)
        # Reads are held to _left; False where the server ends the input at the body's
        # end (wsgi.input_terminated), whose reads are the app's own, unchanged.
        self._clamp = clamp
        # A chunked body on a server that ends wsgi.input at the body's end.
        self.terminated = terminated
        self._pending = b""
        self._ahead = 0  # bytes at the server's stream's position recorded from a copy
        self._looked = False  # the grouping function took what had arrived: no more
        self._stray: Any = None  # what a str-giving input gave the grouping function
        self._tapped: Any = None  # werkzeug's reader whose discard is recorded (discard_tap)
        # True once the rest was recorded: later reads pass through, unrecorded.
        self.settled = False
        self.failed: Optional[BaseException] = None  # what the server's input raised

    def _source(self, method: str, size: Optional[int]) -> Any:
        left = self._left
        if left is not None and self._clamp:
            if left <= 0:
                if not self.settled:
                    self.record.end()
                return b""
            if size is None or size < 0 or size > left:
                size = left
        try:
            data = getattr(self._input, method)() if size is None else getattr(
                self._input, method)(size)
        except BaseException as exc:  # the server's, for the app: kept to tell its answer
            self.failed = exc
            raise
        if data.__class__ is not bytes and not isinstance(data, (bytes, bytearray)):
            if data is None and method == "read1":
                return data  # a non-blocking stream with nothing yet, as bare
            self.settled = True  # not bytes (str): hand it over as is, record nothing
            self.record.drop()
            return data
        self._took(data, size, method)
        return data

    def _took(self, data: Any, size: Optional[int], method: str) -> None:
        """Book ``data`` the server's stream gave a ``method`` read of ``size``: record
        it once, end the record at the body's end."""
        n = len(data)
        left = self._left
        if left is not None:
            self._left = left - n
        if self.settled:
            return
        record = self.record
        if n:  # past the bytes recorded from a copy taken for the grouping function
            self._ahead = record.feed_after(data, self._ahead)
        if size is None or size < 0:
            # Without a limit, read() reads to the end, readline() to the end of a line
            # and read1() what one read of the server's stream gave.
            if not (data.endswith(b"\n") if method == "readline" else
                    n if method == "read1" else False):
                record.end()
        elif (not n and size > 0) or self._left == 0:
            record.end()

    def _into(self, method: str, buffer: Any) -> Any:
        """``readinto``/``readinto1`` of the server's stream, held to the body as reads are."""
        # Released before returning: a caller may resize its buffer next (RawIOBase.read).
        with memoryview(buffer) as whole, whole.cast("B") as view:
            size = len(view)
            if self._pending:
                data = self.read(size) if method == "readinto" else self._read1(size)
                view[:len(data)] = data
                return len(data)
            left = self._left
            if left is not None and self._clamp:
                if left <= 0:
                    if not self.settled:
                        self.record.end()
                    return 0
                if size > left:
                    size = left
            with view[:size] as target:
                try:
                    n = getattr(self._input, method)(
                        buffer if size == len(view) else target)
                except BaseException as exc:  # the server's, for the app (see _source)
                    self.failed = exc
                    raise
                if n.__class__ is int and 0 <= n <= size:
                    with target[:n] as data:
                        self._took(data, size, method)
            return n

    def _take_stray(self) -> Any:
        data, self._stray = self._stray, None
        return data

    def read(self, *args: Any) -> Any:
        if self._stray is not None:
            return self._take_stray()
        size = args[0] if args else None
        if self._pending:
            head, self._pending, more = read_ahead(self._pending, size)
            if not more:
                return head
            # The read goes on past what was read ahead, as it would bare (a read the
            # grouping function's copy ended short of the body): the rest from the server.
            rest = self._source("read", None if more < 0 else more)
            if isinstance(rest, (bytes, bytearray)):
                return head + rest
            self._stray = rest  # not bytes: handed over untouched, next
            return head
        return self._source("read", size)

    def readline(self, *args: Any) -> Any:
        if self._stray is not None:
            return self._take_stray()
        size = args[0] if args else None
        if self._pending:
            head, self._pending, more = readline_ahead(self._pending, size)
            return head + self.readline(more) if more else head
        return self._source("readline", size)

    def readlines(self, hint: int = -1) -> list[Any]:
        lines: list[Any] = []
        total = 0
        while True:
            line = self.readline()
            if not line:
                return lines
            lines.append(line)
            total += len(line)
            if 0 < hint <= total:
                return lines

    def __iter__(self) -> Iterator[Any]:
        return self

    def __next__(self) -> Any:
        line = self.readline()
        if not line:
            raise StopIteration
        return line

    # What the server's ``wsgi.input`` offers beyond PEP 3333's four methods (waitress's
    # file, the socket reader of werkzeug's server and wsgiref, werkzeug's dechunking
    # reader) is offered too, exactly when the server's has it: see __getattr__. Those
    # that read are held to the body and recorded as read() is; seek() and tell() keep
    # the record of each byte once (see _seek).

    def __getattr__(self, name: str) -> Any:
        if name[:1] == "_":  # ours (a slot not set yet) or private to the server's
            raise AttributeError(name)
        value = getattr(self._input, name)  # the server's AttributeError, as bare
        wrapped = _OWN.get(name)
        return value if wrapped is None else MethodType(wrapped, self)

    def _readinto(self, buffer: Any) -> Any:
        return self._into("readinto", buffer)

    def _readinto1(self, buffer: Any) -> Any:
        return self._into("readinto1", buffer)

    def _read1(self, size: int = -1) -> Any:
        if self._pending:  # one read: of what was read ahead only
            head, self._pending, _ = read_ahead(self._pending, size)
            return head
        return self._source("read1", size)

    def _readall(self) -> Any:
        if self._pending or (self._left is not None and self._clamp):
            return self.read()  # held to the body's length
        return self._source("readall", None)

    def _peek(self, size: int = 0) -> Any:
        if self._pending:
            return self._pending
        left = self._left
        if left is not None and self._clamp:
            if left <= 0:
                return b""  # the next request's bytes, if any, are not the body's
            data = self._input.peek(size)
            return data[:left] if len(data) > left else data
        return self._input.peek(size)

    def _tell(self) -> Any:
        position = self._input.tell()
        return position - len(self._pending) if self._pending else position

    def _seek(self, offset: int, whence: int = 0) -> Any:
        """The server's ``seek``. Back: the app reads again bytes recorded already, which
        are not recorded twice (``_ahead``); forward past what was recorded: the bytes
        skipped are recorded from the stream first, so the log has the body as sent."""
        source = self._input
        try:
            before = source.tell()
        except Exception:  # noqa: BLE001 - not seekable: the seek raises as bare
            before = None
        pending = len(self._pending)
        if pending and whence == 1:
            offset -= pending  # from the app's position, behind the server's
        result = source.seek(offset, whence)
        self._pending = b""  # read ahead of the app: in the stream again, at its position
        try:
            after = source.tell()
        except Exception:  # noqa: BLE001 - a seek without a tell: positions unknown
            after = None
        if before.__class__ is not int or after.__class__ is not int:
            self.settled = True  # the app's reads from here are its own, unrecorded
            return result
        frontier = before + self._ahead  # the stream is recorded up to here
        if after > frontier and not self.settled and not self.record.eof:
            self._record_skipped(frontier, after)
        self._ahead = max(frontier - after, 0)
        if self._left is not None:
            self._left += before - after
        return result

    def _record_skipped(self, start: int, end: int) -> None:
        """Record the body from ``start`` to ``end`` (stream positions), which a seek
        skipped, then go back to ``end``."""
        record = self.record
        source = self._input
        gap = end - start
        remaining = record.remaining
        if remaining is not None:
            gap = min(gap, remaining)
        source.seek(start)
        try:
            copied = 0
            while copied < gap:  # past what is kept, only counted
                data = source.read(min(65536, gap - copied))
                if not data:
                    break
                record.feed(data)
                copied += len(data)
        finally:
            source.seek(end)

    def _rest_unread(self) -> bool:
        """Part of the body is unread, and could be read later: a body with a length, or a
        chunked one the app has not started reading (only then can its chunks be read
        out of a copy)."""
        record = self.record
        return not (self.settled or record.eof) and (
            record.declared is not None or (record.chunked and not record.size))

    def arrives_later(self, environ: Mapping[str, Any]) -> bool:
        """True when part of the body is unread and may still arrive over the connection
        (so it is better read once the response is out)."""
        return self._rest_unread() and arrives_later(self._input, environ)

    def waits_for_close(self, environ: Mapping[str, Any]) -> bool:
        """True when the unread rest is best read in the response's ``close()``: it may
        still arrive, and the server keeps it until then (see
        :func:`~readme_metrics.capture.rest.waits_for_close`)."""
        return self._rest_unread() and waits_for_close(self._input, environ, self._input)

    def record_discarded(self, environ: Mapping[str, Any]) -> bool:
        """werkzeug's development server, the app's iterable exhausted: record what has
        arrived of the unread body (no wait), and what werkzeug reads of the rest when it
        discards it, after the end of the answer (``discard_tap``). True when its discard
        is tapped: the rest is then recorded in ``close()`` (:meth:`record_rest`)."""
        record = self.record
        if not self._rest_unread() or record.chunked or "werkzeug.socket" not in environ:
            return False  # (a chunked body: werkzeug discards it framed)
        self._record_arrived(environ, 0.0, keep=False)
        if record.eof or not self._left:
            return False
        self._tapped = discard_tap.tap(self._input, self._discarded)
        return self._tapped is not None

    @property
    def discard_tapped(self) -> bool:
        """True while werkzeug's discard of the unread body is recorded (see
        :meth:`record_discarded`), until :meth:`record_rest`."""
        return self._tapped is not None

    def _discarded(self, data: memoryview) -> None:
        """Bytes werkzeug read off the connection to throw away: the body's are recorded."""
        left = self._left
        if self.settled or not left or left < 0:
            return
        if len(data) > left:
            data = data[:left]
        self._left = left - len(data)
        self.record.feed(data)

    def pull(self, size: int, environ: Mapping[str, Any]) -> bytes:
        """Read ahead for the grouping function; the app gets these bytes later.

        On a live connection (see :func:`~readme_metrics.capture.rest.arrives_later`)
        nothing is read that could wait for the client: what has arrived (``GRACE`` at
        most for bytes in flight, at most ``max_body_bytes``) is recorded once, and b""
        returned; the grouping function reads it from the record, and its view of the
        body ends there (where the server's reader cannot be copied from, as a chunked
        body the app has started reading, at what the app read).
        """
        if self.settled or self._looked:
            return b""
        if arrives_later(self._input, environ):
            self._looked = True
            self._record_arrived(environ, GRACE, keep=True)
            return b""
        data = self._source("read", size)
        if not isinstance(data, bytes):
            self._stray = data  # not bytes: the app gets it back, untouched, next
            return b""
        self._pending += data
        return data

    def record_rest(self, environ: Mapping[str, Any], grace: float = 0.0) -> None:
        """Record what the app left unread, as far as it has arrived (once; never blocks).

        ``grace``: how long bytes still in flight may take (only once the response is out).
        With ``Expect: 100-continue`` under uWSGI only what it already holds is taken (see
        :mod:`~readme_metrics.capture.rest`).
        """
        if self._tapped is not None:
            discard_tap.untap(self._tapped)
            self._tapped = None
        if self.settled:
            return
        self.settled = True
        record = self.record
        if record.eof:
            return
        if record.declared is None and not (self.terminated or record.chunked):
            return  # no length and no Transfer-Encoding: there is no body
        if self._record_arrived(environ, grace, keep=False):
            record.give_up()

    def _record_arrived(self, environ: Mapping[str, Any], grace: float, keep: bool
                        ) -> bool:
        """Record the unread body from the server's stream's position, as far as it has
        arrived, past the ``_ahead`` bytes a copy recorded already. Bytes read off the
        stream (not copied) go to ``_pending`` with ``keep``, for the app. True when the
        body is incomplete (not all of it could be had, and there was room to keep more).
        """
        record = self.record
        skip = self._ahead
        # From the stream's position: the bytes recorded from a copy, then the rest.
        scratch = BodyRecord(skip + record.room, self._left, record.chunked)
        taken = record_rest(scratch, self._input, environ, grace, ahead=keep)
        data = scratch.content()
        if taken:  # read off the stream, from its position (copied bytes included)
            if self._left is not None:
                self._left -= taken
            if keep:
                self._pending += data
        else:
            self._ahead = max(skip, len(data))
        if len(data) > skip:
            record.feed(data[skip:])
        if scratch.eof:
            record.end()
        return scratch.incomplete


#: The server's ``wsgi.input`` methods that read or move the stream, and what the tee
#: offers in their place when the server's input has them.
_OWN: dict[str, Callable[..., Any]] = {
    "readinto": InputTee._readinto,
    "readinto1": InputTee._readinto1,
    "read1": InputTee._read1,
    "readall": InputTee._readall,
    "peek": InputTee._peek,
    "seek": InputTee._seek,
    "tell": InputTee._tell,
    "next": InputTee.__next__,  # gunicorn's Python 2 name of __next__
}


class _ReplayInput(io.RawIOBase):
    """The body as the grouping function sees it: what was read so far, then the rest
    (on a live connection, only as far as it has arrived: see :meth:`InputTee.pull`).
    Seekable, so that webob reads it in place rather than through its own copy, which
    would take a body cut short for a client that went away."""

    def __init__(self, tee: InputTee, environ: Mapping[str, Any]) -> None:
        self._tee = tee
        self._environ = environ
        self._pos = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = 0) -> int:
        if whence == 1:
            offset += self._pos
        elif whence == 2:
            offset += self._tee.record.kept
        # Only back to what was read already: the rest is read in order.
        self._pos = max(0, min(offset, self._pos))
        return self._pos

    def readinto(self, buffer: Any) -> int:
        tee = self._tee
        record = tee.record
        want = len(buffer)
        if self._pos == record.size and self._pos >= record.kept and not record.eof:
            chunk = tee.pull(want, self._environ)  # b"": what arrived went to the record
            if chunk:
                self._pos += len(chunk)
                buffer[: len(chunk)] = chunk
                return len(chunk)
        if self._pos >= record.kept:
            return 0  # the end, or a middle part over max_body_bytes that was not kept
        chunk = record.content()[self._pos:self._pos + want]
        self._pos += len(chunk)
        buffer[: len(chunk)] = chunk
        return len(chunk)


class _LazyReplay:
    """``wsgi.input`` of the grouping request: the replay reader is built on first read."""

    __slots__ = ("_tee", "_environ", "_reader")

    def __init__(self, tee: InputTee, environ: Mapping[str, Any]) -> None:
        self._tee = tee
        self._environ = environ
        self._reader: Optional[io.BufferedReader] = None

    def _get(self) -> io.BufferedReader:
        if self._reader is None:
            self._reader = io.BufferedReader(_ReplayInput(self._tee, self._environ))
        return self._reader

    def read(self, *args: Any) -> bytes:
        return self._get().read(*args)

    def readline(self, *args: Any) -> bytes:
        return self._get().readline(*args)

    def readlines(self, *args: Any) -> list[bytes]:
        return self._get().readlines(*args)

    def seek(self, *args: Any) -> int:
        return self._get().seek(*args)

    def tell(self) -> int:
        return self._get().tell()

    def __iter__(self) -> Iterator[bytes]:
        return iter(self._get())


def replay_input(tee: InputTee, environ: dict[str, Any], server_environ: Mapping[str, Any]
                 ) -> None:
    """Point ``environ`` (a copy for the grouping request) at a readable copy of the body.

    The copy reads the server's stream through ``server_environ`` (the app's environ), not
    through ``environ``: a reader held by the environ it refers to would make a cycle,
    which only the cyclic GC frees, and that would keep the server's ``wsgi.input`` alive
    long after the exchange (granian then closes the connection).

    A body not kept whole (read past ``max_body_bytes``, or recorded incomplete) is given
    as the kept prefix with a matching CONTENT_LENGTH: webob would otherwise raise
    DisconnectionError for the missing bytes and the exchange would be lost. On a live
    connection the replay is marked seekable for webob, for the same reason: its part
    the app has not read may end where the bytes that arrived end.
    """
    record = tee.record
    environ.pop("webob.is_body_seekable", None)
    if record.size > record.kept or record.incomplete or (
            tee.settled and not record.eof):
        environ["wsgi.input"] = io.BytesIO(record.content())
        environ["CONTENT_LENGTH"] = str(record.kept)
    else:
        environ["wsgi.input"] = _LazyReplay(tee, server_environ)
        if tee.arrives_later(environ):
            environ["webob.is_body_seekable"] = True
