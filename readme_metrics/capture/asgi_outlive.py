"""Work the ASGI middleware must finish although the exchange's task is cancelled.

SPEC 5: one exchange gives exactly one log, and a cancelled one (a timeout around the app,
the client gone, a server's shutdown) is no exception. The work that makes the log may
have to wait (an ``async`` grouping function, the rest of an unread body): cancelled with
the task, it was lost, and the log with it.

Under asyncio the work runs in a task of its own, held until it is done and awaited
through :func:`asyncio.shield`: the cancellation goes on at once and unchanged, and the
task, outside any cancel scope around the app (anyio's ``fail_after``, a task group), runs
to its end. Under trio there is no neutral way to start a task: the work is awaited in a
shielded cancel scope, so the cancellation goes on once it is done. The library depends
on neither trio nor anyio; trio is used only when it is the running loop.
"""

from __future__ import annotations

import asyncio
import sys
import time
from typing import Any, Awaitable, Callable, Optional, TypeVar

__all__ = ["Outlive", "is_cancellation", "running_trio"]

T = TypeVar("T")


def is_cancellation(exc: BaseException) -> bool:
    """Whether ``exc`` cancels the task: asyncio's CancelledError or trio's Cancelled."""
    if isinstance(exc, asyncio.CancelledError):
        return True
    trio = sys.modules.get("trio")
    return trio is not None and isinstance(exc, trio.Cancelled)


def running_trio() -> Any:
    """The trio module when trio runs this task, else None."""
    trio = sys.modules.get("trio")
    if trio is None:
        return None
    try:
        trio.lowlevel.current_task()
    except RuntimeError:
        return None
    return trio


def _running_loop() -> Optional[asyncio.AbstractEventLoop]:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


class Outlive:
    """Starts work that outlives a cancellation of the task awaiting it."""

    __slots__ = ("tasks",)

    def __init__(self) -> None:
        # Tasks started and not done (held: a task only weakly held could vanish).
        self.tasks: set[asyncio.Future[Any]] = set()

    def start(self, work: Awaitable[T]) -> Awaitable[T]:
        """``work`` started in a task of its own (asyncio), or as is (another loop);
        await what is returned with :meth:`wait`."""
        loop = _running_loop()
        if loop is None:
            return work
        task = asyncio.ensure_future(work, loop=loop)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return task

    async def wait(self, started: Awaitable[T]) -> T:
        """The result of work :meth:`start` returned. A cancellation of the awaiting
        task goes on at once under asyncio (the work runs on, and may be waited for
        again), once the work is done under trio."""
        if isinstance(started, asyncio.Future):
            return await asyncio.shield(started)
        trio = running_trio()
        if trio is None:
            return await started
        with trio.CancelScope(shield=True):
            return await started

    async def run(self, work: Callable[[], Awaitable[None]]) -> None:
        """Run ``work()`` to its end, whatever cancels the awaiting task. A cancellation
        while waiting is not raised: the caller raises the one it is handling."""
        started = self.start(work())
        try:
            await self.wait(started)
        except asyncio.CancelledError:
            pass  # cancelled again: the task finishes on its own

    async def settle(self, timeout: float) -> float:
        """Wait, at most ``timeout`` seconds, for the work still running on this loop
        (the server's shutdown, after it cancelled the requests); the time left of
        ``timeout``. Never raises. (Tasks of a loop closed before they ended stay held:
        not waited for.)"""
        loop = _running_loop()
        running = [task for task in self.tasks if task.get_loop() is loop]
        if not running:
            return timeout
        began = time.monotonic()
        try:
            await asyncio.wait(running, timeout=timeout)
        except Exception:  # pragma: no cover - never in the way of the flush
            pass
        return max(0.0, timeout - (time.monotonic() - began))
