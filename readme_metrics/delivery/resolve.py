"""The Metrics API's host name looked up within a POST's deadline.

``socket.getaddrinfo`` cannot be cut: it blocks in C for as long as the system resolver
takes (its own timeouts and retries; with a name server that does not answer, tens of
seconds or more), and no socket timeout or watchdog reaches it. Called in the thread that
posts, it held that POST past ``timeout``, and ``close()`` and interpreter exit past
``shutdown_timeout`` (the exiting thread posts too).

So a name is looked up on a daemon thread of its own (``readme-metrics-resolver``), and
the POST waits for the answer only until its deadline, then fails as a connect timeout
would. The lookup goes on; a POST that connects while it runs waits for that same lookup
instead of starting another (at most one lookup thread per name), and an answer that came
after every POST waiting for it gave up serves the next one. A numeric address needs no
name server and is looked up in the calling thread.

Where no thread can start (interpreter exit on Python 3.12+, or a thread limit), the
addresses of the last lookup that succeeded are used; only a first lookup made then runs
in the calling thread, unbounded.
"""

from __future__ import annotations

import ipaddress
import os
import socket
import threading
import time
from typing import Any, Optional

from readme_metrics._process_id import getpid
from readme_metrics.threads import start_thread

#: What ``socket.getaddrinfo`` returns: (family, type, proto, canonname, sockaddr) tuples.
Addresses = list[tuple[Any, ...]]

THREAD_NAME = "readme-metrics-resolver"


class _Lookup:
    """One ``getaddrinfo`` call running on its own daemon thread."""

    __slots__ = ("done", "addresses", "error", "taken")

    def __init__(self) -> None:
        self.done = threading.Event()
        self.addresses: Optional[Addresses] = None
        self.error: Optional[BaseException] = None
        #: A POST got the answer: the next connection looks the name up afresh.
        self.taken = False


class Resolver:
    """Looks up ``host`` for connections to ``port``, each lookup within a deadline.

    .. code-block:: python

        resolver = Resolver("dash.readme.io", 443)
        addresses = resolver.addresses(deadline)  # TimeoutError once the deadline passed

    Thread-safe; a forked child forgets the parent's lookup (its thread is not there).
    """

    def __init__(self, host: str, port: int) -> None:
        self._host = host
        self._port = port
        self._numeric = _is_numeric(host)
        self._lock = threading.Lock()
        self._pending: Optional[_Lookup] = None
        self._last: Optional[Addresses] = None  # the last answer, for when no thread starts
        self._pid = os.getpid()
        #: The address a connection was last made to after an earlier one failed: tried
        #: first from then on (:meth:`connected`).
        self._preferred: Optional[Any] = None

    def addresses(self, deadline: float) -> Addresses:
        """The addresses of the name, found by the monotonic ``deadline``.

        Raises what ``getaddrinfo`` raised (``socket.gaierror``), or ``TimeoutError`` when
        the answer has not come by the deadline.
        """
        if self._numeric:
            return _getaddrinfo(self._host, self._port)
        lookup = self._lookup()
        if lookup is None:  # no thread can start: the last answer, else look up here
            last = self._last
            return last if last is not None else self._remember(
                _getaddrinfo(self._host, self._port))
        if not lookup.done.wait(max(0.0, deadline - time.monotonic())):
            raise TimeoutError("looking up the Metrics API's host name timed out")
        lookup.taken = True
        if lookup.error is not None:
            raise lookup.error
        assert lookup.addresses is not None
        return self._ordered(lookup.addresses)

    def connected(self, address: Any) -> None:
        """A connection was made to ``address`` after an address before it in the list
        failed: it is tried first from now on (the one before may drop every SYN, and
        each connection paid half its bound there)."""
        self._preferred = address

    def _ordered(self, addresses: Addresses) -> Addresses:
        """``addresses`` with the preferred one (:meth:`connected`) first."""
        preferred = self._preferred
        if preferred is None or addresses[0][4] == preferred:
            return addresses
        first = [entry for entry in addresses if entry[4] == preferred]
        return first + [entry for entry in addresses if entry[4] != preferred]

    def _lookup(self) -> Optional[_Lookup]:
        """The lookup to wait for: the one running (or answered but not yet used), else
        a new one; None if its thread could not start."""
        with self._lock:
            if self._pid != getpid():  # forked: the parent's lookup thread is not here
                self._pid = os.getpid()
                self._pending = None
            lookup = self._pending
            if lookup is not None and not lookup.taken and not (
                    lookup.done.is_set() and lookup.error is not None):
                return lookup  # running, or an answer nobody has used yet
            lookup = _Lookup()
            if start_thread(self._run, THREAD_NAME, args=(lookup,)) is None:
                return None  # interpreter exit (Python 3.12+), or a thread limit
            self._pending = lookup
            return lookup

    def _run(self, lookup: _Lookup) -> None:
        try:
            lookup.addresses = self._remember(_getaddrinfo(self._host, self._port))
        except BaseException as exc:  # handed to the POST waiting, if any
            lookup.error = exc
        finally:
            lookup.done.set()

    def _remember(self, addresses: Addresses) -> Addresses:
        self._last = addresses
        return addresses


def _getaddrinfo(host: str, port: int) -> Addresses:
    """The addresses to connect to, as ``socket.create_connection`` asks for them."""
    addresses = socket.getaddrinfo(host, port, 0, socket.SOCK_STREAM)
    if not addresses:
        raise OSError("getaddrinfo returns an empty list")
    return addresses


def _is_numeric(host: str) -> bool:
    """True for an IP address literal (no name server is asked about it)."""
    try:
        ipaddress.ip_address(host.partition("%")[0])  # an IPv6 zone may follow the %
    except ValueError:
        return False
    return True
