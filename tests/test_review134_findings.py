"""review134: a signal handler's raise landing just after the log was queued queued it twice.

delivery46 had the hand-off of a log finish it before a raise (SIGTERM's ``sys.exit``,
KeyboardInterrupt) went on; where the raise landed was told by locals (``reason`` in
:meth:`Delivery.submit`) and by the traceback (``submit_began`` in ``finish_log``). Both
missed one landing point: right after the call that queued the log returned, before its
caller stored the answer. CPython 3.9 and 3.10 run a signal handler there (after every
call's return), as 3.11+ does after a call to anything but a plain Python function (the
``partial`` the exit's finish submits through, a PEP 523 frame evaluator, a debugger's
trace function). The caller took the log for not queued and queued it again: one call,
two logs sent, ``captured`` counted twice.

The raise is put at that very instruction with an opcode trace (what the eval loop's
check does there on 3.9/3.10), on a real delivery posting to a real collector.
"""

from __future__ import annotations

import contextlib
import dis
import gc
import sys
from types import CodeType, FrameType
from typing import Any, Callable, Iterator, Optional

import pytest

from readme_metrics import MetricsApiConfig, MetricsMiddleware
from readme_metrics.capture.wsgi_exchange import WSGICapture
from readme_metrics.delivery.core import Delivery
from readme_metrics.delivery.interrupted import handed
from tests.support.delivery import (  # noqa: F401 (fixture)
    item,
    lock_held,
    make_delivery_fixture,
)
from tests.support.fake_api import Collector
from tests.support.landing_hook import traced
from tests.support.wsgi import run_wsgi, wsgi_environ


def _after_call_of(code: CodeType, name: str) -> int:
    """The offset of the instruction that follows the call of the attribute ``name`` in
    ``code``: where the caller first runs once that call has returned."""
    instructions = list(dis.get_instructions(code))
    loaded = False
    for index, instruction in enumerate(instructions):
        if instruction.opname in ("LOAD_ATTR", "LOAD_METHOD") and instruction.argval == name:
            loaded = True
        elif loaded and instruction.opname.startswith("CALL"):
            return instructions[index + 1].offset
    raise AssertionError(f"no call of {name} in {code.co_name}")


class _LandAfter:
    """While on, raises ``error`` once in the frame running ``code``, at the instruction
    after its call of ``name`` returned: as a signal handler's raise lands there."""

    def __init__(self, code: CodeType, name: str, error: BaseException) -> None:
        self.code, self.offset, self.error = code, _after_call_of(code, name), error
        self.landed = False

    def __call__(self, frame: FrameType, event: str, arg: Any) -> Optional[Callable[..., Any]]:
        if event == "call":
            if frame.f_code is not self.code or self.landed:
                return None
            frame.f_trace_opcodes = True
            return self
        if event == "opcode" and frame.f_lasti == self.offset and not self.landed:
            self.landed = True
            raise self.error
        return self

    def run(self, call: Callable[[], Any]) -> Optional[BaseException]:
        return traced(self, call)


def test_a_raise_landing_after_put_returned_queues_the_log_once(
        make_delivery: Any, collector: Collector) -> None:
    from tests.support.delivery import build_id

    delivery: Delivery = make_delivery(collector.url, build_id, buffer_length=10)
    landing = _LandAfter(Delivery.submit.__code__, "put", KeyboardInterrupt())
    try:
        raised = landing.run(lambda: delivery.submit(item("once")))
        assert landing.landed
        assert isinstance(raised, KeyboardInterrupt)  # it went on, unchanged
        assert delivery.flush(10)
        stats = delivery.stats
    finally:
        delivery.close()
    # Before: captured 2, sent 2 (the log queued again by submit's except)
    assert stats["captured"] == stats["sent"] == 1, stats
    assert len(collector.logs) == 1, collector.logs


@pytest.mark.parametrize("error", [KeyboardInterrupt(), SystemExit(0)])
def test_a_raise_landing_after_finish_logs_submit_returned_queues_the_log_once(
        collector: Collector, error: BaseException) -> None:
    def app(environ: dict, start_response: Any) -> list[bytes]:
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"owlbert"]

    middleware = MetricsMiddleware(app, MetricsApiConfig(
        api_key="owlbert-key", metrics_api=collector.url,
        grouping_function=lambda request: {"api_key": "caller"}))
    landing = _LandAfter(WSGICapture.finish_log.__code__, "submit", error)
    try:
        raised = landing.run(lambda: run_wsgi(middleware, wsgi_environ(path="/pets")))
        assert landing.landed
        # run_wsgi's close() let it go on, unchanged, to the "server"
        assert raised is error
        assert middleware.flush(10)
        stats = middleware.stats
    finally:
        middleware.close()
    # Before: captured 2, sent 2 (finish_log's except queued it again: the raise had not
    # gone through submit, so submit_began said no)
    assert stats["captured"] == stats["sent"] == 1, stats
    assert len(collector.logs) == 1


# -- the put's landing points, swept -----------------------------------------------------
#
# delivery46's "the queue takes or refuses a log in one stretch with no call in it" holds
# where handlers run only at a function's entry and a call's return (3.11+). The sweep
# raises at each such point of the put in turn and checks the log was taken exactly
# once, the counts whole. CPython 3.9 runs them after most instructions (a store, an
# add) too: swept as well (``every``; review134's xfail, made right by delivery51).


#: CPython 3.9's eval loop looks for a handler to run before each instruction but those
#: after these (its FAST_DISPATCH ones; 3.11's own for the same steps: COPY, SWAP,
#: PUSH_NULL, PRECALL, KW_NAMES), and never before a SETUP_FINALLY, SETUP_WITH or
#: YIELD_FROM (ceval.c). A probe of 3.9.18 (a thread's pthread_kill at a hot function,
#: the handler reading the frame's f_lasti) found it after LOAD_ATTR, BINARY_ADD,
#: INPLACE_ADD, STORE_ATTR, LOAD_METHOD, CALL_METHOD and a with block's POP_BLOCK, never
#: after a LOAD_FAST, LOAD_CONST, STORE_FAST or DUP_TOP; 3.10.13 only after a call.
_NO_LOOK_AFTER = {"NOP", "LOAD_FAST", "LOAD_CONST", "STORE_FAST", "POP_TOP", "ROT_TWO",
                  "ROT_THREE", "ROT_FOUR", "DUP_TOP", "DUP_TOP_TWO", "JUMP_FORWARD",
                  "COPY", "SWAP", "PUSH_NULL", "PRECALL", "KW_NAMES",
                  # (3.11+: RESUME runs a pending handler itself, with no "opcode" event
                  # of its own; delivery53: one put after it, at lasti 2, landed where
                  # no CPython does, past the entry that interrupted.began reads)
                  "RESUME"}
_NO_LOOK_BEFORE = {"NOP", "SETUP_FINALLY", "SETUP_WITH", "BEFORE_ASYNC_WITH", "YIELD_FROM"}


class _LandAtNth:
    """Raises ``error`` at the ``target``-th landing point run in a frame of ``codes``:
    a function's entry (RESUME) or a call's return, or (``every``) any point CPython 3.9
    looks at (see _NO_LOOK_AFTER; delivery51: before, at any instruction but a NOP,
    which also landed where no CPython does, before a with block's POP_BLOCK and its
    ``__exit__`` call, the traceback's instruction one off from a real one's)."""

    def __init__(self, codes: set[CodeType], target: int, error: BaseException,
                 every: bool = False) -> None:
        self.codes, self.target, self.error, self.every = codes, target, error, every
        self.names = {code: {op.offset: op.opname for op in dis.get_instructions(code)}
                      for code in codes}
        self.last: dict[int, str] = {}
        self.count = 0
        self.landed = ""

    def __call__(self, frame: FrameType, event: str, arg: Any) -> Optional[Callable[..., Any]]:
        if event == "call":
            if frame.f_code not in self.codes:
                return None
            frame.f_trace_opcodes = True
            return self
        if event == "opcode" and not self.landed:
            name = self.names[frame.f_code].get(frame.f_lasti, "")
            first = self.names[frame.f_code].get(0, "")  # (RESUME on 3.11+)
            before, self.last[id(frame)] = self.last.get(
                id(frame), first if first == "RESUME" else ""), name
            if (name not in _NO_LOOK_BEFORE and before not in _NO_LOOK_AFTER if self.every
                    else name == "RESUME" or before.startswith("CALL")):
                if self.count == self.target:
                    self.landed = f"{frame.f_code.co_name}@{frame.f_lasti}"
                    raise self.error
                self.count += 1
        return self


@contextlib.contextmanager
def _traced(landing: Callable[..., Any]) -> Iterator[None]:
    """``landing`` traces the block, with the cyclic GC held off: a collection in the
    block runs the finalizers of an earlier test's garbage on this thread (a pipeline's
    release, which notifies a Condition: a code the landing counts), and the landing
    raised in one of them instead of in the code under test (CI77 at a load of 45:
    "Exception ignored in: <finalize object>", delivery53's put-wake sweep)."""
    enabled = gc.isenabled()
    gc.disable()
    sys.settrace(landing)
    try:
        yield
    finally:
        sys.settrace(None)
        if enabled:
            gc.enable()


def _put_codes() -> set[CodeType]:
    from readme_metrics.delivery.batcher import Batcher
    from readme_metrics.delivery.queue import LogQueue

    return {function.__code__ for function in (
        Batcher.put, LogQueue.put_locked, LogQueue.refuse_locked, LogQueue.full_locked,
        # (before delivery51: the put's own steps, in calls of their own)
        getattr(Batcher, "_put_locked", None), getattr(Batcher, "_put_again", None),
        LogQueue.count_drop_locked) if function is not None}


def _sweep(full: bool, every: bool) -> tuple[int, list[str]]:
    from tests.support.delivery import clocked_batcher

    codes = _put_codes()
    wrong: list[str] = []
    for target in range(2000):
        queue, batcher = clocked_batcher([0.0], logs=1, max_size=1 if full else 1000)
        log = item("swept")
        landing = _LandAtNth(codes, target, KeyboardInterrupt(), every)
        try:
            with _traced(landing):
                answer = batcher.put(log, log.nbytes, inline=False)
        except KeyboardInterrupt:  # (at put's entry: nothing done)
            answer = None
        if not landing.landed:
            return target, wrong
        held = sum(1 for queued in queue.items if queued is log)
        refused, counts = queue.refused, queue.counts
        # Raised out only before put took it (its very entry): nothing done, the caller
        # puts it (it asks handed). Else taken exactly once, the interrupt returned.
        taken = 0 if answer is None and not handed(log) else 1
        whole = (counts["captured"] == queue.accepted + refused == 1 + taken
                 and len(queue.items) == queue.accepted and not lock_held(batcher.lock)
                 and counts["dropped"] == refused == counts["dropped_queue_full"]
                 and held + refused == taken and (answer is None or answer[3] is not None))
        if not whole:
            wrong.append(f"{landing.landed}: held {held}, accepted {queue.accepted}, "
                         f"items {len(queue.items)}, refused {refused}, captured "
                         f"{counts['captured']}, dropped {counts['dropped']}")
    raise AssertionError("the sweep did not end")


@pytest.mark.parametrize("full", [False, True], ids=["accepted", "refused"])
def test_a_raise_at_any_landing_point_of_the_put_takes_the_log_once(full: bool) -> None:
    points, wrong = _sweep(full, every=False)
    assert points >= 3  # (4 before delivery51 folded Batcher._put_locked into put)
    assert not wrong, wrong


@pytest.mark.parametrize("full", [False, True], ids=["accepted", "refused"])
def test_a_raise_at_any_instruction_of_the_put_takes_the_log_once(full: bool) -> None:
    """CPython 3.9's landing points (after most instructions). Before delivery51, 6 of
    64 accepted and 7 of 49 refused lost or double-counted the log (3.9.18: 7 of 68 and
    8 of 53, one of them the lock held for good: a raise after the with block's
    POP_BLOCK, bpo-29988)."""
    points, wrong = _sweep(full, every=True)
    assert points > 30
    assert not wrong, wrong
