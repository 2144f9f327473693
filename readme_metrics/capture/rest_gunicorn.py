"""gunicorn: the unread rest of a request body, copied without consuming anything.

Used by :mod:`readme_metrics.capture.rest`. gunicorn's ``wsgi.input`` reads the socket
through its own buffers; what is in them and what the socket has received is copied
(``MSG_PEEK``, after a zero-timeout readiness check), so the server's bookkeeping of the
connection is untouched and nothing ever waits for the client.

- :func:`gunicorn_peek`: a body with a Content-Length, as far as it has arrived.
- :func:`gunicorn_chunks`: a chunked body the app has not started reading: its chunks
  are read out of the copied bytes (``chunked.py``), as far as they have arrived, and
  the last chunk tells that the body is whole.
"""

from __future__ import annotations

import inspect
import socket
import time
from typing import Any, Mapping, Optional

from readme_metrics.capture.chunked import copied_chunks
from readme_metrics.capture.sockets import peek, peer_done

__all__ = ["gunicorn_chunks", "gunicorn_peek"]


def gunicorn_peek(stream: Any, environ: Mapping[str, Any], want: int, deadline: float
                  ) -> Optional[bytes]:
    """gunicorn: copy what its reader buffered and the socket received, consuming nothing.

    None when ``stream`` is not gunicorn's; b"" for a chunked body (see
    :func:`gunicorn_chunks`). Until ``deadline`` the copy is taken again every few
    milliseconds while it is short (peeked bytes stay readable, so waiting for
    readability would not tell of new ones), and not once the client has shut its side.
    """
    if type(stream).__module__ != "gunicorn.http.body":
        return None
    from gunicorn.http.body import Body, LengthReader

    sock = environ.get("gunicorn.socket")
    if not isinstance(stream, Body) or not isinstance(stream.reader, LengthReader):
        return b""
    # The stream in order: Body's own buffer, the unreader's, then the socket's.
    held = stream.buf.getvalue() + stream.reader.unreader.buf.getvalue()
    data = held
    while len(data) < want and isinstance(sock, socket.socket):
        ended = peer_done(sock)  # asked first: what came before the end is copied
        data = held + peek(sock, want - len(held))
        if len(data) >= want or time.monotonic() >= deadline or ended:
            break
        peer_done(sock, 0.002)
    return data[:want]


def gunicorn_chunks(stream: Any, environ: Mapping[str, Any], want: int, deadline: float
                    ) -> Optional[tuple[bytes, bool]]:
    """(the data of a chunked body gunicorn holds, True when its last chunk is there).

    None when ``stream`` is not a gunicorn chunked body the app has left untouched (once
    the app has read some, where the next chunk starts is gunicorn's own state).
    """
    if type(stream).__module__ != "gunicorn.http.body":
        return None
    from gunicorn.http.body import Body, ChunkedReader

    reader = getattr(stream, "reader", None)
    if not isinstance(stream, Body) or not isinstance(reader, ChunkedReader):
        return None
    parser = reader.parser
    if (stream.buf.tell() or reader.buf.tell() or parser is None
            or inspect.getgeneratorstate(parser) != inspect.GEN_CREATED):
        return None
    sock = environ.get("gunicorn.socket")
    return copied_chunks(reader.req.unreader.buf.getvalue(),
                         sock if isinstance(sock, socket.socket) else None, want, deadline)
