"""A tee over a file-like request body stream (Django's ``request._stream``).

The framework reads through :class:`StreamTee` exactly as through the stream it wraps
(read, readline, iteration, seek, any other attribute); each chunk is fed to a
:class:`~readme_metrics.capture.body.BodyRecord`. ``read_rest`` records what was left
unread, only as far as it has arrived (see ``rest.py``), once. A streamed answer may
read the body after that: it gets every byte all the same (what ``read_rest`` read off
the stream first, then the stream), and nothing is recorded twice.
"""

from __future__ import annotations

from typing import Any, Iterator, Mapping, Optional

from readme_metrics.capture.body import BodyRecord, read_ahead, readline_ahead
from readme_metrics.capture.rest import record_rest, short_read_ends, waits_for_close

__all__ = ["StreamTee"]


class StreamTee:
    """Stands in for a file-like body stream: the reader reads as usual, ``record`` copies.

    ``seek`` is passed through (Django measures seekable ASGI bodies before reading
    them); going back to the start restarts the copy so nothing is recorded twice.
    """

    def __init__(self, stream: Any, record: BodyRecord) -> None:
        self._stream = stream
        self.record = record
        self.settled = False  # True once the unread rest was recorded
        self._pending = b""  # what read_rest read off the stream, for the reader next
        self._ahead = 0  # bytes at the stream's position read_rest recorded from a copy

    def _keep(self, data: bytes, asked: Optional[int]) -> bytes:
        record = self.record
        if data:
            self._ahead = record.feed_after(data, self._ahead)
        if asked is None or asked < 0 or (not data and asked > 0) or (
                asked is not None and 0 < len(data) < asked and short_read_ends(self._stream)):
            # (Read on to its end after read_rest gave up on it, it is whole after all,
            # unless it ended short of its length: BodyRecord.end and feed say which.)
            # A short read of a body in memory or a file is its end: Django's ASGI
            # handler reads its body file by a size where the file has no seekable()
            # (SpooledTemporaryFile before Python 3.11), and closes the file before the
            # log is finished (nothing read after the view then: the body, whole, was
            # logged incomplete).
            record.end()
        return data

    def read(self, size: Optional[int] = -1, *args: Any) -> bytes:
        if self._pending:
            head, self._pending, more = read_ahead(self._pending, size)
            return head + self._keep(self._stream.read(more, *args), more) if more else head
        return self._keep(self._stream.read(size, *args), size)

    def readline(self, size: Optional[int] = -1, *args: Any) -> bytes:
        if self._pending:
            head, self._pending, more = readline_ahead(self._pending, size)
            return head + self.readline(more) if more else head
        line = self._stream.readline(size, *args)
        if not line:
            self.record.end()
        return self._keep(line, 0)

    def __iter__(self) -> Iterator[bytes]:
        return iter(self.readline, b"")

    def seek(self, offset: int, whence: int = 0) -> int:
        position: int = self._stream.seek(offset, whence)
        self._pending, self._ahead = b"", 0  # the stream's own position counts now
        if position == 0:
            self.record.restart()
        return position

    def close(self) -> None:
        self._stream.close()

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):  # e.g. copy() probing before __init__ ran: no recursion
            raise AttributeError(name)
        return getattr(self._stream, name)

    def read_rest(self, meta: Any, grace: float = 0.0) -> None:
        """Record what was left unread, as far as it has arrived (``grace``: see rest.py).

        Once: under gunicorn the rest is copied, not consumed, and a second copy would
        record the same bytes again.
        """
        if not self.settled:
            self.settled = True
            record = self.record
            size, kept = record.size, record.kept
            taken = record_rest(record, self._stream, meta, grace)
            if taken:  # read off the stream (all kept: read_rest stops at the limit)
                self._pending = record.content()[kept:kept + taken]
            else:  # copied (gunicorn): still in the stream, recorded
                self._ahead = record.size - size

    def waits_for_close(self, meta: Mapping[str, Any], server_input: Any) -> bool:
        """True when the unread rest is best read once the response is closed (see
        :func:`~readme_metrics.capture.rest.waits_for_close`; ``server_input``: the
        server's own ``wsgi.input``, under the framework's wrapper this tee is over)."""
        return waits_for_close(self._stream, meta, server_input)
