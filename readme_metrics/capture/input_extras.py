"""What the server's ``wsgi.input`` offers beyond ``read``, ``readline`` and
``readlines``, offered by the tee exactly when the server's input has it.

:class:`InputExtras`, a base of :class:`~readme_metrics.capture.wsgi_input.InputTee`
(over :class:`~readme_metrics.capture.wsgi_rest.InputRest`): iteration and ``with`` as
the server's input takes them (``input_shape.py``), ``close()`` recording what has
arrived of the unread body first, and the other reads and moves (``readinto``,
``read1``, ``readall``, ``peek``, ``seek``, ``tell``: waitress's file, the socket reader
of werkzeug's server and wsgiref), held to the body and recorded as ``read`` is; a seek
back does not record bytes twice.
"""

from __future__ import annotations

from types import MethodType
from typing import TYPE_CHECKING, Any, Callable, Iterator, Optional

from readme_metrics.capture.body import read_ahead
from readme_metrics.capture.wsgi_rest import InputRest

__all__ = ["InputExtras"]


class InputExtras(InputRest):
    """The tee's methods beyond PEP 3333's ``read``, ``readline`` and ``readlines`` (and
    ``__iter__``): the tee holds the state, as its slots (see ``InputRest``)."""

    if not TYPE_CHECKING:  # mypy would refuse the assignments here to the tee's slots
        __slots__ = ()  # none of its own: a tee has no __dict__

    if TYPE_CHECKING:  # the tee's, which these call
        _clamp: bool

        def read(self, *args: Any, **kwargs: Any) -> Any: ...
        def readline(self, *args: Any, **kwargs: Any) -> Any: ...
        def _source(self, method: str, size: Optional[int]) -> Any: ...
        def _took(self, data: Any, size: Optional[int], method: str) -> None: ...
        def _closed(self, incomplete: bool) -> None: ...

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


#: The server's ``wsgi.input`` methods that read or move the stream, and what the tee
#: offers in their place when the server's input has them.
_OWN: dict[str, Callable[..., Any]] = {
    "readinto": InputExtras._readinto,
    "readinto1": InputExtras._readinto1,
    "read1": InputExtras._read1,
    "readall": InputExtras._readall,
    "peek": InputExtras._peek,
    "seek": InputExtras._seek,
    "tell": InputExtras._tell,
    "next": InputExtras._next,  # gunicorn's Python 2 name of __next__
    "close": InputExtras._close,
}
