"""A tee over a file-like request body stream (Django's ``request._stream``).

The framework reads through :class:`StreamTee` exactly as through the stream it wraps
(read, readline, iteration, seek, any other attribute); each chunk is fed to a
:class:`~readme_metrics.capture.body.BodyRecord`. ``read_rest`` records what was left
unread, only as far as it has arrived (see ``rest.py``), once.
"""

from __future__ import annotations

from typing import Any, Iterator, Mapping, Optional

from readme_metrics.capture.body import BodyRecord
from readme_metrics.capture.rest import record_rest, waits_for_close

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

    def _keep(self, data: bytes, asked: Optional[int]) -> bytes:
        if data:
            self.record.feed(data)
        if asked is None or asked < 0 or (not data and asked > 0):
            self.record.end()
        return data

    def read(self, size: Optional[int] = -1, *args: Any) -> bytes:
        return self._keep(self._stream.read(size, *args), size)

    def readline(self, size: Optional[int] = -1, *args: Any) -> bytes:
        line = self._stream.readline(size, *args)
        if not line:
            self.record.end()
        return self._keep(line, 0)

    def __iter__(self) -> Iterator[bytes]:
        return iter(self.readline, b"")

    def seek(self, offset: int, whence: int = 0) -> int:
        position: int = self._stream.seek(offset, whence)
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
            record_rest(self.record, self._stream, meta, grace)

    def waits_for_close(self, meta: Mapping[str, Any], server_input: Any) -> bool:
        """True when the unread rest is best read once the response is closed (see
        :func:`~readme_metrics.capture.rest.waits_for_close`; ``server_input``: the
        server's own ``wsgi.input``, under the framework's wrapper this tee is over)."""
        return waits_for_close(self._stream, meta, server_input)
