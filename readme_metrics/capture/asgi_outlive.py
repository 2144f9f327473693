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
from types import CodeType
from typing import Any, Awaitable, Callable, Optional, TypeVar

__all__ = ["Outlive", "cancelled_calls", "is_cancellation", "running_calls", "running_trio"]

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

    __slots__ = ("tasks", "calls")

    def __init__(self, calls: Optional[CodeType] = None) -> None:
        # Tasks started and not done (held: a task only weakly held could vanish).
        self.tasks: set[asyncio.Future[Any]] = set()
        #: The code of the middleware's call (``MetricsMiddleware.__call__``): a task
        #: the server is cancelling inside it is waited for by :meth:`settle`.
        self.calls = calls

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
        if loop is None:
            return timeout
        began = time.monotonic()
        left = timeout
        waited = False
        try:
            # The calls the server is cancelling first (uvicorn goes on to the lifespan's
            # shutdown right after it cancelled them, without waiting): one whose app
            # unwinds over a few turns of the loop (Starlette's StreamingResponse, its
            # anyio task group) makes its log, or starts the work that makes it, only
            # then; before blackbox11 the flush ran first, and the log was lost.
            while True:
                running = [task for task in self.tasks if task.get_loop() is loop]
                running += cancelled_calls(loop, self.calls)
                if not running or left <= 0:
                    break
                waited = True
                await asyncio.wait(running, timeout=left)
                left = max(0.0, timeout - (time.monotonic() - began))
        except Exception:  # pragma: no cover - never in the way of the flush
            pass
        if not waited:  # all of it: the flush's line says it had the whole bound
            return timeout
        return max(0.0, timeout - (time.monotonic() - began))


def cancelled_calls(loop: asyncio.AbstractEventLoop, code: Optional[CodeType]
                    ) -> list[asyncio.Task[Any]]:
    """The tasks of ``loop`` being cancelled (``Task.cancelling()``: Python 3.11+, else
    none are found) whose coroutines run ``code``, this one aside. Looked for only at the
    shutdown: nothing is kept per request."""
    if code is None:
        return []
    found = []
    for task in running_calls(loop, code):
        cancelling = getattr(task, "cancelling", None)
        if cancelling is not None and cancelling():
            found.append(task)
    return found


def running_calls(loop: asyncio.AbstractEventLoop, code: CodeType
                  ) -> list[asyncio.Task[Any]]:
    """The tasks of ``loop`` not done whose coroutines run ``code``, the current one
    aside. From another thread too (hypercorn_stop: ``all_tasks`` retries a set changed
    while it copied it)."""
    here = asyncio.current_task(loop) if _running_loop() is loop else None
    return [task for task in asyncio.all_tasks(loop)
            if task is not here and not task.done() and _runs(task.get_coro(), code)]


def _runs(coro: Any, code: CodeType) -> bool:
    """Whether ``code`` runs in the chain of coroutines ``coro`` awaits (the
    middleware's call sits near its top, under the server's and outer middlewares')."""
    for _ in range(64):  # a chain that long is not an app's: not ours
        if coro is None:
            return False
        if getattr(coro, "cr_code", None) is code:
            return True
        coro = getattr(coro, "cr_await", None)
    return False
