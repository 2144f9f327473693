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
"""

from __future__ import annotations

import heapq
import itertools
import math
import os
import socket
import threading
import time
from typing import Any, Callable, Optional

from readme_metrics.delivery import stalls
from readme_metrics.delivery.stretch import Stretch


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
        with _lock:
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
            while _heap and not _heap[0][2].deadline:
                heapq.heappop(_heap)


class Line:
    """What the watchdog cuts: a socket, held apart from the connection that made it
    (``http.client`` hands its socket over to an answer that lasts until the server
    closes, and TLS wrapping replaces it). ``sock`` is None until connected;
    ``connecting`` while its TLS handshake runs (a cut then is a connect timeout)."""

    __slots__ = ("sock", "connecting")

    def __init__(self, sock: Any = None) -> None:
        self.sock = sock
        self.connecting = False


_local = threading.local()
_lock = threading.Lock()
_wake = threading.Condition(_lock)
_heap: list[tuple[float, int, Limit]] = []
_errands: list[Callable[[], object]] = []
_timers: list[tuple[float, int, Callable[[], object]]] = []
_order = itertools.count()
_thread: Optional[threading.Thread] = None
_pid = os.getpid()
#: When the watchdog thread wakes up next by itself (it is told of earlier deadlines).
_sleeping_until = math.inf


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
        with _lock:
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


def cut_lost(stretch: Stretch, before: float, waited: float,
             hold_before: float = -math.inf) -> None:
    """The exchanges following ``stretch`` begun before ``before`` and still unanswered
    were lost (a later one was answered fast: they sit on connections that will never
    answer, :meth:`Stretch.slow`): each is cut once it has waited ``waited`` seconds
    (``timeout``, or the learned tail's wait), now for those that have, not at the bound
    stretched meanwhile. They grow no bound. A bound stretched for a black hole (12, 24 s)
    held them that long after the API answered again, their logs counted against
    ``max_queue_size``: after a 20 s black hole at 1,000 logs/s the queue stayed full 5 to
    5.5 s more (delivery22).

    One begun before ``hold_before`` (:meth:`Stretch.recovery`, when holding costs
    nothing now: the queue has room, no close runs) whose deadline comes before
    it has waited ``waited`` is held till then instead (``held``), as it may only be
    late: an API slow for a while (8 s answers) answers the POSTs it read once it is
    fast again, and cut at their bound (6 s) they were sent twice, 3,010 logs of 35,000
    (delivery27). :func:`release` gives the held ones their deadline back when the queue
    fills or a flush or close begins; one unanswered at its held deadline was lost
    indeed (:meth:`Stretch.spared_lost`). Holding every one, those begun once the API
    answered in time again too, whatever the queue (delivery26), held dead connections'
    logs 16 s: with ``max_queue_size`` 3,000, 22,000 of 35,000 delivered instead of
    28,400."""
    now = time.monotonic()
    with _lock:
        earliest = math.inf
        for _, _, due in list(_heap):
            if (due.stretch is not stretch or not due.deadline or due.lost
                    or due.began >= before or due.verdict_at):
                continue
            due.lost = True
            _unhold_locked(due)  # (spared: now cut as main's rule says, below)
            at = due.began + due.frozen + waited
            if due.began < hold_before and not due.spared and at > due.deadline:
                at = min(at, due.until)
                if at > due.deadline:
                    # (Its earlier entry stays in the heap: _watch skips an entry
                    # earlier than its limit's deadline.)
                    due.held, due.unheld = True, due.deadline
                    stretch.held += 1
                    due.deadline, due.bound = at, at - due.began - due.frozen
                    heapq.heappush(_heap, (at, next(_order), due))
                continue
            if at < due.deadline:
                due.deadline, due.bound = max(at, now), waited
                heapq.heappush(_heap, (due.deadline, next(_order), due))
                earliest = min(earliest, due.deadline)
        if earliest < _sleeping_until:
            _wake.notify()


def release(stretch: Stretch, spared: bool = True) -> None:
    """Give the exchanges taken for lost and waited past their bound for ``stretch``
    (:func:`cut_lost`'s hold, or spared: :meth:`Stretch.spare`) the deadline they had
    before (now, for those past it), as if never held, and take them for lost: holding
    them now costs logs (the queue is filling) or time (a flush or close waits for them).
    Not those spared unless ``spared`` (a flush only waits for them: given back then,
    the late answers of an API late for 1 POST in 5 were sent twice, 254 logs of 20,000
    instead of 102, ``delivery_hunt.py sometimes-slow``).
    A POST spared on a dead connection as a close began waited the tail's wait (16 s)
    and was given up at the close's deadline: 490 to 581 logs of 14,000 dropped at
    shutdown where main dropped 359 to 375 (``close-slow-then-dead3``). Cutting them at once
    instead cut those that would have been answered within their own bound: 1,273 logs
    of 35,000 twice where main sent 110 (``delivery_hunt.py slow-then-dead3-q``)."""
    now = time.monotonic()
    with _lock:
        if not stretch.held:
            return
        for _, _, due in list(_heap):
            if (due.held and due.stretch is stretch and due.deadline
                    and (spared or not due.spared)):
                _unhold_locked(due)
                due.lost = True
                at = max(due.unheld, now)
                if at < due.deadline:
                    due.deadline, due.bound = at, at - due.began - due.frozen
                    heapq.heappush(_heap, (at, next(_order), due))
        if spared:
            stretch.held = 0  # (a child forked with some held has none in its heap)
        _wake.notify()


def end_by(stretch: Stretch, until: float, later: bool = True) -> None:
    """A close began, to end at the monotonic time ``until``: the exchanges following
    ``stretch`` already running end by then too, as those begun during the close do
    (cut at ``until``: a cut there grows no bound). Begun before it, they kept their
    stretched bound (up to 30 s): after a late phase and then a black hole, sender
    threads were still in such POSTs 10 s after ``close()`` returned (delivery29). Those
    armed after it end by then as well (``Stretch.ends_by``, read by :func:`_arm`): one
    whose sender had checked its batch before the close began and armed it only after
    kept its own bound, the API's answer coming after ``close()`` returned (delivery33).
    Not ``later``: only those running now (the exit's inline bound, which a close after
    it may extend: ``Delivery.post_waiting``)."""
    with _lock:
        if later and until < stretch.ends_by:
            stretch.ends_by = until
        earliest = math.inf
        for _, _, due in list(_heap):
            if due.stretch is not stretch or not due.deadline or due.until <= until:
                continue
            due.until = until
            if due.deadline > until:
                # (Its later entry stays in the heap: _watch finds the limit cut by then.)
                due.deadline, due.bound = until, until - due.began - due.frozen
                heapq.heappush(_heap, (until, next(_order), due))
                earliest = min(earliest, until)
        if earliest < _sleeping_until:
            _wake.notify()


def last_cut() -> tuple[float, bool]:
    """For the exchange that last ended in the current thread: the deadline the watchdog
    cut it at (monotonic time; 0.0 if it was not cut: one cut at a close's deadline,
    :func:`end_by` or the deadline it began with, is no failure of the API's), and
    whether it was cut once connected (its request sent, or being sent: the API may have
    read it), not while connecting. Known from the cut itself, not from the error its
    thread then met (requests may report either as a connection error)."""
    cut: tuple[float, bool] = getattr(_local, "cut", (0.0, False))
    return cut


def _unhold_locked(due: Limit) -> None:
    if due.held and due.stretch is not None:
        due.held = False
        due.stretch.held -= 1


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
    if _pid != os.getpid():  # forked without the hook (os.fork from C code)
        after_fork_in_child()
    if not _lock.acquire(wait):
        return False
    try:
        if not wait and _thread is None:
            return False
        _errands.append(errand)
        _wake.notify()
    finally:
        _lock.release()
    return True


def run_at(when: float, errand: Callable[[], object]) -> None:
    """Have the watchdog thread call ``errand()`` at monotonic time ``when`` (or soon
    after); returns at once.

    For a sender thread (it starts the watchdog thread if none runs yet); the errand
    must be short and should not raise, as for :func:`run_soon`.
    """
    if _pid != os.getpid():  # forked without the hook (os.fork from C code)
        after_fork_in_child()
    with _lock:
        heapq.heappush(_timers, (when, next(_order), errand))
        if not _started_locked() and when < _sleeping_until:
            _wake.notify()  # earlier than its next wake-up


def after_fork_in_child() -> None:
    """The parent's watchdog thread does not exist in a child, and its lock may be held."""
    global _lock, _wake, _thread, _pid, _sleeping_until
    _lock = threading.Lock()
    _sleeping_until = math.inf
    _wake = threading.Condition(_lock)
    _thread = None
    _pid = os.getpid()
    _heap.clear()
    _errands.clear()
    _timers.clear()
    stalls.clear()


def _arm(current: Limit) -> None:
    if _pid != os.getpid():  # forked without the hook (os.fork from C code)
        after_fork_in_child()
    with _lock:
        stretch = current.stretch
        if stretch is not None and stretch.ends_by < current.until:
            # Armed after its owner's close began (end_by): it ends by then too.
            current.until = stretch.ends_by
            if current.deadline > current.until:
                current.deadline = current.until
                current.bound = current.until - current.began
        heapq.heappush(_heap, (current.deadline, next(_order), current))
        if not _started_locked() and current.deadline < _sleeping_until:
            # Only a deadline earlier than the watchdog's next wake-up needs it now: the
            # others are looked at when it wakes (one wake-up per POST would cost more
            # CPU than the POST's own HTTP).
            _wake.notify()
        current.watched = _thread is not None


def _started_locked() -> bool:
    """Start the watchdog thread if none runs; True if this call started it."""
    global _thread
    # The thread clears _thread as it ends (_run): no Thread.is_alive() per POST, which
    # is three Python calls.
    if _thread is not None:
        return False
    _thread = threading.Thread(target=_run, name="readme-metrics-watchdog", daemon=True)
    try:
        _thread.start()
    except RuntimeError:  # interpreter exit: socket timeouts still apply
        _thread = None
        return False
    return True


def _run() -> None:
    global _thread
    try:
        _watch()
    finally:  # (never, short of a bug: then the next POST starts another thread)
        with _lock:
            if _thread is threading.current_thread():
                _thread = None


def _watch() -> None:
    global _sleeping_until
    lock = _lock
    with lock:
        while True:
            now = time.monotonic()
            stall = stalls.noticed(now)
            if stall is not None:
                _frozen_locked(*stall)
            stalls.waiting(math.inf)
            while _heap and (not _heap[0][2].deadline or _heap[0][0] <= now):
                at, _, due = heapq.heappop(_heap)
                if at < due.deadline:  # moved later (cut_lost): its own entry comes then
                    continue
                if due.deadline and due.stretch is not None and (
                        _stretched(due, due.stretch, now) or _spared(due, due.stretch, now)):
                    continue
                if due.deadline:
                    # With no connection yet (the requests route's joins at its first
                    # watch(), as it connects or sends), it is cut all the same: that
                    # watch() cuts it. Dropped unfired, such a limit bounded nothing, the
                    # POST left to requests' own timeouts (its reads up to the stretch's
                    # longest, 30 s), past its bound and the close's deadline (delivery34).
                    # Whether it is cut once connected is known before its sockets are
                    # shut down and ``fired`` is set: the thread in the POST reads both
                    # as soon as its read fails. Set after, a POST cut while waiting for
                    # its answer was taken for one cut while connecting (requests route:
                    # a connect timeout, its logs "never reached the API") whenever that
                    # thread ran first (delivery31).
                    due.connected = any(_connected(connection)
                                        for connection in due.connections)
                    due.cut_at = due.deadline
                    due.fired = True
                    for connection in due.connections:
                        cut(connection)
                    due.connections = []
                    if (due.connected and due.stretch is not None
                            and due.deadline < due.until and not due.verdict_at):
                        # Cut at its bound (not a flush's or the exit's deadline), its
                        # connection made: no answer in time, the bound grows (unless
                        # a POST begun after it was answered fast: it was lost). Not
                        # one answered whose body was still coming (an API trickling
                        # a 200's body, or an HTTP/1.0 body it never ends): that grew
                        # the bound to 30 s, each such POST holding a sender as long.
                        due.stretch.timed_out(due.bound, due.began)
            while _timers and _timers[0][0] <= now:
                _errands.append(heapq.heappop(_timers)[2])
            if _errands:
                errands = _errands[:]
                _errands.clear()
                lock.release()  # an errand takes other locks (and may start a thread)
                try:
                    for errand in errands:
                        _run_errand(errand)
                finally:
                    lock.acquire()
                continue  # deadlines may have passed meanwhile
            _sleeping_until = min(_heap[0][0] if _heap else math.inf,
                                  _timers[0][0] if _timers else math.inf)
            # While a POST is in flight, awake every TICK at least: a wake-up much later
            # than asked is a freeze of the process (stalls), not the API's time.
            wake = min(_sleeping_until, now + stalls.TICK) if _heap else _sleeping_until
            stalls.waiting(wake)
            _wake.wait(None if wake == math.inf else wake - now)


def stalled(began: float) -> float:
    """Seconds of the time since the monotonic time ``began`` that the process was
    frozen (:mod:`.stalls`): no time the Metrics API took. Noticed here if the watchdog
    thread has not run since (this thread, reading an answer, ran first)."""
    now = time.monotonic()
    if now - stalls.expected <= stalls.STALL_MIN and not stalls.within(began, now):
        return 0.0
    with _lock:
        stall = stalls.noticed(now)
        if stall is not None:
            _frozen_locked(*stall)
        return stalls.within(began, now)


def _frozen_locked(start: float, end: float) -> None:
    """The process was frozen from ``start`` to ``end``: the exchanges in flight get
    that time back (their deadlines move as late), never past ``until`` (a flush's or
    the exit's deadline, which the caller counts in its own time)."""
    done: set[int] = set()
    for _, _, due in list(_heap):
        if not due.deadline or id(due) in done:
            continue
        done.add(id(due))
        lost = end - max(start, due.began)
        if lost <= 0:
            continue
        due.frozen += lost
        if due.held:
            due.unheld += lost
        later = min(due.deadline + lost, due.until)
        if later > due.deadline:
            if later == due.until:
                due.bound = later - due.began - due.frozen
            due.deadline = later
            heapq.heappush(_heap, (later, next(_order), due))


def _stretched(due: Limit, stretch: Stretch, now: float) -> bool:
    """For a limit following ``stretch``, at its deadline: True if the bound grew
    meanwhile (its deadline moved there, never past ``until``)."""
    if stretch.seconds > due.bound and due.deadline < due.until and not due.lost:
        later = due.began + due.frozen + stretch.seconds
        if later > due.until:
            later = due.until
        if later > now:
            due.deadline = later
            due.bound = (later - due.began - due.frozen if later == due.until
                         else stretch.seconds)
            heapq.heappush(_heap, (later, next(_order), due))
            return True
    return False


def _spared(due: Limit, stretch: Stretch, now: float) -> bool:
    """For a limit following ``stretch``, at its deadline, unanswered: True if it is
    waited longer instead of cut, as the API may answer it late. Taken for lost (a POST
    begun after it was answered fast): :meth:`Stretch.spare`; one spared already that
    reached its deadline again was lost indeed (:meth:`Stretch.spared_lost`: cut it).
    Taken for slow, at ``timeout``: :meth:`Stretch.slowing`."""
    if due.held:  # held past its bound (cut_lost, or spared below), unanswered
        _unhold_locked(due)
        if not due.verdict_at and due.deadline < due.until:
            stretch.spared_lost(now)  # lost indeed
        return False
    if (due.lost or due.verdict_at or due.deadline >= due.until
            or not any(_connected(connection) for connection in due.connections)):
        return False
    if stretch.slow(due.began):
        wait = stretch.slowing(due.bound, due.began)
    elif due.spared:
        stretch.spared_lost(now)
        return False
    elif stretch.free():  # (not as the queue fills, nor into a flush's or close's wait)
        wait = stretch.spare(due.bound, now)
        due.spared = wait is not None
    else:
        return False
    if wait is None:
        return False
    later = min(due.began + due.frozen + wait, due.until)
    if later <= now:
        return False
    if due.spared and not due.held:  # release() may give its deadline back
        due.held, due.unheld = True, due.deadline
        stretch.held += 1
    due.deadline, due.bound = later, later - due.began - due.frozen
    heapq.heappush(_heap, (later, next(_order), due))
    return True


def _connected(connection: Any) -> bool:
    """The connection's socket is made (not a TCP connect nor a TLS handshake running)."""
    return (getattr(connection, "sock", None) is not None
            and not getattr(connection, "connecting", False))


def _run_errand(errand: Callable[[], object]) -> None:
    try:
        errand()
    except Exception:  # pragma: no cover - errands do not raise; the watchdog lives on
        pass


def cut(connection: Any) -> bool:
    """Shut ``connection``'s socket down; True if it was connected: False while a TCP
    connect runs (no socket yet, bounded by its own timeout) or a TLS handshake."""
    sock = getattr(connection, "sock", None)
    if sock is None:
        return False
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    return _connected(connection)
