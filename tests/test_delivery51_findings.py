"""delivery51: a signal handler's raise at a loop's backward jump in the hand-off.

CPython 3.11+ runs a signal handler at a function's entry, after a call and at a loop's
backward jump (JUMP_BACKWARD; 3.10's JUMP_ABSOLUTE). delivery46 and delivery49 swept
the first two with a profile hook (``call``/``c_return`` events), which never sees a
jump: the loops of the inline send (the batch's encode, the queue's walks over retries
and flush waiters, the POST's reads) were not swept. Here an opcode trace raises at
each backward jump the library's code runs, in turn, from a log's submit through its
inline send to a real collector, and checks that every log is delivered and counted once.
"""

from __future__ import annotations

import dis
import os
from types import CodeType, FrameType
from typing import Any, Callable, Optional

from readme_metrics.delivery.core import Delivery
from tests.support.delivery import build_id, item, make_delivery_fixture  # noqa: F401
from tests.support.fake_api import Collector
from tests.support.landing_hook import traced

LIB = os.path.dirname(__import__("readme_metrics").__file__) + os.sep
_BACKWARD = {"JUMP_BACKWARD", "JUMP_ABSOLUTE"}  # (3.11+; 3.10: loops jump absolute)


class _LandAtJump:
    """Raises ``error`` once, at the ``target``-th backward jump the library's code runs
    (just after it, where the eval loop runs a pending handler)."""

    def __init__(self, target: int, error: BaseException) -> None:
        self.target, self.error = target, error
        self.names: dict[CodeType, dict[int, str]] = {}
        self.count = 0
        self.landed = ""

    def __call__(self, frame: FrameType, event: str, arg: Any) -> Optional[Callable[..., Any]]:
        code = frame.f_code
        if event == "call":
            if self.landed or not code.co_filename.startswith(LIB):
                return None
            if code not in self.names:
                self.names[code] = {op.offset: op.opname for op in dis.get_instructions(code)}
            frame.f_trace_opcodes = True
            frame.f_trace_lines = False
            return self
        # (At the jump: the state its landing point has, the jump doing nothing else.)
        if (event == "opcode" and not self.landed
                and self.names[code].get(frame.f_lasti) in _BACKWARD):
            self.count += 1
            if self.count > self.target:
                self.landed = f"{code.co_filename[len(LIB):]}:{code.co_name}"
                raise self.error
        return self

    def run(self, call: Callable[[], Any]) -> Optional[BaseException]:
        return traced(self, call)


def test_a_raise_at_every_backward_jump_of_an_inline_send_delivers_each_log_once(
        make_delivery: Any, collector: Collector) -> None:
    delivery: Delivery = make_delivery(collector.url, build_id, buffer_length=2,
                                       background_worker_mode=False)
    places: list[str] = []
    flushes: list[bool] = []
    for target in range(300):
        delivery.submit(item(f"a{target}"))
        landing = _LandAtJump(target, KeyboardInterrupt())
        log = item(f"b{target}")
        raised = landing.run(lambda: delivery.submit(log))  # (sends both)  # noqa: B023
        flushes.append(delivery.flush(10))
        if not landing.landed:
            assert raised is None
            break
        assert isinstance(raised, KeyboardInterrupt), (landing.landed, raised)
        places.append(landing.landed)
    else:
        raise AssertionError("the sweep did not end")
    calls = 2 * (len(places) + 1)
    stats = delivery.stats
    failed = [place for place, flushed in zip(places, flushes) if not flushed]
    assert not failed, (f"{len(failed)} of {len(places)} flushes False", failed, stats)
    assert len(places) >= 5, places
    assert stats["captured"] == calls and stats["queued"] == 0, (stats, places)
    assert stats["dropped"] == 0 and stats["sent"] >= calls, (stats, places)
    ids = {log["_id"] if "_id" in log else log.get("id") for log in collector.logs}
    assert len(ids) == calls, (len(ids), calls, places)
