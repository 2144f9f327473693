"""What Linux's ``/proc/net/tcp`` says of a loopback connection (IPv4).

:func:`close_reached`: whether a client's close of its connection reached the server's
kernel: the client's own end past FIN_WAIT1 (the server acknowledged its FIN), or gone
(a reset). A server that reads nothing more while an answer is due (hypercorn's HTTP/1:
h11 pauses) never tells the app of it, but its kernel holds it, and the next write
meets the client's reset; one that reads it closes its end at once (uvicorn): the
client's end tells either way. A test waits for it before it lets the answer go
(delivery65). :func:`read_by_server`: whether the server's end holds nothing unread in
the kernel (its process took what the client sent: an HTTP/2 RST_STREAM on a connection
kept open, which the server's reader holds then). False where the file is not there.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["close_reached", "read_by_server"]

# FIN_WAIT1: the client's FIN sent, not acknowledged yet (nor any later state).
_FIN_WAIT1 = "04"
_LOOPBACK = "0100007F"  # 127.0.0.1, as the kernel writes it


def _address(port: int) -> str:
    return f"{_LOOPBACK}:{port:04X}"


def close_reached(server_port: int, client_port: int) -> bool:
    """Whether the client's end (127.0.0.1:``client_port``, closed) of its connection to
    127.0.0.1:``server_port`` had its close acknowledged (any state past FIN_WAIT1), or
    is gone."""
    try:
        lines = Path("/proc/net/tcp").read_text().splitlines()[1:]
    except OSError:
        return False
    local, remote = _address(client_port), _address(server_port)
    states = [fields[3] for fields in (line.split() for line in lines)
              if fields[1:3] == [local, remote]]
    return all(state != _FIN_WAIT1 for state in states)


def read_by_server(server_port: int, client_port: int) -> bool:
    """Whether the server's end (127.0.0.1:``server_port``) of its connection from
    127.0.0.1:``client_port`` has nothing left in its kernel receive queue."""
    try:
        lines = Path("/proc/net/tcp").read_text().splitlines()[1:]
    except OSError:
        return False
    local, remote = _address(server_port), _address(client_port)
    return any(fields[1:3] == [local, remote] and fields[4].partition(":")[2] == "00000000"
               for fields in (line.split() for line in lines))
