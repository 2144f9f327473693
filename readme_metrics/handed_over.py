"""Finishes handed over by finalizers, run later from ordinary code.

A response the server drops without ``close()`` is finalized wherever the cyclic GC runs,
even in a thread holding the delivery queue's lock (a plain Lock) that queueing its log
takes again: so its finalizer only hands the log's ``finish`` over (``SimpleQueue.put``
takes no such lock), and the next request, ``stats``, ``flush``, ``close`` or the
library's own thread (:mod:`~readme_metrics.capture.unclosed`) runs it. What a forked
child inherited is its parent's to log, not the child's.

.. code-block:: python

    handed = HandedOver()
    handed.put(finish, quick=True)   # in a finalizer
    handed.run(wait=FINISH_WAIT)     # later: stats, flush, close
"""

from __future__ import annotations

import os
import time
from queue import Empty, SimpleQueue
from threading import get_ident
from typing import Callable, Iterator

__all__ = ["FINISH_WAIT", "HandedOver"]

#: Longest ``stats``, ``flush`` and ``close`` wait for a log another thread is finishing
#: (see :meth:`HandedOver.run`): a finish takes microseconds, unless the grouping
#: function it calls is slow.
FINISH_WAIT = 1.0


class HandedOver:
    """The finishes handed over in one pipeline, and the threads running them."""

    def __init__(self) -> None:
        #: (pid, finish, quick): a forked child's copy holds its parent's, not its own.
        #: What :meth:`put` received (an adapter runs it when not ``empty()``).
        self.queue: SimpleQueue[tuple[int, Callable[[], None], bool]] = SimpleQueue()
        # The threads running a finish they took from the queue, one (pid, thread id)
        # entry per finish: a child forked meanwhile inherits its parent's entries, which
        # none of its threads takes off.
        self._finishing: list[tuple[int, int, float]] = []  # (pid, thread, began)
        #: Those of ``_finishing`` the exit's warning named (:meth:`say_others`).
        self._said: list[tuple[int, int, float]] = []

    def put(self, finish: Callable[[], None], quick: bool = False) -> None:
        """Have ``finish`` (a log to queue) run later, from ordinary code.

        ``quick``: ``finish`` calls no code of the app's (the grouping function has
        answered already), so the exit may run it in its own thread
        (:meth:`take_here`)."""
        self.queue.put((os.getpid(), finish, quick))

    def run(self, wait: float = 0.0) -> None:
        """Run what :meth:`put` received in this process (each ``finish`` never raises).

        ``wait``: at most this long, let another thread finish what it took from the
        queue (the library's thread for responses dropped unclosed: see
        :mod:`~readme_metrics.capture.unclosed`): ``stats``, ``flush`` and ``close`` then
        count, send or close with that log queued. Bounded, so that a grouping function
        blocked on something the caller holds cannot hang it."""
        handed_over = self.queue
        finishing = self._finishing
        while not handed_over.empty():
            # In ``_finishing`` before the take: a thread that finds the queue empty
            # meanwhile (stats, flush, close) sees this finish and waits for it. Made
            # after it, a thread switch between the two hid the log from both.
            here = (os.getpid(), get_ident(), time.monotonic())
            finishing.append(here)
            try:
                try:
                    pid, finish, _ = handed_over.get_nowait()
                except Empty:  # another thread took it
                    break
                if pid == here[0]:
                    finish()
            finally:
                finishing.remove(here)
        if wait > 0 and finishing:
            # ``wait`` from when each finish began, not from this call: a grouping
            # function that never returns held every later call (stats: each read of
            # it took FINISH_WAIT, for as long as the process lived).
            deadline = time.monotonic() + wait
            while (self.others_finishing(began_after=time.monotonic() - wait)
                   and time.monotonic() < deadline):
                time.sleep(0.001)

    def others_finishing(self, began_after: float = float("-inf"),
                         began_before: float = float("inf")) -> int:
        """How many finishes this process's other threads are in (those begun after
        ``began_after`` and before ``began_before``, ``time.monotonic()`` readings):
        not one in this very thread
        (whose grouping function asked for stats), nor a parent's (a child forked while
        one of its threads was finishing: no thread here ends it). The copy, one C call,
        is safe beside the other threads' append and remove."""
        return len(self._others(began_after, began_before))

    def say_others(self) -> int:
        """:meth:`others_finishing`, at exit, for its warning: each of those finishes is
        marked said (:meth:`said_here`)."""
        others = self._others()
        self._said.extend(others)
        return len(others)

    def _others(self, began_after: float = float("-inf"),
                began_before: float = float("inf")) -> list[tuple[int, int, float]]:
        """The entries :meth:`others_finishing` counts."""
        pid, thread = os.getpid(), get_ident()
        return [entry for entry in self._finishing[:]
                if entry[0] == pid and entry[1] != thread
                and began_after < entry[2] < began_before]

    def said_here(self) -> bool:
        """Whether the finish this thread is in was named by the exit's warning
        (:meth:`say_others`): its log, refused once delivery closed, is said already. Its
        entry, not the thread: a later finish in the same thread is not."""
        said = self._said
        if not said:
            return False
        here = get_ident()
        return any(entry[1] == here and entry[0] == os.getpid() and entry in self._finishing
                   for entry in said[:])

    def take_here(self) -> Iterator[tuple[Callable[[], None], bool]]:
        """Take off the queue, at exit, each ``(finish, quick)`` of this process, to run
        or give up on in the exit's own thread; a forked child's copy of its parent's is
        dropped (the parent's to log)."""
        here = os.getpid()
        while True:
            try:
                pid, finish, quick = self.queue.get_nowait()
            except Empty:
                return
            if pid == here:
                yield finish, quick
