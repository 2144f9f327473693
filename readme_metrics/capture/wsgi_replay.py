"""The request body as the grouping function reads it under the WSGI capture.

:func:`replay_input` gives the grouping function a readable copy of the body the
:class:`~readme_metrics.capture.wsgi_input.InputTee` records; on a live connection a part
the app has not read yet is given as far as it has arrived (``GRACE`` at most for bytes in
flight), never by a read that waits for the client.
"""

from __future__ import annotations

import io
from typing import Any, Iterator, Mapping, Optional

from readme_metrics.capture.wsgi_input import InputTee

__all__ = ["replay_input"]


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
