"""Another thread at a lock, for the tests that land a raise in a hand-off's ``with``
block (review137's InlineSends, delivery56's Batcher.put): whether a handler's release
freed a hold that thread had taken meanwhile, or kept the lock for good."""

from __future__ import annotations

import threading
from typing import Any

from tests.support.processes import LINE_WAIT

__all__ = ["Other", "free"]


class Other:
    """Another thread that takes ``lock`` if it is free, holds it until let go."""

    def __init__(self, lock: Any) -> None:
        self.lock, self.took, self.go = lock, threading.Event(), threading.Event()
        self.holds = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        self.took.wait(LINE_WAIT)

    def _run(self) -> None:
        self.holds = self.lock.acquire(blocking=False)
        self.took.set()
        if self.holds:
            self.go.wait(LINE_WAIT)
            self.lock.release()

    def let_go(self) -> None:
        self.go.set()
        self.thread.join(LINE_WAIT)


def free(lock: Any) -> bool:
    """Whether another thread can take ``lock`` now (taken and released again)."""
    answer: list[bool] = []

    def take() -> None:
        answer.append(lock.acquire(blocking=False))
        if answer[0]:
            lock.release()

    thread = threading.Thread(target=take)
    thread.start()
    thread.join(LINE_WAIT)
    return answer == [True]
