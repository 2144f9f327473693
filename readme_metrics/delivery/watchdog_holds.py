"""The deadlines a stretch moves while its exchanges run: grown, spared, held, taken for
lost, given back, or ended by a close's deadline.
"""

from __future__ import annotations

import heapq
import math
import time
from typing import TYPE_CHECKING

from readme_metrics.delivery.stretch import Stretch
from readme_metrics.delivery.watchdog_line import connected
from readme_metrics.delivery.watchdog_state import state

if TYPE_CHECKING:
    from readme_metrics.delivery.watchdog import Limit

__all__ = ["cut_lost", "end_by", "release", "spared_at_deadline", "stretched_at_deadline",
           "unhold_locked"]


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
    with state.lock:
        earliest = math.inf
        for _, _, due in list(state.heap):
            if (due.stretch is not stretch or not due.deadline or due.lost
                    or due.began >= before or due.verdict_at):
                continue
            due.lost = True
            unhold_locked(due)  # (spared: now cut as main's rule says, below)
            at = due.began + due.frozen + waited
            if due.began < hold_before and not due.spared and at > due.deadline:
                at = min(at, due.until)
                if at > due.deadline:
                    # (Its earlier entry stays in the heap: _watch skips an entry
                    # earlier than its limit's deadline.)
                    due.held, due.unheld = True, due.deadline
                    stretch.held += 1
                    due.deadline, due.bound = at, at - due.began - due.frozen
                    heapq.heappush(state.heap, (at, next(state.order), due))
                continue
            if at < due.deadline:
                due.deadline, due.bound = max(at, now), waited
                heapq.heappush(state.heap, (due.deadline, next(state.order), due))
                earliest = min(earliest, due.deadline)
        if earliest < state.sleeping_until:
            state.wake.notify()


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
    with state.lock:
        if not stretch.held:
            return
        for _, _, due in list(state.heap):
            if (due.held and due.stretch is stretch and due.deadline
                    and (spared or not due.spared)):
                unhold_locked(due)
                due.lost = True
                at = max(due.unheld, now)
                if at < due.deadline:
                    due.deadline, due.bound = at, at - due.began - due.frozen
                    heapq.heappush(state.heap, (at, next(state.order), due))
        if spared:
            stretch.held = 0  # (a child forked with some held has none in its heap)
        state.wake.notify()


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
    with state.lock:
        if later and until < stretch.ends_by:
            stretch.ends_by = until
        earliest = math.inf
        for _, _, due in list(state.heap):
            if due.stretch is not stretch or not due.deadline or due.until <= until:
                continue
            due.until = until
            if due.deadline > until:
                # (Its later entry stays in the heap: _watch finds the limit cut by then.)
                due.deadline, due.bound = until, until - due.began - due.frozen
                heapq.heappush(state.heap, (until, next(state.order), due))
                earliest = min(earliest, until)
        if earliest < state.sleeping_until:
            state.wake.notify()


def unhold_locked(due: Limit) -> None:
    if due.held and due.stretch is not None:
        due.held = False
        due.stretch.held -= 1


def stretched_at_deadline(due: Limit, stretch: Stretch, now: float) -> bool:
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
            heapq.heappush(state.heap, (later, next(state.order), due))
            return True
    return False


def spared_at_deadline(due: Limit, stretch: Stretch, now: float) -> bool:
    """For a limit following ``stretch``, at its deadline, unanswered: True if it is
    waited longer instead of cut, as the API may answer it late. Taken for lost (a POST
    begun after it was answered fast): :meth:`Stretch.spare`; one spared already that
    reached its deadline again was lost indeed (:meth:`Stretch.spared_lost`: cut it).
    Taken for slow, at ``timeout``: :meth:`Stretch.slowing`."""
    if due.held:  # held past its bound (cut_lost, or spared below), unanswered
        unhold_locked(due)
        if not due.verdict_at and due.deadline < due.until:
            stretch.spared_lost(now)  # lost indeed
        return False
    if (due.lost or due.verdict_at or due.deadline >= due.until
            or not any(connected(connection) for connection in due.connections)):
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
    heapq.heappush(state.heap, (later, next(state.order), due))
    return True
