"""Held points in delivery's watchdog and close, for the tests that force an order at a
POST's cut, its first verdict or the close's end (tests/test_delivery33_findings.py,
tests/test_delivery34_findings.py): ``watchdog.cut`` recorded, a call run before the
first verdict is told, the close's end held until the sender acted on its POST."""

from __future__ import annotations

import threading
from typing import Any, Callable

import pytest

from readme_metrics.delivery import watchdog, watchdog_thread
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
