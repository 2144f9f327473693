"""cpu19: how the queue wakes its idle senders (docs/PERFORMANCE.md, "cpu19").

* the sender parked last is woken, not the one parked first (``LastParked``): under
  steady traffic the same warm sender takes the batches;
* one wake a batch's worth of logs, not one a log past ``buffer_length``;
* ``LastParked`` keeps ``threading.Condition``'s contract: ``notify(n)`` wakes ``n``,
  ``notify_all`` every one, a timed-out waiter leaves no trace, and it refuses a
  notify without the lock.
"""

from __future__ import annotations

import threading
from functools import partial
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from readme_metrics.delivery.last_parked import LastParked
from readme_metrics.delivery.queue import LogQueue
from tests.support.polling import wait_until


def _queue(batch_size: int = 10) -> LogQueue:
    return LogQueue(batch_size=batch_size, interval=0.0, max_size=10_000,
                    max_bytes=10**9)


class _Parked:
    """Threads waiting on ``cond`` (without a timeout), parked one after another in the
    order started; ``woken`` lists them as they return."""

    def __init__(self, cond: threading.Condition, count: int, idle: Any = None) -> None:
        self.cond = cond
        self.woken: list[int] = []
        self.threads = []
        for index in range(count):
            thread = threading.Thread(target=self._wait, args=(index, idle), daemon=True)
            thread.start()
            wait_until(partial(self._parked_are, index + 1))
            self.threads.append(thread)

    def _parked_are(self, count: int) -> bool:
        return self.parked() == count

    def parked(self) -> int:
        with self.cond:
            return len(self.cond._waiters)  # type: ignore[attr-defined]

    def _wait(self, index: int, idle: Any) -> None:
        with self.cond:
            if idle is not None:
                idle.idle += 1
            try:
                self.cond.wait()
            finally:
                if idle is not None:
                    idle.idle -= 1
            self.woken.append(index)

    def end(self) -> None:
        with self.cond:
            self.cond.notify_all()
        for thread in self.threads:
            thread.join(30)


def test_a_batch_wakes_the_sender_parked_last() -> None:
    queue = _queue()
    parked = _Parked(queue.wake, 3, idle=queue)
    try:
        with queue.lock:
            for _ in range(10):
                queue.put_locked(object(), 1)
        wait_until(lambda: parked.woken)
        assert parked.woken == [2]  # (threading.Condition: [0], the coldest)
        assert parked.parked() == 2
    finally:
        parked.end()


def test_one_wake_per_batch_worth_not_per_log() -> None:
    queue = _queue()
    parked = _Parked(queue.wake, 3, idle=queue)
    try:
        with queue.lock:  # no sender can run meanwhile: each still counts as idle
            for _ in range(15):
                queue.put_locked(object(), 1)
            assert len(queue.wake._waiters) == 2  # type: ignore[attr-defined]
            for _ in range(5):  # the 20th log: a second batch's worth
                queue.put_locked(object(), 1)
            assert len(queue.wake._waiters) == 1  # type: ignore[attr-defined]
    finally:
        parked.end()


@settings(max_examples=60, deadline=None)
@given(batch_size=st.integers(1, 12), logs=st.integers(0, 60))
def test_wakes_counted_over_puts(batch_size: int, logs: int) -> None:
    """Held under the lock (no sender runs), ``logs`` puts wake one parked sender per
    ``batch_size`` logs, as many as are parked at most."""
    queue = _queue(batch_size)
    with queue.lock:
        waiters = queue.wake._waiters  # type: ignore[attr-defined]
        fake = [threading.Lock() for _ in range(4)]
        for lock in fake:
            lock.acquire()
            waiters.append(lock)
        queue.idle = 4
        for _ in range(logs):
            assert queue.put_locked(object(), 1)
        woken = [lock for lock in fake if not lock.locked()]
        assert len(woken) == min(4, logs // batch_size)
        assert woken == fake[len(fake) - len(woken):]  # the last parked first
        waiters.clear()
        queue.idle = 0


def test_last_parked_keeps_the_condition_contract() -> None:
    cond = LastParked()
    with pytest.raises(RuntimeError):
        cond.notify()
    with cond:
        assert cond.wait(0.001) is False  # timed out: gone from the waiters
        assert not cond._waiters  # type: ignore[attr-defined]
        cond.notify()  # none waits: a no-op
    parked = _Parked(cond, 4)
    try:
        with cond:
            cond.notify(2)
        wait_until(lambda: len(parked.woken) == 2)
        assert sorted(parked.woken) == [2, 3]
        with cond:
            cond.notify_all()
        wait_until(lambda: len(parked.woken) == 4)
        assert sorted(parked.woken[2:]) == [0, 1]
    finally:
        parked.end()
