"""What the direct path writes to a socket: a POST's head and body, in as few system calls
as can be (``sendmsg`` on a plain socket; over TLS, writes of up to 64 KiB).
"""

from __future__ import annotations

import errno
import ssl
from typing import Any, Optional

from readme_metrics.delivery import reader

__all__ = ["gather", "send", "write", "write_one"]


#: Where a socket has no ``sendmsg`` (TLS): the most bytes of the header block and the
#: body's pieces joined into one write (a larger piece is written alone).
_COALESCE_MAX = 64 * 1024

#: The most buffers handed to one ``sendmsg`` (Linux allows 1024, IOV_MAX).
_IOV_MAX = 512


def send(sock: Any, head: bytes, pieces: tuple[bytes, ...],
          deadline: Optional[float]) -> Optional[OSError]:
    """Send ``head`` and the body's ``pieces`` on ``sock``, in order and none copied on a
    plain socket (``sendmsg``); the error if the server stopped reading, else None.

    With a ``deadline`` (no watchdog), each system call waits only until then.
    A server may answer before it read the whole body (``413`` and ``Connection:
    close``, then it closes): sending then fails with a broken pipe or a reset, but the
    answer may be there to read. As urllib3 does, the caller still reads it, and only
    if there is none is the POST a connection error.
    """
    try:
        if isinstance(sock, ssl.SSLSocket) or not hasattr(sock, "sendmsg"):
            write(sock, (head, *pieces), deadline)  # TLS (no sendmsg there), Windows
        else:
            gather(sock, [head, *pieces], deadline)
    except OSError as exc:
        if (isinstance(exc, ssl.SSLError)
                or exc.errno not in (errno.EPIPE, errno.ECONNRESET, errno.EPROTOTYPE)):
            raise
        return exc
    return None


def gather(sock: Any, buffers: list[Any], deadline: Optional[float]) -> None:
    """Send ``buffers`` with ``sendmsg``, again from where each call stopped (it may send
    less than all): what went out is dropped, a buffer sent in part is sliced."""
    first = 0  # the first buffer not sent in full
    while first < len(buffers):
        if deadline is not None:
            reader.time_left(sock, deadline)
        sent = sock.sendmsg(buffers[first:first + _IOV_MAX])
        while first < len(buffers) and sent >= len(buffers[first]):
            sent -= len(buffers[first])
            first += 1
        if sent:
            buffers[first] = memoryview(buffers[first])[sent:]


def write(sock: Any, buffers: tuple[bytes, ...], deadline: Optional[float]) -> None:
    """Send ``buffers`` with ``sendall``: consecutive ones joined into one write up to
    ``_COALESCE_MAX`` bytes (a small POST is one write), a larger one written alone."""
    run: list[bytes] = []
    size = 0
    for buffer in buffers:
        if run and size + len(buffer) > _COALESCE_MAX:
            write_one(sock, b"".join(run), deadline)
            run = []
            size = 0
        if len(buffer) > _COALESCE_MAX:  # copying it would cost more than a system call
            write_one(sock, buffer, deadline)
        else:
            run.append(buffer)
            size += len(buffer)
    if run:
        write_one(sock, b"".join(run), deadline)


def write_one(sock: Any, data: bytes, deadline: Optional[float]) -> None:
    """``sock.sendall(data)``, within what is left until ``deadline`` if there is one."""
    if deadline is not None:
        reader.time_left(sock, deadline)
    sock.sendall(data)
