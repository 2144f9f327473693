"""A wall-clock limit on a whole HTTP exchange, which socket timeouts cannot give.

A socket timeout bounds each read, not the exchange: a server that drips one byte of its
answer every 0.4 s never trips a one-second read timeout, and one POST can then take
minutes. The transport marks its connections while a POST runs (given to :func:`limit`,
or :func:`watch` from the connection class inside it); one daemon thread per process
shuts down the socket of any marked connection whose deadline has passed, which ends the
blocked read at once with a connection error, and :func:`limit` reports that the
deadline fired. A deadline may follow a bound that grows while the exchange runs
(:class:`~readme_metrics.delivery.stretch.Stretch`: the Metrics API turned slower
than ``timeout``), looked at only when
the deadline comes.

The same thread runs short errands (:func:`run_soon`) for a thread that must not do them
itself: a request that finds every sender busy in a POST while a burst builds up asks
for one more sender here, as it may neither start threads nor wait. The watchdog thread
is awake whenever a POST is in flight, which is exactly when that is needed. Errands may
also be timed (:func:`run_at`): while every sender is held in a POST, no sender watches
the ``flush_interval`` timer, and the watchdog looks at it for them.

Its parts: the state its threads share (:mod:`.watchdog_state`), what it cuts
(:mod:`.watchdog_line`), its thread (:mod:`.watchdog_thread`), the deadlines a
stretch moves (:mod:`.watchdog_holds`); every name importable from here as before.
"""

from __future__ import annotations

import heapq
import math
import os
import threading
import time
from typing import Any, Callable, Optional

from readme_metrics._process_id import getpid
from readme_metrics.delivery import stalls
from readme_metrics.delivery.stretch import Stretch
from readme_metrics.delivery.watchdog_holds import cut_lost, end_by, release
from readme_metrics.delivery.watchdog_holds import unhold_locked as _unhold_locked
from readme_metrics.delivery.watchdog_line import Line, cut
from readme_metrics.delivery.watchdog_state import state
from readme_metrics.delivery.watchdog_thread import stalled
from readme_metrics.delivery.watchdog_thread import started_locked as _started_locked

__all__ = ["Limit", "Line", "Stretch", "after_fork_in_child", "current", "cut", "cut_lost",
           "end_by", "last_cut", "limit", "release", "run_at", "run_soon", "stalled",
           "state", "verdict", "watch"]


class Limit:
    """One exchange's deadline; ``fired`` tells whether the watchdog cut it short.

    A context manager (see :func:`limit`): a class rather than a generator, as it runs
    once per POST.
    """

    __slots__ = ("deadline", "fired", "connections", "watched", "began", "stretch", "until",
                 "bound", "connected", "verdict_at", "lost", "spared", "held", "unheld",
                 "cut_at", "frozen")

    def __init__(self, deadline: float, connections: Optional[list[Any]] = None,
                 stretch: Optional[Stretch] = None, until: float = math.inf,
                 began: float = 0.0, bound: float = 0.0) -> None:
        self.deadline = deadline
        self.fired = False
        self.connections: list[Any] = connections or []
        #: A watchdog thread runs (set on entry): without one (a first POST at
        #: interpreter exit), only socket timeouts bound the exchange.
        self.watched = False
        self.began = began
        #: The bound it follows as it grows (None: ``deadline`` stays), never past
        #: ``until`` (a flush's or the exit's deadline).
        self.stretch = stretch
        self.until = until
        #: Its bound in seconds (``deadline - began``, exactly as given): more than it
        #: began with once its stretch grew.
        self.bound = bound
        #: Once ``fired``: a connection it cut was made (not one still connecting).
        self.connected = False
        #: When the answer's status line and headers came (:func:`verdict`; 0.0: not yet).
        self.verdict_at = 0.0
        #: Lost (:func:`cut_lost`): cut at ``timeout``, whatever its stretch does.
        self.lost = False
        #: Taken for lost at its bound, and waited longer (:meth:`Stretch.spare`).
        self.spared = False
        #: Taken for lost and waited past its bound (:func:`cut_lost`'s hold, or spared:
        #: :meth:`Stretch.spare`), counted in ``stretch.held``, until :func:`release`.
        self.held = False
        #: Its deadline before it was held (what :func:`release` gives back).
        self.unheld = 0.0
        #: Once ``fired``: the deadline it was cut at (:func:`last_cut`).
        self.cut_at = 0.0
        #: Seconds of it the process was frozen (:mod:`.stalls`): its bound counts from
        #: ``began + frozen``.
        self.frozen = 0.0

    def __enter__(self) -> Limit:
        _local.limit = self
        _arm(self)
        return self

    def __exit__(self, kind: object, *exc_info: object) -> None:
        _local.limit = None
        with state.lock:
            _local.cut = (self.cut_at, self.connected)  # (the watchdog's cut is over)
            self.connections = []  # done: the watchdog leaves these alone now
            self.deadline = 0.0
            if self.spared and self.stretch is not None:
                # Answered late (its status came; on the requests route, which does not
                # report it, the exchange ended uncut and raising nothing): it was worth
                # sparing (Stretch.spared_ended).
                self.stretch.spared_ended(
                    bool(self.verdict_at) or (not self.fired and kind is None))
            _unhold_locked(self)
            # Most limits end in the order they began: dropping the finished ones from
            # the top here spares the watchdog thread a wake-up for each of them.
            while state.heap and not state.heap[0][2].deadline:
                heapq.heappop(state.heap)



_local = threading.local()


def limit(seconds: float, connection: Any = None, stretch: Optional[Stretch] = None,
          until: float = math.inf) -> Limit:
    """Bound everything the current thread's connections do inside to ``seconds``.

    .. code-block:: python

        with watchdog.limit(3.0) as current:
            ...  # connections call watch(self) as they connect or send
        if current.fired: ...  # the deadline passed and their sockets were shut down

    A ``connection`` known beforehand is watched from the start, as if it had called
    :func:`watch` (one lock and one look-up less per POST). With a ``stretch``, the bound
    is ``stretch.seconds`` when the deadline comes, if that grew meanwhile (up to the
    monotonic time ``until``), and a cut at it grows it (:class:`Stretch`).
    """
    now = time.monotonic()
    return Limit(now + seconds, None if connection is None else [connection], stretch,
                 until, now, seconds)


def watch(connection: Any, sent: bool = False) -> None:
    """Called by a connection as it connects or sends (``sent``: once its request went),
    and by the direct route's once connected: it belongs to the running limit. If that
    limit was cut already (its deadline came while the connection was still connecting,
    with no socket to shut down), it is cut now: it went on unbounded, the direct
    route's socket blocking, 60 s against an API that never answered a POST bounded to
    0.3 s (delivery33)."""
    running = current()
    if running is not None:
        with state.lock:
            if running.fired:
                if cut(connection) and sent:
                    running.connected = True  # (the API may have read it)
            elif connection not in running.connections:
                running.connections.append(connection)


def verdict() -> None:
    """Called by the reader as an answer's status line and headers came: the running
    limit's exchange was answered in time, whatever its body does after (a cut then
    grows no bound: :func:`_watch`)."""
    running = current()
    if running is not None:
        running.verdict_at = time.monotonic()


def last_cut() -> tuple[float, bool]:
    """For the exchange that last ended in the current thread: the deadline the watchdog
    cut it at (monotonic time; 0.0 if it was not cut: one cut at a close's deadline,
    :func:`end_by` or the deadline it began with, is no failure of the API's), and
    whether it was cut once connected (its request sent, or being sent: the API may have
    read it), not while connecting. Known from the cut itself, not from the error its
    thread then met (requests may report either as a connection error)."""
    cut: tuple[float, bool] = getattr(_local, "cut", (0.0, False))
    return cut


def current() -> Optional[Limit]:
    """The limit running in the current thread, None outside one."""
    running: Optional[Limit] = getattr(_local, "limit", None)
    return running if running is not None and running.deadline else None


def run_soon(errand: Callable[[], object], wait: bool = True) -> bool:
    """Have the watchdog thread call ``errand()`` soon; returns at once.

    For a caller that may neither start a thread nor wait (a request thread): it only
    takes a lock held for a few list operations. The errand must be short and should not
    raise (what it raises is ignored). Without a watchdog thread yet (no POST began in
    this process), it runs once the first POST starts one. Not ``wait``: for a finalizer,
    which may run in a thread that holds that lock (the watchdog's own), nothing is done
    if the lock is taken, nor without a watchdog thread (no POST began in this process,
    so none is in flight for the errand to end: kept until one began, it held what it
    names, a collected middleware's delivery, 20 KB each, review106); False then.
    """
    if state.pid != getpid():  # forked without the hook (os.fork from C code)
        after_fork_in_child()
    if not state.lock.acquire(wait):
        return False
    try:
        if not wait and state.thread is None:
            return False
        state.errands.append(errand)
        state.wake.notify()
    finally:
        state.lock.release()
    return True


def run_at(when: float, errand: Callable[[], object]) -> None:
    """Have the watchdog thread call ``errand()`` at monotonic time ``when`` (or soon
    after); returns at once.

    For a sender thread (it starts the watchdog thread if none runs yet, but once an
    interpreter's close told it to end: :func:`.watchdog_thread.end`); the errand must
    be short and should not raise, as for :func:`run_soon`.
    """
    if state.pid != getpid():  # forked without the hook (os.fork from C code)
        after_fork_in_child()
    with state.lock:
        heapq.heappush(state.timers, (when, next(state.order), errand))
        if state.ending and state.thread is None:
            # The interpreter's close told the watchdog to end (watchdog_thread.end): no
            # thread for a timer, which would wait for ever past its threads' wait.
            return
        if not _started_locked() and when < state.sleeping_until:
            state.wake.notify()  # earlier than its next wake-up


def after_fork_in_child() -> None:
    """The parent's watchdog thread does not exist in a child, and its lock may be held."""
    state.lock = threading.Lock()
    state.sleeping_until = math.inf
    state.wake = threading.Condition(state.lock)
    state.thread = None
    state.ending = False
    state.pid = os.getpid()
    state.heap.clear()
    state.errands.clear()
    state.timers.clear()
    stalls.clear()


def _arm(current: Limit) -> None:
    if state.pid != getpid():  # forked without the hook (os.fork from C code)
        after_fork_in_child()
    with state.lock:
        stretch = current.stretch
        if stretch is not None and stretch.ends_by < current.until:
            # Armed after its owner's close began (end_by): it ends by then too.
            current.until = stretch.ends_by
            if current.deadline > current.until:
                current.deadline = current.until
                current.bound = current.until - current.began
        heapq.heappush(state.heap, (current.deadline, next(state.order), current))
        if not _started_locked() and current.deadline < state.sleeping_until:
            # Only a deadline earlier than the watchdog's next wake-up needs it now: the
            # others are looked at when it wakes (one wake-up per POST would cost more
            # CPU than the POST's own HTTP).
            state.wake.notify()
        current.watched = state.thread is not None
