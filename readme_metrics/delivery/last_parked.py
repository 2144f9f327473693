"""The condition the idle senders wait on: its notify wakes the sender parked last.

``threading.Condition.notify`` wakes the waiter that has waited longest. For a pool of
senders that is the coldest thread each time: batches went round every sender in turn
(four a gunicorn worker under load, cpu18), each woken with its stack, its objects and
its kept-alive connection out of the CPU's caches. :class:`LastParked` wakes the one
that parked last instead (a stack, not a queue): under steady traffic the same one or
two senders take every batch and the others stay parked, until
:meth:`Staffing.surplus_locked
<readme_metrics.delivery.staffing.Staffing.surplus_locked>` ends them.

Everything else is ``threading.Condition``'s own: ``wait``, ``notify_all``, the
timeouts. A waiter whose wait timed out as it was notified reads as a timeout to
``wait``, as with the standard class: the senders look at the queue after any wake.
"""

from __future__ import annotations

import threading
from typing import Any

__all__ = ["LastParked"]


class LastParked(threading.Condition):
    """A condition whose ``notify`` wakes the most recently parked waiter first.

    Its wake is whole wherever a raise lands in it (a signal handler's, run in the main
    thread at a call or a loop's jump: an inline send, a put under wsgiref; an async
    exception): the wakes cut short are given before it goes on. Before delivery53 a
    waiter taken off the list and not released slept its whole timeout (a sender
    ``IDLE_LOOK``, a flush its deadline), and a ``notify_all`` cut short woke none of
    the rest."""

    def notify(self, n: int = 1) -> None:
        """Wake up to ``n`` waiters, the last parked first (the standard class: the
        first parked first). A no-op if none waits."""
        if not self._is_owned():  # type: ignore[attr-defined]
            raise RuntimeError("cannot notify on un-acquired lock")
        left = [n]
        try:
            _wake(self._waiters, left)  # type: ignore[attr-defined]
        except BaseException:
            _wake(self._waiters, left)  # type: ignore[attr-defined] # (a second: goes on)
            raise


def _wake(waiters: Any, left: list[int]) -> None:
    """Release waiters from the end of ``waiters`` until ``left[0]`` were woken, each
    released before it is taken off (a raise between leaves it listed, released: the
    next wake takes it off and wakes one more; one waiter woken twice is a spurious
    wake, none woken a lost one)."""
    while waiters and left[0] > 0:
        waiter = waiters[-1]  # the last parked; wait() tolerates its absence
        try:
            waiter.release()
        except RuntimeError:  # (gh-92530: released by a notify cut short before)
            waiters.pop()
            continue
        waiters.pop()
        left[0] -= 1
