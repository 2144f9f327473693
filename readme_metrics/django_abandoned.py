"""Django's ASGI handler cancelled by the server while the view still ran (delivery56).

Django's ASGI handler (Django 5.0+) runs the middleware chain in a task of its own
(``process_request``) and waits for it. When the server cancels the handler (uvicorn's
and hypercorn's graceful timeout at a stop, daphne's stop: "Killed N pending application
instances"), the handler ends and leaves that task running: a sync view's thread goes
on, and when it returns the middleware logged the view's answer (a 200), though the
client had the server's 500 (uvicorn, hypercorn answer it to any app whose call ended
with no response started) or nothing (daphne closes the connection). What Django sends
then goes nowhere.

This module tells which way the chain was left and picks what its log says; what the
log then says, and the race of the answers that decides it, is :mod:`.django_verdict`'s
(split out of this one: house53). :func:`handler_gone` tells the server's cancel (the
task no longer waited for: ``asyncio.wait``'s callback taken off as the handler's wait
was cancelled): :func:`async_cut` gives :func:`~.django_verdict.server_answer` (daphne's
stop) or :func:`~.django_verdict.await_verdict` (uvicorn, hypercorn: whichever answer went
out first). A stream the server's cancel cut mid-way is marked cut where the client's was
(:func:`stream_cut`). Before Django 5.0 the handler awaited the chain itself: the
cancellation reached the middleware, which logs it as the app's 500.

:func:`django_cancelled` tells the other way the chain's task is left: Django cancelled it
itself, as the client disconnected while the view ran (its ``listen_for_disconnect``); a
view that catches the ``CancelledError`` and returns a response has it sent nowhere. The
log is then the client gone before the response started (:func:`client_left`: 499, as the
ASGI middleware logs it; before delivery59, the view's status). Python 3.11+ (asyncio's
``Task.cancelling()``); before, the view's status as ever.

The sync chain (a sync-only middleware in ``MIDDLEWARE``: asgiref runs the chain in a
thread, Django's inner handler through ``async_to_sync``) is asked from that thread by
:func:`sync_chain_left` (:func:`sync_cut`). A server's cancel of the handler leaves the
chain's task running, and it still sends the view's answer once the view returned
(asgiref 3.12+, whose context exit waits for the thread without blocking the loop):
uvicorn, hypercorn and daphne write it (a raw client reads the view's 200; delivery59).
It races the handler's own end, after which uvicorn and hypercorn answer their 500, and
daphne's stop closing the connection: logged as what went out first
(:func:`await_verdict`, delivery60; before, the view's 200). Django's cancel as the
client left reaches the thread as a ``CancelledError`` out of the inner handler
(:func:`sync_failed`), or, after the view returned, leaves its answer sent nowhere
(:func:`sync_cut`): both logged as the client gone (before, the app's 500 or the view's
status). A cancel that comes once the view returned, Django's handler still waiting,
is left to :func:`~.django_verdict.await_sent`. Where Django's handler's tasks are is
read by :mod:`.django_tasks`.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Callable, Optional

from readme_metrics.capture.asgi_server_quirks import loaded_silent_on_cancel
from readme_metrics.django_tasks import (
    CLIENT_LEFT,
    HANDLER_CALL,
    SERVER_CANCELLED,
    django_cancelled,
    handler_gone,
    handler_waits,
    sync_chain_left,
    task_awaiting,
)
from readme_metrics.django_verdict import (
    await_sent,
    await_verdict,
    client_ended,
    client_left,
    server_answer,
    unsent_at_exit,
)

if TYPE_CHECKING:
    from readme_metrics.django_exchange import Capture

# (the verdict's names too, where they were before house53's split)
__all__ = ["async_cut", "await_verdict", "client_ended", "client_left", "server_answer",
           "stream_cut", "sync_cut", "sync_failed", "unsent_at_exit"]


def async_cut() -> Optional[Callable[[Capture], None]]:
    """For the async chain, once the view returned: what makes its log what the client
    got (:func:`await_verdict`, :func:`server_answer`, :func:`client_left`), or None
    (the handler waits for its answer). Never raises."""
    if handler_gone():
        return server_answer if loaded_silent_on_cancel() else await_verdict
    return client_left if django_cancelled() else None


def sync_cut(request: object) -> Optional[Callable[[Capture], None]]:
    """For the sync chain under ASGI, in asgiref's thread once the view returned: the
    client gone (:func:`client_left`) where Django cancelled the chain's task, else the
    log left to :func:`await_verdict`: a server's cancel of the handler (the chain's task
    sends the view's answer, unless the handler's end came first, uvicorn, hypercorn, or
    daphne closed the connection: see :func:`sync_chain_left`), or the handler still
    waiting, whose cancel of the chain's task, as the client leaves, may have come or
    come yet before the task sent the view's answer (delivery65). Never raises."""
    if getattr(request, "scope", None) is None:  # (WSGI: no handler to leave it)
        return None
    left = sync_chain_left(request)
    if left == SERVER_CANCELLED:
        return await_verdict
    return client_left if left == CLIENT_LEFT else await_sent


def sync_failed(capture: Capture, error: BaseException) -> None:
    """The sync chain raised ``error`` under ASGI: a ``CancelledError`` is Django's cancel
    of the chain's task as the client left, reaching the chain's thread through asgiref
    (the view's answer discarded; before delivery59 logged as the app's 500). Called once
    the failure was recorded. Never raises."""
    if (isinstance(error, asyncio.CancelledError)
            and getattr(capture.request, "scope", None) is not None
            and sync_chain_left(capture.request, cancelled=True) == CLIENT_LEFT):
        client_left(capture, answered=False)


def stream_cut(capture: Capture, task: Optional[asyncio.Task[object]]) -> bool:
    """From the chain's task (``task``, :func:`.django_tasks.chain_task`'s) sending a
    streamed answer (an async iterator's, Django's ``send_response``), before a chunk is
    recorded and at its end (a look at the task's callbacks while the handler waits): True,
    the log's body marked broken off there, once what the task sends reaches no client. The server
    cancelled Django's handler mid-stream (its graceful timeout at a stop) and the
    handler's call ended: uvicorn closes the connection of an answer started, and its
    send then returns without a word (delivery62; before, logged whole). Not under
    daphne, which writes while the connection is open. Never raises."""
    try:
        if task is None or handler_waits(task) or loaded_silent_on_cancel():
            return False  # (the handler waits for it: the usual stream, one look)
        if task_awaiting(asyncio.get_running_loop(), HANDLER_CALL, "scope",
                          getattr(capture.request, "scope", None)) is not None:
            return False  # (its call still runs: what is sent still goes out)
        capture.recorder.broke_off = True
        return True
    except Exception:  # noqa: BLE001 - an odd loop: the log as recorded
        return False
