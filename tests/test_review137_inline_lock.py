"""review137: the inline hand-off's lock after a raise cut ``InlineSends._send`` short.

delivery53 released the hand-off's lock in ``_send``'s handler when ``interrupted.
exit_cut`` read the raise as landed between the ``with`` block's end and its
``__exit__`` call (CPython 3.9, bpo-29988), with ``suppress(RuntimeError)`` around the
release. The RuntimeError ("release unlocked lock") came from the landing right before
the block's end (3.9/3.10: before its POP_BLOCK; 3.11+: before the block's last
instruction, STORE_ATTR ``_draining``): the traceback names the span's first
instruction, but the block was still in force and its ``__exit__`` had released the
lock already. Suppressed, the second release still released a lock another thread took
in between (a ``threading.Lock`` has no owner): two threads in the hand-off at once.
Now the handler asks the lock itself (an RLock's owner) and releases only its own.

Swept here at every instruction of ``_send`` (a raise before each, as an opcode
tracer's), on both paths (this call starts the drain; a drain already runs), a thread
taking the lock as soon as it is free before the handler's first call.
"""

from __future__ import annotations

import dis
import inspect
import sys
from types import FrameType
from typing import Any, Callable, Optional

import pytest

from readme_metrics.capture.asgi_inline import HAND_OFF_CODE, InlineSends
from readme_metrics.delivery.interrupted import began, handed
from tests.support.delivery import item
from tests.support.lock_taker import Other, free
from tests.support.polling import wait_until


def _offsets() -> list[int]:
    """Each instruction's offset from ``done = Future()``'s line on (inside the try:
    a raise before it is the caller's, asgi_end's, whose rule is swept elsewhere)."""
    lines, first = inspect.getsourcelines(InlineSends._send)
    line = first + next(i for i, text in enumerate(lines) if "done = Future()" in text)
    start = min(offset for offset, at in dis.findlinestarts(HAND_OFF_CODE) if at == line)
    return sorted({op.offset for op in dis.get_instructions(HAND_OFF_CODE)
                   if op.offset >= start and op.opname not in ("CACHE", "EXTENDED_ARG")})


_OFFSETS = _offsets()


def _land(sends: InlineSends, offset: int, log: Any) -> tuple[Optional[BaseException], list[str]]:
    """``sends._send(log)`` with a KeyboardInterrupt raised before the instruction at
    ``offset``; another thread takes the lock, if free, at the handler's first call.
    What went wrong is returned with the raise that came out."""
    wrong: list[str] = []
    state: dict[str, Any] = {"raised": False, "other": None}
    interrupted = InlineSends._interrupted.__code__

    def trace(frame: FrameType, event: str, arg: Any) -> Optional[Callable[..., Any]]:
        if frame.f_code is not HAND_OFF_CODE or state["raised"]:
            return None
        frame.f_trace_opcodes = True
        if event == "opcode" and frame.f_lasti == offset:
            state["raised"] = True
            raise KeyboardInterrupt
        return trace

    def profile(frame: FrameType, event: str, arg: Any) -> None:
        if not state["raised"]:
            return
        caller = frame if event.startswith("c_") else frame.f_back
        if (event in ("call", "c_call") and caller is not None
                and caller.f_code is HAND_OFF_CODE and state["other"] is None):
            state["other"] = Other(sends._lock)  # (takes it only if free)
        if event == "call" and frame.f_code is interrupted:
            other = state["other"]
            if other is not None and other.holds:
                if free(sends._lock):
                    wrong.append("the other thread's hold on the lock released")
                other.let_go()
            elif not free(sends._lock):  # still this thread's: _interrupted would wait
                wrong.append("the lock held past the handler's release")  # for ever
                sends._lock.release()

    error: Optional[BaseException] = None
    sys.setprofile(profile)
    sys.settrace(trace)
    try:
        sends._send(log, None)
    except BaseException as raised:  # (KeyboardInterrupt, or what must not come out)
        error = raised
    finally:
        sys.settrace(None)
        sys.setprofile(None)
    if state["other"] is not None:
        state["other"].let_go()
    if not state["raised"]:
        return None, ["not reached"]
    if not isinstance(error, (KeyboardInterrupt, type(None))):
        wrong.append(f"{type(error).__name__}: {error}")
    return error, wrong


@pytest.mark.parametrize("behind", [False, True], ids=["starts-drain", "behind-a-drain"])
def test_a_raise_at_any_instruction_of_the_hand_off_leaves_the_lock_as_it_was(
        behind: bool) -> None:
    submitted: list[Any] = []

    def submit(log: Any, send: bool = True) -> None:
        submitted.append(log)
        log.handed = True  # (as Batcher.put marks it)

    wrong: list[str] = []
    reached = 0
    for offset in _OFFSETS:
        sends = InlineSends(submit, 100)
        if behind:
            sends._draining = True  # (a drain runs: this log waits in line for it)
        log = item(f"at-{offset}")
        error, found = _land(sends, offset, log)
        if found == ["not reached"]:
            continue
        reached += 1
        if not free(sends._lock):
            found.append("the lock held for good")
        elif error is not None and not (handed(log) or began(error, HAND_OFF_CODE)):
            submit(log, False)  # (asgi_end's rule: _queue_interrupted)
        if not behind and not found:
            wait_until(lambda log=log: log in submitted)
            wait_until(lambda sends=sends: not sends._draining)
        times = submitted.count(log) + sum(entry[0] is log for entry in sends._waiting)
        if not found and times != 1:
            found.append(f"the log in line or submitted {times} times")
        wrong.extend(f"@{offset}: {what}" for what in found)
    assert reached >= 15, reached
    assert not wrong, f"{len(wrong)} of {reached}: {wrong}"
