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

__all__ = ["LastParked"]


class LastParked(threading.Condition):
    """A condition whose ``notify`` wakes the most recently parked waiter first."""

    def notify(self, n: int = 1) -> None:
        """Wake up to ``n`` waiters, the last parked first (the standard class: the
        first parked first). A no-op if none waits."""
        if not self._is_owned():  # type: ignore[attr-defined]
            raise RuntimeError("cannot notify on un-acquired lock")
        waiters = self._waiters  # type: ignore[attr-defined]
        while waiters and n > 0:
            waiter = waiters.pop()  # the last parked; wait() tolerates its absence
            try:
                waiter.release()
            except RuntimeError:  # (gh-92530: released by a notify cut short before)
                continue
            n -= 1
