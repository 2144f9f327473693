"""Which of Django's ASGI handler's tasks is where (for :mod:`.django_abandoned`).

Django's ASGI handler (5.0+) runs the middleware chain in a task of its own
(``process_request``) beside one listening for the client's disconnect, and waits for
the first to end. These helpers read asyncio's tasks (never change them) to tell what
became of that wait: :func:`chain_task`, the running task where it is the chain's;
:func:`handler_gone`, the handler no longer waiting for it (the server cancelled the
handler); :func:`django_cancelled`, Django cancelling it (the client left);
:func:`sync_chain_left`, either, asked from the sync chain's thread (asgiref's);
:func:`task_awaiting`, the loop's task whose awaited coroutines hold a given frame (the
handler's call for a scope, the chain's for a request); :func:`chain_of`, the chain's task
for a request from the handler's own list, ended or not; :func:`handler_ended`, the
handler gone with that task running on (delivery84). All never raise (an odd loop, an
older Django or asgiref: nothing known). Split out of :mod:`.django_abandoned`
(delivery65), which decides what the log says from them.
"""

from __future__ import annotations

import asyncio
from typing import Any, Optional

__all__ = ["CLIENT_LEFT", "HANDLE", "HANDLER_CALL", "PROCESS_REQUEST", "SERVER_CANCELLED",
           "VERDICT", "cancelled_by_django", "cancelling", "chain_of", "chain_task",
           "django_cancelled", "handler_ended", "handler_gone", "handler_waits",
           "sync_chain_left", "task_awaiting"]

#: What :func:`sync_chain_left` tells: the chain's task still waits (the server cancelled
#: Django's handler), or is gone (Django cancelled it: the client left).
SERVER_CANCELLED, CLIENT_LEFT = "server", "client"

#: The mark on the log's own done callbacks (django_abandoned's verdict): not the handler's.
VERDICT = "_readme_metrics_verdict"

#: The coroutine Django's ``ASGIHandler.handle`` runs the middleware chain in.
PROCESS_REQUEST = "ASGIHandler.handle.<locals>.process_request"

#: Django's handler's coroutine that makes the chain's task and waits for it.
HANDLE = "ASGIHandler.handle"

#: Django's handler's call, the server's task's (uvicorn's, hypercorn's) to the end.
HANDLER_CALL = "ASGIHandler.__call__"


def handler_gone() -> bool:
    """Whether the running task is Django's handler's ``process_request`` and the
    handler no longer waits for it (cancelled: the server gave up on the call). Called
    on the event loop, in the async chain. Never raises."""
    return _left_alone(chain_task())


def chain_task() -> Optional[asyncio.Task[object]]:
    """The running task where it is Django's handler's ``process_request``, else None
    (no loop, an older Django). Never raises."""
    try:
        task = asyncio.current_task()
        if task is None or getattr(task.get_coro(), "__qualname__", "") != PROCESS_REQUEST:
            return None
        return task
    except Exception:  # noqa: BLE001 - an odd loop's task: the usual log
        return None


def _left_alone(task: Optional[asyncio.Task[object]]) -> bool:
    """Whether the handler no longer waits for ``task`` (:func:`chain_task`'s): its
    asyncio.wait() took its done callback off (cancelled: nothing else ends the wait)."""
    try:
        return task is not None and not handler_waits(task)
    except Exception:  # noqa: BLE001 - an odd task: the usual log
        return False


def cancelled_by_django(task: asyncio.Future[object]) -> bool:
    """Whether Django cancelled the chain's task (``task``, ended), as the client left,
    before it sent the view's answer: cancelled, or, where asgiref took the cancel in the
    task's wait for the chain's thread and let it send the answer (into the gone
    client's connection), still marked cancelling (delivery65). Never raises."""
    try:
        if task.cancelled():
            return True
        return isinstance(task, asyncio.Task) and cancelling(task)
    except Exception:  # noqa: BLE001 - an odd task: the view's answer logged
        return False


def handler_waits(task: asyncio.Task[object]) -> bool:
    """Whether a done callback other than the log's own verdict's (marked
    :data:`VERDICT`: delivery65's, on the sync chain's task while the handler waits) is
    on ``task``: Django's handler's asyncio.wait(), taken off as it was cancelled."""
    for entry in task._callbacks or ():  # (a loop, no generator: delivery54's sweep)
        if not getattr(entry[0] if entry.__class__ is tuple else entry, VERDICT, False):
            return True
    return False


def django_cancelled() -> bool:
    """Whether the running task is Django's handler's ``process_request`` and Django
    cancelled it (the client disconnected): the view caught the ``CancelledError`` and
    returned. Python 3.11+ (``Task.cancelling``). Called on the event loop, in the async
    chain. Never raises."""
    try:
        task = asyncio.current_task()
        if task is None or getattr(task.get_coro(), "__qualname__", "") != PROCESS_REQUEST:
            return False
        return cancelling(task)
    except Exception:  # noqa: BLE001 - an odd loop's task: the usual log
        return False


def cancelling(task: asyncio.Task[object]) -> bool:
    """Whether ``task`` is being cancelled (asyncio's ``Task.cancelling()``, 3.11+;
    before, never said)."""
    count = getattr(task, "cancelling", None)
    return count is not None and count() > 0


def sync_chain_left(request: object, cancelled: bool = False) -> Optional[str]:
    """From the sync chain's thread (asgiref's) under Django's ASGI handler, once the
    view returned (``cancelled``: the chain raised a ``CancelledError``): None while
    Django's handler still waits for the chain, else :data:`SERVER_CANCELLED` while the
    chain's ``process_request`` task for ``request`` runs uncancelled (the server
    cancelled the handler), :data:`CLIENT_LEFT` while Django cancels it or once it ended
    (the client disconnected). Looks at the loop's tasks only once the handler left its
    ``ThreadSensitiveContext``, or for a ``CancelledError``. Never raises."""
    try:
        from asgiref.sync import SyncToAsync

        context = SyncToAsync.thread_sensitive_context.get(None)
        if context is None:
            return None
        exited = context not in SyncToAsync.context_to_thread_executor
        loop = getattr(SyncToAsync.threadlocal, "main_event_loop", None)
        if loop is None or not (exited or cancelled):
            return None
        task = task_awaiting(loop, PROCESS_REQUEST, "request", request)
        if task is not None:
            return CLIENT_LEFT if cancelling(task) else SERVER_CANCELLED
        return CLIENT_LEFT if exited else None
    except Exception:  # noqa: BLE001 - an odd loop or asgiref: the usual log
        return None


def task_awaiting(loop: asyncio.AbstractEventLoop, qualname: str, name: str,
                  value: object) -> Optional[asyncio.Task[object]]:
    """The loop's task whose chain of awaited coroutines holds ``qualname``'s frame with
    ``value`` as its local ``name`` (Django's handler's ``__call__`` for the request's
    scope; the chain's ``process_request`` for the request), or None: ended."""
    found = _frame_awaited(loop, qualname, name, value)
    return found[0] if found is not None else None


def chain_of(loop: asyncio.AbstractEventLoop, request: object
             ) -> Optional[tuple[asyncio.Task[object], Any]]:
    """(the chain's ``process_request`` task for ``request``, ended or not; the frame of
    Django's ``ASGIHandler.handle`` that made it and waits), read from ``handle``'s own
    list of its two tasks: a task Django cancelled ends at once, though the sync chain's
    thread runs on (asgiref). None once ``handle`` ended, or where it is not there
    (Django before 5.0: no such task) (delivery65)."""
    found = _frame_awaited(loop, HANDLE, "request", request)
    if found is None:
        return None
    tasks = found[1].f_locals.get("tasks")
    if tasks.__class__ is not list or len(tasks) != 2:
        return None
    chain = tasks[1]
    if not isinstance(chain, asyncio.Task) or getattr(
            chain.get_coro(), "__qualname__", "") != PROCESS_REQUEST:
        return None
    return chain, found[1]


def handler_ended(loop: asyncio.AbstractEventLoop, request: object) -> bool:
    """Where :func:`chain_of` found no ``handle``: whether the chain's task for
    ``request`` runs on, not cancelled, Django's handler having ended (the server
    cancelled it). The sync chain's thread takes it for a handler still waiting
    (:func:`sync_chain_left`: None) where the request runs in another's
    thread-sensitive context, which the handler's exit leaves as it was: daphne's
    pipelined request, whose app instance daphne makes from the first one's task
    (delivery84). Never raises."""
    try:
        left = task_awaiting(loop, PROCESS_REQUEST, "request", request)
        return left is not None and not left.done() and not cancelling(left)
    except Exception:  # noqa: BLE001 - an odd loop: nothing known
        return False


def _frame_awaited(loop: asyncio.AbstractEventLoop, qualname: str, name: str,
                   value: object) -> Optional[tuple[asyncio.Task[object], Any]]:
    """(task, frame) of :func:`task_awaiting`'s, or None."""
    if value is None:
        return None
    for task in asyncio.all_tasks(loop):
        coro: object = task.get_coro()
        while coro is not None:
            frame = getattr(coro, "cr_frame", None)
            if frame is None:
                break
            if getattr(coro, "__qualname__", "") == qualname and frame.f_locals.get(name) is value:
                return task, frame
            coro = getattr(coro, "cr_await", None)
    return None
