"""``wsgi.input`` as the app sees it under the capture: the same bytes, a bounded copy kept.

:class:`InputTee` replaces ``wsgi.input`` and mirrors the app's reads: reads are clamped
to CONTENT_LENGTH, so nothing ever reads past the body, unless the server ends the input
itself (``wsgi.input_terminated``: gunicorn, waitress, granian; :func:`server_ends_input`);
there, and without a length,
every call is passed through as the app makes it (granian answers ``read()`` and
``read(CONTENT_LENGTH)`` of a body cut short differently). A body the app leaves unread
is recorded by its base, :class:`~readme_metrics.capture.wsgi_rest.InputRest`, only as
far as it is there already (see ``rest.py``).
Whatever else the server's input offers (``readinto``, ``read1``, ``peek``, ``seek``,
``tell``, ``fileno``, ...: waitress's file, the socket reader of werkzeug's server and
wsgiref) the tee offers too, exactly when the server's has it; its reads are held to the
body and recorded as ``read`` is, and a seek back does not record bytes twice. Keyword
arguments, ``readlines(hint)``, ``with`` and iteration are taken as the server's input
takes them (``input_shape.py``); a ``close()`` (or the end of ``with``) first records
what has arrived of the unread body. The grouping function reads a copy of the body
(``wsgi_replay.py``).
"""

from __future__ import annotations

import operator
from types import MethodType
from typing import Any, Callable, Iterator, Literal, Mapping, Optional, Union

from readme_metrics.capture.body import GRACE, BodyRecord, read_ahead, readline_ahead
from readme_metrics.capture.input_shape import REFUSED, readlines_stop, shaped, size_argument
from readme_metrics.capture.rest import arrives_later, withholds_chunks
from readme_metrics.capture.wsgi_rest import InputRest

__all__ = ["InputTee", "server_ends_input"]


def server_ends_input(environ: Mapping[str, Any], wsgi_input: Any) -> bool:
    """Whether the server ends ``wsgi_input`` at the body's end, so that the app's reads
    may go to it as they are: it says so (``wsgi.input_terminated``), or the input is
    granian's own, which hyper ends there, though granian says so only from 2.8 (2.5, the
    last on Python 3.9, sets no such key)."""
    return (environ.get("wsgi.input_terminated") is True
            or type(wsgi_input).__module__.startswith("granian."))


class InputTee(InputRest):
    """``wsgi.input`` stand-in: the app reads exactly what it would, ``record`` keeps a copy.

    ``pull`` lets the grouping function read ahead of the app: bytes it consumes from the
    server's stream wait in ``_pending`` and the app receives them next, in order; bytes
    only copied (gunicorn, a chunked body) stay in the server's stream, and ``_ahead``
    counts those already recorded, so the app's read of them is not recorded twice. A
    ``wsgi.input`` that returns ``str`` (a broken server or test) is passed through
    untouched and nothing is recorded.

    An instance's class is a subclass with the iteration and ``with`` methods the server's
    input has (see ``input_shape.py``). Its base,
    :class:`~readme_metrics.capture.wsgi_rest.InputRest`, records the unread rest; the
    state both work on (where the app is in the body) is the tee's, described there.
    """

    # All the state is here, InputRest has none: its own slots would want a second
    # __init__ called and put their descriptors a class further up the MRO, some 800
    # instructions more per tee (callgrind).
    __slots__ = ("_input", "record", "_left", "_clamp", "_pending", "_ahead", "_looked",
                 "_stray", "_tapped", "_framed", "_watched", "terminated", "settled", "failed",
                 "environ_of")

    def __new__(cls, wsgi_input: Any, *args: Any, **kwargs: Any) -> InputTee:
        return object.__new__(shaped(cls, type(wsgi_input)) if cls is InputTee else cls)

    def __init__(self, wsgi_input: Any, record: BodyRecord, terminated: bool = False,
                 clamp: bool = True, left: Union[int, None, Literal[False]] = False
                 ) -> None:
        self._input = wsgi_input
        self.record = record
        # The app's reads are held to ``left`` (CONTENT_LENGTH), the record's declared
        # length unless given (a chunked body left framed: the record has none).
        self._left = record.declared if left is False else left
        # Reads are held to _left; False where the server ends the input at the body's
        # end (wsgi.input_terminated), whose reads are the app's own, unchanged.
        self._clamp = clamp
        self.terminated = terminated
        self._pending = b""
        self._ahead = 0
        self._looked = False  # the grouping function took what had arrived: no more
        self._stray: Any = None  # what a str-giving input gave the grouping function
        self._tapped = None
        self._framed = None
        self._watched = None
        self.settled = False
        self.failed: Optional[BaseException] = None  # what the server's input raised
        self.environ_of = None

    def _source(self, method: str, size: Optional[int]) -> Any:
        if size is not None and size.__class__ is not int:
            try:
                size = operator.index(size)  # a bool, numpy's integers
            except TypeError:  # read("10"), read(1.5): the app's own mistake
                return self._passed_on(method, (size,), {})
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
            ahead = self._ahead
            if record.chunked and not self.terminated and (
                    record.eof or (ahead and ahead == record.size)):
                # A chunked body the server leaves framed (wsgiref), copied for the
                # grouping function out of its chunks before the app read any: the framed
                # bytes the app reads are that body's (or past it), recorded already when
                # the copy was whole; else where they stand in it is not known, and the
                # log keeps the copy, said incomplete.
                if not record.eof:
                    self.settled = True
                    record.give_up()
                return
            self._ahead = record.feed_after(data, ahead)
        elif record.chunked and withholds_chunks(self._input):
            return  # runserver gives none of a chunked body: still unread, not ended
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
        try:
            whole = memoryview(buffer)
        except TypeError:  # readinto("abc"), readinto(None): the app's own mistake
            return self._refused_into(method, buffer)
        if whole.readonly or not whole.c_contiguous:  # bytes: no server writes there
            whole.release()
            return self._refused_into(method, buffer)
        if self.settled:
            self._closed(False)  # see there: a read after the server closed its input
        # Released before returning: a caller may resize its buffer next (RawIOBase.read).
        with whole, whole.cast("B") as view:
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

    def _refused_into(self, method: str, buffer: Any) -> Any:
        """``readinto`` of a ``buffer`` no read can go into (no buffer, or read-only), the
        app's own mistake: the server's call, whose TypeError is raised bare, and the
        input is not failed (the body is recorded on), as for ``read("10")``."""
        try:
            return getattr(self._input, method)(buffer)
        except TypeError:
            raise  # the argument, not the stream
        except BaseException as exc:  # the server's, for the app (see _source)
            self.failed = exc
            raise

    def _as_called(self, method: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """``method`` called with keywords or several arguments (``read``, ``readline``,
        ``readlines``), as the server's input takes them: where it takes the call, the
        tee's ``method`` of the size (or hint) it asks for; else the call goes to it as it
        is and raises there, bare (a TypeError before any read), or what it gives is
        recorded as read and returned."""
        size = size_argument(getattr(self._input, method), args, kwargs)
        if size is not REFUSED:
            return getattr(self, method)(size)
        return self._passed_on(method, args, kwargs)

    def _passed_on(self, method: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """The server's ``method`` called as the app called it, for arguments the tee does
        not take (several, or a size that is no integer: ``read("10")``): the server's
        TypeError is the app's mistake, raised as bare, and the input is not failed (the
        body is recorded on, as the app reads it or not); what it gives is recorded as read."""
        try:
            data = getattr(self._input, method)(*args, **kwargs)
        except TypeError:
            raise  # the call's arguments, not the stream
        except BaseException as exc:  # the server's, for the app (see _source)
            self.failed = exc
            raise
        self._book_lines(data if isinstance(data, list) else [data])
        return data

    def read(self, *args: Any, **kwargs: Any) -> Any:
        if kwargs or len(args) > 1:  # as the server's input takes them (rare)
            return self._as_called("read", args, kwargs)
        if self.settled:
            self._closed(False)  # see there: a read after the server closed its input
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

    def readline(self, *args: Any, **kwargs: Any) -> Any:
        if kwargs or len(args) > 1:  # as the server's input takes them (rare)
            return self._as_called("readline", args, kwargs)
        if self.settled:
            self._closed(False)  # see there: a read after the server closed its input
        if self._stray is not None:
            return self._take_stray()
        size = args[0] if args else None
        if self._pending:
            head, self._pending, more = readline_ahead(self._pending, size)
            return head + self.readline(more) if more else head
        return self._source("readline", size)

    def readlines(self, *args: Any, **kwargs: Any) -> Any:
        """The server's ``readlines``, whose hint rule differs by server (see
        ``input_shape.py``); where reads are held to the body, line by line, by its rule."""
        if kwargs or len(args) > 1:  # as the server's input takes them (rare)
            return self._as_called("readlines", args, kwargs)
        if args and args[0] is not None and args[0].__class__ is not int:
            try:
                args = (operator.index(args[0]),)
            except TypeError:  # readlines("10"): the app's own mistake, as in _source
                return self._passed_on("readlines", args, {})
        if not (self._pending or self._stray is not None or self.settled or (
                self._clamp and self._left is not None)):
            try:
                lines = self._input.readlines(*args)
            except TypeError:
                raise  # the hint, not the stream (see _passed_on)
            except BaseException as exc:  # the server's, for the app (see _source)
                self.failed = exc
                raise
            self._book_lines(lines)
            return lines
        hint = args[0] if args else None
        stop = readlines_stop(self._input) if hint is not None and hint > 0 else None
        lines = []
        total = 0
        while True:
            line = self.readline()
            if not line:
                return lines
            lines.append(line)
            total += len(line)
            if stop is not None and stop(total, hint or 0):
                return lines

    def _book_lines(self, lines: Any) -> None:
        """Record what the server's input gave a call the tee passed on whole."""
        if self.settled or not isinstance(lines, list):
            return
        if not all(isinstance(line, (bytes, bytearray)) for line in lines):
            self.settled = True  # not bytes (str): as _source
            self.record.drop()
            return
        data = b"".join(lines)
        self._took(data, len(data), "read")
        if not data.endswith(b"\n") and not (
                not data and self.record.chunked and withholds_chunks(self._input)):
            self.record.end()  # a line cut short, or none: the end of the input

    def _take_stray(self) -> Any:
        data, self._stray = self._stray, None
        return data

    def _iter(self) -> Any:
        own = self._input.__iter__()  # io's raises on a closed input, as bare
        return self if own is self._input else self._lines()

    def _lines(self) -> Iterator[Any]:
        """Iteration of an input that is not its own iterator (wsgiref.validate's)."""
        while True:
            line = self.readline()
            if not line:
                return
            yield line

    def _next(self) -> Any:
        line = self.readline()
        if not line:
            raise StopIteration
        return line

    def _enter(self) -> Any:
        entered = self._input.__enter__()
        return self if entered is self._input else entered

    def _exit(self, *exc_info: Any) -> Any:
        incomplete = self._record_before_close()
        try:
            return self._input.__exit__(*exc_info)
        finally:
            self._closed(incomplete)

    def _close(self) -> Any:
        incomplete = self._record_before_close()
        try:
            return self._input.close()
        finally:
            self._closed(incomplete)

    def _closed(self, incomplete: bool) -> None:
        """The server's input is closed: by the app, or by the server once the request is
        over (waitress drops its copy of the body, wsgiref and werkzeug close the
        socket's file; asked only once the unread rest was recorded: a late read, from a
        thread the app left running), and nothing read ahead or held at the body's end
        stands in for it."""
        if getattr(self._input, "closed", False) is True:
            # The app's reads go to the closed input, to raise as bare.
            self._pending = b""
            self._left = None
            self.settled = True
            if incomplete:
                self.record.give_up()

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
        if self.settled:
            self._closed(False)  # see there: a read after the server closed its input
        if self._pending:  # one read: of what was read ahead only
            head, self._pending, _ = read_ahead(self._pending, size)
            return head
        return self._source("read1", size)

    def _readall(self) -> Any:
        if self._pending or (self._left is not None and self._clamp):
            return self.read()  # held to the body's length
        return self._source("readall", None)

    def _peek(self, size: int = 0) -> Any:
        if self.settled:
            self._closed(False)  # see there: a read after the server closed its input
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
            self._record_arrived(environ, GRACE, keep=True, ahead=True)
            return b""
        data = self._source("read", size)
        if not isinstance(data, bytes):
            self._stray = data  # not bytes: the app gets it back, untouched, next
            return b""
        self._pending += data
        return data


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
    "next": InputTee._next,  # gunicorn's Python 2 name of __next__
    "close": InputTee._close,
}
