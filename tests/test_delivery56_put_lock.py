"""delivery56: the queue's lock after a raise cut ``Batcher.put`` short (review137's case).

``BatchPutting.put`` released the queue's lock in its handler when ``interrupted.
exit_cut`` read the raise as landed between the ``with`` block's end and its
``__exit__`` call (CPython 3.9 runs a signal handler there, bpo-29988). A raise at the
block's last instruction (an opcode tracer's, which raises before the instruction it
names) reads the same, though the block was still in force and its ``__exit__`` had
released the lock already: the handler's second release freed a hold another thread had
taken in between (a ``threading.Lock`` has no owner), or raised "release unlocked lock"
out of ``put`` into the request. As review137 did for ``InlineSends``: the lock is an
RLock, released by the handler only if this thread still holds it.

Swept here at every instruction of ``put`` (a raise before each, as an opcode tracer's),
a thread taking the lock as soon as it is free at the handler's first call.
"""

from __future__ import annotations

import dis
import sys
from types import FrameType
from typing import Any, Callable, Optional

from readme_metrics.delivery.batcher_put import BatchPutting
from tests.support.delivery import clocked_batcher, item
from tests.support.lock_taker import Other, free

_PUT = BatchPutting.put.__code__


#: Not landed at: 3.11+'s NOP (a ``try:``'s), which no entry of the exception table
#: covers (a tracer's raise there leaves the frame with no handler run, the with block's
#: lock held); no signal lands there (3.11+ runs handlers at a call, a backward jump
#: or a function's entry only).
_NOT_LANDED = ("CACHE", "EXTENDED_ARG") + (("NOP",) if sys.version_info >= (3, 11) else ())


def _offsets() -> list[int]:
    """Each instruction's offset from the ``with`` block's first on (a raise before it
    takes nothing: the handler finds the lock free)."""
    ops = [op for op in dis.get_instructions(_PUT) if op.opname not in _NOT_LANDED]
    start = next(op.offset for op in ops if op.opname in ("SETUP_WITH", "BEFORE_WITH"))
    return [op.offset for op in ops if op.offset >= start]


def _land(offset: int) -> tuple[bool, list[str]]:
    """``put`` with a KeyboardInterrupt raised before the instruction at ``offset``;
    another thread takes the lock, if free, at the handler's first call, and holds it
    until ``put`` takes it up again or returns. (reached, what went wrong)."""
    queue, batcher = clocked_batcher([0.0])
    lock = batcher.lock
    wrong: list[str] = []
    state: dict[str, Any] = {"raised": False, "other": None, "frame": None}

    def trace(frame: FrameType, event: str, arg: Any) -> Optional[Callable[..., Any]]:
        if frame.f_code is not _PUT or state["raised"]:
            return None
        frame.f_trace_opcodes = True
        if event == "opcode" and frame.f_lasti == offset:
            state["raised"], state["frame"] = True, frame
            raise KeyboardInterrupt
        return trace

    def let_go() -> None:
        other = state["other"]
        if other is not None and other.holds and not other.go.is_set():
            if free(lock):
                wrong.append("the other thread's hold on the lock released")
            other.let_go()

    def profile(frame: FrameType, event: str, arg: Any) -> None:
        if not state["raised"] or event not in ("call", "c_call"):
            return
        if event == "call" and frame.f_code is _PUT and frame is not state["frame"]:
            let_go()  # (the retry takes the lock: the other's hold ends first)
            return
        caller = frame if event == "c_call" else frame.f_back
        other = state["other"]
        if caller is state["frame"] and (other is None or not other.holds):
            state["other"] = Other(lock)  # (takes it only if free)

    log = item(f"at-{offset}")
    error: Optional[BaseException] = None
    sys.setprofile(profile)
    sys.settrace(trace)
    try:
        result = batcher.put(log, log.nbytes, False)
        error = result[3]
    except BaseException as raised:  # (what must not come out)
        error = raised
    finally:
        sys.settrace(None)
        sys.setprofile(None)
    let_go()
    if not state["raised"]:
        return False, []
    if state["other"] is not None:
        state["other"].let_go()
    if not isinstance(error, (KeyboardInterrupt, type(None))):
        wrong.append(f"{type(error).__name__}: {error}")
    if not free(lock):
        wrong.append("the lock held for good")
        lock.release()
    if queue.accepted + queue.refused != 1 or queue.counts["captured"] != 1:
        wrong.append(f"accepted {queue.accepted}, refused {queue.refused}, "
                     f"captured {queue.counts['captured']}")
    return True, wrong


def test_a_raise_at_any_instruction_of_put_leaves_the_lock_as_it_was() -> None:
    """Before: on 3.11 and 3.9 the landings at the block's end released the other
    thread's hold (or raised RuntimeError out of put)."""
    wrong: list[str] = []
    reached = 0
    for offset in _offsets():
        landed, found = _land(offset)
        reached += landed
        wrong.extend(f"@{offset}: {what}" for what in found)
    assert reached >= 30, reached
    assert not wrong, f"{len(wrong)} of {reached}: {wrong}"
