"""Whether a socket has something to read, for the unread-rest readers (``rest*.py``)."""

from __future__ import annotations

import math
import select
import socket


def readable(sock: socket.socket, timeout: float) -> bool:
    """True when ``sock`` has data (or its end of stream) within ``timeout`` seconds.

    ``poll``, not ``select``: ``select`` refuses a descriptor numbered 1024 or above
    (FD_SETSIZE), which a server with many connections or files open reaches.
    """
    if not hasattr(select, "poll"):  # pragma: no cover - Windows, where select has no cap
        return bool(select.select([sock], [], [], max(timeout, 0.0))[0])
    poller = select.poll()
    poller.register(sock, select.POLLIN)
    return bool(poller.poll(max(math.ceil(timeout * 1000), 0)))
