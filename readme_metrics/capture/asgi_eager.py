"""A coroutine started at once, in the caller's turn of the event loop, and made a task
only if it has to wait (what Python 3.12's eager tasks do, for every Python).

A read ahead of a body that has already arrived takes no turn of the loop this way: the
server's ``receive()`` has the message (uvicorn's event is set, hypercorn's queue holds
it) and returns it at once. A task would run only at the next turn, and in that turn
the loop also reads the socket: uvicorn takes a client's half-close (its request sent in
full, then ``shutdown(SHUT_WR)``) for a disconnect there, and drops the answer the app
sends after it, which the bare app, sending without a wait, got out.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Generator
from typing import Any, Optional, TypeVar

__all__ = ["eager_future", "if_no_wait"]

_T = TypeVar("_T")


class _Resumed:
    """Awaiting a coroutine that was run to its first wait already: what it waits on
    (``yielded``) goes to the task that awaits this, and the rest of the coroutine runs
    in that task as if it had been awaited from the start."""

    __slots__ = ("_coro", "_yielded")

    def __init__(self, coro: Coroutine[Any, Any, Any], yielded: Any) -> None:
        self._coro = coro
        self._yielded = yielded

    def __await__(self) -> Generator[Any, Any, Any]:
        coro, yielded = self._coro, self._yielded
        while True:
            try:
                sent = yield yielded
            except GeneratorExit:
                coro.close()
                raise
            except BaseException as exc:  # a cancellation: the coroutine's to handle
                try:
                    yielded = coro.throw(exc)
                except StopIteration as done:
                    return done.value
            else:
                try:
                    yielded = coro.send(sent)
                except StopIteration as done:
                    return done.value


def eager_future(coro: Coroutine[Any, Any, _T]) -> asyncio.Future[_T]:
    """``coro`` run now, up to its first wait: a future done already when it had none
    (its result or exception), else a task that runs the rest of it."""
    loop = asyncio.get_running_loop()
    try:
        yielded = coro.send(None)
    except StopIteration as done:
        future: asyncio.Future[_T] = loop.create_future()
        future.set_result(done.value)
        return future
    except (KeyboardInterrupt, SystemExit):  # as a task: these go on
        raise
    except BaseException as exc:  # noqa: BLE001 - the future's, as a task's would be
        future = loop.create_future()
        if isinstance(exc, asyncio.CancelledError):
            future.cancel()
        else:
            future.set_exception(exc)
        return future
    return asyncio.ensure_future(_Resumed(coro, yielded))


def if_no_wait(coro: Coroutine[Any, Any, _T]) -> tuple[bool, Optional[_T]]:
    """``coro`` run now: (True, its result) when it had no wait, else (False, None),
    cancelled at its first wait, in this turn of the loop (its ``finally`` clauses run
    now). Its exception, if it raised one without a wait, goes on."""
    try:
        coro.send(None)
    except StopIteration as done:
        return True, done.value
    try:
        coro.throw(asyncio.CancelledError())
    except (StopIteration, asyncio.CancelledError):
        pass
    else:  # it waits again rather than end: left unrun
        coro.close()
    return False, None
