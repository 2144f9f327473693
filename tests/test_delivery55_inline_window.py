"""delivery55: in inline mode, a request turned away in the last instants of the inline
sender's last turn is handed over with the rest (the window mend50 left).

flaky37 hands the sender's turn to a thread of its own (``readme-metrics-inline``) when
its last turn ends with a request's log waiting. mend50 (ca11a239) told a request's note
from the sender's own look by a second flag, set after the request's failed try: a
request paused between that try and the flag (a loaded machine switching threads as the
acquire returns) as the sender's last turn ended was not handed over, its log queued
until the next request, a flush or the exit. Now the sender decides by its own look at
the queue after its release, which finds that log wherever the request's thread is.

Swept at every line the turned-away request runs in ``_send_inline`` (a tracer in its
thread parks it there until the sender has returned): the chain of flaky37's test (the
collector, holding each POST of the sender's turns unanswered, has the next request come)
with the fifth request, in the last turn, parked at the Nth line. On main at 34d01479 the
two landing points between the failed try and the flag's record stranded its log.
"""

from __future__ import annotations

import sys
import threading
from types import FrameType
from typing import Any, Optional

from readme_metrics.delivery.core import INLINE_TAKEOVERS
from readme_metrics.delivery.inline import HANDED_TURN_NAME, InlineSending
from tests.support.delivery import (
    MakeDelivery,
    adds_up,
    api_key_never_logged_fixture,  # noqa: F401 - autouse
    ids,
    item,
    make_delivery_fixture,  # noqa: F401 - ``make_delivery``
)
from tests.support.fake_api import Collector, Received, Reply
from tests.support.processes import LINE_WAIT

_CODE = InlineSending._send_inline.__code__


class _Parked:
    """The last request's thread: submits ``name`` under a tracer that parks it at its
    ``target``-th line event in ``_send_inline`` until :meth:`resume`. ``arrived`` is set
    once it is parked there, or done without reaching that line."""

    def __init__(self, submit: Any, name: str, target: int) -> None:
        self.target, self.count = target, 0
        self.parked: Optional[str] = None  # the line, and whether its try had failed
        self.arrived, self.go = threading.Event(), threading.Event()
        self.thread = threading.Thread(target=self._run, args=(submit, name), daemon=True)
        self.thread.start()

    def _tracer(self, frame: FrameType, event: str, arg: Any) -> Any:
        if event == "call":
            return self._line if frame.f_code is _CODE else None
        return None

    def _line(self, frame: FrameType, event: str, arg: Any) -> Any:
        if event == "line":
            if self.count == self.target:
                tried = frame.f_locals.get("held")
                self.parked = f"line {frame.f_lineno}, tried: {tried}"
                self.arrived.set()
                self.go.wait(LINE_WAIT)
            self.count += 1
        return self._line

    def _run(self, submit: Any, name: str) -> None:
        sys.settrace(self._tracer)
        try:
            submit(item(name))
        finally:
            sys.settrace(None)
            self.arrived.set()

    def resume(self) -> None:
        self.go.set()
        self.thread.join(LINE_WAIT)


def _handed_turns_end() -> None:
    """Join the sender's hand-off threads (each may hand over to another)."""
    while True:
        handed = [thread for thread in threading.enumerate()
                  if thread.name == HANDED_TURN_NAME]
        if not handed:
            return
        for thread in handed:
            thread.join(LINE_WAIT)


def _run_once(collector: Collector, make_delivery: MakeDelivery,
              target: int) -> tuple[Optional[str], list[str]]:
    """One chain, its last request parked at line ``target``: (where it parked, or None
    if it ran to its end first; the logs posted once the sender returned, without a
    flush or another request)."""
    collector.forget()
    names = [f"log-{index}" for index in range(INLINE_TAKEOVERS + 2)]
    delivery = make_delivery(collector.url, buffer_length=1, background_worker_mode=False,
                             flush_interval=3600)
    chained = iter(names[1:])
    last: list[_Parked] = []

    def judge(received: Received) -> Reply:
        # The POST in hand is the sender's turn: the next request comes now.
        name = next(chained, None)
        if name == names[-1]:  # in the sender's last turn: this request is parked
            last.append(_Parked(delivery.submit, name, target))
            last[0].arrived.wait(LINE_WAIT)
        elif name is not None:
            delivery.submit(item(name))
        return Reply()

    collector.judge = judge
    delivery.submit(item(names[0]))  # the sender's turns: its own, INLINE_TAKEOVERS more
    assert len(last) == 1, "the chain did not reach the sender's last turn"
    parked = last[0].parked
    last[0].resume()  # the sender has returned: the request goes on, and returns
    assert not last[0].thread.is_alive()
    _handed_turns_end()
    posted = ids(collector.logs)
    assert delivery.flush(timeout=5)
    assert ids(collector.logs)[:len(posted)] == posted
    assert sorted(ids(collector.logs)) == names  # (each once, after the flush at last)
    assert delivery.stats["sent"] == len(names) and adds_up(delivery.stats)
    return parked, posted


def test_a_request_turned_away_at_any_point_of_the_senders_last_turn_is_handed_over(
        collector: Collector, make_delivery: MakeDelivery) -> None:
    names = [f"log-{index}" for index in range(INLINE_TAKEOVERS + 2)]
    stranded: list[str] = []
    after_failed_try: list[str] = []
    target = 0
    while True:
        parked, posted = _run_once(collector, make_delivery, target)
        if parked is None:  # ran to its end before this line: every line swept
            break
        if "tried: [False]" in parked:
            after_failed_try.append(parked)
        if posted != names:
            stranded.append(f"{parked}: posted {posted}")
        target += 1
    # The sweep went through the window: lines after the request's failed try.
    assert after_failed_try, target
    # Every log posted once the sender returned, wherever the last request was parked
    # (before: its log queued until a later request, a flush or the exit).
    assert not stranded, stranded
