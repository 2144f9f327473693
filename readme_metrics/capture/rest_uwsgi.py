"""uWSGI: the unread rest of a request body, read from where it already is, never waiting.

uWSGI's ``wsgi.input`` (``uwsgi._Input``) gives first what uWSGI took off the socket
together with the request head (held in memory; how much is not exposed), then reads the
socket, and a read the socket cannot fill waits for the client, up to ``socket-timeout``.
So a read is only ever asked for bytes that are known to be there:

- with ``post-buffering`` uWSGI read the whole body before calling the app: read it;
- otherwise the read side of the socket is shut down first: from then on a read that
  finds nothing ends at once (end of stream) instead of waiting, while the kernel still
  accepts and queues what the peer sends (bytes in flight are read, until ``deadline``,
  as they arrive). Reads no longer than what the socket holds (``FIONREAD``) take what
  uWSGI holds and then the socket's bytes. When the socket holds nothing, what uWSGI may
  hold is read in reads of 1, 2, 4 ... bytes: a body that has all arrived is read whole
  that way (it is all held or queued, so no read asks for more than there is); for one
  that has not, the first read that meets the end fails (uWSGI logs it, "Client closed
  connection") and loses what it took, which ``tell()`` shows: the log keeps the bytes
  read before it, at least half of what had arrived.

For a grouping function reading ahead of the app, which reads on from there, nothing is
shut down (the shutdown would last: the app's read of a rest not arrived yet would fail
with uWSGI's ``OSError`` where bare it waits). What uWSGI holds is read a byte at a
time (about 0.1 us a byte, for at most what came with the request head) with uWSGI's
descriptor pointed, for those reads only, at a connection that has ended (``dup2``): the
read of one byte that meets the end of what it holds ends at once and has taken
nothing, so the app gets every byte. Then the descriptor is the connection's again, and
what the socket holds is read in reads no longer than that (``FIONREAD``), bytes in
flight as they arrive until ``deadline``.

Shutting down the read side tells a TCP peer nothing. A unix-socket peer (nginx's
``uwsgi_pass unix:...``) can no longer send: only a peer still sending a body the app did
not read notices, as it does when uWSGI closes the connection right after the response
(uWSGI closes a connection whose body was not read to its end, bare too).

Under ``--http11-socket`` uWSGI keeps a connection open for the next request once the
body was read to its end: with its read side shut down, a next request already waiting
would be served with a body that ends where the bytes that had arrived end. So there
(:func:`keeps_alive`) the last byte of the body is never read: uWSGI closes the
connection after the response as it does bare, and the log keeps all but that byte.
A grouping function reading the body before the app (``wsgi_input.py``) gets the last
byte too: nothing is shut down for it, and with all of the body read uWSGI keeps the
connection for a next request (bare, a body left unread closes it).
"""

from __future__ import annotations

import os
import socket
import sys
import time
from typing import Any

from readme_metrics.capture.sockets import readable, unread_bytes

__all__ = ["is_uwsgi_input", "keeps_alive", "post_buffered", "read_uwsgi"]


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


def keeps_alive() -> bool:
    """True when uWSGI may keep a connection for a next request (``--http11-socket``)."""
    return "http11-socket" in getattr(sys.modules.get("uwsgi"), "opt", {})


def read_uwsgi(stream: Any, base: Any, want: int, deadline: float, lossless: bool = False
               ) -> bytes:
    """Up to ``want`` bytes of the unread body, only as far as they have arrived.

    ``stream`` is read (the app's view of the input, wrappers included); ``base`` is
    uWSGI's input under it. Bytes still arriving are waited for until ``deadline`` at most.
    ``lossless``: the app reads on from where this stops (a grouping function reading
    ahead of it), so no read may lose bytes (the app would get the body with a gap) and
    the connection is not shut down (its reads would fail instead of waiting): see
    :func:`_read_ahead`.
    """
    if lossless:
        return _read_ahead(stream, base, want, deadline)
    with socket.socket(fileno=os.dup(base.fileno())) as sock:  # closes the copy only
        fd = sock.fileno()
        sock.shutdown(socket.SHUT_RD)  # an empty read now ends at once: see above
        parts: list[bytes] = []
        got = 0
        held = True  # uWSGI may hold bytes in memory, until a read finds the end
        step = 1
        while got < want:
            queued = unread_bytes(fd)
            if queued or held:
                size = min(queued or step, want - got)
                position = base.tell()
                try:
                    data = stream.read(size)
                except OSError:  # the end, met by a read the socket could not fill
                    if base.tell() != position:
                        break  # it took bytes and lost them: what follows would leave a gap
                    data = b""
                if data:
                    parts.append(data)
                    got += len(data)
                    if not queued:
                        step *= 2
                    continue
                held = False
            left = deadline - time.monotonic()
            if left <= 0:
                break
            time.sleep(min(left, 0.002))  # a shut-down socket always polls readable
    return b"".join(parts)


def _read_ahead(stream: Any, base: Any, want: int, deadline: float) -> bytes:
    """:func:`read_uwsgi` for a reader the app reads on after, the connection left as it
    was: what uWSGI holds is read a byte at a time with uWSGI's descriptor pointed at a
    connection that has ended, for those reads only, so the read that meets the end of
    what it holds ends at once and takes nothing; then what the socket holds, in reads no
    longer than that (``FIONREAD``), and bytes in flight until ``deadline``."""
    fd = base.fileno()
    parts: list[bytes] = []
    got = 0
    inheritable = os.get_inheritable(fd)
    ended, peer = socket.socketpair()  # first: if it is refused, nothing is left open
    peer.close()  # a read of ``ended`` finds its end at once
    try:
        saved = os.dup(fd)
    except BaseException:
        ended.close()
        raise
    try:
        os.dup2(ended.fileno(), fd, inheritable)
        try:
            while got < want:
                try:
                    data = stream.read(1)
                except OSError:  # the end of what uWSGI holds: nothing taken
                    break
                if not data:
                    break
                parts.append(data)
                got += 1
        finally:
            os.dup2(saved, fd, inheritable)
    finally:
        os.close(saved)
        ended.close()
    with socket.socket(fileno=os.dup(fd)) as sock:  # closes the copy only
        while got < want:
            queued = unread_bytes(sock.fileno())
            if queued:
                data = stream.read(min(queued, want - got))  # all there: never waits
                if not data:
                    break
                parts.append(data)
                got += len(data)
                continue
            left = deadline - time.monotonic()
            if left <= 0 or not readable(sock, left) or not unread_bytes(sock.fileno()):
                break  # nothing by the deadline, or the client's end
    return b"".join(parts)
