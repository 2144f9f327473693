"""One message from an ASGI ``receive`` within a time, under asyncio or trio.

The request side (:mod:`.asgi_receive`) reads a body the app left unread only as far as
it has already arrived: these read one message, or give up without consuming one (a
pending ``receive()`` cancelled is safe with the servers' implementations). Moved from
:mod:`.asgi_receive`, as is (importable from there as before).
"""

from __future__ import annotations

import asyncio
from typing import Any, Optional

from readme_metrics.asgi_types import Message, Receive
from readme_metrics.capture.asgi_watch import TURNS

__all__ = ["TrioRead", "receive_within", "running_asyncio_loop", "trio_within"]


def running_asyncio_loop() -> Optional[asyncio.AbstractEventLoop]:
    """The running asyncio loop; None under another event loop (trio)."""
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


async def receive_within(receive: Receive, timeout: float) -> Optional[Message]:
    """One message from ``receive`` if it comes within ``timeout`` seconds, else None.

    Cancelling a pending ``receive()`` is safe with the servers' implementations
    (uvicorn waits on an event, hypercorn and granian on a queue): nothing is consumed.
    Without a running asyncio loop: None at once (``ensure_future`` would park the task
    on a new, never-run loop; under trio, see :func:`trio_within`).
    """
    if running_asyncio_loop() is None:
        return None
    task = asyncio.ensure_future(receive())
    for _ in range(TURNS):
        if task.done():
            break
        await asyncio.sleep(0)
    if not task.done() and timeout > 0:
        await asyncio.wait([task], timeout=timeout)
    if not task.done():
        task.cancel()
        await asyncio.wait([task])
    if task.cancelled() or task.exception() is not None:
        return None
    return task.result()


async def trio_within(trio: Any, receive: Receive, timeout: float) -> Optional[Message]:
    """:func:`receive_within` under trio: ``receive()`` in a cancel scope of our own,
    cancelled at ``timeout``, or once the tasks ready to run have run (as asyncio's
    turns) when no time is left; a cancellation from outside goes on. hypercorn's trio
    worker receives from a trio memory channel: a receive cancelled consumes nothing."""
    with trio.CancelScope() as scope:
        if timeout > 0:
            scope.deadline = trio.current_time() + timeout
        else:
            trio.lowlevel.current_trio_token().run_sync_soon(scope.cancel)
        return await receive()
    return None


class TrioRead:
    """A read ahead in flight under trio, done once its message (if any) is queued."""

    __slots__ = ("_done",)

    def __init__(self, trio: Any) -> None:
        self._done = trio.Event()

    def done(self) -> bool:
        return bool(self._done.is_set())

    def end(self) -> None:
        self._done.set()

    async def wait(self) -> None:
        await self._done.wait()
