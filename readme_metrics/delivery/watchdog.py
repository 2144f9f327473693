"""A wall-clock limit on a whole HTTP exchange, which socket timeouts cannot give.

A socket timeout bounds each read, not the exchange: a server that drips one byte of its
answer every 0.4 s never trips a one-second read timeout, and one POST can then take
minutes. The transport marks its connections while a POST runs (:func:`watch` from the
connection class, inside :func:`limit`); one daemon thread per process shuts down the
socket of any marked connection whose deadline has passed, which ends the blocked read
at once with a connection error, and :func:`limit` reports that the deadline fired.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import os
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any, Optional


class Limit:
    """One exchange's deadline; ``fired`` tells whether the watchdog cut it short."""

    __slots__ = ("deadline", "fired", "connections")

    def __init__(self, deadline: float) -> None:
        self.deadline = deadline
        self.fired = False
        self.connections: list[Any] = []


_local = threading.local()
_lock = threading.Lock()
_wake = threading.Condition(_lock)
_heap: list[tuple[float, int, Limit]] = []
_order = itertools.count()
_thread: Optional[threading.Thread] = None
_pid = os.getpid()


@contextlib.contextmanager
def limit(seconds: float) -> Iterator[Limit]:
    """Bound everything the current thread's connections do inside to ``seconds``."""
    current = Limit(time.monotonic() + seconds)
    _local.limit = current
    _arm(current)
    try:
        yield current
    finally:
        _local.limit = None
        with _lock:
            current.connections = []  # done: the watchdog leaves these alone now
            current.deadline = 0.0


def watch(connection: Any) -> None:
    """Called by a connection as it connects or sends: it belongs to the running limit."""
    current: Optional[Limit] = getattr(_local, "limit", None)
    if current is not None and current.deadline:
        with _lock:
            if connection not in current.connections:
                current.connections.append(connection)


def after_fork_in_child() -> None:
    """The parent's watchdog thread does not exist in a child, and its lock may be held."""
    global _lock, _wake, _thread, _pid
    _lock = threading.Lock()
    _wake = threading.Condition(_lock)
    _thread = None
    _pid = os.getpid()
    _heap.clear()


def _arm(current: Limit) -> None:
    global _thread
    if _pid != os.getpid():  # forked without the hook (os.fork from C code)
        after_fork_in_child()
    with _lock:
        heapq.heappush(_heap, (current.deadline, next(_order), current))
        if _thread is None or not _thread.is_alive():
            _thread = threading.Thread(target=_run, name="readme-metrics-watchdog",
                                       daemon=True)
            try:
                _thread.start()
            except RuntimeError:  # interpreter exit: socket timeouts still apply
                _thread = None
        elif _heap[0][2] is current:
            _wake.notify()


def _run() -> None:
    with _lock:
        while True:
            now = time.monotonic()
            while _heap and (not _heap[0][2].deadline or _heap[0][0] <= now):
                _, _, due = heapq.heappop(_heap)
                if due.deadline and due.connections:
                    due.fired = True
                    for connection in due.connections:
                        _cut(connection)
                    due.connections = []
            _wake.wait(_heap[0][0] - now if _heap else None)


def _cut(connection: Any) -> None:
    sock = getattr(connection, "sock", None)
    if sock is None:
        return
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
