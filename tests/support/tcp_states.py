"""What Linux's ``/proc/net/tcp`` says of a loopback connection (IPv4).

:func:`peer_closed`: whether the server's end of a connection has the client's close
(CLOSE_WAIT: its FIN came in, the server not closed yet). A server that reads nothing
more while an answer is due (hypercorn's HTTP/1: h11 pauses) never tells the app of it,
but its kernel holds it, and the next write meets the client's reset: a test waits for
this before it lets the answer go (delivery65). False where the file is not there.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["peer_closed"]

_CLOSE_WAIT = "08"
_LOOPBACK = "0100007F"  # 127.0.0.1, as the kernel writes it


def _address(port: int) -> str:
    return f"{_LOOPBACK}:{port:04X}"


def peer_closed(server_port: int, client_port: int) -> bool:
    """Whether the server's socket on 127.0.0.1:``server_port`` for the client's
    127.0.0.1:``client_port`` is in CLOSE_WAIT."""
    try:
        lines = Path("/proc/net/tcp").read_text().splitlines()[1:]
    except OSError:
        return False
    local, remote = _address(server_port), _address(client_port)
    return any(fields[1:4] == [local, remote, _CLOSE_WAIT]
               for fields in (line.split() for line in lines))
