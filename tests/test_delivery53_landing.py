"""delivery53: a raise landing in a wake lost it; one in a drop's telling of the flushes
left them unwoken, or answering True for a dropped log.

A signal handler's raise (SIGTERM's ``sys.exit``, KeyboardInterrupt) runs in the main
thread at a function's entry, a C call's return or a loop's jump (CPython 3.11+; 3.9
after most instructions): in the inline send, or a put under a server that runs the
app in its main thread (wsgiref). An async exception lands the same way in any thread.
Swept here with delivery51's landing points (tests/test_review134_findings.py), a real
thread parked on the condition:

- the put's wake (a batch due, a sender idle): cut short, the sender slept until its
  own look, up to ``IDLE_LOOK`` (5 s) later; ``LastParked.notify`` cut short after
  taking a waiter off its list never released it;
- a drop's telling of the flush waiters (``LogQueue.resolve_locked``): cut at the
  walk's jump or in the wake, a flush waited to its deadline, unwoken, and one not
  walked yet answered True for a dropped log; cut at the count's call, the drop went
  uncounted (``captured`` no longer added up);
- ASGI inline mode's hand-off (``InlineSends._send``): cut right after its append, the
  log waited in line with no drain to take it, until the next call or flush.
"""

from __future__ import annotations

import threading
import time
from types import CodeType
from typing import Any, Callable, Optional

import pytest

from readme_metrics.delivery import last_parked
from readme_metrics.delivery.batcher_put import BatchPutting
from readme_metrics.delivery.interrupted import handed
from readme_metrics.delivery.queue import LogQueue
from tests.support.delivery import adds_up, clocked_batcher, item, take_batch
from tests.support.polling import wait_until
from tests.support.processes import LINE_WAIT
from tests.test_review134_findings import _LandAtNth, _traced


def _codes(*functions: Any) -> set[CodeType]:
    """The code objects of ``functions`` that exist (some are delivery53's own)."""
    return {function.__code__ for function in functions if function is not None}


_WAKE = (last_parked.LastParked.notify, getattr(last_parked, "_wake", None),
         threading.Condition.notify, threading.Condition.notify_all)


#: ``land(action)``: runs ``action`` with a KeyboardInterrupt at this sweep's landing
#: point; returns that raise, or None (it landed elsewhere, or nowhere: the sweep's end).
Land = Callable[[Callable[[], object]], Optional[KeyboardInterrupt]]


def _sweep(codes: set[CodeType], every: bool, case: Callable[[Land], str]) -> tuple[int, list[str]]:
    """Runs ``case`` once a landing point of ``codes`` (see _LandAtNth), the first to the
    last: it sets up, hands its action to ``land``, checks, and says what went wrong ("":
    nothing). Returns how many landing points there were, and what went wrong where."""
    wrong: list[str] = []
    for target in range(500):
        landing = _LandAtNth(codes, target, KeyboardInterrupt(), every)

        def land(action: Callable[[], object],
                 landing: _LandAtNth = landing) -> Optional[KeyboardInterrupt]:
            try:
                with _traced(landing):
                    action()
            except KeyboardInterrupt as raised:
                return raised
            return None
        fault = case(land)
        if fault:
            wrong.append(f"{landing.landed}: {fault}")
        if not landing.landed:
            return target, wrong
    raise AssertionError("the sweep did not end")


class _Parked:
    """A thread parked on ``condition`` (the queue's lock), as an idle sender or a flush
    is, until woken (or LINE_WAIT: then the test has failed already)."""

    def __init__(self, queue: LogQueue, condition: threading.Condition,
                 sender: bool) -> None:
        self.queue, self.condition, self.sender = queue, condition, sender
        self.thread = threading.Thread(target=self._park, daemon=True)
        self.thread.start()
        wait_until(lambda: len(condition._waiters) == 1)  # type: ignore[attr-defined]

    def _park(self) -> None:
        with self.queue.lock:
            self.queue.idle += self.sender
            self.condition.wait(LINE_WAIT)
            self.queue.idle -= self.sender

    def woken(self) -> bool:
        """Whether it was woken (taken off the condition's list); then it is let go."""
        with self.queue.lock:
            woken = not self.condition._waiters  # type: ignore[attr-defined]
            if not woken:
                self.condition.notify_all()  # (let it go: the test fails)
        self.thread.join(LINE_WAIT)
        return woken


@pytest.mark.parametrize("every", [False, True], ids=["landing", "every"])
def test_a_raise_anywhere_in_the_puts_wake_still_wakes_the_idle_sender(every: bool) -> None:
    """A log that makes a batch (``buffer_length`` 1), a sender parked: at each landing
    point of the put and its wake, a KeyboardInterrupt; the sender is woken all the same
    (spuriously at worst). Before: a raise after ``len()`` or in the notify lost it."""
    from readme_metrics.delivery.queue_door import QueueDoor

    def case(land: Land) -> str:
        queue, batcher = clocked_batcher([0.0])
        sender = _Parked(queue, queue.wake, sender=True)
        log = item("due")
        land(lambda: batcher.put(log, log.nbytes, inline=False))
        if not handed(log):  # (at put's very entry: its caller puts it, Delivery.submit)
            batcher.put(log, log.nbytes, inline=False)
        woken = sender.woken()
        if not (queue.accepted == 1 and list(queue.items) == [log]):
            return f"accepted {queue.accepted}, waiting {len(queue.items)}"
        return "" if woken else "the wake lost"

    codes = _codes(BatchPutting.put, QueueDoor.put_locked, QueueDoor.full_locked, *_WAKE)
    points, wrong = _sweep(codes, every, case)
    assert points >= 4, points
    assert not wrong, f"{len(wrong)} of {points} landing points: {wrong}"


@pytest.mark.parametrize("every", [False, True], ids=["landing", "every"])
def test_a_raise_anywhere_in_a_drops_telling_wakes_the_flush_and_it_answers_false(
        every: bool) -> None:
    """A flush waits for a log in flight; its POST fails for good (``settle_locked``,
    "error"), a KeyboardInterrupt at each landing point of the resolve and its wake: the
    flush is woken and answers False, the counts add up. Before: at the walk's jump or
    in the wake, the flush slept on (to its deadline); at the count's call, ``captured``
    no longer added up."""

    def case(land: Land) -> str:
        queue, batcher = clocked_batcher([0.0], logs=1)
        batch = take_batch(queue, batcher)
        assert batch is not None
        with queue.lock:
            waiter = queue.add_waiter_locked()
        assert waiter is not None
        answers: list[bool] = []

        def flush() -> None:
            with queue.lock:
                settled = queue.wait_locked(waiter, time.monotonic() + LINE_WAIT)
                answers.append(settled and waiter.ok)

        def settle() -> None:
            with queue.lock:
                queue.settle_locked(batch, "error")
        flushing = threading.Thread(target=flush, daemon=True)
        flushing.start()
        wait_until(lambda: len(queue.done._waiters) == 1)  # type: ignore[attr-defined]
        land(settle)
        with queue.lock:
            woken = not queue.done._waiters  # type: ignore[attr-defined]
            queue.done.notify_all()  # (let it go, woken or not)
        flushing.join(LINE_WAIT)
        stats = queue.stats()
        if (woken and answers == [False] and adds_up(stats)
                and stats["dropped_error"] == 1 and stats["queued"] == 0):
            return ""
        return f"woken {woken}, answers {answers}, {stats}"

    # (house39: resolve_locked stores its counts in _store_resolved_locked, swept too)
    codes = _codes(LogQueue.resolve_locked, getattr(LogQueue, "_tell_waiters_locked", None),
                   getattr(LogQueue, "_store_resolved_locked", None),
                   LogQueue.count_drop_locked, *_WAKE)
    points, wrong = _sweep(codes, every, case)
    assert points >= 3, points
    assert not wrong, f"{len(wrong)} of {points}: {wrong}"


@pytest.mark.parametrize("every", [False, True], ids=["landing", "every"])
def test_a_raise_anywhere_in_the_inline_hand_off_submits_the_log_once_and_now(
        every: bool) -> None:
    """At each landing point of ``InlineSends._send`` (ASGI inline mode's hand-off) and
    the calls it makes, on CPython 3.9/3.10 too, where its handler's bare ``raise`` adds
    the frame's entry to the traceback again: ``interrupted.began`` (asgi_end's question:
    did the raise go through the hand-off past its entry, its handler keeping the log?)
    is right, and the log is submitted exactly once, now, by the hand-off or (began
    saying no) by its caller. Before: a raise right after the append (its return) left
    the log in line with no drain to take it, until the next call's send or a flush."""
    from readme_metrics.capture.asgi_inline import HAND_OFF_CODE, InlineSends
    from readme_metrics.delivery.interrupted import began

    submitted: list[Any] = []

    def submit(log: Any, send: bool = True) -> None:
        submitted.append(log)
        log.handed = True  # (as Batcher.put marks it)

    def case(land: Land) -> str:
        sends = InlineSends(submit, 100)
        log = item(f"inline-{len(submitted)}")
        error = land(lambda: sends._send(log, None))
        if error is not None and not (handed(log) or began(error, HAND_OFF_CODE)):
            submit(log, False)  # (asgi_end's rule: _queue_interrupted)
        wait_until(lambda: log in submitted)
        wait_until(lambda: not sends._draining)
        count = submitted.count(log)
        return "" if count == 1 else f"submitted {count} times"

    codes = _codes(InlineSends._send, InlineSends._start, InlineSends._start_drain,
                   InlineSends._queue_only, InlineSends._interrupted)
    points, wrong = _sweep(codes, every, case)
    assert points >= 3, points
    assert not wrong, f"{len(wrong)} of {points}: {wrong}"
