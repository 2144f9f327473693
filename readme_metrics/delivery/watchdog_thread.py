"""The watchdog thread: cuts each exchange at its deadline, runs errands and timers, and
gives exchanges back the time the process was frozen.
"""

from __future__ import annotations

import heapq
import math
import threading
import time
from typing import Callable

from readme_metrics.delivery import stalls
from readme_metrics.delivery.watchdog_holds import spared_at_deadline, stretched_at_deadline
from readme_metrics.delivery.watchdog_line import connected, cut
from readme_metrics.delivery.watchdog_state import state
from readme_metrics.threads import start_thread

__all__ = ["end", "stalled", "started_locked"]


def started_locked() -> bool:
    """Start the watchdog thread if none runs; True if this call started it."""
    # The thread clears state.thread as it ends (_run): no Thread.is_alive() per POST,
    # which is three Python calls.
    if state.thread is not None:
        return False
    # (state.ending is kept: a thread started after end(), a POST's, ends as the one
    # told did, once no POST is in its care; review142.)
    # (Set once started: the thread takes state.lock, held here, before it clears it.)
    state.thread = start_thread(_run, "readme-metrics-watchdog")
    # None at interpreter exit: socket timeouts still apply
    return state.thread is not None


def _run() -> None:
    try:
        _watch()
    finally:  # (never, short of a bug: then the next POST starts another thread)
        with state.lock:
            if state.thread is threading.current_thread():
                state.thread = None


def _watch() -> None:
    lock = state.lock
    with lock:
        while True:
            now = time.monotonic()
            stall = stalls.noticed(now)
            if stall is not None:
                _frozen_locked(*stall)
            stalls.waiting(math.inf)
            while state.heap and (not state.heap[0][2].deadline or state.heap[0][0] <= now):
                at, _, due = heapq.heappop(state.heap)
                if at < due.deadline:  # moved later (cut_lost): its own entry comes then
                    continue
                if due.deadline and due.stretch is not None and (
                        stretched_at_deadline(due, due.stretch, now)
                        or spared_at_deadline(due, due.stretch, now)):
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
                    due.connected = any(connected(connection)
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
            while state.timers and state.timers[0][0] <= now:
                state.errands.append(heapq.heappop(state.timers)[2])
            if state.errands:
                errands = state.errands[:]
                state.errands.clear()
                lock.release()  # an errand takes other locks (and may start a thread)
                try:
                    for errand in errands:
                        _run_errand(errand)
                finally:
                    lock.acquire()
                continue  # deadlines may have passed meanwhile
            state.sleeping_until = min(state.heap[0][0] if state.heap else math.inf,
                                       state.timers[0][0] if state.timers else math.inf)
            # While a POST is in flight, awake every TICK at least: a wake-up much later
            # than asked is a freeze of the process (stalls), not the API's time.
            wake = (min(state.sleeping_until, now + stalls.TICK) if state.heap
                    else state.sleeping_until)
            if state.ending and not state.heap:
                if state.thread is threading.current_thread():
                    state.thread = None  # (under the lock: a POST now starts another)
                return
            stalls.waiting(wake)
            state.wake.wait(None if wake == math.inf else wake - now)


def end() -> None:
    """Have the watchdog thread end once no POST is in its care (its timers and errands
    not waited for): a mod_wsgi sub-interpreter's close, which waits for the library's
    threads before mod_wsgi deletes their states. Idle, it waited for ever: that close
    waited its whole bound and a second past it, beyond Apache's kill, and the next
    interpreter of the process was never told (flaky42). A later POST starts another,
    which ends so too; a timer (:func:`.watchdog.run_at`: a late refusal's line, a
    closed delivery's watch) starts none (review142: a late refusal after the close
    started one that waited for ever, as flaky42's did; the exit hook's close says the
    line)."""
    with state.lock:
        state.ending = True
        state.wake.notify()


def stalled(began: float) -> float:
    """Seconds of the time since the monotonic time ``began`` that the process was
    frozen (:mod:`.stalls`): no time the Metrics API took. Noticed here if the watchdog
    thread has not run since (this thread, reading an answer, ran first)."""
    now = time.monotonic()
    if now - stalls.expected <= stalls.STALL_MIN and not stalls.within(began, now):
        return 0.0
    with state.lock:
        stall = stalls.noticed(now)
        if stall is not None:
            _frozen_locked(*stall)
        return stalls.within(began, now)


def _frozen_locked(start: float, end: float) -> None:
    """The process was frozen from ``start`` to ``end``: the exchanges in flight get
    that time back (their deadlines move as late), never past ``until`` (a flush's or
    the exit's deadline, which the caller counts in its own time)."""
    done: set[int] = set()
    for _, _, due in list(state.heap):
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
            heapq.heappush(state.heap, (later, next(state.order), due))


def _run_errand(errand: Callable[[], object]) -> None:
    try:
        errand()
    except Exception:  # pragma: no cover - errands do not raise; the watchdog lives on
        pass
