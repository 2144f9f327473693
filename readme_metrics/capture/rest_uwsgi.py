"""uWSGI: the unread rest of a request body, read from where it already is, never waiting.

uWSGI's ``wsgi.input`` (``uwsgi._Input``) gives first what uWSGI took off the socket
together with the request head (held in memory; how much is not exposed), then reads the
socket, and a read the socket cannot fill waits for the client, up to ``socket-timeout``.
So a read is only ever asked for bytes that are known to be there:

- with ``post-buffering`` uWSGI read the whole body before calling the app: read it;
- otherwise, never more than the socket holds (``FIONREAD``): what uWSGI holds comes
  first in the stream, so such a read is served from memory and then from the socket,
  without waiting;
- what uWSGI holds in memory, of unknown size, is read a byte at a time after the read
  side of the socket was shut down (TCP only): a read that finds nothing then ends at
  once (end of stream) instead of waiting. Shutting down the read side tells a TCP peer
  nothing; the kernel still accepts and queues what the client sends, so bytes in flight
  are read within ``deadline`` as they arrive. uWSGI closes such a connection after the
  response, as it does anyway when the app leaves the body unread (its HTTP/1.1
  keep-alive included: bare, the unread body makes it close).

Over a unix socket (behind nginx or another front end) the read side is not shut down: a
unix socket tells its peer, which could then fail to send the rest of a body it is still
sending. There only what the socket holds is read; with ``post-buffering`` all of it.
"""

from __future__ import annotations

import fcntl
import os
import select
import socket
import struct
import sys
import termios
import time
from typing import Any

__all__ = ["is_uwsgi_input", "post_buffered", "read_uwsgi"]

_TCP = (socket.AF_INET, socket.AF_INET6)


def is_uwsgi_input(stream: Any) -> bool:
    """True for uWSGI's own ``wsgi.input`` object."""
    kind = type(stream)
    return kind.__module__ == "uwsgi" and kind.__name__ == "_Input"


def post_buffered() -> bool:
    """True when uWSGI reads every body before calling the app (``post-buffering``)."""
    uwsgi = sys.modules.get("uwsgi")
    value = getattr(uwsgi, "opt", {}).get("post-buffering")
    if isinstance(value, list):  # an option given several times: the last one counts
        value = value[-1] if value else None
    if isinstance(value, bytes):
        value = value.decode("ascii", "replace")
    try:
        return int(value) > 0  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return False  # unknown: read only what is known to be there


def _queued(fd: int) -> int:
    """Bytes the socket has received and nobody has read yet."""
    return int(struct.unpack("i", fcntl.ioctl(fd, termios.FIONREAD, b"\0\0\0\0"))[0])


def read_uwsgi(stream: Any, base: Any, want: int, deadline: float) -> bytes:
    """Up to ``want`` bytes of the unread body, only as far as they have arrived.

    ``stream`` is read (the app's view of the input, wrappers included); ``base`` is
    uWSGI's input under it. Bytes still arriving are waited for until ``deadline`` at most.
    Reading stops at the first read that finds the stream at its end.
    """
    with socket.socket(fileno=os.dup(base.fileno())) as sock:  # closes the copy only
        fd = sock.fileno()
        tcp = sock.family in _TCP
        if tcp:
            sock.shutdown(socket.SHUT_RD)  # an empty read now ends at once: see above
        parts: list[bytes] = []
        got = 0
        held = tcp  # uWSGI may hold bytes in memory; probed only once reads cannot wait
        woke = False
        while got < want:
            queued = _queued(fd)
            if queued or held:
                size = min(queued, want - got) if queued else 1
                try:
                    data = stream.read(size)
                except OSError:  # the stream's end, met by a read the socket could not fill
                    if size > 1:
                        break  # what it took is lost: what follows would leave a gap
                    data = b""
                if data:
                    parts.append(data)
                    got += len(data)
                    woke = False
                    continue
                held = False  # a byte read found nothing: uWSGI holds nothing more
            left = deadline - time.monotonic()
            if left <= 0 or woke:
                break  # woke: readable with nothing to read, the peer closed
            if tcp:  # a shut-down socket always polls readable: look again shortly
                time.sleep(min(left, 0.002))
            else:
                woke = bool(select.select([fd], [], [], left)[0])
    return b"".join(parts)
