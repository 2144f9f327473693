"""The watchdog's state in this process, one object: what its thread and the threads in
a POST share under its lock (new in a forked child: :func:`.watchdog.after_fork_in_child`).
"""

from __future__ import annotations

import itertools
import math
import os
import threading
from typing import TYPE_CHECKING, Callable, Optional

if TYPE_CHECKING:
    from readme_metrics.delivery.watchdog import Limit

__all__ = ["State", "state"]


class State:
    """The watchdog's lock, its heap of deadlines, errands and timers, its thread."""

    __slots__ = ("lock", "wake", "heap", "errands", "timers", "order", "thread", "pid",
                 "sleeping_until", "ending")

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.wake = threading.Condition(self.lock)
        self.heap: list[tuple[float, int, Limit]] = []
        self.errands: list[Callable[[], object]] = []
        self.timers: list[tuple[float, int, Callable[[], object]]] = []
        self.order = itertools.count()
        self.thread: Optional[threading.Thread] = None
        self.pid = os.getpid()
        #: When the watchdog thread wakes up next by itself (it is told of earlier
        #: deadlines).
        self.sleeping_until = math.inf
        #: The thread is to end once no POST is in its care (:func:`.watchdog_thread.end`).
        self.ending = False


#: This process's watchdog (its fields made anew in a forked child, the object kept).
state = State()
