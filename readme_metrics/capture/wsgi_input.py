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
wsgiref) the tee offers too, exactly when the server's has it (its base
:class:`~readme_metrics.capture.input_extras.InputExtras`); its reads are held to the
body and recorded as ``read`` is, and a seek back does not record bytes twice. Keyword
arguments, ``readlines(hint)``, ``with`` and iteration are taken as the server's input
takes them (``input_shape.py``); a ``close()`` (or the end of ``with``) first records
what has arrived of the unread body. The grouping function reads a copy of the body
(``wsgi_replay.py``).
"""

from __future__ import annotations

import operator
from typing import Any, Literal, Mapping, Optional, Union

from readme_metrics.capture.body import GRACE, BodyRecord, read_ahead, readline_ahead
from readme_metrics.capture.input_extras import InputExtras
from readme_metrics.capture.input_shape import REFUSED, readlines_stop, shaped, size_argument
from readme_metrics.capture.rest import arrives_later, withholds_chunks

__all__ = ["InputTee", "server_ends_input"]


def server_ends_input(environ: Mapping[str, Any], wsgi_input: Any) -> bool:
    """Whether the server ends ``wsgi_input`` at the body's end, so that the app's reads
    may go to it as they are: it says so (``wsgi.input_terminated``), or the input is
    granian's own, which hyper ends there, though granian says so only from 2.8 (2.5, the
    last on Python 3.9, sets no such key)."""
    return (environ.get("wsgi.input_terminated") is True
            or type(wsgi_input).__module__.startswith("granian."))


class InputTee(InputExtras):
    """``wsgi.input`` stand-in: the app reads exactly what it would, ``record`` keeps a copy.

    ``pull`` lets the grouping function read ahead of the app: bytes it consumes from the
    server's stream wait in ``_pending`` and the app receives them next, in order; bytes
    only copied (gunicorn, a chunked body) stay in the server's stream, and ``_ahead``
    counts those already recorded, so the app's read of them is not recorded twice. A
    ``wsgi.input`` that returns ``str`` (a broken server or test) is passed through
    untouched and nothing is recorded.

    An instance's class is a subclass with the iteration and ``with`` methods the server's
    input has (see ``input_shape.py``). Its base,
    :class:`~readme_metrics.capture.input_extras.InputExtras`, offers what else the
    server's input does; its base, :class:`~readme_metrics.capture.wsgi_rest.InputRest`,
    records the unread rest; the state they work on (where the app is in the body) is
    the tee's, described there.
    """

    # All the state is here, InputExtras and InputRest have none: their own slots would
    # want a second __init__ called and put their descriptors a class further up the
    # MRO, some 800 instructions more per tee (callgrind).
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
