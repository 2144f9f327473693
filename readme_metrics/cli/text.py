"""Wording of the command's output (``counted`` is shared with the library's log lines)."""

from __future__ import annotations

import errno
import socket

from readme_metrics._wording import counted

__all__ = ["cannot_listen", "counted"]


def cannot_listen(host: str, port: int, exc: OSError, flag: str = "--port") -> str:
    """Why ``host:port`` could not be listened on, and what to pass (``flag``) instead."""
    if exc.errno == errno.EADDRINUSE:
        return (f"port {port} on {host} is already in use (another collector or app?). Use "
                f"{flag} 0 to pick any free port, or {flag} N for another one.")
    address = isinstance(exc, socket.gaierror) or exc.errno == errno.EADDRNOTAVAIL
    return (f"cannot listen on {host} port {port}: {exc.strerror or exc}"
            + (" (--host takes an address of this machine)" if address else ""))
