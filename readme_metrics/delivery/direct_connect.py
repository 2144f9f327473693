"""A connection of the direct path to the Metrics API: its socket made within one bound
(the lookup and each address sharing it), TLS wrapped, cut by the watchdog as it connects.
"""

from __future__ import annotations

import socket
import time
from typing import TYPE_CHECKING, Any, Callable, Optional

from readme_metrics.delivery import resolve, tls, watchdog

if TYPE_CHECKING:
    from readme_metrics.delivery.direct import DirectPoster

__all__ = ["Connection", "open_socket"]


class Connection:
    """A socket to the Metrics API (TCP_NODELAY, as urllib3; TLS for https), held by a
    watchdog :class:`~.watchdog.Line` too so the watchdog can cut it while it connects
    or reads. ``sock`` is None until connected and once closed."""

    __slots__ = ("sock", "line", "connecting", "timeout", "_poster")

    def __init__(self, poster: DirectPoster) -> None:
        self.sock: Any = None
        self.line = watchdog.Line()
        self.connecting = False
        self.timeout: Optional[float] = None  # the socket's, while connected
        self._poster = poster

    def connect(self, seconds: float,
                ended: Optional[Callable[[], bool]] = None) -> Any:
        """TCP (then TLS) connection to the Metrics API, each step within ``seconds``;
        with ``ended`` (a check's), a cut of :attr:`line` ends a TCP connect too
        (:func:`open_socket`), and one made as the socket is wrapped for TLS ends it before
        the handshake."""
        poster = self._poster
        self.connecting = self.line.connecting = True
        self.line.sock = None
        sock = open_socket(poster.resolver, seconds, None if ended is None else self.line, ended)
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:  # not TCP after all (some test doubles): no harm
            pass
        self.sock = self.line.sock = sock
        self.timeout = sock.gettimeout()
        if poster.tls:
            # Wrapping detaches ``sock``: the watchdog must hold the TLS socket from then
            # on, or a deadline would shut down a dead descriptor and leave a server
            # dripping its answer over TLS unbounded. The handshake comes after, each
            # read of it within ``seconds`` and all of it within the limit.
            wrapped = poster.context().wrap_socket(
                sock, server_hostname=tls.server_name(poster._host),
                do_handshake_on_connect=False)
            self.sock = self.line.sock = wrapped
            if ended is not None and ended():
                # cut as ``sock`` was wrapped: it shut down the detached descriptor
                # (EBADF), and the handshake and the check's GET would go on (review87)
                raise ConnectionAbortedError("the check was ended")
            wrapped.do_handshake()
        self.connecting = self.line.connecting = False
        return self.sock

    def set_timeout(self, seconds: Optional[float]) -> None:
        """The socket's timeout (None: it blocks), changed only if it differs: each
        change is a system call."""
        if self.timeout != seconds:
            self.sock.settimeout(seconds)
            self.timeout = seconds

    def close(self) -> None:
        sock, self.sock = self.sock, None
        if sock is not None:
            sock.close()


def open_socket(resolver: resolve.Resolver, seconds: float,
          line: Optional[watchdog.Line] = None,
          ended: Optional[Callable[[], bool]] = None) -> socket.socket:
    """A TCP connection to the resolver's host, made as ``socket.create_connection``
    makes it (each address in turn, the last error raised), except that the lookup
    (:mod:`.resolve`) and the addresses share ``seconds``: create_connection gives each
    address the whole timeout, so an API whose name gives several addresses that all drop
    the SYN (down behind a firewall) held a POST for that many timeouts, and its lookup
    was not bounded at all.

    Each address but the last gets half of what is left, the last all of it: given the
    whole of it, a first address that drops the SYN (a broken IPv6 route to a dual-stack
    host, ``localhost`` as ``::1`` where nothing answers there) took every POST's
    bound, the next one was never tried, and no log got through (delivery23). The address
    that connected is tried first next time (:meth:`.Resolver.connected`).

    With a ``line`` (a check's: :meth:`DirectPoster.answers`), each socket is on it while
    it connects, so a cut (:meth:`DirectPoster.end_check`) ends a connect to a host that
    drops the SYN at once, and once ``ended()`` no other address is tried: such a
    connect held the readme-metrics-check thread past close() (review85). ``ended()`` is
    read again once the connect returns: a cut between the first look and the connect
    shut down a socket not yet connecting, which does nothing (ENOTCONN), and the
    connect then returned at once, a host that drops the SYN taken for connected
    (review87)."""
    deadline = time.monotonic() + seconds
    addresses = resolver.addresses(deadline)
    error: OSError = TimeoutError("timed out")  # the lookup took all the time
    last = len(addresses) - 1
    for n, (family, kind, protocol, _, address) in enumerate(addresses):
        left = deadline - time.monotonic()
        if left <= 0:
            break
        sock = socket.socket(family, kind, protocol)
        if line is not None:
            line.sock = sock
        try:
            if ended is not None and ended():
                raise ConnectionAbortedError("the check was ended")
            sock.settimeout(left if n == last else left / 2)
            sock.connect(address)
            if ended is not None and ended():
                # cut between the look above and the connect: a shutdown before it
                # began did nothing, and such a connect returns at once as if made
                raise ConnectionAbortedError("the check was ended")
        except OSError as exc:
            sock.close()
            error = exc
            if ended is not None and ended():
                break
            continue
        sock.settimeout(left)
        if n:
            resolver.connected(address)
        return sock
    raise error
