"""Held points in delivery's watchdog and close, for the tests that force an order at a
POST's cut, its first verdict or the close's end (tests/test_delivery33_findings.py,
tests/test_delivery34_findings.py, tests/test_delivery86_settle_bound.py): ``watchdog.cut``
recorded, a call run before the first verdict is told, the close's end held until the
sender acted on its POST, a sender's outcome held past its POST."""

from __future__ import annotations

import threading
from typing import Any, Callable

import pytest

from readme_metrics.delivery import Delivery, watchdog, watchdog_thread
from readme_metrics.delivery.batcher import Batcher

#: A guard against a hang, not a synchronisation: every wait on these points is ended
#: by an event.
GUARD = 60.0

#: Both routes of a POST: the direct one (its own HTTP/1.1 client) and requests'.
ROUTES = pytest.mark.parametrize("direct", [True, False], ids=["direct", "requests"])


def patch_cut(monkeypatch: pytest.MonkeyPatch, cut: Callable[[Any], bool]) -> None:
    """``cut`` in place of ``watchdog.cut`` wherever the watchdog calls it: at a
    deadline (its thread, :mod:`readme_metrics.delivery.watchdog_thread`) and in
    ``watch()`` (a limit cut while its connection was still connecting)."""
    monkeypatch.setattr(watchdog, "cut", cut)
    monkeypatch.setattr(watchdog_thread, "cut", cut)


class Cuts:
    """``watchdog.cut`` patched to record what each cut returned (True: a socket
    connected, shut down), and to set ``done`` once it cut one."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.done = threading.Event()
        self.made: list[bool] = []
        real = watchdog.cut

        def cut(connection: Any) -> bool:
            try:
                made = real(connection)
                self.made.append(made)
                return made
            finally:
                self.done.set()

        patch_cut(monkeypatch, cut)


def before_the_first_verdict(monkeypatch: pytest.MonkeyPatch,
                             then: Callable[[], None]) -> None:
    """``then()`` runs in the POST's thread once its answer's head ended, before the
    watchdog is told (``watchdog.verdict``, which both routes' readers call)."""
    real = watchdog.verdict
    first = [True]

    def verdict() -> None:
        if first[0]:
            first[0] = False
            then()
        real()

    monkeypatch.setattr(watchdog, "verdict", verdict)


def close_ends_once_the_sender_acted(monkeypatch: pytest.MonkeyPatch, batcher: Batcher,
                                     acts: tuple[str, ...]) -> threading.Event:
    """``batcher``'s methods named ``acts`` (what a sender does with its POST's outcome:
    ``settle``, ``cut_at_close``, ``retry_later``) patched to set the event returned, and
    its ``end_close`` to wait for that event: the close ends only once the sender acted."""
    acted = threading.Event()

    def telling(real: Callable[..., Any]) -> Callable[..., Any]:
        def act(*args: Any) -> Any:
            result = real(*args)
            acted.set()
            return result
        return act

    for name in acts:
        monkeypatch.setattr(batcher, name, telling(getattr(batcher, name)))
    end_close = batcher.end_close

    def end_after_the_sender() -> tuple[int, int]:
        assert acted.wait(GUARD)
        return end_close()

    monkeypatch.setattr(batcher, "end_close", end_after_the_sender)
    return acted


def senders_settle_once_the_close_waits(monkeypatch: pytest.MonkeyPatch, batcher: Batcher,
                                        cuts: Cuts) -> threading.Event:
    """A sender's ``settle`` (or ``cut_at_close``) of its POST's outcome held until the
    close waits for it (``batcher.settle_in_flight`` parked on the queue's ``done``) once
    a POST was cut (``cuts.done``), or until the test sets the event returned (as
    ``close()`` returned): the sender is never back before the close looked
    (delivery85's 202 test; before flaky62 the sender, faster than the close's thread,
    settled before ``end_close`` in 2 of 8 runs of a close that gave it no time)."""
    waits = threading.Event()
    done = batcher.queue.done
    real_wait = done.wait
    settle_in_flight = batcher.settle_in_flight

    def wait(timeout: Any = None) -> bool:
        if cuts.done.is_set():
            waits.set()
        return real_wait(timeout)

    def settling(until: float, stuck: frozenset[int]) -> None:
        done.wait = wait  # type: ignore[method-assign]
        try:
            settle_in_flight(until, stuck)
        finally:
            del done.wait

    def held(real: Callable[..., Any]) -> Callable[..., Any]:
        def act(*args: Any) -> Any:
            assert waits.wait(GUARD)
            return real(*args)
        return act

    monkeypatch.setattr(batcher, "settle_in_flight", settling)
    for name in ("settle", "cut_at_close"):
        monkeypatch.setattr(batcher, name, held(getattr(batcher, name)))
    return waits


def held_after_the_post(delivery: Delivery, go: threading.Event,
                        entered: threading.Event) -> None:
    """The sender's POST goes as usual; its outcome is acted on only once ``go``."""
    sender = delivery._attempt._sender
    real = sender.post

    def post(*args: Any, **kwargs: Any) -> Any:
        outcome = real(*args, **kwargs)
        entered.set()
        go.wait(GUARD)
        return outcome

    sender.post = post  # type: ignore[method-assign]
